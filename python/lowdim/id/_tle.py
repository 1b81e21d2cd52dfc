"""Tight local intrinsic dimension estimator, TLE (Amsaleg et al. 2019), as skdim.id.TLE.

The variant with central measurements and reflections (idtlec.m of Radovanović's code,
skdim's TLE): for neighbours i, j of a point with k-th distance r, measurements s_ij, t_ij
from the distances u_i, u_j and v_ij, and d = −2(k² − dropped) / (Σ ln(t/r) + Σ ln(s/r)
+ 2 Σ ln(u/r)). Evaluated for blocks of points at once on (block, k, k) arrays, with the
boundary cases of skdim's per-point code as masks.
"""
from __future__ import annotations

import numpy as np

from ._local import _LocalEstimator


def _tle_block(g: np.ndarray, u: np.ndarray, eps: float) -> np.ndarray:
    """TLE of each neighbourhood: g (b, k, D) neighbour coordinates, u (b, k) distances."""
    b, k, _ = g.shape
    g = g - g.mean(axis=1, keepdims=True)                 # centring reduces cancellation
    sq = np.einsum("bij,bij->bi", g, g)
    v2 = np.maximum(sq[:, :, None] + sq[:, None, :] - 2 * np.matmul(g, g.transpose(0, 2, 1)), 0)
    diag = np.eye(k, dtype=bool)
    v2[:, diag] = 0
    r = u[:, -1][:, None, None]
    di, dj = u[:, :, None], u[:, None, :]
    di2, dj2 = di * di, dj * dj
    z2 = 2 * di2 + 2 * dj2 - v2
    den = 2 * (r * r - di2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = di2 + v2 - dj2
        s = r * (np.sqrt(a * a + 4 * v2 * (r * r - di2)) - a) / den
        a = di2 + z2 - dj2
        t = r * (np.sqrt(a * a + 4 * z2 * (r * r - di2)) - a) / den
        tie = np.broadcast_to(di == r, s.shape)             # rows at the k-th distance
        s = np.where(tie, r * v2 / (r * r + v2 - dj2), s)
        t = np.where(tie, r * z2 / (r * r + z2 - dj2), t)
        di0 = np.broadcast_to(di == 0, s.shape)
        s = np.where(di0, dj, s)
        t = np.where(di0, dj, t)
        dj0 = np.broadcast_to(dj == 0, s.shape)
        v = np.sqrt(v2)
        s = np.where(dj0, r * v / (r + v), s)
        t = np.where(dj0, r * v / (r + v), t)
    v0 = (v2 == 0) & ~diag
    n_v0 = v0.sum(axis=(1, 2))
    s = np.where(v0, r, s)
    t = np.where(v0, r, t)
    drop = ((t < eps) | (s < eps) | np.isnan(t) | np.isnan(s)) & ~diag
    n_drop = drop.sum(axis=(1, 2))
    keep = ~drop & ~diag
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.where(keep, np.log(np.where(keep, t, 1) / r), 0).sum(axis=(1, 2))
        ls = np.where(keep, np.log(np.where(keep, s, 1) / r), 0).sum(axis=(1, 2))
    small = u < eps
    n_small = small.sum(axis=1)
    with np.errstate(divide="ignore"):
        l2 = np.where(small, 0, np.log(np.where(small, 1, u) / u[:, -1:])).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = -2 * (k * k - n_drop - n_small - n_v0) / (lt + ls + 2 * l2)
    return np.where(lt + ls > -eps, 0.0, d)


class TLE(_LocalEstimator):
    """Tight local intrinsic dimension estimator, with skdim.id.TLE's interface.

    Parameters
    ----------
    epsilon : float, default 1e-4
        Measurements and distances below epsilon are dropped (absolute, as in skdim).
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once before the neighbours are searched.
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n,)
    dimension_pw_smooth_ : ndarray of shape (n,), when fit with smooth=True

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import TLE
    >>> X = np.random.default_rng(0).random((500, 3))
    >>> 2 < TLE().fit(X).dimension_ < 4
    True
    """

    _N_NEIGHBORS = 20

    def __init__(self, epsilon: float = 1e-4, *, duplicates: str = "merge",
                 n_threads: int | None = None):
        self.epsilon = epsilon
        self.duplicates = duplicates
        self.n_threads = n_threads

    def _pointwise(self, x: np.ndarray, dist: np.ndarray, idx: np.ndarray,
                   block_bytes: int = 32 << 20) -> np.ndarray:
        if (dist[:, -1] == 0).any():
            raise ValueError("All k-NN distances are zero!")
        n, k = idx.shape
        out = np.empty(n)
        step = max(1, block_bytes // (8 * k * max(k * 12, x.shape[1])))
        for s in range(0, n, step):
            out[s:s + step] = _tle_block(x[idx[s:s + step]].astype(np.float64),
                                         dist[s:s + step], float(self.epsilon))
        return out
