"""Spectrum and rank measures of one embedding matrix, and its outlier dimensions.

RankMe effective rank (Garrido et al., ICML 2023), von Neumann entropy of the covariance,
α-ReQ power-law decay of the eigenspectrum (Agrawal et al., NeurIPS 2022; the authors'
`reptrix` code), per-dimension outlier statistics (variance rule of Rudman et al. 2023,
magnitude rule in the spirit of Kovaleva et al. 2021 / Puccetti et al. 2022). Everything
comes from one d × d scatter (O(n·d²) time, O(d²) memory) or per-dimension moments.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .._validate import check_int, check_positive
from ._common import (BLOCK_ROWS, eigvals_desc, prepared, refuse_constant,
                      scatter_and_mean)


def _gram_eigvals(x: np.ndarray, center: bool) -> np.ndarray:
    """Eigenvalues (descending) of X̃ᵀX̃ (centred) or XᵀX (not), float64."""
    S, mean = scatter_and_mean(x)
    if not center:
        S = S + x.shape[0] * np.outer(mean, mean)
    return eigvals_desc(S)


def _refuse_degenerate(x: np.ndarray, center: bool, what: str) -> None:
    if center:
        refuse_constant(x, "X", what)
    elif not x.any():
        raise ValueError(f"X is all zeros; {what} is undefined")


def _check_eps(eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a number, got {type(eps).__name__}")
    if not (0.0 <= float(eps) < 1.0):
        raise ValueError(f"eps must be in [0, 1), got {eps}")
    return float(eps)


def effective_rank(X: npt.ArrayLike, *, eps: float = 1e-7, center: bool = False) -> float:
    """RankMe (Garrido, Balestriero, Najman & LeCun, ICML 2023):

        p_k = σ_k / ‖σ‖₁ + ε,   RankMe = exp(−Σ_{k=1}^{min(n,d)} p_k log p_k),

    σ the singular values of the embedding matrix X itself (not centred, as in the
    paper), ε = 1e-7 as in the paper. eps=0 gives the effective rank of Roy & Vetterli
    (2007). center=True uses X − mean(X) instead (what `lowdim report` prints). Note the
    `reptrix` library's get_rankme uses PCA explained-variance ratios (σ² of the centred
    matrix); that number is exp(vn_entropy(X)) up to ε. Singular values come from the
    eigenvalues of the d × d Gram matrix (σ = √λ), so singular values below ~1e-8·σ_max
    are not resolved; their share of the entropy is below 1e-7.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> round(measures.effective_rank(np.eye(4)), 4)       # 4 equal singular values
    4.0
    >>> round(measures.effective_rank(np.outer(np.arange(1, 6), [1.0, 2.0, 3.0])), 4)
    1.0
    """
    x, _ = prepared(X)                     # scale invariant: p depends on σ / ‖σ‖₁ only
    eps = _check_eps(eps)
    _refuse_degenerate(x, center, "effective_rank")
    sig = np.sqrt(_gram_eigvals(x, center)[:min(x.shape)])
    p = sig / sig.sum() + eps
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def vn_entropy(X: npt.ArrayLike, *, center: bool = True) -> float:
    """Von Neumann entropy of the covariance, in nats:

        ρ = C / tr C,   S = −tr(ρ log ρ) = −Σ_i λ̂_i log λ̂_i,   λ̂ = λ / Σλ,

    λ the eigenvalues of C = X̃ᵀX̃ (centred; center=False uses XᵀX). 0 for one direction,
    log(rank) for equal variances; exp(S) is an effective rank of the eigenvalues (σ²),
    whereas RankMe uses σ. 0·log 0 = 0.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((500, 4))
    >>> round(measures.vn_entropy(X), 1), round(float(np.log(4)), 1)    # at most log d
    (1.4, 1.4)
    """
    x, _ = prepared(X)
    _refuse_degenerate(x, center, "vn_entropy")
    lam = _gram_eigvals(x, center)
    p = lam / lam.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


class AlphaReq(NamedTuple):
    """alpha: decay exponent; r2: coefficient of determination of the fit in log space
    over the fitted indices; fit_range: (first, stop) 0-based eigenvalue indices used.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> a = measures.alpha_req(X, fit_range=(1, 8))
    >>> a.fit_range, a.alpha > 0
    ((1, 8), True)
    """
    alpha: float
    r2: float
    fit_range: tuple[int, int]


def alpha_req(X: npt.ArrayLike, *, fit_range: tuple[int, int] = (5, 100)) -> AlphaReq:
    """α-ReQ (Agrawal, Mondal, Ghosh & Richards, NeurIPS 2022): the exponent α of a power
    law λ_i ∝ i^(−α) fitted to the eigenspectrum of the covariance.

    λ̂_i = λ_i / Σλ (PCA explained-variance ratios of the centred X, i = 1..min(n, d)),
    then weighted least squares of log λ̂_i on (−log i, 1) over the 0-based indices
    fit_range = [start, stop) with weights 1/i, as the authors' `reptrix.alpha.get_powerlaw`
    (default range np.arange(5, 100), skipping the head of the spectrum). The range is cut
    to the eigenvalues that are nonzero (> 1e-12 of the largest). Returns AlphaReq(alpha,
    r2, fit_range used). Larger α: faster decay, fewer effective dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 20)) * np.arange(1, 21) ** -1.0   # λ_i ∝ i^-2
    >>> r = measures.alpha_req(X, fit_range=(0, 20))
    >>> round(r.alpha, 1), r.r2 > 0.99
    (2.0, True)
    """
    x, _ = prepared(X)
    try:
        start, stop = (check_int(v, name="fit_range", low=0) for v in fit_range)
    except TypeError:
        raise TypeError("fit_range must be a pair of integers (start, stop)") from None
    refuse_constant(x, "X", "alpha_req")
    return alpha_from_eigvals(_gram_eigvals(x, True)[:min(x.shape)], start, stop)


def alpha_from_eigvals(lam: np.ndarray, start: int, stop: int) -> AlphaReq:
    """The α-ReQ fit on covariance eigenvalues sorted descending (min(n, d) of them)."""
    positive = int((lam > 1e-12 * lam[0]).sum())
    stop = min(stop, positive)
    if stop - start < 2:
        raise ValueError(f"alpha_req needs at least 2 eigenvalues in fit_range "
                         f"[{start}, {stop}); X has {positive} nonzero eigenvalues")
    ratio = lam / lam.sum()
    rank = np.arange(start, stop) + 1.0
    y = np.log(ratio[start:stop])
    A = np.column_stack([-np.log(rank), np.ones_like(rank)])
    w = 1.0 / rank
    coef = np.linalg.solve(A.T @ (A * w[:, None]), (A * w[:, None]).T @ y)
    resid = y - A @ coef
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 1.0
    return AlphaReq(float(coef[0]), r2, (start, stop))


class OutlierDimensions(NamedTuple):
    """indices: outlier dimensions, worst first; scores: their statistic divided by the
    mean statistic over all dimensions; variance, kurtosis (excess, Fisher; NaN for a
    constant dimension), max_abs, mean: per-dimension arrays (d,); rule: what was used.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> X[:, 3] *= 30
    >>> o = measures.outlier_dimensions(X)
    >>> o.indices, o.variance.shape, o.rule
    (array([3]), (8,), 'variance > 5 x mean variance over dimensions')
    """
    indices: np.ndarray
    scores: np.ndarray
    variance: np.ndarray
    kurtosis: np.ndarray
    max_abs: np.ndarray
    mean: np.ndarray
    rule: str


STATISTICS = ("variance", "mean_abs")


def outlier_dimensions(X: npt.ArrayLike, *, statistic: str = "variance", factor: float = 5.0
                       ) -> OutlierDimensions:
    """Dimensions whose statistic exceeds `factor` times its mean over all dimensions.

    statistic="variance" (default, factor 5): var_j > 5 · mean_k var_k, the rule of
    Rudman, Chen & Eickhoff 2023 ("Outlier dimensions encode task-specific knowledge").
    statistic="mean_abs": mean_i |x_ij| > factor · mean_k mean_i |x_ik|, the magnitude
    view of outlier features (Kovaleva et al. 2021; Puccetti et al. 2022 flag dimensions
    of extreme magnitude). Per-dimension variance (ddof = 0), excess kurtosis
    m4/m2² − 3 (as scipy.stats.kurtosis with bias=True), max |x| and mean are returned
    for all dimensions, so other rules are one line away. float32 input is reduced in
    float32 within blocks of rows (~1e-6 relative), float64 in float64. Returns
    OutlierDimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> X[:, 3] *= 30                               # one dimension of large variance
    >>> measures.outlier_dimensions(X).indices
    array([3])
    >>> measures.outlier_dimensions(X, statistic="mean_abs").indices
    array([3])
    """
    x, scale = prepared(X)
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    factor = check_positive(factor, name="factor")
    refuse_constant(x, "X", "outlier_dimensions")
    n, d = x.shape
    mean = x.mean(axis=0, dtype=np.float64)
    m = mean.astype(x.dtype)
    ones = np.ones(min(n, BLOCK_ROWS), dtype=x.dtype)
    s1, m2, m4, mabs, amax = (np.zeros(d) for _ in range(5))
    for s in range(0, n, BLOCK_ROWS):
        b = x[s:s + BLOCK_ROWS]
        o = ones[:len(b)]
        c = b - m                          # column sums by BLAS gemv, blocks summed in f64
        c2 = c * c
        s1 += o @ c
        m2 += o @ c2
        m4 += o @ (c2 * c2)
        a = np.abs(b)
        mabs += o @ a
        amax = np.maximum(amax, a.max(axis=0))
    m2 = (m2 - s1 * s1 / n) / n            # exact about the mean despite m's rounding
    m4, mabs = m4 / n, mabs / n
    kurt = np.full(d, np.nan)
    np.divide(m4, m2 * m2, out=kurt, where=m2 > 0)
    kurt[m2 > 0] -= 3.0
    stat = m2 if statistic == "variance" else mabs
    scores = stat / stat.mean()            # scale free; the moments go back to X's units
    with np.errstate(over="ignore"):
        m2, amax, mean = m2 * scale * scale, amax * scale, mean * scale
    if not (np.isfinite(m2).all() and np.isfinite(amax).all()):
        raise ValueError("outlier_dimensions: the per-dimension variance of X overflows "
                         "float64; scale X down")
    idx = np.flatnonzero(scores > factor)
    idx = idx[np.argsort(-scores[idx], kind="stable")].astype(np.int64)
    rule = f"{statistic} > {factor:g} x mean {statistic} over dimensions"
    return OutlierDimensions(idx, scores[idx], m2, kurt, amax, mean, rule)
