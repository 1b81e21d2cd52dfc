"""Counter-based random numbers, bit-identical to cpp/include/lowdim/rng.h.

Every value is a pure function of (seed, stream, index): SplitMix64's finaliser applied
to a per-stream key plus (index + 1)·φ. Nothing is stored, any worker can regenerate any
entry, and the numpy and C++ backends agree bit for bit (tests/test_rng.py).
"""
from __future__ import annotations

import warnings
from typing import Any, Union

import numpy as np
import numpy.typing as npt

# Bump when any value of any stream changes: pickles made under another version are refused
# (python/lowdim/_base.py), since their seeds would no longer give the same transforms.
GENERATOR_VERSION = 1

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
STREAM_MUL = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

# Streams used by the kernels; distinct so two kernels with one seed stay independent.
STREAM_SIGNS = 0x5349474E          # random signs D of SRHT / FJLT
STREAM_SAMPLE = 0x53414D50         # SRHT coordinate sample
STREAM_FJLT_P = 0x464A4C54         # FJLT sparse matrix P, rows offset from here
STREAM_REPORT_SAMPLE = 0x52455054  # `lowdim report` row subsamples
STREAM_SPARSE_RP = 0x53505250 << 32   # very sparse projection R: stream of row j = this + j
STREAM_GAUSS_RP = 0x47525050 << 32    # Gaussian projection: stream of row j = this + j
STREAM_PQ_SUBSAMPLE = 0x50515353   # PQ k-means: training points kept when subsampling
STREAM_PQ_INIT = 0x5051494E        # PQ k-means: training points used as initial centroids
STREAM_OPQ_INIT = 0x4F505149       # OPQ: Gaussian matrix whose QR gives the initial rotation
STREAM_PH_SUBSAMPLE = 0x50484453 << 32   # ph_dimension subsamples, + (size << 12) + rerun
STREAM_ID_REFERENCE = 0x49445246 << 32   # ID calibration samples, + (kind << 28) + (rep << 16) + d
STREAM_ID_BOOTSTRAP = 0x49444253   # ID error bars: bootstrap resamples of per-point statistics

# What an estimator's random_state accepts (scikit-learn's convention).
RandomStateLike = Union[None, int, np.integer[Any], np.random.RandomState, np.random.Generator]


def mix64(z: npt.ArrayLike) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    u: np.ndarray = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        u = (u ^ (u >> np.uint64(30))) * _M1
        u = (u ^ (u >> np.uint64(27))) * _M2
    out: np.ndarray = u ^ (u >> np.uint64(31))
    return out


def stream_key(seed: int, stream: npt.ArrayLike) -> np.ndarray:
    s = np.asarray(stream, dtype=np.uint64)
    with np.errstate(over="ignore"):
        k = mix64(np.uint64(seed) + GOLDEN)
        return mix64(k ^ (s * STREAM_MUL + GOLDEN))


def bits(key: npt.ArrayLike, index: npt.ArrayLike) -> np.ndarray:
    """Random uint64 for each (key, index); broadcasts."""
    idx = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64(np.asarray(key, dtype=np.uint64) + (idx + np.uint64(1)) * GOLDEN)


def random_bits(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """`count` consecutive values of one stream (the twin of _core.random_bits)."""
    return bits(stream_key(seed, stream), np.arange(start, start + count, dtype=np.uint64))


def uniform(b: np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from the top 53 bits."""
    return (b >> np.uint64(11)).astype(np.float64) * 2.0**-53


def signs(seed: int, n: int, dtype: npt.DTypeLike) -> np.ndarray:
    """n random ±1 values (the diagonal D), from the top bit of each draw."""
    top = random_bits(seed, STREAM_SIGNS, 0, n) >> np.uint64(63)
    return (1.0 - 2.0 * top.astype(np.float64)).astype(dtype)


def sample_without_replacement(seed: int, stream: int, n: int, k: int) -> np.ndarray:
    """k distinct indices of range(n), sorted: the k smallest random keys win.

    A partial partition, O(n), picks them (the keys are distinct 64-bit hashes, so the
    chosen set does not depend on how ties would be broken).
    """
    if k >= n:
        return np.arange(n, dtype=np.int64)
    keys = random_bits(seed, stream, 0, n)
    return np.sort(np.argpartition(keys, k)[:k]).astype(np.int64)


def normal(b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Standard normals by Box–Muller from two independent draws."""
    u1 = 1.0 - uniform(b1)          # (0, 1]: log stays finite
    u2 = uniform(b2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def seed_from_random_state(random_state: RandomStateLike) -> int:
    """Turn sklearn's random_state convention (None, int, RandomState, Generator) into a seed.

    None means what it means in scikit-learn: a draw from numpy's global RandomState, so
    np.random.seed(...) makes it reproducible; the draw is the seed of lowdim's generator.
    """
    if random_state is None:
        return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state) % 2**64
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    raise TypeError(f"random_state must be None, an int, a RandomState or a Generator, "
                    f"got {type(random_state).__name__}")


def resolve_random_state(random_state: RandomStateLike, seed: RandomStateLike = None, *,
                         owner: str) -> int:
    """The seed an estimator uses: random_state (scikit-learn's meaning), or `seed`, its
    older name, still accepted for one release with a FutureWarning. Both given and
    different: ValueError."""
    if seed is None:
        return seed_from_random_state(random_state)
    warnings.warn(f"{owner}(seed=...) is deprecated: pass random_state=... instead (the same "
                  "value, scikit-learn's name); seed= will be removed in the next release",
                  FutureWarning, stacklevel=3)
    if isinstance(seed, (np.random.RandomState, np.random.Generator)) and random_state is None:
        return seed_from_random_state(seed)
    seed = check_seed(seed)
    if random_state is not None and not (
            isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
            and int(random_state) == seed):
        raise ValueError(f"{owner}: random_state={random_state!r} and its alias seed={seed!r} "
                         "differ; set only random_state")
    return seed


def function_seed(seed: int, random_state: int | None = None, *, owner: str) -> int:
    """The seed a function uses: `seed`, or `random_state`, its older name, still accepted
    for one release with a FutureWarning (an int; both given and different: ValueError)."""
    if random_state is None:
        return check_seed(seed)
    warnings.warn(f"{owner}(random_state=...) is deprecated: functions take seed=... (the "
                  "same int); random_state= will be removed in the next release",
                  FutureWarning, stacklevel=3)
    old = check_seed(random_state)
    if check_seed(seed) not in (0, old):
        raise ValueError(f"{owner}: seed={seed!r} and its old name random_state="
                         f"{random_state!r} differ; set only seed")
    return old


def renamed_seed_state(state: dict[str, Any]) -> dict[str, Any]:
    """An estimator's pickled state from before seed= became random_state=: the old `seed`
    value moves to random_state (so get_params, clone and refits give the same seed)."""
    if "random_state" not in state and "seed" in state:
        state = dict(state)
        state["random_state"], state["seed"] = state["seed"], None
    return state


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return int(seed)
