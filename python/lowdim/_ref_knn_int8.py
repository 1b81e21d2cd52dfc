"""numpy twin of cpp/src/knn_int8: exact kNN with an int8 candidate pass (knn_int8.h).

Rows z = x − μ (μ: the database mean as float32) are quantized per row, queries to 8 bits
and database rows to 7 bits; the integer products give each pair an interval [L, U] that
holds the float32 tile key of _ref_knn (Cauchy–Schwarz on the quantization residuals,
plus γ_d = d·u/(1 − d·u) for the float32 products and norms). Pairs whose L exceeds the
(k + SPARE)-th smallest U of their query cannot be candidates; _ref_knn then runs with
those keys set to inf, which leaves its output unchanged, bit for bit.
"""
from __future__ import annotations

import numpy as np

from . import _ref_knn

_SLACK = 2.0 ** -30          # relative margin for this module's own float64 rounding
_TINY = 2.0 ** -100          # absolute margin (underflow in the float32 products)


def _quantize(x: np.ndarray, mu: np.ndarray, top: int):
    """(q (rows, d) float64 integers, scale, ‖z − ẑ‖, ‖ẑ‖, ‖z‖, z·μ) for z = x − μ."""
    z = x.astype(np.float64) - mu
    big = np.abs(z).max(axis=1)
    scale = (big / top).astype(np.float32).astype(np.float64)
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(z / safe[:, None]), -top, top)
    q[scale == 0] = 0
    resid = np.linalg.norm(z - scale[:, None] * q, axis=1)
    return q, scale, resid, scale * np.linalg.norm(q, axis=1), np.linalg.norm(z, axis=1), z @ mu


def knn_int8(x, y, k, metric, exclude_self, n_threads):
    """float32 x (n, d), y (m, d) -> (dist, idx) of _ref_knn.knn and the pairs rescored."""
    if x.dtype != np.float32 or y.dtype != np.float32:
        raise TypeError("knn_int8 needs float32 x and y")
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    cap = min(k + _ref_knn.SPARE, m - int(bool(exclude_self)))
    l2 = metric == "sqeuclidean"
    beta = 2.0 if l2 else 1.0
    mu = y.astype(np.float64).mean(axis=0).astype(np.float32).astype(np.float64)
    mu2 = float(mu @ mu)
    qa, sa, ra, na, za, zma = _quantize(x, mu, 127)
    qb, sb, rb, _, zb, zmb = _quantize(y, mu, 63)
    u = 2.0 ** -24
    gamma = d * u / (1 - d * u)

    def alpha(zn, zmu):
        return zn * zn if l2 else -(zmu + mu2 / 2)

    def budget(arr):   # the float32 path's rounding share of each row (norms and products)
        sq = np.einsum("ij,ij->i", arr, arr, dtype=np.float64)
        return (2 * gamma + 6 * u) * sq * (1 + 2.0 ** -10)

    aa, ab = alpha(za, zma), alpha(zb, zmb)
    mag_a = np.abs(aa) + za * za + za * np.sqrt(mu2) + mu2
    mag_b = np.abs(ab) + zb * zb + zb * np.sqrt(mu2) + mu2
    fa, fb = budget(x) + _TINY, budget(y)
    rescored = [0]

    def restrict(q0, keys):
        rows = slice(q0, q0 + keys.shape[0])
        e = (sa[rows, None] * sb[None, :]) * (qa[rows] @ qb.T)
        bq = beta * (ra[rows, None] * zb[None, :] + na[rows, None] * rb[None, :])
        mag = mag_a[rows, None] + mag_b[None, :] + beta * np.abs(e) + bq
        wid = (bq + mag * _SLACK + fa[rows, None] + fb[None, :]) * (1 + _SLACK)
        centre = aa[rows, None] + ab[None, :] - beta * e
        low, up = centre - wid, centre + wid
        if exclude_self:
            r = np.arange(keys.shape[0])
            low[r, q0 + r] = up[r, q0 + r] = np.inf
        thr = np.partition(up, cap - 1, axis=1)[:, cap - 1]
        kept = low <= thr[:, None]
        rescored[0] += int(kept.sum())
        keys[~kept] = np.inf

    dist, idx = _ref_knn.knn(x, y, k, metric, exclude_self, n_threads, restrict=restrict)
    return dist, idx, rescored[0]
