"""Johnson–Lindenstrauss target dimension, identical to scikit-learn's.

k >= 4 ln(n) / (eps²/2 − eps³/3)  (Dasgupta & Gupta 2003), truncated to int64.
"""
from __future__ import annotations

import numpy as np


def johnson_lindenstrauss_min_dim(n_samples, *, eps=0.1):
    """Minimum number of components that keeps every pairwise distance within 1 ± eps.

    Parameters
    ----------
    n_samples : int or array-like of int, > 0
    eps : float or array-like of float in (0, 1)

    Returns
    -------
    int64 scalar or array (broadcast of the two inputs), as scikit-learn returns.
    """
    eps = np.asarray(eps)
    n_samples = np.asarray(n_samples)
    if np.any(eps <= 0.0) or np.any(eps >= 1) or np.any(np.isnan(eps)):   # sklearn lets NaN through
        raise ValueError(f"The JL bound is defined for eps in ]0, 1[, got {eps!r}")
    if np.any(n_samples <= 0):
        raise ValueError(f"The JL bound is defined for n_samples greater than zero, "
                         f"got {n_samples!r}")
    denominator = (eps**2 / 2) - (eps**3 / 3)
    return (4 * np.log(n_samples) / denominator).astype(np.int64)
