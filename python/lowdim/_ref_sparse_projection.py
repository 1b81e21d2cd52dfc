"""numpy twin of cpp/src/sparse_projection: matrix-free very sparse projection + CSR product.

Entry (j, i) of the k × d matrix R (Li, Hastie & Church 2006; sklearn's scaling):
b = bits(stream_key(seed, STREAM_SPARSE_RP + j), i); nonzero iff (b >> 11) < threshold
(threshold = ceil(density · 2^53)); negative iff b & 1; value ±scale. Pattern and
products are bit-identical to the C++ ones: dense output j sums ±x_i over R's row j in
ascending i, CSR output j sums ±x_p in the row's storage order, then one product by scale.
"""
from __future__ import annotations

import numpy as np

from . import _rng

_BLOCK_ENTRIES = 1 << 22     # hash / densify R in blocks of ~4M entries to bound memory


def _row_blocks(k: int, d: int):
    step = max(1, _BLOCK_ENTRIES // max(1, d))
    for start in range(0, k, step):
        yield start, min(k, start + step)


def _codes(seed: int, j0: int, j1: int, d: int, threshold: int):
    """(nonzero mask, negative mask) of rows j0..j1 of R, each of shape (j1 - j0, d)."""
    keys = _rng.stream_key(seed, np.uint64(_rng.STREAM_SPARSE_RP)
                           + np.arange(j0, j1, dtype=np.uint64))
    b = _rng.bits(keys[:, None], np.arange(d, dtype=np.uint64)[None, :])
    return (b >> np.uint64(11)) < np.uint64(threshold), (b & np.uint64(1)).astype(bool)


def sparse_rp_pattern(seed, n_components, n_features, threshold, n_threads):
    """R's pattern in CSR by output row: (indptr int64 (k+1,), indices int64, negative uint8)."""
    indptr = np.zeros(n_components + 1, dtype=np.int64)
    cols, negs = [], []
    for j0, j1 in _row_blocks(n_components, n_features):
        nz, neg = _codes(seed, j0, j1, n_features, threshold)
        rows, c = np.nonzero(nz)
        indptr[j0 + 1:j1 + 1] = np.bincount(rows, minlength=j1 - j0)
        cols.append(c.astype(np.int64))
        negs.append(neg[rows, c].astype(np.uint8))
    np.cumsum(indptr, out=indptr)
    return indptr, np.concatenate(cols), np.concatenate(negs)


def _dense_signs(seed, j0, j1, d, threshold, dtype):
    nz, neg = _codes(seed, j0, j1, d, threshold)
    return np.where(nz, np.where(neg, -1.0, 1.0), 0.0).astype(dtype)


def sparse_rp_dense(x, seed, n_components, threshold, scale, n_threads):
    """out (n, k) = x · R^T, each out[:, j] = (0 ± x_i ± …) over R's row j in ascending i
    (the C++ order, one rounding per term), then · scale.

    Vectorised over j: step s adds the s-th nonzero of every row of R at once; shorter
    rows are padded with a zero column (adding +0.0 changes no sum that starts at +0.0).
    """
    n, d = x.shape
    k = n_components
    ptr, cols, neg = sparse_rp_pattern(seed, k, d, threshold, 1)
    lengths = np.diff(ptr)
    width = int(lengths.max()) if k else 0
    slot_col = np.full((k, width), d, dtype=np.int64)
    slot_sign = np.ones((k, width), dtype=x.dtype)
    rows = np.repeat(np.arange(k), lengths)
    pos = np.arange(cols.size) - np.repeat(ptr[:-1], lengths)
    slot_col[rows, pos] = cols
    slot_sign[rows, pos] = np.where(neg.astype(bool), -1, 1)
    out = np.empty((n, k), dtype=x.dtype)
    step = max(1, _BLOCK_ENTRIES // max(1, k, d + 1))
    for r0 in range(0, n, step):
        xb = np.concatenate([x[r0:r0 + step], np.zeros((min(step, n - r0), 1), x.dtype)], axis=1)
        acc = np.zeros((xb.shape[0], k), dtype=x.dtype)
        with np.errstate(over="ignore", invalid="ignore"):   # overflow is reported by the caller
            for s in range(width):
                acc += xb[:, slot_col[:, s]] * slot_sign[:, s]
        out[r0:r0 + step] = acc
    with np.errstate(over="ignore", invalid="ignore"):
        out *= x.dtype.type(scale)
    return out


def _csr(indptr, indices, data, n_cols):
    import scipy.sparse as sp    # only reached with sparse input, where scipy is present
    return sp.csr_matrix((data, indices, indptr), shape=(indptr.shape[0] - 1, n_cols))


def sparse_rp_csr(indptr, indices, data, n_features, seed, n_components, threshold, scale,
                  n_threads):
    """out (n, k) = X · R^T for X in CSR (n rows, n_features columns).

    R is generated only on the distinct columns that occur (a pure function of
    (seed, row, column)), so the cost follows the nonzeros, not n_features. scipy's
    product sums each output row in storage order, as the C++ kernel does.
    """
    cols, rank = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
    u, k = cols.size, n_components
    X = _csr(indptr, rank.ravel(), data, u)
    parts, lengths = [], np.zeros(k, dtype=np.int64)
    keys = _rng.stream_key(seed, np.uint64(_rng.STREAM_SPARSE_RP)
                           + np.arange(k, dtype=np.uint64))
    step = max(1, _BLOCK_ENTRIES // max(1, k))
    for c0 in range(0, u, step):            # (k, block of columns) hashes at a time
        b = _rng.bits(keys[:, None], cols[None, c0:c0 + step].astype(np.uint64))
        nz = (b >> np.uint64(11)) < np.uint64(threshold)
        j, c = np.nonzero(nz)
        parts.append((j, c + c0, (b[j, c] & np.uint64(1)).astype(bool)))
        lengths += np.bincount(j, minlength=k)
    j = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    c = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    ng = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, bool)
    order = np.lexsort((c, j))              # CSR by output row, columns ascending
    r_ptr = np.concatenate([[0], np.cumsum(lengths)])
    signs = np.where(ng[order], -1.0, 1.0).astype(data.dtype)
    R = _csr(r_ptr, c[order], signs, u)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray((X @ R.T).toarray(), dtype=data.dtype)
        out *= data.dtype.type(scale)
    return out


def accumulate_rows(acc: np.ndarray, y: np.ndarray, weight: float, normalize: bool) -> None:
    """acc += w_r · y[r] per row, w_r = weight / ‖y[r]‖₂ (0 for zero rows) or just weight."""
    if normalize:
        norms = np.sqrt(np.einsum("ij,ij->i", y, y))
        row_w = np.divide(weight, norms, out=np.zeros(len(y)), where=norms > 0)
    else:
        row_w = np.full(len(y), weight)
    acc += y * row_w.astype(y.dtype)[:, None]


def csr_spmm(indptr, indices, data, x, n_threads, acc=None, weight=0.0, normalize=False):
    """out (n, k) = A · x for A in CSR with x.shape[0] columns; optionally
    accumulate_rows(acc, out, weight, normalize) (FastRP's merge, fused in C++)."""
    A = _csr(indptr, indices, data, x.shape[0])
    out = np.asarray(A @ x, dtype=x.dtype)
    if acc is not None:
        accumulate_rows(acc, out, weight, normalize)
    return out
