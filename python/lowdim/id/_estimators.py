"""skdim-compatible MLE and TwoNN estimators on lowdim's exact kNN engine.

Same class names, parameters, fit arguments and fitted attributes as scikit-dimension
(dimension_, dimension_pw_, dimension_pw_smooth_, x_, y_) so switching is one import.
Formulas and the duplicate policy are in lowdim/intrinsic.py.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import numpy.typing as npt

from .. import _config
from .. import neighbors as _knn_mod
from .. import intrinsic as _lid
from .._base import BaseEstimator, check_feature_names, check_is_fitted
from .._validate import as_float_array, check_int, sklearn_style_array

if TYPE_CHECKING:
    from typing_extensions import Self

_COMBS = ("mle", "mean", "median")


def _checked_indices(precomputed_knn: npt.ArrayLike, n: int, k: int) -> np.ndarray:
    """The first k columns of a caller's (n, >= k) neighbour-index array, or ValueError."""
    idx = np.asarray(precomputed_knn)
    if idx.ndim != 2 or idx.shape[0] != n or idx.shape[1] < k or \
            idx.dtype.kind not in "iu" or (idx < 0).any() or (idx >= n).any():
        raise ValueError(f"precomputed_knn must be integer indices of shape ({n}, >= {k}) "
                         "into X")
    return idx[:, :k]


def _smooth(pw: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of a point's estimate and its neighbours' (skdim's `smooth=True`)."""
    result: np.ndarray = (pw + pw[idx].sum(axis=1)) / (idx.shape[1] + 1)
    return result


def _threads(n_threads: int | None, n_jobs: int | None) -> int | None:
    """skdim's n_jobs as a thread count: None = n_threads (default: lowdim's default),
    -1 = every usable CPU, -2 = all but one (joblib's convention), positive = that many."""
    if n_jobs is None:
        return n_threads
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None, a positive integer or -1 (all CPUs), got "
                         f"{n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs > 0:
        return _config.resolve_threads(n_jobs)
    cpus = _config.usable_cpus()
    if cpus + 1 + n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs} leaves no CPU of the {cpus} this process may use")
    return cpus + 1 + n_jobs


# check_estimator checks that cannot apply to an intrinsic-dimension estimator, with the
# reason: pass them as check_estimator(est, expected_failed_checks=...). scikit-dimension's
# own estimators fail exactly these (and declared subset invariance as skipped).
_ONE_NUMBER = ("transform returns the data set's one intrinsic dimension (a scalar, as "
               "skdim), not one row per sample")
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_transformer_general": _ONE_NUMBER,
    "check_transformer_data_not_an_array": _ONE_NUMBER,
    "check_methods_sample_order_invariance": _ONE_NUMBER,
    "check_methods_subset_invariance": _ONE_NUMBER + "; the estimate of a subset differs",
}


