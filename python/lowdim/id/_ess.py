"""ESS, Expected Simplex Skewness (Johnsson, Soneson & Fontes 2015), as skdim.id.ESS.

Each point's neighbourhood is centred; over groups of d + 1 of its vectors, ver 'a' takes
Σ volume / Σ Π lengths (volume = √det of the group's Gram matrix), ver 'b' (d = 1) takes
Σ |⟨u, v⟩| / Σ |u||v|. The statistic is mapped to a dimension through its expectation on
uniform balls (closed forms in Γ). All groups come from one Gram matrix per neighbourhood,
computed for blocks of neighbourhoods at once (batched BLAS), so no per-point Python loop.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt

from .. import _config
from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import check_int
from ._estimators import _IDEstimator, _threads
from ._mind import _finite

STREAM_ESS_GROUPS = 0x45535347      # ESS: groups of d + 1 neighbours when not all are used
MAX_GROUPS = 5000                   # skdim's cap on the groups per neighbourhood


def reference(ver: str, d: int, dims: np.ndarray) -> np.ndarray:
    """Expected ESS of a uniform ball of each dimension n in dims (skdim's _essReference).

    ver 'a': (Γ(n/2)/Γ((n+1)/2))^d · Γ(n/2)/Γ((n−d)/2), 0 for n <= d (skdim builds the same
    values by running products); ver 'b' (d = 1): Γ((n+2)/2)/Γ((n+1)/2) · 2/(√π n).
    """
    from scipy.special import gammaln    # here, not at import: scipy is not a dependency
    n = np.asarray(dims, dtype=np.float64)
    if ver == "a":
        out = np.zeros_like(n)
        ok = n > d
        m = n[ok]
        out[ok] = np.exp(d * (gammaln(m / 2) - gammaln((m + 1) / 2))
                         + gammaln(m / 2) - gammaln((m - d) / 2))
        return out
    result: np.ndarray = np.exp(gammaln((n + 2) / 2) - gammaln((n + 1) / 2)) * 2 / np.sqrt(np.pi) / n
    return result


def to_dimension(ver: str, d: int, ess: np.ndarray) -> np.ndarray:
    """skdim's _essLocalDimEst on every value: the integer dimension below, plus the linear
    fraction towards the next reference value (ver 'a' increases with n, ver 'b' decreases)."""
    ess = np.asarray(ess, dtype=np.float64)
    top = 20
    ok = np.isfinite(ess)
    while True:                              # extend the reference until it covers every value
        ref = reference(ver, d, np.arange(1, top + 1))
        covered = ess[ok] <= ref[-1] if ver == "a" else ess[ok] >= ref[-1]
        if covered.all() or top > 1 << 16:
            break
        top = 2 * (top - 1)
    if ver == "a":
        i = np.searchsorted(ref, ess, side="right")        # dims with ref <= ess
    else:
        i = len(ref) - np.searchsorted(ref[::-1], ess, side="right")   # dims with ref > ess
    i = np.clip(i, 1, len(ref) - 1)
    de = i + (ess - ref[i - 1]) / (ref[i] - ref[i - 1])
    return np.where(ok, de, np.nan)


def groups(k: int, p: int, seed: int) -> np.ndarray:
    """Index groups (m, p) of the k neighbours: all C(k, p) in itertools order when there are
    at most 5000 (skdim then uses all of them too), else 5000 random p-subsets drawn from
    lowdim's generator (the same groups for every neighbourhood)."""
    total = math.comb(k, p)
    if total <= MAX_GROUPS:
        if p == 2:
            i, j = np.triu_indices(k, 1)
            return np.stack([i, j], axis=1)
        from itertools import combinations
        return np.array(list(combinations(range(k), p)), dtype=np.int64)
    keys = _config.kernels().random_bits(seed, STREAM_ESS_GROUPS, 0, MAX_GROUPS * k)
    keys = np.asarray(keys).reshape(MAX_GROUPS, k)
    return np.sort(np.argpartition(keys, p - 1, axis=1)[:, :p], axis=1)


def ess_values(x: np.ndarray, idx: np.ndarray, ver: str, d: int, seed: int,
               block_bytes: int = 64 << 20) -> np.ndarray:
    """ESS statistic of every neighbourhood x[idx[i]] (k points), float64 array (n,)."""
    n, k = idx.shape
    p = d + 1
    if p > x.shape[1]:                       # as skdim: fewer coordinates than group size
        return np.full(n, 0.0 if ver == "a" else 1.0)
    grp = groups(k, p, seed)
    all_pairs = p == 2 and len(grp) == k * (k - 1) // 2
    out = np.empty(n)
    per_point = 8 * k * max(k, x.shape[1]) + (0 if all_pairs else 8 * len(grp) * p * p)
    step = max(1, block_bytes // per_point)
    with np.errstate(invalid="ignore", divide="ignore"):
        for s in range(0, n, step):
            v = x[idx[s:s + step]].astype(np.float64)
            v -= v.mean(axis=1, keepdims=True)
            gram = np.matmul(v, v.transpose(0, 2, 1))
            sq = np.einsum("bii->bi", gram)
            lens = np.sqrt(sq)
            if all_pairs:
                # every pair i < j: sums over the full matrix halved (the diagonal adds 0)
                wsum = (lens.sum(axis=1) ** 2 - sq.sum(axis=1)) / 2
                if ver == "a":
                    vol = np.sqrt(np.abs(sq[:, :, None] * sq[:, None, :] - gram ** 2))
                    num = vol.sum(axis=(1, 2)) / 2
                else:
                    num = (np.abs(gram).sum(axis=(1, 2)) - sq.sum(axis=1)) / 2
            else:
                wsum = np.prod(lens[:, grp], axis=2).sum(axis=1)
                if ver == "a":
                    sub = gram[:, grp[:, :, None], grp[:, None, :]]
                    num = np.sqrt(np.abs(np.linalg.det(sub))).sum(axis=1)
                else:
                    num = np.abs(gram[:, grp[:, 0], grp[:, 1]]).sum(axis=1)
            out[s:s + step] = num / wsum
    return out


class ESS(_IDEstimator):
    """Expected Simplex Skewness intrinsic dimension (Johnsson et al. 2015), as skdim.id.ESS.

    A local estimator: fit gives one estimate per point (dimension_pw_) from its
    n_neighbors (default 100) nearest neighbours, and combines them by `comb`.

    Parameters
    ----------
    ver : {'a', 'b'}, default 'a'
        'a': simplex volumes; 'b': projections of one vector on another (d = 1 only).
    d : int, default 1
        Simplex dimension: groups of d + 1 neighbours.
    random_state : int, optional
        Seed of lowdim's generator for the 5000 groups drawn when a neighbourhood has more
        than 5000 groups (None = 0). With the defaults (100 neighbours, d = 1) all 4950
        pairs are used and nothing is random, in skdim as here.
    duplicates : {'merge', 'raise'}, default 'merge'
        Duplicate points are counted once.
    n_threads : int, optional

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n,)
    essval_ : ndarray of shape (n,), the ESS statistic of each neighbourhood
    dimension_pw_smooth_ : ndarray of shape (n,), when fit with smooth=True
    n_neighbors_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.id import ESS
    >>> rng = np.random.default_rng(0)
    >>> Q = np.linalg.qr(rng.standard_normal((6, 2)))[0]   # a 2-d subspace of R^6
    >>> X = rng.uniform(size=(300, 2)) @ Q.T
    >>> round(ESS().fit(X, n_neighbors=30).dimension_)
    2
    """

    _N_NEIGHBORS = 100

    def __init__(self, ver: str = "a", d: int = 1, random_state: int | None = None, *,
                 duplicates: str = "merge", n_threads: int | None = None):
        self.ver = ver
        self.d = d
        self.random_state = random_state
        self.duplicates = duplicates
        self.n_threads = n_threads

    def fit(self, X: npt.ArrayLike, y: object = None,
            precomputed_knn_arrays: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            smooth: bool = False, n_neighbors: int | None = None, comb: str = "mean",
            n_jobs: int | None = None) -> ESS:
        """Pointwise ESS estimates of X (n, D) and their mean or median (comb).

        precomputed_knn_arrays = (distances, indices) of shape (n, k'): the neighbourhoods
        are the rows of indices (all k' columns, as skdim).
        """
        if self.ver not in ("a", "b"):
            raise ValueError(f"ver must be 'a' or 'b', got {self.ver!r}")
        d = check_int(self.d, name="d", low=1)
        if self.ver == "b" and d != 1:
            raise ValueError('For ver == "b", d > 1 is not supported.')
        if comb not in ("mean", "median"):
            raise ValueError("Invalid comb parameter. It has to be 'mean' or 'median'")
        seed = 0 if self.random_state is None else check_int(self.random_state,
                                                             name="random_state", low=0)
        threads = _threads(self.n_threads, n_jobs)
        # ESS reads ratios of volumes and lengths: tiny or huge coordinates are rescaled
        x = _lid._scale_free(self._validate(X, min_samples=2))
        k = self._N_NEIGHBORS if n_neighbors is None else check_int(
            n_neighbors, name="n_neighbors", low=2)
        inverse = None
        if precomputed_knn_arrays is not None:
            idx = _lid.check_knn_indices(np.asarray(precomputed_knn_arrays[1]))
            if len(idx) != len(x) or idx.max() >= len(x):
                raise ValueError(f"precomputed_knn_arrays must index the {len(x)} rows of X")
            k = idx.shape[1]
        else:
            if k >= len(x):
                warnings.warn("n_neighbors >= len(X), setting n_neighbors = len(X)-1",
                              stacklevel=2)
                k = len(x) - 1
            dist, idx = _knn_mod.knn(x, k, n_threads=threads)
            zero = int((dist[:, 0] == 0).sum())
            if zero:
                x, inverse = _lid._dedupe_or_raise(x, self.duplicates, zero, k + 1)
                _, idx = _knn_mod.knn(x, k, n_threads=threads)
        if k < d + 1:
            raise ValueError(f"need at least d + 1 = {d + 1} neighbours, got {k}")
        ess = ess_values(x, idx, self.ver, d, seed)
        pw = _finite(to_dimension(self.ver, d, ess))
        self.n_neighbors_ = k
        self.comb_ = comb
        self.essval_ = ess if inverse is None else ess[inverse]
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
