"""Intrinsic dimension against neighbourhood scale: Gride and TwoNN under decimation.

Gride (Denti et al. 2022): μ_i = r_{i,2n1} / r_{i,n1} has density
  f(μ) = d (μ^d − 1)^(n1 − 1) / (B(n1, n1) μ^((2n1 − 1)d + 1)),
so d is the root of the score n/d + (n1 − 1) Σ ln μ / (1 − μ^−d) − (2n1 − 1) Σ ln μ (it
decreases in d) and its standard error is 1/√(Fisher information). n1 = 1 is TwoNN's MLE.
TwoNN under decimation (DADApy's return_id_scaling_2NN): TwoNN (MLE form, nothing
discarded) on disjoint seeded subsets of n / 2^j points, whose neighbours lie farther away.
The scale of each estimate is the mean distance of the farthest neighbour it uses.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int

STREAM_DECIMATION = 0x49444443     # seeded partition of the points into decimated subsets
MAX_SUBSETS = 8                    # subsets averaged per decimation level


def _gride_score(d: float, logmu: np.ndarray, n1: int, n2: int | None = None,
                 n_score: int | None = None) -> tuple[float, float]:
    """Score (derivative of the log-likelihood) and Fisher information at d.

    n2 defaults to 2·n1; n_score replaces n in the score's n/d term (skdim's N − 1)."""
    n2 = 2 * n1 if n2 is None else n2
    x = d * logmu
    # ln μ / (1 − μ^−d), which tends to 1/d as ln μ → 0 (tied distances)
    safe = np.where(x > 0, x, 1.0)
    q = np.where(x > 0, logmu / -np.expm1(-safe), 1.0 / d)
    info_terms = np.where(x > 0, logmu**2 * np.exp(-safe) / np.expm1(-safe) ** 2, 1.0 / d**2)
    n = len(logmu)
    score = (n if n_score is None else n_score) / d + (n2 - n1 - 1) * q.sum() \
        - (n2 - 1) * logmu.sum()
    info = n / d**2 + (n2 - n1 - 1) * info_terms.sum()
    return float(score), float(info)


def gride_from_logmu(logmu: np.ndarray, n1: int, n2: int | None = None,
                     n_score: int | None = None) -> tuple[float, float]:
    """(d, standard error): root of the decreasing Gride score, by bisection in log d."""
    lo, hi = 1e-6, 1e6
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if _gride_score(mid, logmu, n1, n2, n_score)[0] > 0:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-12:
            break
    d = math.sqrt(lo * hi)
    return d, 1.0 / math.sqrt(_gride_score(d, logmu, n1, n2)[1])


def gride(dist: npt.ArrayLike, n1: int) -> tuple[float, float]:
    """(d, standard error) by Gride from sorted distances (n, >= 2·n1), all > 0."""
    r = np.asarray(dist, dtype=np.float64)
    logmu = np.log(r[:, 2 * n1 - 1] / r[:, n1 - 1])
    if not logmu.any():
        raise ValueError(f"every ratio r_{2 * n1}/r_{n1} is 1; the dimension is undefined")
    return gride_from_logmu(logmu, n1)


def id_scale_curve(X: npt.ArrayLike, *, max_n1: int = 64, min_points: int = 20,
                   duplicates: str = "merge", n_threads: int | None = None, seed: int = 0,
                   random_state: int | None = None) -> dict[str, dict[str, list[Any]]]:
    """Intrinsic dimension as a function of neighbourhood scale.

    Parameters
    ----------
    X : array of shape (n, d), n >= 3
    max_n1 : int, default 64
        Largest Gride scale: n1 = 1, 2, 4, … <= max_n1 (and 2·n1 < number of points).
    min_points : int, default 20
        Smallest decimated subset for TwoNN under decimation.
    duplicates : {'merge', 'raise'}
        Duplicate points are counted once (or refused), as in intrinsic_dim.
    n_threads : int, optional
    seed : int, default 0
        Seed of the decimation subsets (lowdim's counter-based RNG).
    random_state : int, optional
        Deprecated name of seed (FutureWarning); removed in the next release.

    Returns
    -------
    dict with 'gride' {'n1', 'id', 'std_error', 'scale'} and 'decimation' {'n_points', 'id',
    'std_error', 'scale'}: lists, one entry per scale, scale = mean distance of the farthest
    neighbour used (r_{2·n1} for Gride, r_2 within the subset for decimation).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).uniform(size=(500, 2))
    >>> curve = lowdim.id_scale_curve(X, max_n1=8)
    >>> curve["gride"]["n1"], curve["decimation"]["n_points"]
    ([1, 2, 4, 8], [500, 250, 125, 62, 31])
    >>> bool(all(1.5 < d < 2.5 for d in curve["gride"]["id"]))
    True
    """
    max_n1 = check_int(max_n1, name="max_n1", low=1)
    min_points = check_int(min_points, name="min_points", low=3)
    _lid._check_choice(duplicates, "duplicates", _lid._DUPLICATE_POLICIES)
    seed = _rng.function_seed(seed, random_state, owner="id_scale_curve")
    x = as_float_array(X, name="X")
    if x.shape[0] < 3:
        raise ValueError(f"id_scale_curve needs at least 3 points, got {x.shape[0]}")
    dist, _ = _knn_mod.knn(x, 1, n_threads=n_threads)
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        x, _ = _lid._dedupe_or_raise(x, duplicates, zero, 3)
    n = len(x)
    n1s = [1 << j for j in range(max_n1.bit_length()) if (1 << j) <= max_n1
           and 2 << j <= n - 1]
    dist, _ = _knn_mod.knn(x, 2 * n1s[-1], n_threads=n_threads)
    dist = dist.astype(np.float64)
    g: dict[str, list[Any]] = {"n1": [], "id": [], "std_error": [], "scale": []}
    for n1 in n1s:
        d, se = gride(dist, n1)
        g["n1"].append(n1)
        g["id"].append(d)
        g["std_error"].append(se)
        g["scale"].append(float(dist[:, 2 * n1 - 1].mean()))
    dec: dict[str, list[Any]] = {"n_points": [], "id": [], "std_error": [], "scale": []}
    order = np.argsort(_config.kernels().random_bits(seed, STREAM_DECIMATION, 0, n),
                       kind="stable")
    level = 0
    while n >> level >= max(min_points, 3):
        size = n >> level
        ids, scales = [], []
        for s in range(min(1 << level, MAX_SUBSETS)):
            sub = x[np.sort(order[s * size:(s + 1) * size])]
            r, _ = _knn_mod.knn(sub, 2, n_threads=n_threads)
            r = r.astype(np.float64)
            ids.append(_lid.twonn_from_ratios(r[:, 1] / r[:, 0], discard_fraction=0.0,
                                              method="mle")[0])
            scales.append(float(r[:, 1].mean()))
        dec["n_points"].append(size)
        dec["id"].append(float(np.mean(ids)))
        # one subset: the MLE's own error d/√(size − 2); several: their spread
        dec["std_error"].append(float(np.std(ids, ddof=1) / math.sqrt(len(ids))) if len(ids) > 1
                                else ids[0] / math.sqrt(max(size - 2, 1)))
        dec["scale"].append(float(np.mean(scales)))
        level += 1
    return {"gride": g, "decimation": dec}