class _IDEstimator(BaseEstimator):
    """fit(X) sets dimension_; transform(X=None) returns it, as skdim's estimators."""

    # Declared for type checkers: every subclass sets the parameters in __init__ and
    # defines fit (and fit_pw) with skdim's arguments; fit sets the attributes.
    n_threads: int | None
    dimension_: float
    dimension_pw_: np.ndarray
    dimension_pw_smooth_: np.ndarray
    n_features_in_: int
    fit: Callable[..., Any]
    fit_pw: Callable[..., Any]

    def _preserves_dtype(self) -> list[str]:
        """What the dtype tags say: the estimate is float64 whatever X's dtype."""
        return ["float64"]

    if hasattr(BaseEstimator, "__sklearn_tags__"):      # scikit-learn >= 1.6
        def __sklearn_tags__(self) -> Any:
            """Transformer tags, as skdim gives its estimators."""
            from sklearn.utils import TransformerTags
            tags = super().__sklearn_tags__()
            tags.transformer_tags = TransformerTags(preserves_dtype=self._preserves_dtype())
            return tags
    else:                                               # scikit-learn < 1.6 reads these
        def _more_tags(self) -> dict[str, Any]:
            return {"_xfail_checks": dict(EXPECTED_FAILED_CHECKS),
                    "preserves_dtype": self._preserves_dtype()}

    def _validate(self, X: Any, *, reset: bool = True, min_samples: int = 1,
                  min_features: int = 1, dtype: npt.DTypeLike | None = None) -> np.ndarray:
        """X as a 2-D float array with scikit-learn's input rules and texts (installed or
        not); fit (reset) sets n_features_in_ and feature_names_in_, transform checks them."""
        check_feature_names(self, X, reset=reset)
        arr = sklearn_style_array(X)
        if isinstance(arr, np.ndarray) and arr.ndim == 2:
            for size, low, what in ((arr.shape[0], min_samples, "sample"),
                                    (arr.shape[1], min_features, "feature")):
                if size < low:
                    raise ValueError(f"Found array with {size} {what}(s) (shape={arr.shape}) "
                                     f"while a minimum of {low} is required by "
                                     f"{type(self).__name__}.")
        arr = as_float_array(arr, name="X", ndim=2, dtype=dtype)
        if reset:
            self.n_features_in_ = int(arr.shape[1])
        elif arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input.")
        return arr

    def transform(self, X: npt.ArrayLike | None = None) -> np.float64 | np.int64:
        """dimension_ as a numpy scalar; X, if given, is only checked (as skdim)."""
        check_is_fitted(self, "dimension_")
        if X is not None and hasattr(self, "n_features_in_"):
            self._validate(X, reset=False)
        d = self.dimension_
        return np.int64(d) if isinstance(d, (int, np.integer)) else np.float64(d)

    def _set_pointwise(self, distinct: np.ndarray, inverse: np.ndarray | None,
                       idx: np.ndarray, smooth: bool, comb: str) -> None:
        """dimension_pw_ (back on the caller's rows when duplicates were merged: `inverse`),
        dimension_ by `comb` over the distinct points, and dimension_pw_smooth_ when asked
        (a stale one from an earlier fit is removed)."""
        self.dimension_pw_ = distinct if inverse is None else distinct[inverse]
        self.dimension_ = float(np.mean(distinct) if comb == "mean" else np.median(distinct))
        if smooth:
            smoothed = _smooth(distinct, idx)
            self.dimension_pw_smooth_ = smoothed if inverse is None else smoothed[inverse]
        elif hasattr(self, "dimension_pw_smooth_"):
            del self.dimension_pw_smooth_

    def transform_pw(self, X: object = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "dimension_pw_")
        if hasattr(self, "dimension_pw_smooth_"):
            return self.dimension_pw_, self.dimension_pw_smooth_
        return self.dimension_pw_

    def fit_transform(self, X: npt.ArrayLike, y: object = None,
                      **fit_params: Any) -> np.float64 | np.int64:
        """fit(X, ...) then transform(): the estimate as a numpy scalar."""
        result: np.float64 | np.int64 = self.fit(X, **fit_params).transform()
        return result

    def fit_transform_pw(self, X: npt.ArrayLike,
                         **fit_params: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        result: np.ndarray | tuple[np.ndarray, np.ndarray] = \
            self.fit_pw(X, **fit_params).transform_pw()
        return result


class MLE(_IDEstimator):
    """Levina–Bickel maximum-likelihood intrinsic dimension (as skdim.id.MLE).

    Parameters
    ----------
    K : int, default 20
        Neighbours per point. Differences from skdim: skdim takes the neighbourhood size
        from fit(n_neighbors=20) and uses K only when neighborhood_based=False; here K is
        the default neighbourhood size and fit(n_neighbors=...) still overrides it.
        skdim's noise model (dnoise, sigma, n, integral_approximation) is not offered.
    unbiased : bool, default False
        Use k − 2 instead of k − 1 in the numerator (as skdim).
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once (skdim returns inf/NaN for them).
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n,)
    dimension_pw_smooth_ : ndarray of shape (n,), when fit with smooth=True
    n_neighbors_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import MLE
    >>> X = np.random.default_rng(0).uniform(size=(500, 2))
    >>> round(MLE().fit(X).dimension_, 1)
    1.9
    >>> MLE(K=10).fit(X).dimension_pw_.shape
    (500,)
    """

    def __init__(self, K: int = 20, *, unbiased: bool = False, duplicates: str = "merge",
                 n_threads: int | None = None):
        self.K = K
        self.unbiased = unbiased
        self.duplicates = duplicates
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike | None, y: object = None,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None, comb: str = "mle",
            n_jobs: int | None = None) -> Self:
        """Pointwise estimates and their combination `comb` ('mle', 'mean', 'median').

        n_jobs (skdim's name) overrides n_threads for this call: -1 = every usable CPU.
        X (n, d), precomputed_knn_arrays = (distances, indices) of shape (n, k'): all k'
        columns are used (as skdim). Without them, a neighbourhood size >= len(X) warns
        and is clipped to len(X) − 1 (as skdim).
        """
        if comb not in _COMBS:
            raise ValueError(f"comb must be one of {_COMBS}, got {comb!r}")
        threads = _threads(self.n_threads, n_jobs)
        k = check_int(self.K if n_neighbors is None else n_neighbors, name="n_neighbors", low=2)
        if X is not None:
            # without precomputed neighbours, 2 neighbours need 3 points
            X = self._validate(X, min_samples=1 if precomputed_knn_arrays is not None else 3)
        if precomputed_knn_arrays is not None:
            # every column is used, as skdim does (n_neighbors and K do not cut them)
            k = check_int(np.shape(precomputed_knn_arrays[0])[-1], name="knn width", low=2)
        elif X is not None and k >= len(X):
            warnings.warn(f"n_neighbors={k} >= len(X), setting n_neighbors = len(X)-1",
                          stacklevel=2)
            k = check_int(len(X) - 1, name="len(X) - 1", low=2)
        kfac = k - (2 if self.unbiased else 1)
        if precomputed_knn_arrays is not None:
            dist, idx = _lid._check_knn_arrays(precomputed_knn_arrays, k)
            if X is not None and len(X) != len(dist):
                raise ValueError(f"precomputed_knn_arrays has {len(dist)} rows but X has "
                                 f"{len(X)}: give one row of neighbours per point of X")
            if smooth:                        # only smoothing reads the indices
                idx = _lid.check_knn_indices(idx)
            if (dist[:, 0] == 0).any():
                raise ValueError("precomputed_knn_arrays has zero distances (duplicates); "
                                 "pass X without them so they can be merged")
            distinct, inverse = _lid.mle_from_distances(dist, kfac), None
        else:
            distinct, idx, inverse = _lid.local_mle(X, k, kfac, self.duplicates, threads)
        # `distinct`: one estimate per distinct point (duplicates counted once);
        # `inverse` maps them back to the rows of X.
        self.n_neighbors_ = k
        self._set_pointwise(distinct, inverse, idx, smooth, comb)
        if comb == "mle":
            self.dimension_ = _lid.global_mle(distinct, k)
        return self

    def fit_predict(self, X: npt.ArrayLike | None, y: object = None,
                    precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
                    smooth: bool = False, n_neighbors: int | None = None, comb: str = "mle",
                    n_jobs: int | None = None) -> np.float64 | np.int64:
        """fit(...) then dimension_ (as skdim)."""
        return self.fit(X, precomputed_knn_arrays=precomputed_knn_arrays, smooth=smooth,
                        n_neighbors=n_neighbors, comb=comb, n_jobs=n_jobs).transform()

    def fit_transform_pw(  # type: ignore[override]  # skdim's fit arguments, by name
            self, X: npt.ArrayLike | None,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None,
            n_jobs: int | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """fit(...) then dimension_pw_ (and dimension_pw_smooth_ when smooth), as skdim."""
        return self.fit(X, precomputed_knn_arrays=precomputed_knn_arrays, smooth=smooth,
                        n_neighbors=n_neighbors, n_jobs=n_jobs).transform_pw()

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int | None = None,
               n_jobs: int | None = None) -> Self:
        """Pointwise estimates (dimension_pw_) with n_neighbors (default K) neighbours."""
        if precomputed_knn is not None:
            raise ValueError("MLE.fit_pw needs distances; use "
                             "fit(X, precomputed_knn_arrays=(distances, indices))")
        return self.fit(X, smooth=smooth, n_neighbors=n_neighbors, n_jobs=n_jobs)


