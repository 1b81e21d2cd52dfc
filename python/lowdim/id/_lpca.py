"""PCA-spectrum intrinsic dimension, as skdim.id.lPCA (explained-variance rules).

ver: 'FO' (Fukunaga–Olsen: eigenvalues above alphaFO·λ₁), 'Fan' (Fan et al. 2010),
'maxgap' (largest ratio λ_i/λ_{i+1}), 'ratio' (components for 1 − alphaRatio of the
variance), 'participation_ratio' ((Σλ)²/Σλ²), 'Kaiser' (above the mean), 'broken_stick'
(above the broken-stick expectation). Every rule works on a (rows, m) array of spectra, so
fit_pw evaluates all neighbourhoods at once from batched eigenvalues of their Gram matrices.
"""
from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int
from ._estimators import _IDEstimator, _smooth, _threads

if TYPE_CHECKING:
    from typing_extensions import Self

VERS = ("FO", "Fan", "maxgap", "ratio", "participation_ratio", "Kaiser", "broken_stick")


def _gaps(e: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: np.ndarray = e[:, :-1] / e[:, 1:]
        return result


def _first(mask: np.ndarray, default: int) -> np.ndarray:
    """Index of the first True per row, `default` where a row has none."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), default)


def dimension_from_spectra(e: np.ndarray, est: Any) -> tuple[np.ndarray, np.ndarray]:
    """(dimension per row, gaps per row) of descending spectra e (rows, m) by est's rule."""
    ver, m = est.ver, e.shape[1]
    gaps = _gaps(e)
    if ver == "FO":
        return (e > est.alphaFO * e[:, :1]).sum(axis=1), gaps
    if ver == "maxgap":       # nanargmax: 0/0 gaps (zero eigenvalues) are skipped
        return np.where(np.isnan(gaps), -np.inf, gaps).argmax(axis=1) + 1, gaps
    if ver == "ratio":
        cs = np.cumsum(e, axis=1)
        return (cs / cs.max(axis=1, keepdims=True) < est.alphaRatio).sum(axis=1) + 1, gaps
    if ver == "participation_ratio":
        return e.sum(axis=1) ** 2 / (e * e).sum(axis=1), gaps
    if ver == "Kaiser":
        return (e > e.mean(axis=1, keepdims=True)).sum(axis=1), gaps
    if ver == "broken_stick":
        bs = np.cumsum(1.0 / np.arange(m, 0, -1))[::-1] / m
        return _first(bs > e / e.sum(axis=1, keepdims=True), 0), gaps
    # Fan: noise level = mean of the eigenvalues past the PFan share of the variance
    cs = np.cumsum(e, axis=1) / e.sum(axis=1, keepdims=True)
    r = (cs > est.PFan).argmax(axis=1)
    tail = np.arange(m) >= r[:, None]
    e = e - (np.where(tail, e, 0).sum(axis=1) / tail.sum(axis=1))[:, None]
    gaps = _gaps(e)
    with np.errstate(invalid="ignore", divide="ignore"):   # sequential sum, as skdim's sum()
        cs = np.cumsum(e, axis=1)
        share = cs / cs[:, -1:]
    big = np.concatenate([gaps > est.alphaFan, np.zeros((len(e), 1), bool)], axis=1)
    return 1 + np.minimum(_first(big, m), _first(share > est.betaFan, m)), gaps


def _spectrum(x: np.ndarray, center: bool) -> np.ndarray:
    """Eigenvalues as sklearn's PCA().explained_variance_ (center) or svd(X)² (not)."""
    n, p = x.shape
    if center:
        x = x - x.mean(axis=0)
    c = x.T @ x if p <= n else x @ x.T               # same nonzero eigenvalues
    e = np.linalg.eigvalsh(c)[::-1][:min(n, p)]
    return np.maximum(e, 0) / (n - 1 if center else 1)


def _neighbourhood_spectra(x: np.ndarray, idx: np.ndarray,
                           block_bytes: int = 32 << 20) -> np.ndarray:
    """explained_variance_ of every neighbourhood x[idx[i]] (k points), (n, min(k, D))."""
    n, k = idx.shape
    p = x.shape[1]
    m = min(k, p)
    out = np.empty((n, m))
    step = max(1, block_bytes // (8 * k * max(k, p) * 2))
    for s in range(0, n, step):
        g = x[idx[s:s + step]].astype(np.float64)
        g -= g.mean(axis=1, keepdims=True)
        gt = g.transpose(0, 2, 1)
        c = np.matmul(g, gt) if k <= p else np.matmul(gt, g)
        e = np.linalg.eigvalsh(c)[:, ::-1][:, :m]
        out[s:s + step] = np.maximum(e, 0) / (k - 1)
    return out


class lPCA(_IDEstimator):
    """Intrinsic dimension from the PCA spectrum, with skdim.id.lPCA's interface.

    Parameters
    ----------
    ver : {'FO', 'Fan', 'maxgap', 'ratio', 'participation_ratio', 'Kaiser', 'broken_stick'}
        Rule applied to the eigenvalues (see the module docstring). skdim 0.5's signal-rank
        versions (MP, GD, KN, Minka, parallel, denoised, scRMT) are not offered.
    alphaRatio, alphaFO, alphaFan, betaFan, PFan : float
        The rules' thresholds, with skdim's defaults.
    verbose : bool
        Unused (as in skdim).
    center : bool, default True
        Centre the data; False uses the eigenvalues of XᵀX (svd(X)²), as skdim.
    fit_explained_variance : bool, default False
        fit(X) takes a precomputed eigenvalue vector instead of data.
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : int (float for 'participation_ratio')
    gap_ : ndarray, ratio of each eigenvalue to the next
    explained_var_ : ndarray, the spectrum (when fit on data)
    dimension_pw_ : ndarray of shape (n,), after fit_pw

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import lPCA
    >>> X = np.random.default_rng(0).standard_normal((200, 3)) @ np.eye(3, 6)
    >>> int(lPCA().fit(X).dimension_)
    3
    """

    def __init__(self, ver: str = "FO", alphaRatio: float = 0.05, alphaFO: float = 0.05,
                 alphaFan: float = 10, betaFan: float = 0.8, PFan: float = 0.95,
                 verbose: bool = True, center: bool = True,
                 fit_explained_variance: bool = False, *, n_threads: int | None = None):
        self.ver = ver
        self.alphaRatio = alphaRatio
        self.alphaFO = alphaFO
        self.alphaFan = alphaFan
        self.betaFan = betaFan
        self.PFan = PFan
        self.verbose = verbose
        self.center = center
        self.fit_explained_variance = fit_explained_variance
        self.n_threads = n_threads

    def _preserves_dtype(self) -> list[str]:
        """The rules count components (an integer), except the participation ratio."""
        return ["float64"] if self.ver == "participation_ratio" else []

    def _scalar(self, d: np.ndarray) -> int | float:
        return float(d[0]) if self.ver == "participation_ratio" else int(d[0])

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Dimension of X (n, D), or of the eigenvalues X when fit_explained_variance."""
        _lid._check_choice(self.ver, "ver", VERS)
        if self.fit_explained_variance:
            e = as_float_array(X, name="X", ndim=1, dtype=np.float64)
        else:
            x = self._validate(X, min_samples=2, min_features=2)
            e = self.explained_var_ = _spectrum(x, self.center)
        d, gaps = dimension_from_spectra(e[None, :], self)
        self.dimension_, self.gap_ = self._scalar(d), gaps[0]
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> Self:
        """lPCA of each point's n_neighbors nearest neighbours (self excluded), as skdim.

        Unlike skdim, dimension_ is left as it was (skdim leaves the last neighbourhood's).
        precomputed_knn : int array (n, k) of neighbour indices, optional (all k used).
        """
        _lid._check_choice(self.ver, "ver", VERS)
        threads = _threads(self.n_threads, n_jobs)
        x = as_float_array(X, name="X")
        k = check_int(n_neighbors, name="n_neighbors", low=2)
        if precomputed_knn is not None:
            idx = _lid.check_knn_indices(np.asarray(precomputed_knn))
            if idx.ndim != 2 or len(idx) != len(x):
                raise ValueError(f"precomputed_knn must be indices of shape ({len(x)}, k)")
        else:
            if k > len(x) - 1:
                raise ValueError(f"n_neighbors must be <= {len(x) - 1}, got {k}")
            _, idx = _knn_mod.knn(x, k, n_threads=threads)
        self.n_features_in_ = int(x.shape[1])
        d, _ = dimension_from_spectra(_neighbourhood_spectra(x, idx), self)
        self.dimension_pw_ = d.astype(np.float64 if self.ver == "participation_ratio" else int)
        if smooth:
            self.dimension_pw_smooth_ = _smooth(self.dimension_pw_, idx)
        elif hasattr(self, "dimension_pw_smooth_"):
            del self.dimension_pw_smooth_
        return self
