"""Correlation dimension (Grassberger & Procaccia 1983), as skdim.id.CorrInt.

r1, r2 = medians of the k1-th and k2-th neighbour distances; C(r) = #{ordered pairs i ≠ j,
d_ij < r} / n²; d = ln(C(r2)/C(r1)) / ln(r2/r1). The counts are exact without the n×n
distance matrix: a point whose K-th neighbour lies at distance >= r has all its pairs
below r among its K neighbours; only the others (dense regions) are searched again with
K doubled, so the cost is a kNN search instead of n² distances.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .. import neighbors as _knn_mod
from .._validate import check_int
from . import _pointwise
from ._estimators import _IDEstimator
from ._mind import _finite

if TYPE_CHECKING:
    from typing_extensions import Self


def _pair_counts(x: np.ndarray, dist: np.ndarray, radii: tuple[float, ...],
                 n_threads: int | None) -> np.ndarray:
    """For each r in radii (ascending), Σ_i #{j ≠ i: d_ij < r}, starting from knn `dist`."""
    counts = np.array([(dist < r).sum() for r in radii], dtype=np.int64)
    todo = np.flatnonzero(dist[:, -1] < radii[-1])           # rows that may hold more
    k = dist.shape[1]
    while len(todo):
        counts -= [(dist[todo] < r).sum() for r in radii]
        k = min(2 * k, len(x) - 1)
        d, _ = _knn_mod.knn(x[todo], k + 1, Y=x, n_threads=n_threads)   # includes itself
        d = d[:, 1:].astype(np.float64)
        counts += [(d < r).sum() for r in radii]
        full = d[:, -1] < radii[-1]
        if k == len(x) - 1:
            break
        todo, dist = todo[full], np.empty((len(x), k))
        dist[todo] = d[full]
    return counts


class CorrInt(_IDEstimator):
    """Correlation-integral intrinsic dimension, with skdim.id.CorrInt's interface.

    Parameters
    ----------
    k1, k2 : int, default 10, 20
        Neighbour orders whose median distances are the two radii.
    DM : bool, default False
        X is a dense (n, n) distance matrix.
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n,), after fit_pw

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import CorrInt
    >>> X = np.random.default_rng(0).random((1000, 2))
    >>> 1.5 < CorrInt().fit(X).dimension_ < 2.5
    True
    """

    def __init__(self, k1: int = 10, k2: int = 20, DM: bool = False, *,
                 n_threads: int | None = None):
        self.k1 = k1
        self.k2 = k2
        self.DM = DM
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Correlation dimension of X (n, D), or of the distance matrix X when DM=True."""
        # k1 < k2 <= n - 1: two neighbour orders need 3 points
        x = self._validate(X, min_samples=3, min_features=2)
        k1 = check_int(self.k1, name="k1", low=1)
        k2 = check_int(self.k2, name="k2", low=1)
        n = len(x)
        if k2 >= n:
            warnings.warn("k2 larger or equal to len(X), using len(X)-1", stacklevel=2)
            k2 = n - 1
        if k1 >= n or k1 > k2:
            warnings.warn("k1 larger than k2 or len(X), using k2-1", stacklevel=2)
            k1 = k2 - 1
        if self.DM:
            if x.shape[0] != x.shape[1]:
                raise ValueError(f"with DM=True, X must be a square distance matrix, got {x.shape}")
            dist = np.sort(x, axis=1)[:, 1:k2 + 1].astype(np.float64)
        else:
            kk = min(max(2 * k2, 32), n - 1)
            dist, _ = _knn_mod.knn(x, kk, n_threads=self.n_threads)
            dist = dist.astype(np.float64)
        r1 = float(np.median(dist[:, k1 - 1]))
        r2 = float(np.median(dist[:, k2 - 1]))
        if self.DM:
            counts = np.array([(x < r).sum() - n for r in (r1, r2)])
        else:
            counts = _pair_counts(x, dist, (r1, r2), self.n_threads)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = float(np.log(counts[1] / counts[0]) / np.log(np.float64(r2) / r1))
        self.dimension_ = _finite(d)      # r1 = r2 or no pair below r1: undefined
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> Self:
        """CorrInt on each point's n_neighbors nearest neighbours (self excluded), as skdim's
        fit_pw (k1, k2 clipped to the neighbourhood as fit clips them, without the warning);
        dimension_ is left as it was. precomputed_knn : int array (n, >= n_neighbors)."""
        if self.DM:
            raise ValueError("fit_pw needs coordinates, not a distance matrix (DM=True)")
        k1 = check_int(self.k1, name="k1", low=1)
        k2 = check_int(self.k2, name="k2", low=1)
        x, idx = _pointwise.neighbourhood_indices(self, X, precomputed_knn, n_neighbors, n_jobs)
        self.n_features_in_ = int(x.shape[1])
        return _pointwise.set_pointwise(self, _pointwise.corrint_pw(x, idx, k1, k2), idx, smooth)
