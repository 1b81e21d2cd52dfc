"""Method-of-moments local intrinsic dimension (Amsaleg et al. 2018), as skdim.id.MOM.

With w the distance to the k-th neighbour and m1 the mean of the k neighbour distances,
E[r] = w·d/(d + 1) under a locally uniform density, so d = m1 / (w − m1).
"""
from __future__ import annotations

import numpy as np

from ._local import _LocalEstimator


class MOM(_LocalEstimator):
    """Method-of-moments intrinsic dimension, with skdim.id.MOM's interface.

    Parameters
    ----------
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once (skdim keeps their zero distances).
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
        Mean (or median, comb='median') of the pointwise estimates.
    dimension_pw_ : ndarray of shape (n,)
    dimension_pw_smooth_ : ndarray of shape (n,), when fit with smooth=True

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import MOM
    >>> X = np.random.default_rng(0).random((500, 3))
    >>> 2 < MOM().fit(X, n_neighbors=20).dimension_ < 4
    True
    """

    def __init__(self, *, duplicates: str = "merge", n_threads: int | None = None):
        self.duplicates = duplicates
        self.n_threads = n_threads

    def _pointwise(self, x: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
        w = dist[:, -1]
        m1 = dist.mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: np.ndarray = -m1 / (m1 - w)
            return result
