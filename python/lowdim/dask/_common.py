"""Checks and helpers shared by lowdim.dask: row-chunked dask arrays, cheap up-front checks.

What can be checked from the graph alone (dtype, rank, known shape) is checked before any
task runs, with the texts of lowdim._validate; what needs the data (NaN/inf rows) is
checked inside every block by the in-memory function itself, so the message is the same.
Seeded samples are the k smallest counter-based keys (lowdim._rng), selected block by block.
"""
from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from .. import _rng
from .._validate import _SMALL_FLOATS, as_ndarray, widen_small_floats

try:
    import dask.array as da
    from dask.delayed import delayed
except ImportError as exc:   # pragma: no cover - the package is an optional extra
    raise ImportError("lowdim.dask needs dask: pip install 'lowdim[dask]'") from exc

SAMPLE_KEYS_PER_TASK = 1 << 22     # counter-based keys hashed per task (32 MiB of uint64)


def mappable(X: da.Array) -> Any:
    """X for a map_blocks call: dask annotates Array.map_blocks (a decorated method) as
    taking no function, so calls to it go through this Any-typed view."""
    return X


def is_dask(X: object) -> bool:
    return isinstance(X, da.Array)


def float_dtype(dtype: npt.DTypeLike, *, name: str = "X", force: npt.DTypeLike | None = None
                ) -> np.dtype[Any]:
    """The dtype as_float_array would give (float16/32 → float32, ints → float64)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "V" and dtype.name in _SMALL_FLOATS:     # bfloat16, float8: widened
        dtype = np.dtype(np.float32)
    if dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {dtype}")
    if force is not None:
        return np.dtype(force)
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def as_rows(X: Any, *, name: str = "X", min_rows: int = 1, min_cols: int = 1) -> da.Array:
    """X as a 2-D dask array chunked by whole rows, dtype and known shape checked.

    Anything in memory goes through lowdim's one conversion path (_validate.as_ndarray:
    torch, pandas, DLPack, ...; bfloat16/float8 widened to float32) and is wrapped (one
    chunk per ~128 MiB of rows); column chunks are merged (rechunk(1: -1)), because every
    kernel needs whole rows.
    """
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; this function needs a dense array "
                        "(use X.toarray())")
    if not is_dask(X):
        arr = widen_small_floats(as_ndarray(X, name=name))
        if arr.ndim == 2 and arr.size:
            rows = max(1, (128 << 20) // max(1, arr.shape[1] * arr.itemsize))
            X = da.from_array(arr, chunks=(rows, -1))
        else:
            X = da.from_array(arr)
    float_dtype(X.dtype, name=name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {X.shape}")
    known_chunks(X, name)
    if X.size == 0 or X.shape[0] < min_rows or X.shape[1] < min_cols:
        raise ValueError(f"{name} is empty or too small: got shape {X.shape}")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return cast(da.Array, X)   # X: Any in, a checked dask array here


def shared(value: Any) -> Any:
    """`value` as something tasks can take, sent once per worker, not once per task."""
    try:
        from distributed import default_client
        client = default_client()
    except (ImportError, ValueError):     # no distributed, or no Client: local schedulers
        return delayed(value, pure=True)
    # hash=False: a fresh key each time (re-scattering a just-released hashed key races)
    return client.scatter(value, broadcast=True, hash=False)


def known_chunks(X: da.Array, name: str) -> None:
    """ValueError for a dask array of unknown chunk sizes (a shape check would see NaN)."""
    if any(math.isnan(c) for axis in X.chunks for c in axis):
        raise ValueError(f"{name} has unknown chunk sizes (shape {X.shape}), e.g. after boolean "
                         f"indexing; call {name}.compute_chunk_sizes() first")


def offsets(chunks: tuple[int, ...]) -> np.ndarray:
    """First global row of each block."""
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)


def _smallest_keys(seed: int, stream: int, start: int, count: int, k: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest keys of rows start..start+count (keys, global rows)."""
    keys = _rng.random_bits(seed, stream, start, count)
    if k < count:
        keep = np.argpartition(keys, k)[:k]
        return keys[keep], keep.astype(np.int64) + start
    return keys, np.arange(start, start + count, dtype=np.int64)


def _merge_keys(k: int, *parts: tuple[np.ndarray, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([p[0] for p in parts])
    rows = np.concatenate([p[1] for p in parts])
    if len(keys) > k:
        keep = np.argpartition(keys, k)[:k]
        keys, rows = keys[keep], rows[keep]
    return keys, rows


def _sorted_rows(part: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.sort(part[1])


def seeded_sample(seed: int, stream: int, n: int, k: int, *,
                  per_task: int = SAMPLE_KEYS_PER_TASK) -> Any:
    """Delayed sorted int64 rows: the set _rng.sample_without_replacement(seed, stream, n, k).

    The keys are distinct 64-bit hashes, so the k smallest of all rows are the k smallest of
    the per-range winners: each task hashes one range, a tree of merges keeps k.
    """
    if k >= n:
        return delayed(np.arange(n, dtype=np.int64))
    parts = [delayed(_smallest_keys, pure=True)(seed, stream, s, min(per_task, n - s), k)
             for s in range(0, n, per_task)]
    while len(parts) > 1:
        parts = [delayed(_merge_keys, pure=True)(k, *parts[i:i + 8])
                 for i in range(0, len(parts), 8)]
    return delayed(_sorted_rows, pure=True)(parts[0])


def take_rows(X: da.Array, rows: np.ndarray) -> np.ndarray:
    """X[rows] for sorted int64 rows, as a numpy array computed on the workers."""
    result: np.ndarray = X[rows].compute()
    return result