class TwoNN(_IDEstimator):
    """TwoNN intrinsic dimension (Facco et al. 2017), as skdim.id.TwoNN.

    Parameters
    ----------
    discard_fraction : float in [0, 1), default 0.1
    dist : bool, default False
        X holds each point's (r1, r2) instead of coordinates.
    method : {'linear', 'mle'}, default 'linear'
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once; skdim drops every point whose r1 is 0.
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    x_, y_ : ndarrays of shape (n_keep, 1): ln μ and −ln(1 − F(μ)) of the fit
    dimension_pw_ : ndarray of shape (n,), after fit_pw (TwoNN on each point's neighbourhood)

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import TwoNN
    >>> X = np.random.default_rng(0).uniform(size=(500, 2))
    >>> est = TwoNN().fit(X)
    >>> round(est.dimension_, 1), est.x_.shape
    (2.1, (450, 1))
    """

    def __init__(self, discard_fraction: float = 0.1, dist: bool = False,
                 method: str = "linear", *, duplicates: str = "merge",
                 n_threads: int | None = None):
        self.discard_fraction = discard_fraction
        self.dist = dist
        self.method = method
        self.duplicates = duplicates
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Global TwoNN estimate of X (n, d), or of (r1, r2) rows (n, 2) when dist=True."""
        frac = _lid._check_discard(self.discard_fraction)
        _lid._check_choice(self.method, "method", ("linear", "mle"))
        if self.dist:
            r = self._validate(X, min_samples=3, min_features=2, dtype=np.float64)
            if r.shape[1] != 2 or (r[:, 0] <= 0).any() or (r[:, 1] < r[:, 0]).any():
                raise ValueError("with dist=True, X must be (n, 2) rows 0 < r1 <= r2")
            d, xs, ys = _lid.twonn_from_ratios(r[:, 1] / r[:, 0], discard_fraction=frac,
                                               method=self.method)
        else:
            x = self._validate(X, min_samples=3)
            d, xs, ys = _lid.twonn(x, discard_fraction=frac, method=self.method,
                                   duplicates=self.duplicates, n_threads=self.n_threads,
                                   return_xy=True)
        self.dimension_, self.x_, self.y_ = d, xs.reshape(-1, 1), ys.reshape(-1, 1)
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> Self:
        """TwoNN fitted on each point's n_neighbors nearest neighbours (self excluded).

        precomputed_knn : int array (n, >= n_neighbors) of neighbour indices, optional.
        """
        threads = _threads(self.n_threads, n_jobs)
        frac = _lid._check_discard(self.discard_fraction)
        _lid._check_choice(self.method, "method", ("linear", "mle"))
        x = as_float_array(X, name="X")
        k = check_int(n_neighbors, name="n_neighbors", low=3)
        inverse: np.ndarray | None = None
        if precomputed_knn is not None:
            idx = _checked_indices(precomputed_knn, len(x), k)
        else:
            if k > len(x) - 1:
                raise ValueError(f"n_neighbors must be <= {len(x) - 1}, got {k}")
            dist, idx = _knn_mod.knn(x, k, n_threads=threads)
            zero = int((dist[:, 0] == 0).sum())
            if zero:
                x, inverse = _lid._dedupe_or_raise(x, self.duplicates, zero, k + 1)
                _, idx = _knn_mod.knn(x, k, n_threads=threads)
        self.n_features_in_ = int(x.shape[1])
        pw = _local_twonn(x, idx, frac, self.method)
        if inverse is not None:
            pw = pw[inverse]
        self.dimension_pw_ = pw
        if smooth:
            if inverse is not None:
                raise ValueError("smooth=True is not available when duplicates were merged")
            self.dimension_pw_smooth_ = _smooth(pw, idx)
        return self


def _within_sq_blocks(x: np.ndarray, idx: np.ndarray,
                      block_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, d2): d2[b, i, j] = squared distance between points i and j of
    neighbourhood x[idx[start + b]] (K points), float64 (B, K, K), ∞ on the diagonal;
    blocks of B neighbourhoods bounded by block_bytes."""
    n, k = idx.shape
    step = max(1, block_bytes // (8 * k * max(k, x.shape[1])))
    for s in range(0, n, step):
        g = x[idx[s:s + step]].astype(np.float64)
        g -= g.mean(axis=1, keepdims=True)           # centring reduces cancellation below
        sq = np.einsum("bij,bij->bi", g, g)
        d2 = sq[:, :, None] + sq[:, None, :] - 2 * np.matmul(g, g.transpose(0, 2, 1))
        d2[:, np.arange(k), np.arange(k)] = np.inf
        yield s, d2


def _local_twonn(x: np.ndarray, idx: np.ndarray, frac: float, method: str,
                 block_bytes: int = 64 << 20) -> np.ndarray:
    """TwoNN of every neighbourhood x[idx[i]] (K points), vectorised over blocks of points."""
    n, k = idx.shape
    n_keep = int(k * (1 - frac))
    if method != "mle":
        n_keep = min(n_keep, k - 1)   # F = 1 gives y = ∞: left out, as in lowdim.twonn
    if n_keep < 2:
        raise ValueError(f"only {n_keep} ratios per neighbourhood after discarding")
    with np.errstate(divide="ignore"):       # ∞ only for the MLE, which does not use ys
        ys = -np.log1p(-np.arange(1, n_keep + 1) / k)
    out = np.empty(n)
    for s, d2 in _within_sq_blocks(x, idx, block_bytes):
        step = len(d2)
        r = np.sqrt(np.maximum(np.partition(d2, 1, axis=2)[:, :, :2], 0))
        if (r[:, :, 0] == 0).any():
            raise ValueError("a neighbourhood contains duplicate points (r1 = 0)")
        lx = np.log(np.sort(r[:, :, 1] / r[:, :, 0], axis=1)[:, :n_keep])
        if method == "mle":
            out[s:s + step] = (n_keep - 1) / (lx.sum(axis=1) + (k - n_keep) * lx[:, -1])
        else:
            out[s:s + step] = (lx @ ys) / np.einsum("ij,ij->i", lx, lx)
    return out
