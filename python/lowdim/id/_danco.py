"""DANCo, Dimensionality from Angle and Norm Concentration (Ceruti et al. 2014), as skdim.id.DANCo.

Three statistics of the data — the MiND_MLk estimate d̂ from ρ = r_1/r_{k+1}, and the von Mises
mean ν and concentration τ of the angles between each point's k neighbour vectors — are
compared by Kullback–Leibler divergence with the same statistics of uniform d-balls of the
same size n, d = 1…D; the estimate minimises the divergence (interpolated when fractal).
Reference balls come from lowdim's counter-based generator and are cached by (n, k, d, seed);
ver='DANCoFit' reads them from danco_table.txt (tools/make_danco_table.py) instead.
"""
from __future__ import annotations

import contextlib
import math
import sys
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, ContextManager

import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array, check_int
from . import _estimators, _mind
from ._estimators import _IDEstimator
from ._mind import mli, mlk, mlk_lbfgsb

# typed views of the untyped helpers this module shares with MiND_ML and the other estimators
Array = npt.NDArray[np.float64]
Cal = dict[str, float]                  # one calibration row: dhat, mu_nu, mu_tau
_finite: Callable[[Any], Any] = _mind._finite
check_solver: Callable[[str], str] = _mind.check_solver
distinct_points: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, Any]] = \
    _mind.distinct_points
exact_distance: Callable[[np.ndarray, np.ndarray, int], Array] = _mind.exact_distance
_checked_indices: Callable[[Any, int, int], np.ndarray] = _estimators._checked_indices
_smooth: Callable[[np.ndarray, np.ndarray], Array] = _estimators._smooth
_threads: Callable[[int | None, int | None], int | None] = _estimators._threads

STREAM_DANCO_BALL = 0x44414E43 << 32    # reference balls: + (d << 1) (+1: the radii)
_VERS = ("DANCo", "DANCoFit", "MIND_MLi", "MIND_MLk")
TABLE = Path(__file__).with_name("danco_table.txt")
_CACHE: dict[tuple[Any, ...], tuple[float, float, float]] = {}               # (n, k, d, seed, rep, solver) -> (dhat, mu_nu, mu_tau)
_FMAX = sys.float_info.max


def ball(n: int, d: int, seed: int, rep: int = 0) -> np.ndarray:
    """n points uniform in the unit d-ball, float64 (n, d), from lowdim's generator: Gaussian
    directions scaled to radius U^(1/d) (the same law as skdim.datasets.hyperBall)."""
    stream = STREAM_DANCO_BALL + (rep << 20) + (d << 1)
    draw = _config.kernels().random_bits
    b = draw(seed, stream, 0, 2 * n * d)
    g = _rng.normal(b[0::2], b[1::2]).reshape(n, d)
    u = 1.0 - _rng.uniform(draw(seed, stream + 1, 0, n))
    result: np.ndarray = g * (u ** (1.0 / d) / np.linalg.norm(g, axis=1))[:, None]
    return result


def _ainv(eta: npt.ArrayLike) -> Array:
    """Inverse of A(τ) = I1(τ)/I0(τ), the piecewise approximation skdim (and R) use."""
    eta = np.asarray(eta, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eta < 0.53, 2 * eta + eta ** 3 + 5 * eta ** 5 / 6,
                        np.where(eta < 0.85, -0.4 + 1.39 * eta + 0.43 / (1 - eta),
                                 1 / (eta ** 3 - 4 * eta ** 2 + 3 * eta)))


