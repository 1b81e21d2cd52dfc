"""Hubness of a point cloud: skewness of k-occurrence (Radovanović, Nanopoulos & Ivanović,
JMLR 2010, "Hubs in space"), on lowdim's exact kNN.

N_k(x) counts how often x is among the k nearest neighbours of the other points. Hubs
(large N_k) crowd retrieval results; anti-hubs (N_k = 0) are never retrieved.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .. import neighbors
from .._validate import check_int
from ._common import prepared, refuse_constant


class Hubness(NamedTuple):
    """skewness: sample skewness of N_k; antihub_share: fraction of points with N_k = 0;
    hub_share: fraction with N_k > 2k (scikit-hubness' default hub size 2);
    k_occurrence: N_k per point (n,) int64; k: neighbourhood size.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> h = measures.hubness(X, k=5)
    >>> h.k, h.k_occurrence.shape, int(h.k_occurrence.sum())      # N_k sums to n·k
    (5, (200,), 1000)
    """
    skewness: float
    antihub_share: float
    hub_share: float
    k_occurrence: np.ndarray
    k: int


def k_occurrence(indices: np.ndarray, n: int) -> np.ndarray:
    """N_k per point from a kNN index array (n, k): how often each row index appears."""
    return np.bincount(np.asarray(indices, dtype=np.int64).ravel(), minlength=n)


def hubness(X: npt.ArrayLike, k: int = 10, *, metric: str = "euclidean",
            knn: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            n_threads: int | None = None) -> Hubness:
    """k-occurrence skewness and anti-hub share of the rows of X.

        S_{N_k} = m₃ / m₂^{3/2},   m_r = (1/n) Σ_x (N_k(x) − k)^r

    (the mean of N_k is exactly k; the biased moment estimator, as scipy.stats.skew and
    scikit-hubness' k-skewness). antihub_share = #{N_k = 0} / n. Neighbours come from
    lowdim.knn(X, k, metric=metric), self excluded; `knn` may pass a precomputed
    (distances, indices) pair from lowdim.knn on X with at least k columns (the first k
    are used). S = 0 when every point occurs exactly k times.

    Parameters
    ----------
    X : array (n, d), n >= 2, not constant (neighbours would be decided by ties only).
    k : int, 1 <= k <= n - 1.
    metric : one of lowdim.knn's metrics; Radovanović et al. use euclidean and cosine.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> h = measures.hubness(X, k=5)
    >>> round(h.skewness, 2), h.antihub_share
    (1.05, 0.09)
    >>> ring = np.c_[np.cos(np.arange(12) * np.pi / 6), np.sin(np.arange(12) * np.pi / 6)]
    >>> measures.hubness(ring, k=2).skewness      # every point occurs exactly k times
    0.0
    """
    x, _ = prepared(X)          # neighbour sets do not change under a power-of-two scale
    n = x.shape[0]
    k = check_int(k, name="k", low=1, high=n - 1)
    refuse_constant(x, "X", "hubness")
    if knn is None:
        _, idx = neighbors.knn(x, k, metric=metric, n_threads=n_threads)
    else:
        idx = np.asarray(knn[1])
        if idx.ndim != 2 or idx.shape[0] != n or idx.shape[1] < k:
            raise ValueError(f"knn indices must have shape ({n}, >= {k}), got {idx.shape}")
        idx = idx[:, :k]
    return hubness_from_indices(idx, n, k)


def hubness_from_indices(idx: np.ndarray, n: int, k: int) -> Hubness:
    """Hubness from a kNN index array (n, k) of a self-search."""
    occ = k_occurrence(idx, n)
    dev = occ - float(k)
    m2 = float(np.mean(dev * dev))
    skew = float(np.mean(dev ** 3)) / m2 ** 1.5 if m2 > 0 else 0.0
    return Hubness(skew, float(np.mean(occ == 0)), float(np.mean(occ > 2 * k)), occ, k)
