"""Very sparse and Gaussian random projections that never store their matrix.

Sparse (Li, Hastie & Church 2006; Achlioptas 2003 at density 1/3): R[j, i] = ±√(s/k) with
probability 1/(2s) each, else 0, s = 1/density, density "auto" = 1/√d (scikit-learn's
scheme). Gaussian: R[j, i] ~ N(0, 1/k). Every entry is a pure function of (seed, j, i) via
lowdim's counter-based generator (definition in cpp/include/lowdim/sparse_projection.h), so
y = X · R^T costs O(n·k) memory and any worker regenerates R from the seed alone.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._base import (BaseEstimator, TransformerMixin, check_feature_names, check_is_fitted,
                    prefixed_feature_names_out)
from ._jl import johnson_lindenstrauss_min_dim
from ._rng import RandomStateLike
from ._validate import (as_float_array, c_aligned, check_fraction, check_int, check_memory,
                        sklearn_style_array)

try:
    from sklearn.exceptions import DataDimensionalityWarning
except ImportError:  # scikit-learn is optional
    class DataDimensionalityWarning(UserWarning):  # type: ignore[no-redef]
        """n_components > n_features: the projection does not reduce dimension."""

if TYPE_CHECKING:
    from typing_extensions import Self

SparseMatrix = Any     # a scipy.sparse matrix or array (scipy ships no type information)
_CSR = tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]   # indptr, indices, data, shape

_MAX_COMPONENTS = 2**31 - 3
_GAUSS_BLOCK = 1 << 22       # Gaussian entries generated per block (~32 MiB as float64)


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _as_csr(X: Any, *, name: str = "X", check_finite: bool = True) -> _CSR:
    """A scipy sparse X as CSR (int32 or int64 indices, float32/float64 data), validated."""
    if X.format != "csr":       # CSR's indptr has n + 1 entries, however few nonzeros
        check_memory(8.0 * (X.shape[0] + 1) + 16.0 * X.nnz, what=f"the CSR form of {name}")
    X = X.tocsr()
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} is empty or too small: got shape {X.shape}")
    kind = X.dtype.kind
    if kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {X.dtype}")
    dtype = np.float32 if X.dtype in (np.float16, np.float32) else np.float64
    data = c_aligned(X.data, dtype)
    if check_finite and not np.isfinite(data).all():
        raise ValueError(f"{name} contains NaN or infinity")
    # int32 indices stay int32 (no copy); anything else becomes int64, as both kernels take.
    itype = np.int32 if X.indptr.dtype == X.indices.dtype == np.int32 else np.int64
    indptr = c_aligned(X.indptr, itype)
    indices = c_aligned(X.indices, itype)
    return indptr, indices, data, X.shape


def _as_input(X: Any) -> tuple[str, Any]:
    """('sparse', (indptr, indices, data, shape)) or ('dense', C-contiguous float array)."""
    if _is_sparse(X):
        return "sparse", _as_csr(X)
    return "dense", as_float_array(X, ndim=2)


def _shape(kind: str, arr: Any) -> tuple[int, int]:
    result: tuple[int, int] = arr[3] if kind == "sparse" else arr.shape
    return result


def check_density(density: float | str, n_features: int) -> float:
    """'auto' → 1/√n_features (Li et al.); otherwise a float in (0, 1]."""
    if isinstance(density, str) and density == "auto":
        return 1.0 / math.sqrt(n_features)
    return check_fraction(density, name="density")


def _threshold(density: float) -> int:
    # P[(b >> 11) < T] = T / 2^53 = density exactly when density·2^53 is an integer; the
    # product is exact (power-of-two scaling), so ceil never meets rounding error.
    return max(1, math.ceil(density * 2.0**53))


def _sparse_scale(density: float, k: int) -> float:
    return math.sqrt(1 / density) / math.sqrt(k)   # as scikit-learn writes it


def _densify(y: np.ndarray, kind: str, dense_output: bool) -> Any:
    if kind == "sparse" and not dense_output:
        import scipy.sparse as sp
        return sp.csr_matrix(y)
    return y


def _project_sparse(kind: str, arr: Any, k: int, density: float, seed: int,
                    n_threads: int | None) -> np.ndarray:
    ker, thr = _config.kernels(), _config.resolve_threads(n_threads)
    t, scale = _threshold(density), _sparse_scale(density, k)
    n_rows = arr[3][0] if kind == "sparse" else arr.shape[0]
    check_memory(float(n_rows) * k * 8, what="the projected output")   # same error on both backends
    if kind == "sparse":
        indptr, indices, data, (_, d) = arr
        result: np.ndarray = ker.sparse_rp_csr(indptr, indices, data, d, seed, k, t, scale, thr)
        return result
    if arr.shape[1] >= 2**31:
        raise ValueError(f"dense X needs n_features < 2**31, got {arr.shape[1]}")
    result = ker.sparse_rp_dense(arr, seed, k, t, scale, thr)
    return result


def sparse_random_projection(X: npt.ArrayLike | SparseMatrix, n_components: int, *,
                             density: float | str = "auto", seed: int = 0,
                             dense_output: bool = True,
                             n_threads: int | None = None) -> np.ndarray | SparseMatrix:
    """Project X onto n_components very sparse random directions, y = X · R^T.

    Parameters
    ----------
    X : array (n_samples, n_features) float16/32/64 or int, or scipy.sparse matrix
    n_components : int >= 1
    density : 'auto' or float in (0, 1], default 'auto' (= 1/√n_features)
        Fraction of nonzeros in R; 1/3 gives Achlioptas' projection.
    seed : int in [0, 2**64), default 0
    dense_output : bool, default True
        For sparse X only: False returns a scipy CSR matrix.
    n_threads : int, optional

    Returns
    -------
    ndarray (n_samples, n_components): float32 for float16/32 input, float64 otherwise.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16)).astype(np.float32)
    >>> Y = lowdim.sparse_random_projection(X, 4, seed=0)
    >>> Y.shape, Y.dtype
    ((100, 4), dtype('float32'))
    """
    kind, arr = _as_input(X)
    k = check_int(n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
    rho = check_density(density, _shape(kind, arr)[1])
    y = _project_sparse(kind, arr, k, rho, _rng.check_seed(seed), n_threads)
    _require_finite_projection(y)
    return _densify(y, kind, dense_output)


def _require_finite_projection(y: np.ndarray) -> None:
    if not np.isfinite(y).all():        # finite input whose projection overflows the dtype
        raise ValueError("the projection overflows: X holds values too large for its dtype")


def sparse_random_matrix(n_components: int, n_features: int, *, density: float | str = "auto",
                         seed: int = 0, dtype: npt.DTypeLike = np.float64) -> SparseMatrix:
    """R itself, k × d, as a scipy CSR matrix (the entries every projection uses)."""
    import scipy.sparse as sp
    k = check_int(n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
    d = check_int(n_features, name="n_features", low=1)
    rho = check_density(density, d)
    indptr, indices, neg = _config.kernels().sparse_rp_pattern(
        _rng.check_seed(seed), k, d, _threshold(rho), _config.resolve_threads(None))
    scale = _sparse_scale(rho, k)
    data = np.where(neg.astype(bool), -scale, scale).astype(dtype)
    return sp.csr_matrix((data, indices, indptr), shape=(k, d))


def _gaussian_rows(seed: int, j0: int, j1: int, d: int, k: int,
                   dtype: npt.DTypeLike) -> np.ndarray:
    """Rows j0..j1 of the Gaussian R: Box–Muller from draws 2i and 2i+1 of row j's stream."""
    keys = _rng.stream_key(seed, np.uint64(_rng.STREAM_GAUSS_RP)
                           + np.arange(j0, j1, dtype=np.uint64))[:, None]
    i2 = 2 * np.arange(d, dtype=np.uint64)[None, :]
    z = _rng.normal(_rng.bits(keys, i2), _rng.bits(keys, i2 + np.uint64(1)))
    return (z / math.sqrt(k)).astype(dtype)


