"""numpy twin of cpp/src/pq: k-means per sub-space, encode, decode, distance tables, ADC.

Operation order matches the C++ kernels exactly, so both backends are bitwise equal:
distances Σ_j (c_j − x_j)² (encode, tables) and k-means scores ‖c‖² + Σ_j (−2x_j)·c_j
accumulate in j order by float32 fma (emulated exactly, fma32); argmin keeps the first
minimum; k-means sums are float64 in point order (np.bincount); ADC sums table entries in
m order in float32 and breaks distance ties by the lower index.
"""
from __future__ import annotations

import numpy as np

_BLOCK_BYTES = 1 << 22   # rows per pass so the (rows, K) distance block stays a few MiB
_EPS = np.float32(1.0 / 1024.0)


def _rows_per_block(width: int) -> int:
    return max(1, _BLOCK_BYTES // (4 * max(1, width)))


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """fma(a, b, c) of float32 arrays (broadcast), correctly rounded: bitwise vfmadd…ps.

    a·b is exact in float64, so s = a·b + c has one float64 rounding; rounding s to float32
    is then correct unless s landed exactly on a float32 midpoint (or in the float32
    subnormal range). Only there the exact error (TwoSum) decides: the float64 sum is
    rounded to odd, which makes the float32 rounding correct since 53 ≥ 2·24 + 2
    (Boldo & Melquiond 2008) — the same steps as the scalar C++ fma_f32.
    """
    p = np.multiply(a, b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        s = p + c
        out = s.astype(np.float32)
        bits = s.view(np.uint64)
        risky = ((bits & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)) | (
            np.abs(s) < 2.0 ** -125)
        risky &= np.isfinite(s)
        if risky.any():
            pr, sr = p[risky], s[risky]
            cr = np.broadcast_to(c, s.shape)[risky].astype(np.float64)
            bp = sr - pr
            e = (pr - (sr - bp)) + (cr - bp)
            rb = sr.view(np.uint64)
            fix = (e != 0) & ((rb & np.uint64(1)) == 0)
            step = np.where((e > 0) == (sr > 0), np.uint64(1), np.uint64(0) - np.uint64(1))
            out[risky] = np.where(fix, rb + step, rb).view(np.float64).astype(np.float32)
    return out


def _sub_distances(xs: np.ndarray, cent: np.ndarray) -> np.ndarray:
    """xs (n, dsub), cent (K, dsub) -> (n, K) float32, Σ_j (c_j − x_j)² in j order."""
    acc = np.zeros((xs.shape[0], cent.shape[0]), dtype=np.float32)
    for j in range(xs.shape[1]):
        diff = cent[None, :, j] - xs[:, j, None]
        acc = fma32(diff, diff, acc)
    return acc


def _sub_scores(xs: np.ndarray, cent: np.ndarray, cnorm: np.ndarray) -> np.ndarray:
    """xs (n, dsub), cent (K, dsub) -> (n, K) float32, ‖c‖² + Σ_j (−2x_j)·c_j in j order."""
    acc = np.repeat(cnorm[None, :], xs.shape[0], axis=0)
    for j in range(xs.shape[1]):
        acc = fma32(np.float32(-2.0) * xs[:, j, None], cent[None, :, j], acc)
    return acc


def _nearest_ip(xs: np.ndarray, cent: np.ndarray) -> np.ndarray:
    """k-means assignment: the first minimum of the score ‖c‖² − 2 x·c."""
    cnorm = np.zeros(cent.shape[0], dtype=np.float32)
    for j in range(cent.shape[1]):
        cnorm += cent[:, j] * cent[:, j]
    labels = np.empty(xs.shape[0], dtype=np.int64)
    step = _rows_per_block(cent.shape[0])
    for s in range(0, xs.shape[0], step):
        labels[s:s + step] = np.argmin(_sub_scores(xs[s:s + step], cent, cnorm), axis=1)
    return labels


def _nearest(xs: np.ndarray, cent: np.ndarray) -> np.ndarray:
    labels = np.empty(xs.shape[0], dtype=np.int64)
    step = _rows_per_block(cent.shape[0])
    for s in range(0, xs.shape[0], step):
        labels[s:s + step] = np.argmin(_sub_distances(xs[s:s + step], cent), axis=1)
    return labels


def _kmeans_one(xs: np.ndarray, cent: np.ndarray, n_iter: int) -> np.ndarray:
    K, dsub = cent.shape
    xs64 = xs.astype(np.float64)
    for _ in range(n_iter):
        labels = _nearest_ip(xs, cent)
        counts = np.bincount(labels, minlength=K)
        nonempty = counts > 0
        for j in range(dsub):
            sums = np.bincount(labels, weights=xs64[:, j], minlength=K)
            cent[nonempty, j] = (sums[nonempty] / counts[nonempty]).astype(np.float32)
        up = np.where(np.arange(dsub) % 2 == 0, np.float32(1) + _EPS, np.float32(1) - _EPS)
        down = np.where(np.arange(dsub) % 2 == 0, np.float32(1) - _EPS, np.float32(1) + _EPS)
        for ci in np.flatnonzero(counts == 0):
            cj = int(np.argmax(counts))          # first largest cluster
            v = cent[cj].copy()
            cent[ci] = v * up.astype(np.float32)
            cent[cj] = v * down.astype(np.float32)
            counts[ci] = counts[cj] // 2
            counts[cj] -= counts[ci]
    return cent


def pq_kmeans(x, centroids, n_iter, n_threads):
    """x (n, M·dsub) float32, centroids (M, K, dsub) -> codebooks after n_iter Lloyd steps."""
    M, K, dsub = centroids.shape
    out = np.array(centroids, dtype=np.float32, copy=True)
    for m in range(M):
        xs = np.ascontiguousarray(x[:, m * dsub:(m + 1) * dsub])
        _kmeans_one(xs, out[m], n_iter)
    return out


def pq_encode(x, codebooks, n_threads):
    """x (n, M·dsub) -> codes (n, M), uint8 when K ≤ 256 else uint16."""
    M, K, dsub = codebooks.shape
    codes = np.empty((x.shape[0], M), dtype=np.uint8 if K <= 256 else np.uint16)
    for m in range(M):
        codes[:, m] = _nearest(x[:, m * dsub:(m + 1) * dsub], codebooks[m])
    return codes


def pq_decode(codes, codebooks, n_threads):
    """codes (n, M) -> (n, M·dsub): the concatenated centroids."""
    M, K, dsub = codebooks.shape
    out = np.empty((codes.shape[0], M, dsub), dtype=np.float32)
    for m in range(M):
        out[:, m] = codebooks[m][codes[:, m]]
    return out.reshape(codes.shape[0], M * dsub)


def pq_distance_table(q, codebooks, n_threads):
    """q (nq, M·dsub) -> (nq, M, K) with table[i, m, k] = ‖q_m − c_{m,k}‖²."""
    M, K, dsub = codebooks.shape
    table = np.empty((q.shape[0], M, K), dtype=np.float32)
    for m in range(M):
        table[:, m] = _sub_distances(q[:, m * dsub:(m + 1) * dsub], codebooks[m])
    return table


def pq_search(table, codes, k, n_threads):
    """ADC top-k: (distances (nq, k) float32, indices (nq, k) int64), ascending, ties by index."""
    nq, M, K = table.shape
    n = codes.shape[0]
    dist = np.empty((nq, k), dtype=np.float32)
    idx = np.empty((nq, k), dtype=np.int64)
    cols = codes.astype(np.intp)
    step = _rows_per_block(n)
    for s in range(0, nq, step):
        t = table[s:s + step]
        acc = np.zeros((t.shape[0], n), dtype=np.float32)
        for m in range(M):
            acc += t[:, m, cols[:, m]]
        order = np.argsort(acc, axis=1, kind="stable")[:, :k]   # stable: ties by index
        idx[s:s + step] = order
        dist[s:s + step] = np.take_along_axis(acc, order, axis=1)
    return dist, idx
