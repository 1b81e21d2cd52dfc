"""Shared fit of the skdim-style local estimators (MOM, TLE): kNN, duplicates, combination.

skdim's LocalEstimator.fit(X, precomputed_knn_arrays, smooth, n_neighbors, comb, n_jobs):
pointwise estimates on each point's n_neighbors nearest neighbours (self excluded), then
their mean or median. Here the neighbours come from lowdim's exact kNN; duplicates are
merged first (as lowdim's MLE), so zero distances do not reach the formulas.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int
from ._estimators import _IDEstimator, _threads

if TYPE_CHECKING:
    from typing_extensions import Self


class _LocalEstimator(_IDEstimator):
    _N_NEIGHBORS = 100
    duplicates: str = "merge"
    n_threads: int | None = None

    def _pointwise(self, x: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: npt.ArrayLike, y: object = None,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None, comb: str = "mean",
            n_jobs: int | None = None) -> Self:
        """Pointwise estimates (dimension_pw_) and their mean or median (dimension_).

        X (n, d); precomputed_knn_arrays = (distances, indices) of shape (n, k), used as
        given (sorted ascending, self excluded). n_neighbors defaults to the class's skdim
        default; n_neighbors >= len(X) warns and is clipped to len(X) - 1 (as skdim).
        """
        _lid._check_choice(comb, "comb", ("mean", "median"))
        threads = _threads(self.n_threads, n_jobs)
        x = self._validate(X, min_samples=2)
        k = check_int(self._N_NEIGHBORS if n_neighbors is None else n_neighbors,
                      name="n_neighbors", low=1)
        if k >= len(x):
            warnings.warn("n_neighbors >= len(X), setting n_neighbors = len(X)-1", stacklevel=2)
            k = len(x) - 1
        inverse = None
        if precomputed_knn_arrays is not None:
            dist, idx = precomputed_knn_arrays
            dist = as_float_array(dist, name="knn distances", dtype=np.float64)
            idx = _lid.check_knn_indices(np.asarray(idx))
            if dist.shape != idx.shape or len(dist) != len(x):
                raise ValueError(f"precomputed_knn_arrays must be two arrays of shape "
                                 f"({len(x)}, k), got {dist.shape} and {idx.shape}")
            k = dist.shape[1]
        else:
            dist, idx = _knn_mod.knn(x, k, n_threads=threads)
            zero = int((dist[:, 0] == 0).sum())
            if zero:
                x, inverse = _lid._dedupe_or_raise(x, self.duplicates, zero, k + 1)
                dist, idx = _knn_mod.knn(x, k, n_threads=threads)
        self.n_neighbors_, self.comb_ = k, comb
        pw = self._pointwise(x, dist.astype(np.float64), idx)
        self._set_pointwise(pw, inverse, idx, smooth, comb)
        return self

    def fit_transform(  # type: ignore[override]  # skdim's fit arguments, by name
            self, X: npt.ArrayLike, y: object = None,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None, comb: str = "mean",
            n_jobs: int | None = None) -> np.float64 | np.int64:
        """fit(...) then dimension_ (as skdim)."""
        return self.fit(X, precomputed_knn_arrays=precomputed_knn_arrays, smooth=smooth,
                        n_neighbors=n_neighbors, comb=comb, n_jobs=n_jobs).transform()

    def fit_transform_pw(  # type: ignore[override]  # skdim's fit arguments, by name
            self, X: npt.ArrayLike,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None,
            n_jobs: int | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """fit(...) then dimension_pw_ (and dimension_pw_smooth_ when smooth), as skdim."""
        return self.fit(X, precomputed_knn_arrays=precomputed_knn_arrays, smooth=smooth,
                        n_neighbors=n_neighbors, n_jobs=n_jobs).transform_pw()
