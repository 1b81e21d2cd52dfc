"""MiND_ML intrinsic dimension (Rozza et al. 2012), as skdim.id.MiND_ML, and its pieces.

ρ_i = r_1 / r_{k+1} (nearest over (k+1)-th neighbour distance) has density
k·d·ρ^(d−1)(1−ρ^d)^(k−1) on uniform data of dimension d; MLi is the integer d ≤ D of largest
log-likelihood, MLk the real maximiser on [0, D] (the log-likelihood is concave in d), ML1
the k = 1 closed form. The vectorised helpers here (neighbourhood rows, ρ, MLi, MLk over many
rows at once) serve DANCo too.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int
from ._estimators import _IDEstimator, _checked_indices, _smooth, _threads

if TYPE_CHECKING:
    from typing_extensions import Self

_VERS = ("MLk", "MLi", "ML1")
_T = TypeVar("_T", float, np.ndarray)
SOLVERS = ("exact", "lbfgsb")


def distinct_points(X: npt.ArrayLike, duplicates: str, need: int, n_threads: int | None,
                    k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(x, dist, idx, inverse): X validated, duplicates merged (or refused), kNN with k columns.

    inverse is None when X has no duplicates, else the map from X's rows to the rows of x.
    """
    # ratios and angles do not change under scaling: tiny or huge coordinates are rescaled
    x = _lid._scale_free(as_float_array(X, name="X", min_rows=2, min_cols=1))
    if k > len(x) - 1:
        raise ValueError(f"need more than {k} points, X has {len(x)}")
    dist, idx = _knn_mod.knn(x, k, n_threads=n_threads)
    inverse: np.ndarray | None = None
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        x, inverse = _lid._dedupe_or_raise(x, duplicates, zero, need)
        dist, idx = _knn_mod.knn(x, min(k, len(x) - 1), n_threads=n_threads)
    return x, dist, idx, inverse