def _one_blas_thread() -> ContextManager[Any]:
    """threadpoolctl's limit to one BLAS thread (a no-op without threadpoolctl): a batched
    Gram matrix is thousands of tiny GEMMs, which a multi-threaded BLAS runs up to 10-20×
    slower (a thread hand-off per call, worst on a loaded machine). The controller is built
    once: discovering the loaded libraries costs ~10-30 ms, more than a small fit."""
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    result: ContextManager[Any] = controller.limit(limits=1, user_api="blas")
    return result


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def angle_statistics(x: np.ndarray, idx: np.ndarray,
                     block_bytes: int = 8 << 20) -> tuple[float, float]:
    """Mean over points of the von Mises ν and τ fitted to the C(k, 2) angles between the
    vectors from each point to its k neighbours idx (n, k) — batched Gram matrices.

    The neighbour vectors and their Gram matrices are formed in x's own dtype (skdim too
    works in float32 on float32 data; differences of nearby float32 rows are exact) over
    cache-sized blocks of points; the angles are then taken in float64."""
    n, k = idx.shape
    iu, ju = np.triu_indices(k, 1)
    nu = np.empty(n)
    tau = np.empty(n)
    step = max(1, block_bytes // (x.itemsize * k * max(k, x.shape[1])))
    with np.errstate(invalid="ignore", divide="ignore"), _one_blas_thread():
        for s in range(0, n, step):
            v = x[idx[s:s + step]] - x[s:s + step, None, :]
            gram = np.matmul(v, v.transpose(0, 2, 1)).astype(np.float64)
            lens = np.sqrt(np.einsum("bii->bi", gram))
            cos = np.clip(gram[:, iu, ju] / (lens[:, iu] * lens[:, ju]), -1.0, 1.0)
            theta = np.arccos(cos)
            sin_t, cos_t = np.sin(theta), np.cos(theta)
            nu[s:s + step] = np.arctan(sin_t.sum(axis=1) / cos_t.sum(axis=1))
            eta = np.sqrt(cos_t.mean(axis=1) ** 2 + sin_t.mean(axis=1) ** 2)
            tau[s:s + step] = _ainv(eta)
    return float(np.mean(nu)), float(np.mean(tau))


def statistics(x: np.ndarray, dist_idx: np.ndarray, k: int, D: int,
               solver: str = "exact") -> tuple[float, float, float]:
    """(d̂ = MiND_MLk with bound D, μ_ν, μ_τ) of x with its (k + 1)-NN idx (skdim's
    _dancoDimEstNoCalibration)."""
    idx = dist_idx
    rhos = exact_distance(x, idx, 0) / exact_distance(x, idx, k)
    if (rhos <= 0).any() or (rhos >= 1).any():
        raise ValueError("ρ = r_1 / r_(k+1) is 0 or 1 for some point (duplicates or k+1 "
                         "equidistant neighbours): DANCo's likelihood is undefined")
    d0 = mli(rhos, k, D).astype(np.float64)
    dhat = float(mlk_lbfgsb(rhos, k, D, d0[0]) if solver == "lbfgsb"
                 else mlk(rhos, k, D, d0)[0])
    mu_nu, mu_tau = angle_statistics(x, idx[:, :k])
    if x.shape[1] == 1:
        mu_tau = 1.0
    return dhat, mu_nu, mu_tau


def reference_statistics(n: int, k: int, d: int, seed: int, rep: int = 0,
                         n_threads: int | None = None,
                         solver: str = "exact") -> tuple[float, float, float]:
    """Statistics of the uniform d-ball sample (n, d, seed, rep), cached in this process."""
    key = (n, k, d, seed, rep, solver)
    if key not in _CACHE:
        x = ball(n, d, seed, rep)
        _, idx = _knn_mod.knn(x, k + 1, n_threads=n_threads)
        _CACHE[key] = statistics(x, idx, k, 2 * d + 5, solver)
    return _CACHE[key]


def reference_statistics_mean(n: int, k: int, d: int, seed: int, reps: int,
                              rep0: int = 0) -> tuple[float, float, float]:
    """Mean (d̂, μ_ν, μ_τ) over reps uniform d-balls of n points (rep = rep0…): DANCoFit's
    table cells at small n, batched in one brute-force kNN over all replicates."""
    xs = np.stack([ball(n, d, seed, rep0 + r) for r in range(reps)])
    sq = np.einsum("rij,rij->ri", xs, xs)
    d2 = sq[:, :, None] + sq[:, None, :] - 2 * np.matmul(xs, xs.transpose(0, 2, 1))
    d2[:, np.arange(n), np.arange(n)] = np.inf
    near = np.argpartition(d2, k, axis=2)[:, :, :k + 1]
    order = np.argsort(np.take_along_axis(d2, near, axis=2), axis=2, kind="stable")
    idx = np.take_along_axis(near, order, axis=2) + (np.arange(reps) * n)[:, None, None]
    x = xs.reshape(reps * n, d)
    idx = idx.reshape(reps * n, k + 1)
    rhos = (exact_distance(x, idx, 0) / exact_distance(x, idx, k)).reshape(reps, n)
    D = 2 * d + 5
    dhat = mlk(rhos, k, D, mli(rhos, k, D).astype(np.float64))
    mu_nu, mu_tau = angle_statistics(x, idx[:, :k])      # equal n: the mean of the means
    return float(np.mean(dhat)), mu_nu, 1.0 if d == 1 else mu_tau


@lru_cache(maxsize=1)
def _table() -> tuple[int, np.ndarray, dict[str, Array]]:
    """danco_table.txt: (k, cardinalities, {stat: array (D, len(cardinalities))})."""
    rows = [ln.split() for ln in TABLE.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    k = int(rows[0][1])
    card = np.array([int(v) for v in rows[1][1:]])
    stats = {}
    for name in ("dhat", "mu_nu", "mu_tau"):
        vals = [[float(v) for v in r[2:]] for r in rows[2:] if r[0] == name]
        stats[name] = np.array(vals)
    return k, card, stats


def table_calibration(n: int, k: int, D: int) -> list[Cal]:
    """DANCoFit calibration at n: the table's statistics for d = 1…D, PCHIP-interpolated in n
    (as skdim's _fit_calibration)."""
    from scipy.interpolate import PchipInterpolator
    tk, card, stats = _table()
    if k != tk:
        raise ValueError(f"ver='DANCoFit' requires k={tk}, got k={k}")
    if not card[0] <= n <= card[-1]:
        raise ValueError(f"ver='DANCoFit' requires {card[0]} <= n_samples <= {card[-1]}, "
                         f"got {n}")
    if D > len(stats["dhat"]):
        raise ValueError(f"ver='DANCoFit' requires D <= {len(stats['dhat'])}, got D={D}")
    vals = {key: PchipInterpolator(card, stats[key][:D], axis=1)(n) for key in stats}
    return [{key: float(v[d]) for key, v in vals.items()} for d in range(D)]


def kl_divergence(k: int, data: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
                  cal: list[Cal]) -> Array:
    """KL divergence of the data's (d̂, ν, τ) to each calibration row (skdim's _KL): (D,),
    or (m, D) when the three statistics are arrays of m neighbourhoods (fit_pw)."""
    from scipy.special import digamma, i0, i1   # here, not at import: scipy is optional
    dcal = np.array([c["dhat"] for c in cal])
    nu2 = np.array([c["mu_nu"] for c in cal])
    tau2 = np.array([c["mu_tau"] for c in cal])
    dhat, nu1, tau1 = (np.asarray(v, dtype=np.float64)[..., None] for v in data)
    h_k = np.sum(1 / np.arange(1, k + 1))
    quo = dcal / dhat
    i = np.arange(k + 1)
    coef = np.array([(-1) ** j * math.comb(k, j) for j in i], dtype=np.float64)
    kld = h_k * quo - np.log(quo) - (k - 1) * (coef * digamma(1 + i / quo[..., None])).sum(
        axis=-1)
    with np.errstate(over="ignore"):
        i0_2, i0_1 = np.minimum(_FMAX, i0(tau2)), np.minimum(_FMAX, i0(tau1))
        klnutau = np.log(i0_2 / i0_1) + np.minimum(_FMAX, i1(tau1)) / i0_1 * (
            tau1 - tau2 * np.cos(nu1 - nu2))
    result: Array = kld + klnutau
    return result


def neighbourhood_statistics(x: np.ndarray, idx_nb: np.ndarray, k: int, D: int,
                             solver: str = "exact", block_bytes: int = 32 << 20
                             ) -> tuple[Array, np.ndarray, Array, Array]:
    """(d̂, μ_ν, μ_τ) of each neighbourhood x[idx_nb[i]] (m points), arrays (n,), with the
    (k + 1)-NN of each of its points among the others, as skdim's fit on that subset.

    One m × m Gram matrix G of the centred neighbourhood per row gives the squared
    distances (for ρ and the kNN) and the Gram matrices of the neighbour vectors
    (v_j · v_l = G_jl − G_ij − G_il + G_ii): no (m, k, features) arrays are formed."""
    n, m = idx_nb.shape
    rho = np.empty((n, m))
    nu = np.empty(n)
    tau = np.empty(n)
    iu, ju = np.triu_indices(k, 1)
    ar = np.arange(m)
    step = max(1, block_bytes // (8 * m * max(m, x.shape[1], k * k)))
    with np.errstate(invalid="ignore", divide="ignore"), _one_blas_thread():
        for s in range(0, n, step):
            g = x[idx_nb[s:s + step]].astype(np.float64)
            g -= g.mean(axis=1, keepdims=True)          # centring reduces cancellation
            G = np.matmul(g, g.transpose(0, 2, 1))
            sq = np.einsum("bii->bi", G)
            d2 = sq[:, :, None] + sq[:, None, :] - 2 * G
            d2[:, ar, ar] = np.inf
            near = np.argpartition(d2, k, axis=2)[:, :, :k + 1]
            order = np.argsort(np.take_along_axis(d2, near, axis=2), axis=2, kind="stable")
            nb = np.take_along_axis(near, order, axis=2)            # (b, m, k + 1)
            ends = np.take_along_axis(d2, nb[:, :, [0, k]], axis=2)
            r = np.sqrt(np.maximum(ends, 0))
            rho[s:s + step] = r[:, :, 0] / r[:, :, 1]
            b = np.arange(len(g))[:, None, None, None]
            j, i = nb[:, :, :k, None], ar[None, :, None, None]
            gv = (G[b, j, nb[:, :, None, :k]] - G[b, i, j] - G[b, i, nb[:, :, None, :k]]
                  + G[b, i, i])                                     # (b, m, k, k)
            lens = np.sqrt(np.einsum("bmjj->bmj", gv))
            cos = np.clip(gv[:, :, iu, ju] / (lens[:, :, iu] * lens[:, :, ju]), -1.0, 1.0)
            theta = np.arccos(cos)
            sin_t, cos_t = np.sin(theta), np.cos(theta)
            nu[s:s + step] = np.arctan(sin_t.sum(axis=2) / cos_t.sum(axis=2)).mean(axis=1)
            eta = np.sqrt(cos_t.mean(axis=2) ** 2 + sin_t.mean(axis=2) ** 2)
            tau[s:s + step] = _ainv(eta).mean(axis=1)
    if (rho <= 0).any() or (rho >= 1).any():
        raise ValueError("a neighbourhood contains duplicate or equidistant points (ρ = 0 or "
                         "1); remove duplicates first (lowdim.remove_duplicates)")
    d0 = mli(rho, k, D)
    if solver == "lbfgsb":
        dhat = np.array([mlk_lbfgsb(r, k, D, float(d)) for r, d in zip(rho, d0)])
    else:
        dhat = mlk(rho, k, D, d0.astype(np.float64))
    if x.shape[1] == 1:
        tau[:] = 1.0
    return dhat, d0, nu, tau


class DANCo(_IDEstimator):
    """DANCo intrinsic dimension (Ceruti et al. 2014), as skdim.id.DANCo.

    Parameters
    ----------
    k : int, default 10
        Neighbours.
    D : int, optional
        Largest dimension considered (default: the number of columns of X).
    calibration_data : dict, optional
        A previous fit's calibration_data_ (or skdim's) for the same n and k: keys k, N,
        maxdim and calibration_data (one dict of dhat, mu_nu, mu_tau per dimension).
    ver : {'DANCo', 'DANCoFit', 'MIND_MLi', 'MIND_MLk'}, default 'DANCo'
        'DANCo' calibrates on uniform balls drawn here (cached per process); 'DANCoFit' on
        the shipped table (k = 10, D <= 100, 20 <= n <= 5000, as skdim's); the MIND
        versions return MiND_ML with k and D.
    fractal : bool, default True
        Minimise the interpolated divergence (real dimension) rather than the integer one.
    verbose : bool, default False
    random_state : int, optional
        Seed of the reference balls (None = 0): results are deterministic for a seed.
    mlk_solver : {'exact', 'lbfgsb'}, default 'exact'
        How d̂ (MiND_MLk) is maximised; 'lbfgsb' is skdim's call, see MiND_ML. The table of
        'DANCoFit' holds exact maximisers.
    duplicates : {'merge', 'raise'}, default 'merge'
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    kl_divergence_ : float, the divergence at the integer minimiser
    calibration_data_ : dict, reusable as calibration_data for data of the same n and k
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import DANCo
    >>> rng = np.random.default_rng(0)
    >>> Q = np.linalg.qr(rng.standard_normal((6, 3)))[0]   # a 3-d subspace of R^6
    >>> X = rng.uniform(size=(400, 3)) @ Q.T
    >>> round(DANCo(D=6).fit(X).dimension_)
    3
    """

    def __init__(self, k: int = 10, D: int | None = None, calibration_data: dict[str, Any] | None = None,
                 ver: str = "DANCo", fractal: bool = True, verbose: bool = False,
                 random_state: int | None = None, *, mlk_solver: str = "exact",
                 duplicates: str = "merge", n_threads: int | None = None) -> None:
        self.k = k
        self.D = D
        self.calibration_data = calibration_data
        self.ver = ver
        self.fractal = fractal
        self.verbose = verbose
        self.random_state = random_state
        self.mlk_solver = mlk_solver
        self.duplicates = duplicates
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike, y: Any = None) -> "DANCo":
        """Estimate the intrinsic dimension of X (n, d): sets dimension_, and for the DANCo
        versions kl_divergence_ and calibration_data_.

        Examples
        --------
        >>> import numpy as np
        >>> from lowdim.id import DANCo
        >>> X = np.random.default_rng(0).uniform(size=(500, 4))
        >>> est = DANCo(ver="DANCoFit").fit(X)
        >>> round(est.dimension_), est.calibration_data_["N"]
        (4, 500)
        """
        if self.ver not in _VERS:
            raise ValueError(f"ver must be one of {_VERS}, got {self.ver!r}")
        _lid._check_choice(self.duplicates, "duplicates", ("merge", "raise"))
        solver = check_solver(self.mlk_solver)
        x = self._validate(X, min_samples=3)    # scikit-learn's input rules and texts
        k = check_int(self.k, name="k", low=2)      # angles need two neighbours
        if k >= len(x) - 1:
            if len(x) < 4:
                raise ValueError(f"DANCo needs at least 4 points, X has {len(x)}")
            warnings.warn("k larger or equal to len(X), using len(X)-2", stacklevel=2)
            k = len(x) - 2
        D = x.shape[1] if self.D is None else check_int(self.D, name="D", low=1)
        seed = 0 if self.random_state is None else check_int(self.random_state,
                                                             name="random_state", low=0)
        x, _, idx, _ = distinct_points(x, self.duplicates, k + 2, self.n_threads, k + 1)
        n = len(x)
        if self.ver.startswith("MIND"):
            rhos = exact_distance(x, idx, 0) / exact_distance(x, idx, k)
            di = mli(rhos, k, D).astype(np.float64)
            if self.ver == "MIND_MLi":
                self.dimension_ = float(di[0])
            else:
                with np.errstate(all="ignore"):
                    self.dimension_ = _finite(mlk_lbfgsb(rhos, k, D, di[0]) if solver == "lbfgsb"
                                              else float(mlk(rhos, k, D, di)[0]))
            return self
        with np.errstate(all="ignore"):
            self._fit_danco(x, idx, n, k, D, seed, solver)
        return self

    def fit_pw(self, X: npt.ArrayLike, precomputed_knn: npt.ArrayLike | None = None,
               smooth: bool = False, n_neighbors: int = 100,
               n_jobs: int | None = None) -> "DANCo":
        """DANCo fitted on each point's n_neighbors nearest neighbours (self excluded), as
        skdim's GlobalEstimator.fit_pw, vectorised over neighbourhoods.

        All neighbourhoods share one calibration for N = n_neighbors (the table's for
        'DANCoFit', seeded reference balls for 'DANCo', or calibration_data), where skdim
        draws new balls for every point. precomputed_knn: int array (n, >= n_neighbors).
        Sets dimension_pw_ (and dimension_pw_smooth_ when smooth) and calibration_data_.

        Examples
        --------
        >>> import numpy as np
        >>> from lowdim.id import DANCo
        >>> rng = np.random.default_rng(0)
        >>> X = np.c_[rng.uniform(size=(300, 2)), np.zeros((300, 2))]   # a square in R^4
        >>> pw = DANCo(ver="DANCoFit").fit_pw(X, n_neighbors=60).dimension_pw_
        >>> pw.shape, round(float(np.median(pw)))
        ((300,), 2)
        """
        if self.ver not in _VERS:
            raise ValueError(f"ver must be one of {_VERS}, got {self.ver!r}")
        solver = check_solver(self.mlk_solver)
        threads = _threads(self.n_threads, n_jobs)
        x = _lid._scale_free(as_float_array(X, name="X", min_rows=4))
        m = check_int(n_neighbors, name="n_neighbors", low=4)
        if precomputed_knn is not None:
            idx = _checked_indices(precomputed_knn, len(x), m)
        else:
            if m > len(x) - 1:
                raise ValueError(f"n_neighbors must be <= {len(x) - 1}, got {m}")
            _, idx = _knn_mod.knn(x, m, n_threads=threads)
        k = check_int(self.k, name="k", low=2)
        if k >= m:
            warnings.warn("k larger or equal to len(X), using len(X)-2", stacklevel=2)
            k = m - 2
        D = x.shape[1] if self.D is None else check_int(self.D, name="D", low=1)
        with np.errstate(all="ignore"):
            dhat, dmli, nu, tau = neighbourhood_statistics(x, idx, k, D, solver)
            if self.ver == "MIND_MLi":
                pw = dmli.astype(np.float64)
            elif self.ver == "MIND_MLk":
                pw = dhat
            else:
                rows = self._calibration(m, k, D, self._seed(), solver)
                kl = kl_divergence(k, (dhat, nu, tau), rows[:D])
                kl = np.where(np.isnan(kl), np.inf, kl)
                if not np.isfinite(kl).any(axis=1).all():
                    raise ValueError("DANCo's divergence is not finite for any dimension "
                                     "1…D in some neighbourhood")
                de = np.argmin(kl, axis=1) + 1
                pw = (_fractal_rows(kl, de, x.shape[1]) if self.fractal and D > 1
                      else de.astype(np.float64))
        self.n_features_in_ = int(x.shape[1])
        self.dimension_pw_ = _finite(pw)
        if smooth:
            self.dimension_pw_smooth_ = _smooth(self.dimension_pw_, idx)
        elif hasattr(self, "dimension_pw_smooth_"):
            del self.dimension_pw_smooth_
        return self

    def _seed(self) -> int:
        return 0 if self.random_state is None else check_int(self.random_state,
                                                             name="random_state", low=0)

    def _calibration(self, n: int, k: int, D: int, seed: int, solver: str) -> list[Cal]:
        """Calibration rows d = 1…D for data of n points: calibration_data (checked), the
        table ('DANCoFit') and reference balls for the dimensions still missing; stored as
        calibration_data_."""
        cal = self.calibration_data
        if cal is not None:
            if cal["k"] != k or cal["N"] != n:
                raise ValueError(f"calibration_data is for k={cal['k']}, N={cal['N']}; "
                                 f"this fit has k={k}, N={n}")
            rows = list(cal["calibration_data"])
        elif self.ver == "DANCoFit":
            rows = table_calibration(n, k, D)
        else:
            rows = []
        if len(rows) < D and self.verbose:
            print(f"Computing DANCo calibration data for N = {n}, k = {k} for dimensions "
                  f"{len(rows) + 1} to {D}")
        for d in range(len(rows) + 1, D + 1):
            dh, nu, tau = reference_statistics(n, k, d, seed, n_threads=self.n_threads,
                                               solver=solver)
            rows.append(dict(dhat=dh, mu_nu=nu, mu_tau=tau))
        self.calibration_data_ = dict(k=k, N=n, calibration_data=rows, maxdim=len(rows))
        return rows

    def _fit_danco(self, x: np.ndarray, idx: np.ndarray, n: int, k: int, D: int, seed: int,
                   solver: str) -> None:
        data = statistics(x, idx, k, D, solver)
        rows = self._calibration(n, k, D, seed, solver)
        kl = kl_divergence(k, data, rows[:D])
        if not np.isfinite(kl).any():
            raise ValueError("DANCo's divergence is not finite for any dimension 1…D")
        de = int(np.nanargmin(kl)) + 1
        self.kl_divergence_ = float(kl[de - 1])
        self.dimension_ = _finite(float(_fractal(kl, de, x.shape[1]) if self.fractal and D > 1
                                        else de))


def _fractal(kl: np.ndarray, de: int, n_features: int) -> float:
    """skdim's fractal step: minimise a spline through the divergences, started at de."""
    from scipy.interpolate import interp1d
    from scipy.optimize import minimize
    D = len(kl)
    kind = "cubic" if n_features > 3 and D > 3 else (
        "quadratic" if n_features == 3 and D > 2 else "linear")
    f = interp1d(np.arange(1, D + 1), kl, kind=kind, bounds_error=False,
                 fill_value=(1, D + 1))
    result: float = minimize(f, de, bounds=[(1, D + 1)], tol=1e-3)["x"][0]
    return result


def _fractal_rows(kl: np.ndarray, de: np.ndarray, n_features: int) -> Array:
    """_fractal for each row of kl (m, D), vectorised for the cubic spline: scipy's
    L-BFGS-B from the integer minimiser de walks downhill into the adjacent spline piece,
    whose minimum (a root of the quadratic derivative) is taken exactly here, where
    L-BFGS-B stops within its tol = 1e-3. Other spline kinds and non-finite rows: _fractal."""
    from scipy.interpolate import CubicSpline
    m, D = kl.shape
    out = de.astype(np.float64)
    fine = np.isfinite(kl).all(axis=1)
    if not (n_features > 3 and D > 3):
        for r in range(m):
            out[r] = _fractal(kl[r], int(de[r]), n_features)
        return out
    for bad in np.flatnonzero(~fine):
        out[bad] = _fractal(kl[bad], int(de[bad]), n_features)
    rows = np.flatnonzero(fine)
    if not len(rows):
        return out
    c = CubicSpline(np.arange(1, D + 1), kl[rows], axis=1).c      # (4, D - 1, rows)
    dr = de[rows]
    cols = np.arange(len(rows))
    slope = np.where(dr < D, c[2, np.minimum(dr - 1, D - 2), cols],       # f'(de)
                     3 * c[0, D - 2] + 2 * c[1, D - 2] + c[2, D - 2])
    right = (slope < 0) & (dr < D)
    left = (slope > 0) & (dr > 1)
    piece = np.where(right, dr - 1, dr - 2).clip(0, D - 2)
    a3, a2, a1 = (c[j, piece, cols] for j in range(3))
    qa, qb, qc = 3 * a3, 2 * a2, a1                      # f'(t) = qa t² + qb t + qc
    disc = np.maximum(qb * qb - 4 * qa * qc, 0.0)
    sq = np.sqrt(disc)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the stable pair of roots, then the one where f' goes from − to + (f'' > 0)
        q = -0.5 * (qb + np.copysign(sq, qb))
        t1, t2 = q / qa, qc / q
        lin = -qc / qb
    cand = np.stack([t1, t2, lin])
    curv = 2 * qa * cand + qb
    ok = np.isfinite(cand) & (cand >= 0) & (cand <= 1) & (curv >= 0)
    ok[:2] &= (qa != 0)
    ok[2] &= (qa == 0)
    t = np.where(ok, cand, np.nan)
    t_best = np.where(right, np.nanmin(np.where(ok, t, np.inf), axis=0),
                      np.nanmax(np.where(ok, t, -np.inf), axis=0))
    found = np.isfinite(t_best)
    moved = (right | left) & found
    out[rows] = np.where(moved, piece + 1 + np.where(found, t_best, 0.0), dr)
    return out