def gaussian_random_matrix(n_components: int, n_features: int, *, seed: int = 0,
                           dtype: npt.DTypeLike = np.float64) -> np.ndarray:
    """The Gaussian R, k × d dense, entries N(0, 1/k)."""
    k = check_int(n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
    d = check_int(n_features, name="n_features", low=1)
    return _gaussian_rows(_rng.check_seed(seed), 0, k, d, k, dtype)


def _project_gaussian(kind: str, arr: Any, k: int, seed: int) -> np.ndarray:
    # The product runs in BLAS (numpy's thread pool); R is made a block of rows at a time.
    if kind == "sparse":
        import scipy.sparse as sp
        indptr, indices, data, shape = arr
        arr = sp.csr_matrix((data, indices, indptr), shape=shape)
    n, d = arr.shape
    dtype = arr.dtype
    step = max(1, _GAUSS_BLOCK // d)
    if step >= k and kind == "dense":       # one block: BLAS writes the result directly
        result: np.ndarray = np.matmul(arr, _gaussian_rows(seed, 0, k, d, k, dtype).T)
        return result
    out = np.empty((n, k), dtype=dtype)
    for j0 in range(0, k, step):
        j1 = min(k, j0 + step)
        out[:, j0:j1] = arr @ _gaussian_rows(seed, j0, j1, d, k, dtype).T
    return out


def gaussian_random_projection(X: npt.ArrayLike | SparseMatrix, n_components: int, *,
                               seed: int = 0, dense_output: bool = True,
                               n_threads: int | None = None) -> np.ndarray | SparseMatrix:
    """Project X with a Gaussian matrix, entries N(0, 1/n_components), never stored whole.

    Parameters and Returns as sparse_random_projection (no density). The product runs in
    numpy's BLAS, so n_threads is accepted for symmetry but BLAS picks its own threads.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> lowdim.gaussian_random_projection(X, 4, seed=0).shape
    (100, 4)
    """
    kind, arr = _as_input(X)
    k = check_int(n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
    _config.resolve_threads(n_threads)
    with np.errstate(over="ignore", invalid="ignore"):   # reported below, as for sparse
        y = _project_gaussian(kind, arr, k, _rng.check_seed(seed))
    _require_finite_projection(y)
    return _densify(y, kind, dense_output)


# ---- scikit-learn drop-in estimators -----------------------------------------------------

class _BaseRandomProjection(TransformerMixin, BaseEstimator):
    """fit fixes n_components_, the seed and (sparse) density_; the matrix is never kept."""

    # Parameters and fitted state the subclasses set (declared for type checkers).
    n_components: int | str
    eps: float
    compute_inverse_components: bool
    random_state: RandomStateLike
    n_components_: int
    n_features_in_: int
    seed_: int
    if TYPE_CHECKING:
        def _make_components(self) -> np.ndarray | SparseMatrix: ...
        def _transform(self, kind: str, arr: Any) -> np.ndarray | SparseMatrix: ...

    def _validate(self, X: Any, reset: bool) -> tuple[str, Any]:
        # lowdim's own checks whether or not scikit-learn is installed, so messages never
        # depend on it; feature names follow scikit-learn's rules (check_feature_names).
        check_feature_names(self, X, reset=reset)
        kind, arr = _as_input(sklearn_style_array(X))
        self._check_n_features(_shape(kind, arr)[1], reset)
        return kind, arr

    def _check_n_features(self, n_features: int, reset: bool) -> None:
        if reset:
            self.n_features_in_ = n_features
        elif n_features != self.n_features_in_:
            raise ValueError(f"X has {n_features} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input")

    def fit(self, X: npt.ArrayLike | SparseMatrix, y: object = None) -> Self:
        """Fix n_components_ (JL bound for 'auto'), the seed and the density; X's shape only."""
        kind, arr = self._validate(X, reset=True)
        n_samples, n_features = _shape(kind, arr)
        if isinstance(self.n_components, str) and self.n_components == "auto":
            k = int(johnson_lindenstrauss_min_dim(n_samples=n_samples, eps=self.eps))
            if k <= 0:
                raise ValueError(f"eps={self.eps:f} and n_samples={n_samples} lead to a target "
                                 f"dimension of {k} which is invalid")
            if k > n_features:
                raise ValueError(f"eps={self.eps:f} and n_samples={n_samples} lead to a target "
                                 f"dimension of {k} which is larger than the original space "
                                 f"with n_features={n_features}")
        else:
            k = check_int(self.n_components, name="n_components", low=1, high=_MAX_COMPONENTS)
            if k > n_features:
                warnings.warn("The number of components is higher than the number of features: "
                              f"n_features < n_components ({n_features} < {k}). The "
                              "dimensionality of the problem will not be reduced.",
                              DataDimensionalityWarning, stacklevel=2)
        self._cache = {}
        self.n_components_ = k
        self._n_features_out = k
        self._fit_dtype = np.dtype(arr[2].dtype if kind == "sparse" else arr.dtype)
        self._fit_density(n_features)
        self.seed_ = _rng.seed_from_random_state(self.random_state)
        if self.compute_inverse_components:
            self._cache["inverse"] = self._pinv()
        return self

    def _fit_density(self, n_features: int) -> None:
        pass

    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        check_is_fitted(self, "seed_")
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    @property
    def components_(self) -> np.ndarray | SparseMatrix:
        """The projection matrix (n_components_, n_features_in_), regenerated on first read."""
        return self._cached("components", self._make_components)

    @property
    def inverse_components_(self) -> np.ndarray:
        """Pseudo-inverse of components_ (n_features_in_, n_components_), made on demand."""
        if not getattr(self, "compute_inverse_components", False):
            raise AttributeError("inverse_components_ exists only with "
                                 "compute_inverse_components=True")
        result: np.ndarray = self._cached("inverse", self._pinv)
        return result

    def _pinv(self) -> np.ndarray:
        c: Any = self.components_
        return np.linalg.pinv(c.toarray() if _is_sparse(c) else c)

    def transform(self, X: npt.ArrayLike | SparseMatrix) -> np.ndarray | SparseMatrix:
        """Project X: (n_samples, n_features_in_) → (n_samples, n_components_)."""
        check_is_fitted(self, "seed_")
        kind, arr = self._validate(X, reset=False)
        return self._transform(kind, arr)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map projected data back: X · pinv(components_)^T, (n_samples, n_features_in_)."""
        check_is_fitted(self, "seed_")
        if _is_sparse(X):
            X = X.tocsr()
            X = X.astype(np.float64 if X.dtype not in (np.float32, np.float64) else X.dtype)
        else:
            X = as_float_array(X, ndim=2)
        if X.shape[1] != self.n_components_:
            raise ValueError(f"X has {X.shape[1]} features, but inverse_transform is "
                             f"expecting {self.n_components_} features as input")
        inv = (self.inverse_components_ if self.compute_inverse_components else self._pinv())
        return np.asarray(X @ inv.T)

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> np.ndarray:
        """Output names <classname-lowercase>0 … <classname-lowercase>{k-1}."""
        check_is_fitted(self, "seed_")
        return prefixed_feature_names_out(self, self.n_components_, input_features)

    def __getstate__(self) -> dict[str, Any]:
        # Pickles hold the seed, never the matrix or its inverse.
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent() if parent is not None else self.__dict__)
        state.pop("_cache", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags


class SparseRandomProjection(_BaseRandomProjection):
    """Drop-in for sklearn.random_projection.SparseRandomProjection, matrix-free.

    Parameters
    ----------
    n_components : int or 'auto', default 'auto' (johnson_lindenstrauss_min_dim(n, eps))
    density : float in (0, 1] or 'auto', default 'auto' (= 1/√n_features)
    eps : float in (0, 1), default 0.1
    dense_output : bool, default False (sparse input gives sparse output unless True)
    compute_inverse_components : bool, default False
    random_state : None, int, RandomState or Generator
    n_threads : int, optional

    Attributes
    ----------
    n_components_, density_, n_features_in_, seed_; components_ (scipy CSR, made lazily,
    never pickled); inverse_components_ (with compute_inverse_components=True).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> est = lowdim.SparseRandomProjection(4, random_state=0).fit(X)
    >>> est.transform(X).shape, est.components_.shape
    ((100, 4), (4, 16))
    """

    def __init__(self, n_components: int | str = "auto", *, density: float | str = "auto",
                 eps: float = 0.1, dense_output: bool = False,
                 compute_inverse_components: bool = False,
                 random_state: RandomStateLike = None, n_threads: int | None = None) -> None:
        self.n_components = n_components
        self.density = density
        self.eps = eps
        self.dense_output = dense_output
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.n_threads = n_threads

    def _fit_density(self, n_features: int) -> None:
        self.density_ = check_density(self.density, n_features)

    def _make_components(self) -> SparseMatrix:
        return sparse_random_matrix(self.n_components_, self.n_features_in_,
                                    density=self.density_, seed=self.seed_,
                                    dtype=self._fit_dtype)

    def _transform(self, kind: str, arr: Any) -> np.ndarray | SparseMatrix:
        y = _project_sparse(kind, arr, self.n_components_, self.density_, self.seed_,
                            self.n_threads)
        _require_finite_projection(y)
        return _densify(y, kind, self.dense_output)


class GaussianRandomProjection(_BaseRandomProjection):
    """Drop-in for sklearn.random_projection.GaussianRandomProjection, matrix-free.

    Parameters
    ----------
    n_components : int or 'auto', default 'auto'
    eps : float in (0, 1), default 0.1
    compute_inverse_components : bool, default False
    random_state : None, int, RandomState or Generator

    Attributes
    ----------
    n_components_, n_features_in_, seed_; components_ (dense, made lazily, never pickled).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> lowdim.GaussianRandomProjection(4, random_state=0).fit_transform(X).shape
    (100, 4)
    """

    def __init__(self, n_components: int | str = "auto", *, eps: float = 0.1,
                 compute_inverse_components: bool = False,
                 random_state: RandomStateLike = None) -> None:
        self.n_components = n_components
        self.eps = eps
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state

    def _make_components(self) -> np.ndarray:
        return gaussian_random_matrix(self.n_components_, self.n_features_in_, seed=self.seed_,
                                      dtype=self._fit_dtype)

    def _transform(self, kind: str, arr: Any) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):   # reported below
            y = _project_gaussian(kind, arr, self.n_components_, self.seed_)
        _require_finite_projection(y)
        return y
