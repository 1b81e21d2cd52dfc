"""numpy twin of cpp/src/knn: exact kNN by blocked distance tiles.

Same algorithm as the C++ driver: keys ‖x‖² + ‖y‖² − 2·x·y (clamped at 0) or −x·y from a
matrix product per block of queries, the best k + SPARE candidates per query (ties to
the lower index), then exact recomputation of those candidates and the best k by
(key, index). Memory per block is block × m, never n × m.
"""
from __future__ import annotations

import numpy as np

SPARE = 8                    # kKnnSpare in cpp/include/lowdim/knn.h
_BLOCK_BYTES = 32 << 20      # size of one block of keys


def _select(keys: np.ndarray, cap: int) -> np.ndarray:
    """Indices of the `cap` smallest keys per row, equal keys resolved to lower indices."""
    if cap >= keys.shape[1]:
        return np.broadcast_to(np.arange(keys.shape[1]), keys.shape).copy()
    part = np.argpartition(keys, cap - 1, axis=1)[:, :cap]
    kth = np.take_along_axis(keys, part, axis=1).max(axis=1, keepdims=True)
    below = keys < kth
    tied = keys == kth
    # keep every key below the cap-th value, then the lowest-index keys equal to it
    room = cap - below.sum(axis=1, keepdims=True)
    keep = below | (tied & (np.cumsum(tied, axis=1) <= room))
    return np.nonzero(keep)[1].reshape(keys.shape[0], cap)


def knn(x, y, k, metric, exclude_self, n_threads, restrict=None):
    """x: (n, d), y: (m, d) -> (dist (n, k) of x.dtype, idx (n, k) int64); see knn.h.

    restrict(q0, keys), if given, may set keys of pairs it proves outside the candidates
    to inf in place (the int8 candidate pass, _ref_knn_int8.py).
    """
    if metric not in ("sqeuclidean", "inner_product"):
        raise ValueError("metric must be 'sqeuclidean' or 'inner_product'")
    n, m = x.shape[0], y.shape[0]
    if not 1 <= k <= m - int(bool(exclude_self)):
        raise ValueError("k out of range for the database size")
    l2 = metric == "sqeuclidean"
    cap = min(k + SPARE, m - int(bool(exclude_self)))
    dtype = x.dtype
    ynorm = np.einsum("ij,ij->i", y, y) if l2 else None
    dist = np.empty((n, k), dtype=dtype)
    idx = np.empty((n, k), dtype=np.int64)
    step = max(1, _BLOCK_BYTES // (8 * max(m, cap * x.shape[1])))
    for q0 in range(0, n, step):
        q = x[q0:q0 + step]
        dots = q @ y.T
        if l2:
            keys = np.einsum("ij,ij->i", q, q)[:, None] + ynorm[None, :] - 2 * dots
            np.maximum(keys, 0, out=keys)
        else:
            keys = -dots
        if exclude_self:
            rows = np.arange(len(q))
            keys[rows, q0 + rows] = np.inf
        if restrict is not None:
            restrict(q0, keys)
        cand = _select(keys, cap)
        diff = q[:, None, :].astype(np.float64) - y[cand].astype(np.float64)
        exact = (np.einsum("ijk,ijk->ij", diff, diff) if l2 else
                 -np.einsum("ik,ijk->ij", q.astype(np.float64), y[cand].astype(np.float64)))
        exact = exact.astype(dtype)
        order = np.lexsort((cand, exact), axis=1)[:, :k]
        best = np.take_along_axis(exact, order, axis=1)
        dist[q0:q0 + step] = best if l2 else -best
        idx[q0:q0 + step] = np.take_along_axis(cand, order, axis=1)
    return dist, idx