def exact_distance(x: np.ndarray, idx: np.ndarray, col: int, block: int = 1 << 14) -> np.ndarray:
    """‖x_i − x_{idx[i, col]}‖ in float64 (kNN distances of float32 data are float32)."""
    out = np.empty(len(x))
    for s in range(0, len(x), block):
        diff = x[idx[s:s + block, col]].astype(np.float64) - x[s:s + block]
        out[s:s + block] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def lld_grid(rhos: np.ndarray, k: int, D: int) -> np.ndarray:
    """Log-likelihood of d = 1…D for each row of rhos (m, N): array (m, D), skdim's formula."""
    lr = np.log(rhos)
    n = rhos.shape[-1]
    d = np.arange(1, D + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        tail = np.stack([np.log(1 - rhos ** di).sum(axis=-1) for di in d], axis=-1)
    result: np.ndarray = n * np.log(k * d) + (d - 1) * lr.sum(axis=-1)[..., None] + (k - 1) * tail
    return result


def mli(rhos: np.ndarray, k: int, D: int) -> np.ndarray:
    """MiND_MLi: argmax over d = 1…D of the log-likelihood, per row (integer array)."""
    result: np.ndarray = np.argmax(lld_grid(np.atleast_2d(rhos), k, D), axis=1) + 1
    return result


def mlk(rhos: np.ndarray, k: int, D: int, dinit: np.ndarray, iters: int = 60) -> np.ndarray:
    """MiND_MLk: the maximiser of the (concave) log-likelihood on [0, D], per row.

    skdim runs L-BFGS-B from dinit; here a bracketed Newton iteration on the gradient
    N/d + Σ ln ρ − (k−1) Σ ρ^d ln ρ / (1 − ρ^d), vectorised over rows, converges to the
    same maximiser to ~1e-12 (where L-BFGS-B converges, they agree to ~1e-7).
    """
    rhos = np.atleast_2d(rhos)
    lr = np.log(rhos)
    n = rhos.shape[1]
    slr = lr.sum(axis=1)

    def grad_and_curv(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = rhos ** d[:, None]
        q = p / (1 - p)
        g = n / d + slr - (k - 1) * (q * lr).sum(axis=1)
        h = -n / d ** 2 - (k - 1) * (q / (1 - p) * lr * lr).sum(axis=1)
        return g, h

    lo = np.full(len(rhos), 1e-12)
    hi = np.full(len(rhos), float(D))
    g_hi, _ = grad_and_curv(hi)
    d = np.clip(np.asarray(dinit, dtype=np.float64), 1e-6, D)
    for _ in range(iters):
        g, h = grad_and_curv(d)
        lo = np.where(g > 0, d, lo)          # g decreases in d (concavity): root lies above
        hi = np.where(g > 0, hi, d)
        step = d - g / h
        inside = (step > lo) & (step < hi)
        new = np.where(inside, step, 0.5 * (lo + hi))
        if np.all(np.abs(new - d) <= 1e-13 * np.maximum(1.0, d)):
            d = new
            break
        d = new
    return np.where(g_hi >= 0, float(D), d)    # still increasing at D: the bound, as skdim


def mlk_lbfgsb(rhos: np.ndarray, k: int, D: int, dinit: float) -> float:
    """MiND_MLk exactly as skdim computes it: scipy's L-BFGS-B on [0, D] from dinit, which
    may stop after one step at its (integer) start when the first line search fails."""
    from scipy.optimize import minimize
    lr = np.log(rhos)
    n = len(rhos)

    def nlld(d: np.ndarray) -> np.ndarray:
        result: np.ndarray = -(n * np.log(k * d) + (d - 1) * lr.sum()
                               + (k - 1) * np.sum(np.log(1 - rhos ** d)))
        return result

    def nlld_gr(d: np.ndarray) -> np.ndarray:
        result: np.ndarray = -(n / d + np.sum(lr - (k - 1) * rhos ** d * lr / (1 - rhos ** d)))
        return result

    with np.errstate(divide="ignore", invalid="ignore"):
        res = minimize(fun=nlld, x0=np.array([dinit]), jac=nlld_gr, method="L-BFGS-B",
                       bounds=[(0, D)])
    return float(res["x"][0])


def check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise ValueError(f"mlk_solver must be one of {SOLVERS}, got {solver!r}")
    return solver


def ml1(r1: np.ndarray, r2: np.ndarray) -> float:
    """MiND_ML1: −2 / mean(ln(r1² / r2²)) (the k = 1 maximum-likelihood estimate)."""
    return float(-2.0 / np.mean(np.log((r1 / r2) ** 2)))


def neighbourhood_rhos(x: np.ndarray, idx_nb: np.ndarray, n_nb: int,
                       block_bytes: int = 64 << 20) -> np.ndarray:
    """For each neighbourhood x[idx_nb[i]] (m points), ρ = r_1 / r_(n_nb) of each of its points
    among the others (kNN inside the neighbourhood, as skdim's fit_pw): array (n, m)."""
    n, m = idx_nb.shape
    rho = np.empty((n, m))
    step = max(1, block_bytes // (8 * m * max(m, x.shape[1])))
    for s in range(0, n, step):
        g = x[idx_nb[s:s + step]].astype(np.float64)
        g -= g.mean(axis=1, keepdims=True)          # centring reduces cancellation below
        sq = np.einsum("bij,bij->bi", g, g)
        d2 = sq[:, :, None] + sq[:, None, :] - 2 * np.matmul(g, g.transpose(0, 2, 1))
        d2[:, np.arange(m), np.arange(m)] = np.inf
        part = np.sqrt(np.maximum(np.partition(d2, [0, n_nb - 1], axis=2), 0))
        rho[s:s + step] = part[:, :, 0] / part[:, :, n_nb - 1]
    return rho


class MiND_ML(_IDEstimator):
    """MiND maximum-likelihood intrinsic dimension (Rozza et al. 2012), as skdim.id.MiND_ML.

    Parameters
    ----------
    k : int, default 20
        Neighbours: ρ = r_1 / r_{k+1}.
    D : int, default 10
        Largest dimension considered (MLk is bounded to [0, D]).
    ver : {'MLk', 'MLi', 'ML1'}, default 'MLk'
        MLk: real maximiser; MLi: integer maximiser; ML1: the k = 1 closed form
        −2 / mean(ln(r1² / r2²)) (skdim has it commented out and raises for 'ML1').
    mlk_solver : {'exact', 'lbfgsb'}, default 'exact'
        'exact': the maximiser of the (concave) likelihood, vectorised Newton; 'lbfgsb':
        skdim's scipy L-BFGS-B call, which sometimes stops at its integer start (2.000
        where the maximiser is 1.969); whether it stops depends on the last bits of ρ, so
        it matches skdim on most but not all data. fit_pw then loops over neighbourhoods.
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once (skdim gets ρ = 0 and −inf likelihoods).
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n,), after fit_pw
    dimension_pw_smooth_ : ndarray of shape (n,), after fit_pw(smooth=True)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import MiND_ML
    >>> rng = np.random.default_rng(0)
    >>> Q = np.linalg.qr(rng.standard_normal((6, 3)))[0]   # a 3-d subspace of R^6
    >>> X = rng.uniform(size=(500, 3)) @ Q.T
    >>> round(MiND_ML(ver="MLi").fit(X).dimension_)
    3
    """

    def __init__(self, k: int = 20, D: int = 10, ver: str = "MLk", *,
                 mlk_solver: str = "exact", duplicates: str = "merge",
                 n_threads: int | None = None):
        self.k = k
        self.D = D
        self.ver = ver
        self.mlk_solver = mlk_solver
        self.duplicates = duplicates
        self.n_threads = n_threads

    def _check(self) -> tuple[int, int]:
        if self.ver not in _VERS:
            raise ValueError(f"ver must be one of {_VERS}, got {self.ver!r}")
        _lid._check_choice(self.duplicates, "duplicates", ("merge", "raise"))
        check_solver(self.mlk_solver)
        return check_int(self.k, name="k", low=1), check_int(self.D, name="D", low=1)

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Global estimate of X (n, d): kNN with min(k + 1, n − 1) neighbours (as skdim)."""
        k, D = self._check()
        x = self._validate(X, min_samples=3)
        if k + 1 >= len(x):
            warnings.warn("k+1 >= len(X), using k+1 = len(X)-1", stacklevel=2)
        kk = 2 if self.ver == "ML1" else min(k + 1, len(x) - 1)
        x, _, idx, _ = distinct_points(x, self.duplicates, kk + 1, self.n_threads, kk)
        r1 = exact_distance(x, idx, 0)
        rl = exact_distance(x, idx, idx.shape[1] - 1)
        with np.errstate(all="ignore"):
            d = ml1(r1, rl) if self.ver == "ML1" else float(
                _estimate(r1 / rl, k, D, self.ver, self.mlk_solver)[0])
        self.dimension_ = _finite(d)
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> Self:
        """MiND_ML fitted on each point's n_neighbors nearest neighbours (self excluded),
        as skdim's GlobalEstimator.fit_pw, vectorised over neighbourhoods.

        precomputed_knn : int array (n, >= n_neighbors) of neighbour indices, optional.
        """
        k, D = self._check()
        threads = _threads(self.n_threads, n_jobs)
        x = _lid._scale_free(as_float_array(X, name="X"))
        m = check_int(n_neighbors, name="n_neighbors", low=3)
        if precomputed_knn is not None:
            idx = _checked_indices(precomputed_knn, len(x), m)
        else:
            if m > len(x) - 1:
                raise ValueError(f"n_neighbors must be <= {len(x) - 1}, got {m}")
            _, idx = _knn_mod.knn(x, m, n_threads=threads)
        rho = neighbourhood_rhos(x, idx, 2 if self.ver == "ML1" else min(k + 1, m - 1))
        if (rho <= 0).any() or (rho >= 1).any():
            raise ValueError("a neighbourhood contains duplicate or equidistant points "
                             "(ρ = 0 or 1); remove duplicates first (lowdim.remove_duplicates)")
        with np.errstate(all="ignore"):
            if self.ver == "ML1":
                pw = -2.0 / np.mean(np.log(rho ** 2), axis=1)
            else:
                pw = _estimate(rho, k, D, self.ver, self.mlk_solver)
        _finite(pw)
        self.n_features_in_ = int(x.shape[1])
        self.dimension_pw_ = pw.astype(np.float64)
        if smooth:
            self.dimension_pw_smooth_ = _smooth(self.dimension_pw_, idx)
        elif hasattr(self, "dimension_pw_smooth_"):
            del self.dimension_pw_smooth_
        return self


def _finite(value: _T) -> _T:
    """value, or a ValueError when an estimate came out NaN or inf (degenerate input)."""
    if not np.all(np.isfinite(value)):
        raise ValueError("the estimate is not finite: X is degenerate (too few distinct "
                         "points, or distances that do not resolve)")
    return value


def _estimate(rhos: np.ndarray, k: int, D: int, ver: str, solver: str = "exact") -> np.ndarray:
    """MLi or MLk of each row of rhos (m, N)."""
    rhos = np.atleast_2d(rhos)
    if (rhos <= 0).any() or (rhos >= 1).any():
        raise ValueError("ρ = r_1 / r_(k+1) is 0 or 1 for some point (duplicates or k+1 "
                         "equidistant neighbours): the likelihood is undefined")
    di = mli(rhos, k, D)
    if ver == "MLi":
        return di.astype(np.float64)
    if solver == "lbfgsb":
        return np.array([mlk_lbfgsb(r, k, D, float(d0)) for r, d0 in zip(rhos, di)])
    return mlk(rhos, k, D, di.astype(np.float64))
