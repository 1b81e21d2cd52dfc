"""Uniform reference samples of known dimension and the ID statistics measured on them.

Calibration (Ceruti et al. 2014, DANCo's idea, applied to TwoNN of Facco et al. 2017 and to
small-k Levina–Bickel MLE): the statistic s(X) of the data is compared with E[s] over uniform
samples of the unit d-ball, d-cube or d-sphere with the same number of points n. Samples come from
lowdim's counter-based RNG, so each (kind, d, rep) sample is reproducible bit for bit; the
sample of n points is the first n rows of one stream (samples nest in n).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import _config, _rng
from .. import intrinsic as _lid
from .. import neighbors as _knn_mod

KINDS = ("ball", "cube", "sphere")
SEED = 0x1D               # the seed of every reference sample (table and on the fly)
_RADIUS = 1 << 30         # stream offset of the ball's radii (kind, rep and d use bits < 30)


def reference_sample(kind: str, n: int, d: int, rep: int) -> np.ndarray:
    """n points uniform in the unit d-ball ('ball'), in [0, 1)^d ('cube') or on the unit
    d-sphere in R^(d+1) ('sphere': no boundary), float64 of shape (n, d) or (n, d + 1)."""
    if not (0 <= rep < 1 << 11 and 1 <= d < 1 << 16):
        raise ValueError("reference samples need 0 <= rep < 2048 and 1 <= d < 65536")
    stream = _rng.STREAM_ID_REFERENCE + (KINDS.index(kind) << 28) + (rep << 16) + d
    draw = _config.kernels().random_bits          # both backends give the same bits
    if kind == "cube":
        return _rng.uniform(draw(SEED, stream, 0, n * d)).reshape(n, d)
    m = d + 1 if kind == "sphere" else d
    b = draw(SEED, stream, 0, 2 * n * m)
    g = _rng.normal(b[0::2], b[1::2]).reshape(n, m)
    if kind == "sphere":
        result: np.ndarray = g / np.linalg.norm(g, axis=1)[:, None]
        return result
    # radius U^(1/d) with U in (0, 1]: the volume of the ball of radius r grows as r^d
    u = 1.0 - _rng.uniform(draw(SEED, stream + _RADIUS, 0, n))
    result = g * (u ** (1.0 / d) / np.linalg.norm(g, axis=1))[:, None]
    return result


def per_point(method: str, dist: np.ndarray, k: int) -> np.ndarray:
    """What the statistic averages over points: r2/r1 for TwoNN, local MLE (k − 1) for MLE."""
    if method in ("twonn", "twonn_mle"):
        result: np.ndarray = dist[:, 1] / dist[:, 0]
        return result
    return _lid.mle_from_distances(dist[:, :k], k - 1)


def from_per_point(method: str, values: np.ndarray, discard_fraction: float) -> float:
    """The global statistic: raw TwoNN (least squares or MLE form) or 1 / mean(1 / MLE)."""
    if method == "mle":
        return float(1.0 / np.mean(1.0 / values))
    return _lid.twonn_from_ratios(values, discard_fraction=discard_fraction,
                                  method="mle" if method == "twonn_mle" else "linear")[0]


def reference_statistics(kind: str, n: int, d: int, rep: int,
                         specs: Sequence[tuple[str, int, float]],
                         n_threads: int | None = None) -> list[float]:
    """Statistic of each spec (method, k, discard_fraction) on one reference sample.

    NaN for an MLE spec whose k needs more than n − 1 neighbours.
    """
    x = reference_sample(kind, n, d, rep)
    kmax = min(n - 1, max(2 if m != "mle" else k for m, k, _ in specs))
    dist, _ = _knn_mod.knn(x, kmax, n_threads=n_threads)
    return [from_per_point(m, per_point(m, dist, k), f) if m != "mle" or k <= kmax
            else float("nan") for m, k, f in specs]


def reps_for(n: int) -> int:
    """Reference samples per (n, d): 400 at n = 50 down to 3 at n >= 6667 (~0.3-1% noise)."""
    return int(min(400, max(3, -(-20000 // n))))
