"""FastRP graph node embeddings (Chen, Sultan, Tian, Chen & Skiena, CIKM 2019).

With P = D⁻¹A (degree-normalised adjacency, rows of isolated nodes zero), L = diag(deg^β)
and R0 the n × k very sparse random matrix of sparse_random_projection (density 1/√n):
X0 = L·R0, X_i = P·X_{i−1} (never a power of A), embedding = self_influence·N(X0) +
Σ_i w_i·N(X_i), N = row L2 normalisation when normalize_rows. X1 = (P·L)·R0 is the
matrix-free sparse projection of P·L; each output row is summed by one thread, so the
result is identical for any thread count.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._base import BaseEstimator, TransformerMixin, check_is_fitted
from ._ref_sparse_projection import accumulate_rows
from ._validate import check_int
from .random_projection import (_MAX_COMPONENTS, _as_csr, _is_sparse, _sparse_scale,
                                SparseMatrix, _threshold, check_density)
from ._rng import RandomStateLike

if TYPE_CHECKING:
    from typing_extensions import Self


def _check_adjacency(adjacency: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if not _is_sparse(adjacency):
        raise TypeError("adjacency must be a scipy.sparse matrix (n_nodes × n_nodes), got "
                        f"{type(adjacency).__name__}")
    indptr, indices, data, shape = _as_csr(adjacency, name="adjacency")
    if shape[0] != shape[1]:
        raise ValueError(f"adjacency must be square, got shape {shape}")
    if (data < 0).any():
        raise ValueError("adjacency has negative weights")
    if data.size and data.max() > np.finfo(np.float32).max:     # would become inf below
        raise ValueError("adjacency has weights beyond the float32 range (> 3.402823e+38); "
                         "rescale it first")
    return (indptr.astype(np.int64), indices.astype(np.int64), data.astype(np.float32),
            shape[0])


def _check_real(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def _check_weights(weights: npt.ArrayLike) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"iteration_weights must be a sequence of numbers, got {weights!r}") \
            from None
    if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all():
        raise ValueError("iteration_weights must be a non-empty 1-D sequence of finite numbers, "
                         f"got {weights!r}")
    return w


def fastrp(adjacency: SparseMatrix, n_components: int = 128, *,
           iteration_weights: npt.ArrayLike = (0.0, 1.0, 1.0),
           normalization_strength: float = 0.0, self_influence: float = 0.0,
           normalize_rows: bool = True, seed: int = 0,
           n_threads: int | None = None) -> np.ndarray:
    """FastRP node embeddings of a (weighted, possibly directed) graph.

    Parameters
    ----------
    adjacency : scipy.sparse matrix (n_nodes, n_nodes), weights >= 0
        Row v lists the out-edges of node v; deg = row sums.
    n_components : int >= 1, default 128
    iteration_weights : sequence of float, default (0.0, 1.0, 1.0)
        w_i for the i-th iterate P^i·L·R0; its length is the number of iterations.
    normalization_strength : float, default 0.0
        β: initial vectors are scaled by deg^β.
    self_influence : float, default 0.0
        Weight of the (scaled) initial vectors X0 themselves.
    normalize_rows : bool, default True
        L2-normalise the rows of every iterate before weighting them.
    seed : int, default 0
    n_threads : int, optional

    Returns
    -------
    ndarray (n_nodes, n_components), float32.

    Examples
    --------
    >>> import scipy.sparse as sp, lowdim
    >>> ring = sp.csr_matrix(sp.diags([1.0, 1.0], [1, -1], shape=(6, 6)))
    >>> lowdim.fastrp(ring, 8, seed=0).shape
    (6, 8)
    """
    indptr, indices, data, n = _check_adjacency(adjacency)
    k = check_int(n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
    w = _check_weights(iteration_weights)
    beta = _check_real(normalization_strength, "normalization_strength")
    self_w = _check_real(self_influence, "self_influence")
    seed, thr = _rng.check_seed(seed), _config.resolve_threads(n_threads)
    ker = _config.kernels()
    with np.errstate(over="ignore", invalid="ignore"):   # overflow is reported once, below
        out = _embed(ker, indptr, indices, data, n, k, w, beta, self_w, normalize_rows,
                     seed, thr)
    if not np.isfinite(out).all():
        raise ValueError("the embedding overflows float32: iteration_weights, self_influence "
                         "or normalization_strength are too large")
    return out


def _embed(ker: Any, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int, k: int,
           w: np.ndarray, beta: float, self_w: float, normalize_rows: bool, seed: int,
           thr: int) -> np.ndarray:
    rows = np.repeat(np.arange(n), np.diff(indptr))
    deg = np.bincount(rows, weights=data, minlength=n)
    inv_deg = np.divide(1.0, deg, out=np.zeros(n), where=deg > 0)
    scale_l = np.power(deg, beta, out=np.zeros(n), where=deg > 0)
    p_data = (data * inv_deg[rows]).astype(np.float32)          # P = D⁻¹A
    rho = check_density("auto", n)
    t, scale = _threshold(rho), _sparse_scale(rho, k)

    out = np.zeros((n, k), dtype=np.float32)
    if self_w != 0.0:       # X0 = L·R0 = projection of the diagonal matrix L
        diag = np.arange(n + 1, dtype=np.int64)
        x0 = ker.sparse_rp_csr(diag, diag[:-1], scale_l.astype(np.float32), n, seed, k, t,
                               scale, thr)
        accumulate_rows(out, x0, self_w, normalize_rows)
    last = int(np.flatnonzero(w)[-1]) + 1 if np.any(w) else 0
    x = None
    for i in range(last):
        if i == 0:          # X1 = (P·L)·R0: scale column u of P by deg_u^β
            x = ker.sparse_rp_csr(indptr, indices, (p_data * scale_l[indices]).astype(np.float32),
                                  n, seed, k, t, scale, thr)
            if w[0] != 0.0:
                accumulate_rows(out, x, w[0], normalize_rows)
        elif w[i] != 0.0:   # the merge is fused into the product (rows still in cache)
            x = ker.csr_spmm(indptr, indices, p_data, x, thr, out, float(w[i]), normalize_rows)
        else:
            x = ker.csr_spmm(indptr, indices, p_data, x, thr)
    return out


class FastRP(TransformerMixin, BaseEstimator):
    """FastRP node embeddings as an estimator: fit(adjacency) sets embedding_.

    Parameters are those of fastrp(), with random_state (None, int, RandomState,
    Generator) in place of seed.

    Attributes
    ----------
    embedding_ : ndarray (n_nodes, n_components), float32
    n_features_in_ : int (number of nodes), seed_ : int

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, lowdim
    >>> ring = sp.csr_matrix(sp.diags([1.0, 1.0], [1, -1], shape=(6, 6)))
    >>> est = lowdim.FastRP(8, random_state=0).fit(ring)
    >>> np.array_equal(est.embedding_, lowdim.fastrp(ring, 8, seed=0))
    True
    """

    def __init__(self, n_components: int = 128, *,
                 iteration_weights: npt.ArrayLike = (0.0, 1.0, 1.0),
                 normalization_strength: float = 0.0, self_influence: float = 0.0,
                 normalize_rows: bool = True, random_state: RandomStateLike = None,
                 n_threads: int | None = None) -> None:
        self.n_components = n_components
        self.iteration_weights = iteration_weights
        self.normalization_strength = normalization_strength
        self.self_influence = self_influence
        self.normalize_rows = normalize_rows
        self.random_state = random_state
        self.n_threads = n_threads

    def _embed(self, adjacency: SparseMatrix, seed: int) -> np.ndarray:
        return fastrp(adjacency, self.n_components, iteration_weights=self.iteration_weights,
                      normalization_strength=self.normalization_strength,
                      self_influence=self.self_influence, normalize_rows=self.normalize_rows,
                      seed=seed, n_threads=self.n_threads)

    def fit(self, adjacency: SparseMatrix, y: object = None) -> Self:
        """Embed the nodes of `adjacency` (n_nodes × n_nodes scipy sparse)."""
        seed = _rng.seed_from_random_state(self.random_state)
        self.embedding_ = self._embed(adjacency, seed)
        self.seed_ = seed
        self.n_features_in_ = self.embedding_.shape[0]
        return self

    def fit_transform(self, adjacency: SparseMatrix, y: object = None) -> np.ndarray:
        return self.fit(adjacency).embedding_

    def transform(self, adjacency: SparseMatrix) -> np.ndarray:
        """Embed a graph with the fitted seed (same graph → embedding_)."""
        check_is_fitted(self, "seed_")
        return self._embed(adjacency, self.seed_)
