"""Gride (Denti et al. 2022) as a class with skdim.id.GRIDE's interface.

μ_i = r_{i,n2} / r_{i,n1}; the likelihood and its root are in _scale.py (shared with
id_scale_curve). skdim's (and DADApy's) conventions are followed here: (N − 1)/d in the
score, tied ratios (μ = 1) dropped with a warning, and ratios above q50 + 20 (q95 − q50)
dropped as overlapping points. Duplicate points are merged before the search.
"""
from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from ._estimators import _IDEstimator
from . import _pointwise
from ._scale import gride_from_logmu

if TYPE_CHECKING:
    from typing_extensions import Self


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _gride_skdim(dist: np.ndarray, n1: int, n2: int) -> tuple[float, float]:
    """(d, standard error) with skdim's tie and outlier rules."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logmu = np.log(dist[:, n2 - 1] / dist[:, n1 - 1])
    ok = np.isfinite(logmu) & (logmu > 0)
    if not ok.all():
        warnings.warn(f"Gride (n1={n1}, n2={n2}): dropping {int((~ok).sum())} points with "
                      "zero or tied neighbour distances", stacklevel=3)
        logmu = logmu[ok]
    mu = np.exp(logmu)
    q95, q50 = np.percentile(mu, [95, 50])
    logmu = logmu[mu < 20 * (q95 - q50) + q50]
    if len(logmu) < 2:
        raise ValueError("Fewer than 2 points left to estimate the dimension.")
    return gride_from_logmu(logmu, n1, n2, n_score=len(logmu) - 1)


class GRIDE(_IDEstimator):
    """Generalized ratios intrinsic dimension estimator, with skdim.id.GRIDE's interface.

    Parameters
    ----------
    n1 : int, default 1
        Order of the nearer neighbour.
    n2 : int, optional
        Order of the farther neighbour, n2 > n1; default 2·n1.
    multiscale : bool, default False
        Also estimate at n1 = 1, 2, 4, … with n2 = 2·n1 <= min(range_max, n − 1).
    range_max : int, default 64
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once (skdim drops the points with zero distances).
    n_threads : int, optional

    Attributes
    ----------
    dimension_, error_ : float
    scales_, dimension_scales_, error_scales_, radius_scales_ : ndarrays (multiscale=True)
    dimension_pw_, error_pw_ : ndarrays of shape (n,), after fit_pw

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import GRIDE
    >>> X = np.random.default_rng(0).random((1000, 2))
    >>> 1.7 < GRIDE().fit(X).dimension_ < 2.3
    True
    """

    def __init__(self, n1: int = 1, n2: int | None = None, multiscale: bool = False,
                 range_max: int = 64, *, duplicates: str = "merge",
                 n_threads: int | None = None):
        self.n1 = n1
        self.n2 = n2
        self.multiscale = multiscale
        self.range_max = range_max
        self.duplicates = duplicates
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Gride estimate of X (n, D) at (n1, n2), and at every scale when multiscale."""
        n2 = 2 * self.n1 if self.n2 is None else self.n2
        if not (_is_int(self.n1) and _is_int(n2) and 1 <= self.n1 < n2):
            raise ValueError("n1 and n2 must be integers with 1 <= n1 < n2")
        x = self._validate(X, min_samples=n2 + 1)
        kmax = n2
        if self.multiscale:
            if not (_is_int(self.range_max) and self.range_max >= 2):
                raise ValueError("range_max must be an integer >= 2")
            range_max = min(self.range_max, len(x) - 1)
            kmax = max(kmax, range_max)
        dist, _ = _knn_mod.knn(x, kmax, n_threads=self.n_threads)
        zero = int((dist[:, 0] == 0).sum())
        if zero:
            x, _ = _lid._dedupe_or_raise(x, self.duplicates, zero, kmax + 1)
            dist, _ = _knn_mod.knn(x, kmax, n_threads=self.n_threads)
        dist = dist.astype(np.float64)
        self.dimension_, self.error_ = _gride_skdim(dist, self.n1, n2)
        if self.multiscale:
            self.scales_ = 2 ** np.arange(int(np.log2(range_max)))
            res = np.array([_gride_skdim(dist, int(s), 2 * int(s)) for s in self.scales_])
            self.dimension_scales_, self.error_scales_ = res[:, 0], res[:, 1]
            self.radius_scales_ = dist[:, 2 * self.scales_ - 1].mean(axis=0)
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> Self:
        """Gride at (n1, n2) on each point's n_neighbors nearest neighbours (self excluded),
        as skdim's fit_pw; dimension_ is left as it was (skdim leaves the last
        neighbourhood's). precomputed_knn : int array (n, >= n_neighbors), optional."""
        n2 = 2 * self.n1 if self.n2 is None else self.n2
        if not (_is_int(self.n1) and _is_int(n2) and 1 <= self.n1 < n2):
            raise ValueError("n1 and n2 must be integers with 1 <= n1 < n2")
        x, idx = _pointwise.neighbourhood_indices(self, X, precomputed_knn, n_neighbors, n_jobs)
        self.n_features_in_ = int(x.shape[1])
        pw, self.error_pw_ = _pointwise.gride_pw(x, idx, self.n1, n2)
        return _pointwise.set_pointwise(self, pw, idx, smooth)
