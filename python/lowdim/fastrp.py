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
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._base import (BaseEstimator, TransformerMixin, check_feature_names, check_is_fitted,
                    prefixed_feature_names_out)
from ._ref_sparse_projection import accumulate_rows
from ._validate import as_float_array, check_int, sklearn_style_array
from .random_projection import (_MAX_COMPONENTS, _as_csr, _is_sparse, _sparse_scale,
                                SparseMatrix, _threshold, check_density)
from ._rng import RandomStateLike

if TYPE_CHECKING:
    from typing_extensions import Self


def _dense_as_csr(adjacency: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                            tuple[int, int]]:
    """A dense (n, n) adjacency (anything with __array__ / __dlpack__) as CSR arrays; input
    checks with scikit-learn's texts (complex, object, 1-D, no columns), NaN / inf refused."""
    try:
        a = as_float_array(sklearn_style_array(adjacency), name="adjacency", ndim=2)
    except TypeError as exc:
        raise TypeError("adjacency must be a scipy.sparse matrix or a dense array "
                        f"(n_nodes × n_nodes): {exc}") from None
    rows, cols = np.nonzero(a)
    indptr = np.zeros(a.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), a[rows, cols], (a.shape[0], a.shape[1])


_Graph = tuple[np.ndarray, np.ndarray, np.ndarray, int]    # CSR indptr, indices, data; n


def _check_adjacency(adjacency: Any, *, fitted: tuple[str, int] | None = None) -> _Graph:
    """The validated CSR form of a graph; fitted = (estimator name, its n_features_in_) first
    checks the node count with scikit-learn's n_features text."""
    if _is_sparse(adjacency):
        indptr, indices, data, shape = _as_csr(adjacency, name="adjacency")
    else:
        indptr, indices, data, shape = _dense_as_csr(adjacency)
    if fitted is not None and shape[1] != fitted[1]:
        raise ValueError(f"X has {shape[1]} features, but {fitted[0]} is expecting "
                         f"{fitted[1]} features as input (adjacency columns = nodes)")
    if shape[0] != shape[1]:
        raise ValueError(f"adjacency must be square, got shape {shape}")
    if (data < 0).any():     # scikit-learn's text first (its positive_only convention)
        raise ValueError("Negative values in data passed to adjacency: it has negative weights")
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


def fastrp(adjacency: SparseMatrix | npt.ArrayLike, n_components: int = 128, *,
           iteration_weights: npt.ArrayLike = (0.0, 1.0, 1.0),
           normalization_strength: float = 0.0, self_influence: float = 0.0,
           normalize_rows: bool = True, seed: int = 0,
           n_threads: int | None = None) -> np.ndarray:
    """FastRP node embeddings of a (weighted, possibly directed) graph.

    Parameters
    ----------
    adjacency : scipy.sparse matrix or dense array (n_nodes, n_nodes), weights >= 0
        Row v lists the out-edges of node v; deg = row sums. A dense array (numpy, or
        anything with ``__array__`` / ``__dlpack__``) is read as its nonzero entries.
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
    return _fastrp(_check_adjacency(adjacency), n_components, iteration_weights,
                   normalization_strength, self_influence, normalize_rows, seed, n_threads)


def _fastrp(graph: _Graph, n_components: int, iteration_weights: npt.ArrayLike,
            normalization_strength: float, self_influence: float, normalize_rows: bool,
            seed: int, n_threads: int | None) -> np.ndarray:
    indptr, indices, data, n = graph
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
    expected_failed_checks : dict, class attribute
        The scikit-learn estimator checks that cannot apply, each with its reason (pass it
        as ``check_estimator(FastRP(), expected_failed_checks=FastRP.expected_failed_checks)``).

    Notes
    -----
    For scikit-learn, X is the graph itself: a square (n_nodes, n_nodes) adjacency, scipy
    sparse or dense, weights >= 0. The tags say so (``input_tags.pairwise``, ``positive_only``,
    ``sparse``), and check_estimator then feeds it square non-negative matrices. FastRP is
    transductive: a node's vector mixes its neighbours', so only whole graphs on the fitted
    node set can be embedded, and three checks cannot apply:

    - ``check_methods_subset_invariance``: it transforms batches of rows, and a batch of
      rows of an adjacency is not a graph;
    - ``check_methods_sample_order_invariance``: it permutes the rows only, which re-wires
      the graph (relabelling nodes permutes rows and columns); it passes by chance for the
      default parameters and fails with self_influence, which weighs each node's own vector;
    - ``check_fit_idempotent``: it transforms a (n_test, n_train) block of edges from new
      nodes to the fitted ones; FastRP has no embedding for nodes outside the graph.

    The other checks pass.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, lowdim
    >>> ring = sp.csr_matrix(sp.diags([1.0, 1.0], [1, -1], shape=(6, 6)))
    >>> est = lowdim.FastRP(8, random_state=0).fit(ring)
    >>> np.array_equal(est.embedding_, lowdim.fastrp(ring, 8, seed=0))
    True
    """

    expected_failed_checks: ClassVar[dict[str, str]] = {
        "check_methods_subset_invariance":
            "transductive: a batch of rows of an adjacency is not a graph",
        "check_methods_sample_order_invariance":
            "permuting the rows of an adjacency alone re-wires the graph",
        "check_fit_idempotent":
            "transductive: no embedding for new nodes, given their edges to the fitted ones",
    }

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

    def _embed(self, graph: _Graph, seed: int) -> np.ndarray:
        return _fastrp(graph, self.n_components, self.iteration_weights,
                       self.normalization_strength, self.self_influence, self.normalize_rows,
                       seed, self.n_threads)

    def fit(self, adjacency: Any, y: object = None) -> Self:
        """Embed the nodes of `adjacency` (n_nodes × n_nodes, scipy sparse or dense)."""
        seed = _rng.seed_from_random_state(self.random_state)
        check_feature_names(self, adjacency, reset=True)
        self.embedding_ = self._embed(_check_adjacency(adjacency), seed)
        self.seed_ = seed
        self.n_features_in_ = self.embedding_.shape[0]
        return self

    def fit_transform(self, adjacency: Any, y: object = None) -> np.ndarray:
        return self.fit(adjacency).embedding_

    def transform(self, adjacency: Any) -> np.ndarray:
        """Embed a graph on the fitted node set (n_features_in_ nodes) with the fitted seed:
        the same graph gives embedding_, a re-weighted or re-wired one comparable vectors."""
        check_is_fitted(self, "seed_")
        check_feature_names(self, adjacency, reset=False)
        return self._embed(_check_adjacency(adjacency, fitted=("FastRP", self.n_features_in_)),
                           self.seed_)

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> np.ndarray:
        """fastrp0 … fastrp{n_components-1} (input_features checked as scikit-learn does)."""
        check_is_fitted(self, "seed_")
        return prefixed_feature_names_out(self, self.embedding_.shape[1], input_features)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = True        # X is the (n_nodes, n_nodes) adjacency
        tags.input_tags.positive_only = True   # edge weights are >= 0
        tags.input_tags.sparse = True          # scipy sparse graphs are the usual input
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
