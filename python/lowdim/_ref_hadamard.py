"""numpy twin of cpp/src/hadamard: FWHT, SRHT and FJLT kernels.

The FWHT applies the butterflies stage by stage (h = 1, 2, 4, …) exactly like the C++
row kernels, so both backends give bit-identical float32/float64 results.
"""
from __future__ import annotations

import numpy as np

_ROW_BLOCK_BYTES = 1 << 20   # transform ~1 MiB of rows at a time so stages stay in cache


def _row_blocks(n_rows: int, row_bytes: int):
    step = max(1, _ROW_BLOCK_BYTES // max(1, row_bytes))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _fwht_unnormalised(x: np.ndarray) -> None:
    with np.errstate(invalid="ignore", over="ignore"):   # NaN/inf are reported by the caller
        _butterflies(x)


def _butterflies(x: np.ndarray) -> None:
    rows, n = x.shape
    h = 1
    while h < n:
        v = x.reshape(rows, n // (2 * h), 2, h)
        upper = v[:, :, 0, :].copy()
        v[:, :, 0, :] += v[:, :, 1, :]                          # a + b
        np.subtract(upper, v[:, :, 1, :], out=v[:, :, 1, :])    # a - b
        h *= 2


def fwht(x: np.ndarray, scale: float, n_threads: int) -> None:
    """In-place FWHT of each row of the C-contiguous 2-D x, then x *= scale (unless 1)."""
    for rows in _row_blocks(x.shape[0], x.shape[1] * x.itemsize):
        _fwht_unnormalised(x[rows])
    if scale != 1.0:
        with np.errstate(invalid="ignore", over="ignore"):
            x *= x.dtype.type(scale)


def fwht_checked(x: np.ndarray, scale: float, untouched_on_error: bool,
                 n_threads: int) -> bool:
    """fwht that refuses NaN/inf input and overflow in the butterflies (False, x as it
    was); else transforms x in place and returns True. Here x is never modified on False
    (the C++ kernel promises that only with untouched_on_error), which no caller can tell
    apart: a private copy is discarded on False."""
    with np.errstate(invalid="ignore", over="ignore"):
        if not np.isfinite(x.sum()) and not np.isfinite(x).all():
            return False
    y = x.copy()
    for rows in _row_blocks(y.shape[0], y.shape[1] * y.itemsize):
        _fwht_unnormalised(y[rows])
        if not np.isfinite(y[rows]).all():       # overflow inside the butterflies
            return False
    if scale != 1.0:
        y *= y.dtype.type(scale)
    x[...] = y
    return True


def fwht_checked_into(x: np.ndarray, out: np.ndarray, scale: float,
                      untouched_on_error: bool, n_threads: int) -> bool:
    """out := fwht(x) * scale for a C-contiguous 2-D x (only read) and a separate out of
    its shape, with fwht_checked's refusals (False). Here out is never modified on False
    (the C++ kernel promises that only with untouched_on_error)."""
    y = x.copy()                          # private: one checked pass, no read-only pass
    if not fwht_checked(y, scale, False, n_threads):
        return False
    out[...] = y
    return True


def _signed_padded_fwht(x_rows: np.ndarray, signs: np.ndarray) -> np.ndarray:
    buf = np.zeros((x_rows.shape[0], signs.shape[0]), dtype=x_rows.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        np.multiply(x_rows, signs[: x_rows.shape[1]], out=buf[:, : x_rows.shape[1]])
    _fwht_unnormalised(buf)
    return buf


def srht(x, signs, idx, scale, n_threads):
    """out[r] = scale * (H · diag(signs) · pad(x[r]))[idx]."""
    out = np.empty((x.shape[0], idx.shape[0]), dtype=x.dtype)
    for rows in _row_blocks(x.shape[0], signs.shape[0] * x.itemsize):
        with np.errstate(invalid="ignore", over="ignore"):
            out[rows] = _signed_padded_fwht(x[rows], signs)[:, idx] * x.dtype.type(scale)
    return out


def fjlt(x, signs, indptr, cols, vals, n_threads):
    """out[r] = P · H · diag(signs) · pad(x[r]), P given in CSR (indptr, cols, vals).

    Each output sums its row of P in CSR order, one term at a time, exactly like the
    C++ loop, so the two backends agree bit for bit whatever the batch size.
    """
    k = indptr.shape[0] - 1
    counts = np.diff(indptr)
    out = np.zeros((x.shape[0], k), dtype=x.dtype)
    for rows in _row_blocks(x.shape[0], signs.shape[0] * x.itemsize):
        z = _signed_padded_fwht(x[rows], signs)
        acc = out[rows]
        with np.errstate(invalid="ignore", over="ignore"):
            for t in range(int(counts.max(initial=0))):
                live = np.flatnonzero(counts > t)
                p = indptr[live] + t
                acc[:, live] += vals[p] * z[:, cols[p]]
    return out
