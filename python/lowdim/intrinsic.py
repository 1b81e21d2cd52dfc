"""Local and global intrinsic dimension from nearest-neighbour distances.

Local MLE at x from its k nearest distances r_1 <= ... <= r_k (self excluded):
  Amsaleg et al. 2015 ("mle"):           k / Σ_{j<=k} ln(r_k / r_j)
  Levina & Bickel 2004 ("levina_bickel"): (k − 1) / Σ_{j<k} ln(r_k / r_j)
Global MLE = 1 / mean(1 / local) (MacKay & Ghahramani). TwoNN (Facco et al. 2017): least
squares through the origin of −ln(1 − i/N) on ln μ_(i), μ = r_2 / r_1, largest ratios dropped.

Duplicate policy (zero distances): exact duplicate points are counted once. The estimate
is computed on the distinct points and every copy gets the value of its representative;
duplicates="raise" refuses instead. Near-duplicates (tiny but nonzero distances) are kept.
"""
from __future__ import annotations

import numbers
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import neighbors as _knn_mod
from ._validate import as_float_array, as_ndarray, check_int, neighbor_count

ESTIMATORS = ("mle", "levina_bickel")
_DUPLICATE_POLICIES = ("merge", "raise")


def _check_choice(value: Any, name: str, choices: tuple[Any, ...]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_discard(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"discard_fraction must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"discard_fraction must be in [0, 1), got {value}")
    return float(value)


def _dedupe_or_raise(x: np.ndarray, duplicates: str, n_zero: int,
                     need: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct points of x and the map back, after zero distances were seen."""
    if duplicates == "raise":
        raise ValueError(f"{n_zero} points have a duplicate (zero distance to a neighbour); "
                         "use duplicates='merge' or lowdim.remove_duplicates(X)")
    unique, inverse = _knn_mod.remove_duplicates(x, return_inverse=True)
    if len(unique) < need:
        raise ValueError(f"X has only {len(unique)} distinct points (of {len(x)}); "
                         f"need at least {need}")
    return unique, inverse


def mle_from_distances(dist: npt.ArrayLike, kfac: float | None = None) -> np.ndarray:
    """kfac / Σ_j ln(r_k / r_j) per row of dist (n, k), sorted ascending, all > 0.

    kfac = k gives Amsaleg's MLE, k − 1 Levina–Bickel's (skdim: k − 2 when unbiased).
    A row whose k distances are all equal gives inf (no growth in volume with radius).
    """
    r = np.asarray(dist, dtype=np.float64)
    k = r.shape[1]
    logs = np.log(r)
    s = k * logs[:, -1] - logs.sum(axis=1)          # Σ_j ln r_k − ln r_j
    s = np.maximum(s, 0.0)                           # rounding can leave −tiny
    with np.errstate(divide="ignore"):
        return np.where(s > 0, (k if kfac is None else kfac) / np.where(s > 0, s, 1.0), np.inf)


def _scale_free(x: np.ndarray) -> np.ndarray:
    """x, or x times a power of two (exact) when its coordinates are so tiny that squared
    distances underflow (subnormals: 0/0 ratios, log 0) or so large that distances overflow
    the dtype (inf ratios). TwoNN and MLE read only ratios of distances, so the estimates
    do not change; ordinary data is returned untouched."""
    top = max(float(x.max()), -float(x.min()))
    info = np.finfo(x.dtype)
    if top == 0 or 2.0 ** (info.minexp // 4) <= top <= 2.0 ** (info.maxexp // 4):
        return x
    result: np.ndarray = np.ldexp(x, -int(np.frexp(top)[1])).astype(x.dtype, copy=False)
    return result


def check_knn_indices(idx: np.ndarray) -> np.ndarray:
    """Neighbour indices (n, k) that name rows 0..n-1: integers, none negative (numpy would
    wrap them) or out of range; returned C-contiguous int64."""
    n = idx.shape[0]
    if idx.dtype.kind not in "iu":
        raise ValueError(f"knn indices must be integers, got dtype {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"knn indices must be in [0, {n}) (rows of X), got values in "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    return np.ascontiguousarray(idx, dtype=np.int64)


def _check_knn_arrays(knn: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        dist, idx = knn
    except (TypeError, ValueError):
        raise TypeError("knn must be a (distances, indices) pair") from None
    dist = as_float_array(dist, name="knn distances", dtype=np.float64)
    idx = as_ndarray(idx, name="knn indices")
    if idx.shape != dist.shape:
        raise ValueError(f"knn distances {dist.shape} and indices {idx.shape} differ in shape")
    if dist.shape[1] < k:
        raise ValueError(f"knn has {dist.shape[1]} neighbours per point, k={k} needs more")
    dist = dist[:, :k]
    if (dist < 0).any() or (np.diff(dist, axis=1) < 0).any():
        raise ValueError("knn distances must be non-negative and sorted ascending per row")
    return dist, idx[:, :k]


def lid(X: npt.ArrayLike | None, k: int | None = 20, *, estimator: str = "mle",
        knn: tuple[npt.ArrayLike, npt.ArrayLike] | None = None, duplicates: str = "merge",
        n_threads: int | None = None, n_neighbors: int | None = None) -> np.ndarray:
    """Local intrinsic dimension of every point by maximum likelihood.

    Parameters
    ----------
    X : array of shape (n, d), or None when `knn` is given
    k : int >= 2, default 20
        Neighbours per point (self excluded).
    estimator : {'mle', 'levina_bickel'}
        'mle' = Amsaleg et al. (k / Σ ln(r_k/r_j)); 'levina_bickel' uses k − 1.
    knn : (distances, indices) of shape (n, >= k), optional
        Precomputed Euclidean neighbours (e.g. from lowdim.knn); skips the search unless
        they contain zero distances (duplicates): then X is needed to merge them (new
        search on the distinct points), and X=None raises ValueError.
    duplicates : {'merge', 'raise'}
        'merge': duplicate points are counted once and every copy gets the estimate of
        its distinct point; 'raise': ValueError naming how many points have duplicates.
    n_threads : int, optional
    n_neighbors : int, optional
        Alias of k (scikit-dimension's name in fit_pw).

    Returns
    -------
    ndarray of shape (n,), float64. inf where all k distances are equal.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> P = np.random.default_rng(0).uniform(size=(500, 2))
    >>> lowdim.lid(P, 10).shape
    (500,)
    """
    _check_choice(estimator, "estimator", ESTIMATORS)
    _check_choice(duplicates, "duplicates", _DUPLICATE_POLICIES)
    k = check_int(neighbor_count(k, n_neighbors, default=20), name="k", low=2)
    if knn is not None:
        dist, _ = _check_knn_arrays(knn, k)
        zero = int((dist[:, 0] == 0).sum())
        if not zero:
            return mle_from_distances(dist, k if estimator == "mle" else k - 1)
        if X is None:
            raise ValueError(f"knn has zero distances for {zero} points (duplicates); pass X "
                             "too so they can be merged, or use lowdim.remove_duplicates")
    pw, _, inverse = local_mle(X, k, k if estimator == "mle" else k - 1, duplicates, n_threads,
                               first=None if knn is None else (dist, None))
    return pw if inverse is None else pw[inverse]


def local_mle(X: npt.ArrayLike | None, k: int, kfac: float, duplicates: str = "merge",
              n_threads: int | None = None, first: tuple[np.ndarray, Any] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """MLE of every distinct point of X: (estimates, knn indices, inverse or None).

    Without duplicates, estimates and indices (n, k) refer to X itself and inverse is
    None; otherwise they refer to remove_duplicates(X) and estimates[inverse] maps back.
    `first` = (distances, indices) of X already searched (skips that search).
    """
    x = _scale_free(as_float_array(X, name="X"))
    if k > x.shape[0] - 1:
        raise ValueError(f"k must be <= {x.shape[0] - 1} (number of other points), got {k}")
    if first is not None and len(first[0]) != len(x):
        raise ValueError(f"knn has {len(first[0])} rows but X has {len(x)}")
    dist, idx = _knn_mod.knn(x, k, n_threads=n_threads) if first is None else first
    inverse = None
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        x, inverse = _dedupe_or_raise(x, duplicates, zero, k + 1)
        dist, idx = _knn_mod.knn(x, k, n_threads=n_threads)
    return mle_from_distances(dist, kfac), idx, inverse


def twonn_from_ratios(mu: npt.ArrayLike, n_total: int | None = None, *,
                      discard_fraction: float = 0.1,
                      method: str = "linear") -> tuple[float, np.ndarray, np.ndarray]:
    """TwoNN dimension from ratios μ = r2/r1 (all finite, >= 1). Returns (d, x, y).

    Keeps the n_keep = int(N·(1 − discard_fraction)) smallest ratios ('linear': at most
    N − 1, F = 1 has no finite y); empirical CDF
    F(μ_(i)) = i / N; 'linear' = slope through the origin of y = −ln(1 − F) on x = ln μ;
    'mle' = (n_keep − 1) / (Σ ln μ_(i) + (N − n_keep)·ln μ_(n_keep)) (censored Pareto MLE).
    """
    mu = np.sort(np.asarray(mu, dtype=np.float64))
    n = len(mu) if n_total is None else n_total
    n_keep = int(n * (1 - discard_fraction))
    if method != "mle":
        # F = 1 at the largest ratio would give y = ∞: the least-squares fit leaves it out
        # (the MLE has no F term and keeps every ratio, as skdim).
        n_keep = min(n_keep, n - 1)
    if n_keep < 2:
        raise ValueError(f"only {n_keep} ratios left after discarding; need at least 2 points")
    x = np.log(mu[:n_keep])
    with np.errstate(divide="ignore"):      # y = ∞ at F = 1 (MLE, nothing discarded; unused)
        y = -np.log1p(-np.arange(1, n_keep + 1) / n)
    if method == "mle":
        denom = x.sum() + (n - n_keep) * x[-1]
    else:
        denom = x @ x
    if not denom > 0:
        raise ValueError("every ratio r2/r1 is 1 (all second neighbours tie with the first); "
                         "the dimension is undefined")
    d = (n_keep - 1) / denom if method == "mle" else (x @ y) / denom
    return float(d), x, y


@overload
def twonn(X: npt.ArrayLike, *, discard_fraction: float = ..., method: str = ...,
          duplicates: str = ..., n_threads: int | None = ...,
          return_xy: Literal[False] = ...) -> float: ...
@overload
def twonn(X: npt.ArrayLike, *, discard_fraction: float = ..., method: str = ...,
          duplicates: str = ..., n_threads: int | None = ...,
          return_xy: Literal[True]) -> tuple[float, np.ndarray, np.ndarray]: ...
@overload
def twonn(X: npt.ArrayLike, *, discard_fraction: float = ..., method: str = ...,
          duplicates: str = ..., n_threads: int | None = ...,
          return_xy: bool) -> float | tuple[float, np.ndarray, np.ndarray]: ...


def twonn(X: npt.ArrayLike, *, discard_fraction: float = 0.1, method: str = "linear",
          duplicates: str = "merge", n_threads: int | None = None,
          return_xy: bool = False) -> float | tuple[float, np.ndarray, np.ndarray]:
    """Global intrinsic dimension by TwoNN (Facco et al. 2017).

    Parameters
    ----------
    X : array of shape (n, d), n >= 3
    discard_fraction : float in [0, 1), default 0.1
        Fraction of the largest ratios r2/r1 left out of the fit.
    method : {'linear', 'mle'}
        Least-squares line of the paper, or the closed-form censored MLE (as skdim).
    duplicates : {'merge', 'raise'}
        'merge' counts duplicate points once (skdim instead drops points whose r1 is 0).
    n_threads : int, optional
    return_xy : bool
        Also return the fitted x = ln μ and y = −ln(1 − F) arrays.

    Returns
    -------
    float (or (float, x, y)).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> P = np.random.default_rng(0).uniform(size=(500, 2))
    >>> round(lowdim.twonn(P), 1)
    2.1
    """
    discard_fraction = _check_discard(discard_fraction)
    _check_choice(method, "method", ("linear", "mle"))
    _check_choice(duplicates, "duplicates", _DUPLICATE_POLICIES)
    x = _scale_free(as_float_array(X, name="X"))
    if x.shape[0] < 3:
        raise ValueError(f"TwoNN needs at least 3 points, got {x.shape[0]}")
    dist, _ = _knn_mod.knn(x, 2, n_threads=n_threads)
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        x, _ = _dedupe_or_raise(x, duplicates, zero, 3)
        dist, _ = _knn_mod.knn(x, 2, n_threads=n_threads)
    d64 = dist.astype(np.float64)
    result = twonn_from_ratios(d64[:, 1] / d64[:, 0], discard_fraction=discard_fraction,
                               method=method)
    return result if return_xy else result[0]


def intrinsic_dim(X: npt.ArrayLike, method: str = "twonn", *, k: int | None = 20,
                  discard_fraction: float = 0.1, duplicates: str = "merge",
                  n_threads: int | None = None, calibrate: str | None = None,
                  return_details: bool = False,
                  n_neighbors: int | None = None) -> float | dict[str, Any]:
    """Global intrinsic dimension of the points X, raw or calibrated.

    Parameters
    ----------
    X : array of shape (n, d)
    method : {'twonn', 'twonn_mle', 'mle'}
        'twonn': see twonn() (least squares); 'twonn_mle': twonn(method='mle'), the censored
        Pareto MLE; 'mle': 1 / mean(1 / Levina–Bickel local estimates) over k neighbours
        (the estimate skdim.id.MLE reports).
    k : int, default 20
        Neighbours for 'mle' (small k, e.g. 5 or 10, suits calibration best).
    discard_fraction : float, default 0.1
        For 'twonn' and 'twonn_mle'.
    duplicates : {'merge', 'raise'}
    n_threads : int, optional
    calibrate : {None, 'ball', 'cube', 'sphere', 'ball+cube'}, default None
        None returns the raw statistic (unchanged results). 'ball' / 'cube' / 'sphere' map
        it through its expected value for uniform samples of the unit d-ball / d-cube /
        d-sphere (no boundary) with the same number of distinct points (a shipped table for
        n = 50 … 20000, measured on the fly otherwise); 'ball+cube' through the mean of the
        ball's and the cube's curves. Recommended: method='twonn_mle' with
        calibrate='ball+cube', the lowest error on the benchmark manifolds at n in the
        thousands and what `lowdim report` shows. Needs >= 50 distinct points.
        Method, assumptions and limits: docs/intrinsic_dimension.md.
    return_details : bool
        Return a dict instead of a float: 'estimate', 'statistic' (raw), 'method',
        'calibrate', 'n_points' (distinct), 'curve' ({'d', 'statistic', 'std_error',
        'source'}: the calibration points used, or None), 'std_error' (bootstrap of the
        statistic over points plus the curve's own error, through the curve's slope) and
        'interval' (estimate ± 1.96 std_error).
    n_neighbors : int, optional
        Alias of k (scikit-dimension's name).

    Returns
    -------
    float, or dict when return_details=True.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> P = np.random.default_rng(0).uniform(size=(500, 2))
    >>> round(lowdim.intrinsic_dim(P, "mle", k=10), 1)
    1.9
    """
    _check_choice(method, "method", ("twonn", "twonn_mle", "mle"))
    k = neighbor_count(k, n_neighbors, default=20)
    if calibrate is not None or return_details:
        from .id._calibration import estimate    # lowdim.id imports this module
        if method == "mle":
            k = check_int(k, name="k", low=2)
        else:
            discard_fraction = _check_discard(discard_fraction)
        _check_choice(duplicates, "duplicates", _DUPLICATE_POLICIES)
        return estimate(X, method, k=k, discard_fraction=discard_fraction, calibrate=calibrate,
                        duplicates=duplicates, n_threads=n_threads,
                        return_details=return_details)
    if method != "mle":
        return twonn(X, discard_fraction=discard_fraction, duplicates=duplicates,
                     method="mle" if method == "twonn_mle" else "linear", n_threads=n_threads)
    k = check_int(k, name="k", low=2)
    _check_choice(duplicates, "duplicates", _DUPLICATE_POLICIES)
    local, _, _ = local_mle(X, k, k - 1, duplicates, n_threads)   # distinct points only
    return global_mle(local, k)


def global_mle(local: np.ndarray, k: int) -> float:
    """1 / mean(1 / local) (MacKay & Ghahramani); refused when every local estimate is inf."""
    harmonic = np.mean(1.0 / local)
    if harmonic == 0:          # 1/0 would be inf and a RuntimeWarning
        raise ValueError(f"the MLE is undefined: every point's {k} nearest distances are "
                         "all equal (e.g. equidistant points), so no point sees growth")
    return float(1.0 / harmonic)
