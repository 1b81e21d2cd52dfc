"""Pointwise GRIDE and CorrInt: the global estimator fitted on every point's neighbourhood.

As skdim's GlobalEstimator.fit_pw: the neighbourhood of point i is its n_neighbors nearest
neighbours (i itself excluded), and the estimator runs on those points alone (their own
neighbours and pair distances within the set). Vectorised over blocks of neighbourhoods:
one (B, K, K) distance tensor per block instead of a Python fit per point. Formulas: Gride
(Denti et al. 2022, _scale.py) and the correlation integral (Grassberger & Procaccia 1983).
"""
from __future__ import annotations

from typing import Iterator, TypeVar

import numpy as np
import numpy.typing as npt

from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int
from ._estimators import _IDEstimator, _checked_indices, _smooth, _threads, _within_sq_blocks

_E = TypeVar("_E", bound=_IDEstimator)


def neighbourhood_indices(est: _IDEstimator, X: npt.ArrayLike,
                          precomputed_knn: npt.ArrayLike | None, n_neighbors: int,
                          n_jobs: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(x, idx (n, K)): the points and each one's K nearest neighbours, self excluded."""
    x = as_float_array(X, name="X")
    k = check_int(n_neighbors, name="n_neighbors", low=3)
    if precomputed_knn is not None:
        return x, _checked_indices(precomputed_knn, len(x), k)
    if k > len(x) - 1:
        raise ValueError(f"n_neighbors must be <= {len(x) - 1}, got {k}")
    _, idx = _knn_mod.knn(x, k, n_threads=_threads(est.n_threads, n_jobs))
    return x, idx


def sorted_within(x: np.ndarray, idx: np.ndarray,
                  block_bytes: int = 64 << 20) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, r): r[b, j] = sorted distances from point j of neighbourhood start + b
    to the other K − 1 points of that neighbourhood, shape (B, K, K − 1), float64."""
    k = idx.shape[1]
    for s, d2 in _within_sq_blocks(x, idx, block_bytes):
        yield s, np.sqrt(np.maximum(np.sort(d2, axis=2)[:, :, :k - 1], 0))


def gride_rows(logmu: np.ndarray, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Gride (d, standard error) of every row of logmu (B, m), NaN entries left out, with
    skdim's rules: ties (ln μ = 0) dropped, then μ >= q50 + 20 (q95 − q50) dropped, and
    N − 1 in the score. Bisection in log d on all rows at once."""
    ok = np.isfinite(logmu) & (logmu > 0)
    mu = np.where(ok, np.exp(np.where(ok, logmu, 0.0)), np.nan)
    q95, q50 = np.nanpercentile(mu, [95, 50], axis=1)
    ok &= mu < (20 * (q95 - q50) + q50)[:, None]
    lm = np.where(ok, logmu, 0.0)
    cnt = ok.sum(axis=1)
    if (cnt < 2).any():
        raise ValueError("a neighbourhood has fewer than 2 usable ratios (duplicate points)")
    s_lm = lm.sum(axis=1)
    lo, hi = np.full(len(lm), 1e-6), np.full(len(lm), 1e6)

    def terms(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = d[:, None] * lm
        safe = np.where(ok & (x > 0), x, 1.0)
        q = np.where(ok, lm / -np.expm1(-safe), 0.0)
        info = np.where(ok, lm**2 * np.exp(-safe) / np.expm1(-safe) ** 2, 0.0)
        return q.sum(axis=1), info.sum(axis=1)

    for _ in range(200):
        mid = np.sqrt(lo * hi)
        score = (cnt - 1) / mid + (n2 - n1 - 1) * terms(mid)[0] - (n2 - 1) * s_lm
        lo, hi = np.where(score > 0, mid, lo), np.where(score > 0, hi, mid)
        if (hi / lo < 1 + 1e-12).all():
            break
    d = np.sqrt(lo * hi)
    info = cnt / d**2 + (n2 - n1 - 1) * terms(d)[1]
    return d, 1.0 / np.sqrt(info)


def gride_pw(x: np.ndarray, idx: np.ndarray, n1: int,
             n2: int) -> tuple[np.ndarray, np.ndarray]:
    """(dimension, error) of Gride on every neighbourhood x[idx[i]]."""
    if n2 > idx.shape[1] - 1:
        raise ValueError(f"n2={n2} needs neighbourhoods of at least n2 + 1 = {n2 + 1} points")
    dim, err = np.empty(len(idx)), np.empty(len(idx))
    for s, r in sorted_within(x, idx):
        with np.errstate(divide="ignore", invalid="ignore"):
            logmu = np.log(r[:, :, n2 - 1] / r[:, :, n1 - 1])
        dim[s:s + len(r)], err[s:s + len(r)] = gride_rows(logmu, n1, n2)
    return dim, err


def corrint_pw(x: np.ndarray, idx: np.ndarray, k1: int, k2: int) -> np.ndarray:
    """Correlation dimension of every neighbourhood x[idx[i]] (K points): radii = medians
    of the k1-th and k2-th neighbour distances within it, counts = ordered pairs below."""
    k = idx.shape[1]
    k2 = min(k2, k - 1)
    k1 = k2 - 1 if k1 >= k or k1 > k2 else k1
    out = np.empty(len(idx))
    for s, r in sorted_within(x, idx):
        r1 = np.median(r[:, :, k1 - 1], axis=1)
        r2 = np.median(r[:, :, k2 - 1], axis=1)
        c1 = (r < r1[:, None, None]).sum(axis=(1, 2))
        c2 = (r < r2[:, None, None]).sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[s:s + len(r)] = np.log(c2 / c1) / np.log(r2 / r1)
    return out


def set_pointwise(est: _E, pw: np.ndarray, idx: np.ndarray, smooth: bool) -> _E:
    """dimension_pw_ and, when asked, dimension_pw_smooth_ (a stale one is removed)."""
    est.dimension_pw_ = pw
    if smooth:
        est.dimension_pw_smooth_ = _smooth(pw, idx)
    elif hasattr(est, "dimension_pw_smooth_"):
        del est.dimension_pw_smooth_
    return est
