"""numpy twin of cpp/src/fastscan: 4-bit PQ fast-scan search (André et al.; faiss
IndexPQFastScan), formulas in cpp/include/lowdim/fastscan.h.

The uint8 tables are computed with the same float64 operations as the C++ driver, and the
scores are exact integer sums, so the candidate set — the kprime smallest (score, index)
pairs — is identical; the re-rank sums float32 table entries in m order like pq_search.
No packing here: the block layout only serves the SIMD kernel, the sums do not depend on it.
"""
from __future__ import annotations

import numpy as np

_BLOCK_BYTES = 1 << 22   # queries per pass so the (queries, n) score block stays a few MiB


def fastscan_luts(table: np.ndarray) -> np.ndarray:
    """(nq, M, 16) float32 tables -> (nq, M, 16) uint8: per-sub-space minimum removed,
    one scale per query, top = min(127, 65535 // M) so that M entries sum within uint16."""
    M = table.shape[1]
    t = table.astype(np.float64)
    lo = t.min(axis=2, keepdims=True)
    span = (t.max(axis=2) - lo[:, :, 0]).max(axis=1)
    top = float(min(127, 65535 // M))
    with np.errstate(divide="ignore"):
        a = np.where(span > 0, top / np.where(span > 0, span, 1.0), 0.0)
    return np.minimum(np.floor((t - lo) * a[:, None, None] + 0.5), top).astype(np.uint8)


def pq_fastscan_search(table, codes, k, kprime, n_threads):
    """(distances (nq, k) float32, indices (nq, k) int64): the k smallest exact ADC
    (distance, index) pairs among the kprime smallest (uint8-table score, index) pairs."""
    nq, M, _ = table.shape
    n = codes.shape[0]
    luts = fastscan_luts(table)
    cols = codes.astype(np.intp)
    dist = np.empty((nq, k), dtype=np.float32)
    idx = np.empty((nq, k), dtype=np.int64)
    step = max(1, _BLOCK_BYTES // (8 * n))
    rows = np.arange(min(step, nq))[:, None]
    for s in range(0, nq, step):
        lq, tq = luts[s:s + step], table[s:s + step]
        r = rows[:lq.shape[0]]
        score = np.zeros((lq.shape[0], n), dtype=np.int32)
        for m in range(M):
            score += lq[:, m, cols[:, m]]
        cand = np.argsort(score, axis=1, kind="stable")[:, :kprime]   # ties: lower index
        acc = np.zeros(cand.shape, dtype=np.float32)
        for m in range(M):
            acc += tq[r, m, cols[cand, m]]
        order = np.lexsort((cand, acc), axis=-1)[:, :k]
        idx[s:s + step] = np.take_along_axis(cand, order, axis=1)
        dist[s:s + step] = np.take_along_axis(acc, order, axis=1)
    return dist, idx
