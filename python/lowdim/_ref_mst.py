"""numpy twin of cpp/src/mst: exact Euclidean MST by Prim's algorithm, O(n) extra memory.

Same algorithm as the C++ driver: start at point 0, keep best[j] (squared distance from
the tree to j) and parent[j] for the points outside the tree in a compacted copy
(swap-remove), add the closest one (ties: lowest point index), update with direct
differences in float64. Edges come back sorted by (length, i, j).
"""
from __future__ import annotations

import numpy as np


def _sort_edges(edges: np.ndarray, lengths: np.ndarray):
    order = np.lexsort((edges[:, 1], edges[:, 0], lengths))
    return edges[order], lengths[order]


def mst(x: np.ndarray, n_threads: int):
    """Edges (n-1, 2) int64 with i < j and lengths (n-1,) float64 of the Euclidean MST."""
    n = x.shape[0]
    y = x.copy()                                  # outside points, compacted to [0, m)
    point = np.arange(n, dtype=np.int64)
    best = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    edges = np.empty((n - 1, 2), dtype=np.int64)
    lengths = np.empty(n - 1)

    def remove(p: int, m: int) -> None:           # the last live position moves into p
        last = m - 1
        if p != last:
            y[p] = y[last]
            best[p], parent[p], point[p] = best[last], parent[last], point[last]

    u, m = 0, n
    remove(0, m)
    m -= 1
    for e in range(n - 1):
        diff = (y[:m] - x[u]).astype(np.float64, copy=False)   # direct differences
        dist = np.einsum("ij,ij->i", diff, diff)
        lower = dist < best[:m]
        best[:m][lower] = dist[lower]
        parent[:m][lower] = u
        low = best[:m].min()
        tied = np.flatnonzero(best[:m] == low)
        p = int(tied[np.argmin(point[tied])])     # ties: lowest point index
        a, b = int(parent[p]), int(point[p])
        edges[e] = (min(a, b), max(a, b))
        lengths[e] = np.sqrt(best[p])
        u = b
        remove(p, m)
        m -= 1
    return _sort_edges(edges, lengths)


def mst_length_batch(x: np.ndarray, alpha: float, n_threads: int) -> np.ndarray:
    """out[b] = sum of length**alpha over the MST of cloud x[b]; x: (batch, n, d)."""
    out = np.empty(x.shape[0])
    for b in range(x.shape[0]):
        _, lengths = mst(x[b], 1)
        out[b] = np.sum(lengths if alpha == 1.0 else lengths ** alpha)
    return out
