"""Johnson–Lindenstrauss target dimension, identical to scikit-learn's.

k >= 4 ln(n) / (eps²/2 − eps³/3)  (Dasgupta & Gupta 2003), truncated to int64; a bound
beyond int64 (tiny eps) or a non-finite n_samples raises ValueError instead of wrapping.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt


def johnson_lindenstrauss_min_dim(n_samples: npt.ArrayLike, *,
                                  eps: npt.ArrayLike = 0.1) -> np.ndarray:
    """Minimum number of components that keeps every pairwise distance within 1 ± eps.

    Parameters
    ----------
    n_samples : int or array-like of int, > 0
    eps : float or array-like of float in (0, 1)

    Returns
    -------
    int64 scalar or array (broadcast of the two inputs), as scikit-learn returns.

    Examples
    --------
    >>> import lowdim
    >>> int(lowdim.johnson_lindenstrauss_min_dim(1_000_000, eps=0.1))
    11841
    """
    eps = np.asarray(eps)
    n_samples = np.asarray(n_samples)
    if np.any(eps <= 0.0) or np.any(eps >= 1) or np.any(np.isnan(eps)):   # sklearn lets NaN through
        raise ValueError(f"The JL bound is defined for eps in ]0, 1[, got {eps!r}")
    if np.any(n_samples <= 0) or not np.all(np.isfinite(n_samples)):   # inf/NaN -> -2⁶³
        raise ValueError(f"The JL bound is defined for n_samples greater than zero, "
                         f"got {n_samples!r}")
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        denominator = (eps**2 / 2) - (eps**3 / 3)
        k = 4 * np.log(n_samples) / denominator
    # A tiny eps (1e-300: the denominator underflows; 0/0 for n_samples=1) would cast to
    # int64 as −2⁶³ (NaN fails the test below as well).
    if not np.all(k < 2.0**63):
        raise ValueError(f"The JL bound for eps={eps!r} does not fit in int64 "
                         "(eps is too small)")
    bound: np.ndarray = k.astype(np.int64)
    return bound
