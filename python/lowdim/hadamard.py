"""Fast Walsh–Hadamard transform and the fast JL transforms built on it.

fwht: H·H = n·I (unnormalised) or H/√n ("ortho").  SRHT (Tropp 2011):
y = √(n/k)·S·H_ortho·D·x.  FJLT (Ailon & Chazelle 2009): y = P·H_ortho·D·x with P a
sparse Gaussian k × n matrix of density q, scaled so E‖y‖² = ‖x‖². D, S and P come from
the counter-based generator (_rng.py), so a seed fully determines the transform.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._base import (BaseEstimator, TransformerMixin, check_feature_names, check_is_fitted,
                    prefixed_feature_names_out)
from ._jl import johnson_lindenstrauss_min_dim
from ._rng import RandomStateLike
from ._validate import (as_float_array, as_ndarray, check_fraction, check_int,
                        next_pow2_exponent, sklearn_style_array)

if TYPE_CHECKING:
    from typing_extensions import Self


# NaN/inf checks: every output of these transforms depends on every input of its row
# (H is dense), so a NaN or infinity anywhere in a row reaches every output. Finite input
# can still overflow inside the butterflies ([3e38, -3e38] -> [0, inf]). srht/fjlt check
# their (small) outputs; fwht checks inside the kernel (fwht_checked and
# fwht_checked_into, hadamard.h), in the same threads as the transform: a read-only pass
# first where a refusal must leave the caller's memory untouched, else each row's output
# right after its transform. One message covers both causes.
_NONFINITE = "X contains NaN or infinity, or values so large that the transform overflows"


def _require_finite(values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise ValueError(_NONFINITE)


def _is_private_copy(arr: np.ndarray, X: Any) -> bool:
    """True when `arr` (validated from X) shares no memory with anything the caller holds."""
    if isinstance(X, (list, tuple)):   # np.asarray copies nested sequences, arrays too
        return True
    try:
        view = as_ndarray(X)     # no copy for arrays, buffer-protocol objects, CPU tensors
    except TypeError:            # as_float_array accepted X, so this cannot fail in practice
        return False
    return not np.may_share_memory(arr, view)


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b are the same elements of the same buffer (out=X, any wrapper)."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype)


def fwht(X: npt.ArrayLike, *, axis: int = -1, normalize: bool = False,
         out: np.ndarray | None = None, n_threads: int | None = None) -> np.ndarray:
    """Fast Walsh–Hadamard transform along one axis, batched over all others.

    Parameters
    ----------
    X : array of shape (..., n, ...), n = 2**m along `axis`; float16/32/64 or int
    axis : int, default -1
    normalize : bool, default False
        False: unnormalised, so fwht(fwht(x)) == n * x.  True: divided by sqrt(n)
        (orthonormal, norms preserved).
    out : ndarray, optional
        Where to write the result (same shape, float32 for float16/32 input, float64
        otherwise). ``out=X`` transforms in place.
    n_threads : int, optional

    Returns
    -------
    ndarray of the same shape as X.

    Raises
    ------
    ValueError
        If X holds NaN or infinity, or values so large that the transform overflows.
        X and ``out`` are then left as they were, also with ``out=X`` (in place, the
        check reads X before the transform writes it).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.fwht(np.array([1.0, 0.0, 1.0, 0.0]))
    array([2., 2., 0., 0.])
    """
    n_threads = _config.resolve_threads(n_threads)
    arr = as_float_array(X, ndim=tuple(range(1, 33)), allow_nonfinite=True)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) \
            or not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis {axis!r} is out of range for an array of {arr.ndim} dims")
    axis = int(axis) % arr.ndim
    n = arr.shape[axis]
    if n & (n - 1):
        raise ValueError(f"fwht needs a power-of-two length along axis {axis}, got {n}; "
                         "pad with zeros (srht and fjlt pad automatically)")
    if out is not None:
        if not isinstance(out, np.ndarray) or out.shape != arr.shape or out.dtype != arr.dtype:
            raise ValueError(f"out must be an ndarray of shape {arr.shape} and dtype "
                             f"{arr.dtype}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
    scale = 1.0 / math.sqrt(n) if normalize else 1.0

    # The kernel works in place on a C-contiguous (rows, n) block. That block may be
    # `arr` itself only when nobody else sees its memory (as_float_array made a private
    # copy) or when the caller handed exactly that memory over as out=. Ownership is
    # decided by memory overlap, not object identity: np.asarray returns new view
    # objects over the caller's buffer for memmaps, np.matrix, masked arrays, torch
    # tensors and unpickled arrays, and writing through them would change the caller's
    # data (or the file on disk).
    # In the caller's memory the kernel checks every row before writing any, so a raise
    # leaves it untouched; a private copy is checked row by row as it is transformed.
    # Otherwise one fused pass reads X and writes the result (fwht_checked_into): into a
    # fresh array, or into an out= apart from X after a read-only check of X.
    kernels = _config.kernels()
    moved = np.moveaxis(arr, axis, -1)
    private = _is_private_copy(arr, X)
    in_place = out is not None and _same_memory(arr, out)
    target = None if out is None else np.moveaxis(out, axis, -1)
    if moved.flags.c_contiguous and (in_place or (private and out is None)) \
            and arr.flags.writeable:
        work = moved.reshape(-1, n)
    elif moved.flags.c_contiguous and moved.flags.aligned and (
            target is None or (target.flags.c_contiguous and target.flags.aligned
                               and not np.may_share_memory(arr, out))):
        # A plain np.empty (16-byte aligned): the kernel streams it in 128-bit halves; a
        # 64-byte aligned view of a larger buffer was within noise and no longer owns its
        # data. An out= misaligned for its dtype (numpy allows it) goes the copying way
        # below: the kernel stores whole elements.
        dest = np.empty(moved.shape, arr.dtype) if target is None else target
        if not kernels.fwht_checked_into(moved.reshape(-1, n), dest.reshape(-1, n), scale,
                                         out is not None, n_threads):
            raise ValueError(_NONFINITE)
        return np.moveaxis(dest, -1, axis) if out is None else out
    else:
        work = np.array(moved, order="C", copy=True).reshape(-1, n)
        private = True
    if not kernels.fwht_checked(work, scale, not private, n_threads):
        raise ValueError(_NONFINITE)
    result = np.moveaxis(work.reshape(moved.shape), -1, axis)
    if out is None:
        return result
    if not np.shares_memory(result, out):
        out[...] = result
    return out


def _padded_length(d: int) -> int:
    return 1 << next_pow2_exponent(d)


def default_fjlt_density(n_padded: int) -> float:
    """q = min(1, 2·ln(n) / n): about 2 ln n nonzeros per row of P.

    Ailon & Chazelle take q = Θ(ln² N / n) for N points; Fandina, Høgsgaard & Larsen
    ("The Fast Johnson-Lindenstrauss Transform is Even Faster", 2023) show P may be
    sparser by α = Ω(min{ε⁻¹ ln(1/ε), ln N}). We divide ln² n by α = ln(n)/2, with the
    padded dimension n standing in for N so the transform depends on (seed, d) only.
    Measured on the JL test set (tests/test_hadamard.py): 2 ln n nonzeros per row give
    the worst pairwise distortion of ln² n within 3%, while ln n alone is 20% worse.
    """
    return min(1.0, 2.0 * math.log(n_padded) / n_padded) if n_padded > 1 else 1.0


def _srht_operands(seed: int, d: int, k: int,
                   dtype: npt.DTypeLike) -> tuple[np.ndarray, np.ndarray, float]:
    n = _padded_length(d)
    signs = _rng.signs(seed, n, dtype)
    idx = _rng.sample_without_replacement(seed, _rng.STREAM_SAMPLE, n, k)
    return signs, idx, 1.0 / math.sqrt(k)      # √(n/k) · (1/√n): H is unnormalised


def fjlt_matrix(seed: int, d: int, k: int, density: float,
                dtype: npt.DTypeLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The FJLT's P as CSR arrays (indptr, cols, vals), k × n with n = d padded to 2^m.

    Each row holds m = ⌈density·n⌉ draws at uniform random columns (a repeated column
    simply adds), each N(0, 1/(m·k)), applied to the unnormalised H·D·x whose entries
    have mean square ‖x‖²: so E‖y‖² = k·m·‖x‖²/(m·k) = ‖x‖². (Against H_ortho, as in
    the paper, the entries of P have variance n/(m·k).) A fixed count per row instead of a Bernoulli(density) mask per entry
    gives the same expectation, less variance, and costs O(k·m) draws instead of O(k·n).
    """
    n = _padded_length(d)
    m = max(1, math.ceil(density * n))
    keys = _rng.stream_key(seed, _rng.STREAM_FJLT_P + np.arange(k, dtype=np.uint64))[:, None]
    t = np.arange(m, dtype=np.uint64)[None, :]
    cols = (_rng.bits(keys, t) % np.uint64(n)).astype(np.int64)   # n = 2^p: no modulo bias
    # Values come from far-away index ranges of the same stream: independent of columns.
    normals = _rng.normal(_rng.bits(keys, t + np.uint64(2**32)),
                          _rng.bits(keys, t + np.uint64(2**33)))
    order = np.argsort(cols, axis=1, kind="stable")               # column order: cache-friendly
    cols = np.take_along_axis(cols, order, axis=1).ravel()
    vals = (np.take_along_axis(normals, order, axis=1).ravel() / math.sqrt(m * k)).astype(dtype)
    indptr = np.arange(0, k * m + 1, m, dtype=np.int64)
    return indptr, cols, vals


def _check_projection_args(X: npt.ArrayLike, n_components: int,
                           seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    arr = as_float_array(X, ndim=(1, 2), allow_nonfinite=True)   # output checked instead
    rows = arr.reshape(1, -1) if arr.ndim == 1 else arr
    n = _padded_length(rows.shape[1])
    k = check_int(n_components, name="n_components", low=1, high=n)
    return arr, rows, k, _rng.check_seed(seed)


def srht(X: npt.ArrayLike, n_components: int, *, seed: int = 0,
         n_threads: int | None = None) -> np.ndarray:
    """Subsampled randomized Hadamard transform: y = √(n/k) · S · H_ortho · D · pad(x).

    Parameters
    ----------
    X : array of shape (n_samples, d) or (d,)
    n_components : int in [1, n], n = d rounded up to a power of two
    seed : int, default 0

    Returns
    -------
    ndarray of shape (n_samples, n_components) (or (n_components,)); float32 for
    float16/32 input, float64 otherwise.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> lowdim.srht(X, 4, seed=0).shape
    (100, 4)
    """
    arr, rows, k, seed = _check_projection_args(X, n_components, seed)
    signs, idx, scale = _srht_operands(seed, rows.shape[1], k, rows.dtype)
    y = _config.kernels().srht(rows, signs, idx, scale, _config.resolve_threads(n_threads))
    _require_finite(y)
    result: np.ndarray = y[0] if arr.ndim == 1 else y
    return result


def fjlt(X: npt.ArrayLike, n_components: int, *, density: float | None = None, seed: int = 0,
         n_threads: int | None = None) -> np.ndarray:
    """Fast Johnson–Lindenstrauss transform (Ailon–Chazelle): y = P · H_ortho · D · pad(x).

    Parameters
    ----------
    X : array of shape (n_samples, d) or (d,)
    n_components : int in [1, n], n = d rounded up to a power of two
    density : float in (0, 1], optional
        Fraction of nonzeros in P; default ``default_fjlt_density(n)`` = min(1, ln² n / n).
    seed : int, default 0

    Returns
    -------
    ndarray of shape (n_samples, n_components) (or (n_components,)).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16)).astype(np.float32)
    >>> Y = lowdim.fjlt(X, 4, seed=0)
    >>> Y.shape, Y.dtype
    ((100, 4), dtype('float32'))
    """
    arr, rows, k, seed = _check_projection_args(X, n_components, seed)
    n = _padded_length(rows.shape[1])
    q = default_fjlt_density(n) if density is None else check_fraction(density, name="density")
    indptr, cols, vals = fjlt_matrix(seed, rows.shape[1], k, q, rows.dtype)
    signs = _rng.signs(seed, n, rows.dtype)
    y = _config.kernels().fjlt(rows, signs, indptr, cols, vals,
                               _config.resolve_threads(n_threads))
    _require_finite(y)
    result: np.ndarray = y[0] if arr.ndim == 1 else y
    return result


class _HadamardProjection(TransformerMixin, BaseEstimator):
    """Shared fit/transform of SRHT and FastJLT: fit only fixes sizes and the seed."""

    # Parameters and fitted state (declared for type checkers; the subclasses set them).
    n_components: int | str
    eps: float
    random_state: RandomStateLike
    n_threads: int | None
    n_features_in_: int
    n_components_: int
    seed_: int

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        # The random projections' path (random_projection.py): lowdim's own checks with
        # scikit-learn's texts whether or not it is installed, feature names by its rules.
        check_feature_names(self, X, reset=reset)
        # transform leaves NaN/inf to srht/fjlt, which check the output (see _NONFINITE).
        arr = as_float_array(sklearn_style_array(X), ndim=2, allow_nonfinite=not reset)
        if not reset and arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input")
        return arr

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Fix n_components_ (JL bound for 'auto') and the seed; only X's shape is used."""
        arr = self._validate(X, reset=True)
        n_samples, d = arr.shape
        n = _padded_length(d)
        if isinstance(self.n_components, str) and self.n_components == "auto":
            k = int(johnson_lindenstrauss_min_dim(n_samples, eps=self.eps))
            if k > n:
                raise ValueError(
                    f"eps={self.eps} and n_samples={n_samples} lead to a target dimension of "
                    f"{k} which is larger than the padded dimension n={n} of the input "
                    f"(n_features={d})")
        else:
            k = check_int(self.n_components, name="n_components", low=1, high=n)
        self.n_features_in_ = d
        self.n_components_ = k
        self.seed_ = _rng.seed_from_random_state(self.random_state)
        self._after_fit(n)
        return self

    def _after_fit(self, n: int) -> None:
        pass

    def _checked(self, X: npt.ArrayLike) -> np.ndarray:
        check_is_fitted(self, "seed_")
        return self._validate(X, reset=False)

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> np.ndarray:
        """Output names <classname-lowercase>0 … <classname-lowercase>{k-1}; input_features,
        if given, must match feature_names_in_ (scikit-learn's rule)."""
        check_is_fitted(self, "seed_")
        return prefixed_feature_names_out(self, self.n_components_, input_features)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]  # float16 -> float32
        return tags


class SRHT(_HadamardProjection):
    """Subsampled randomized Hadamard transform as a scikit-learn transformer.

    Parameters
    ----------
    n_components : int or 'auto', default 'auto'
        'auto' uses johnson_lindenstrauss_min_dim(n_samples, eps=eps).
    eps : float in (0, 1), default 0.1
    random_state : None, int, RandomState or Generator
    n_threads : int, optional

    Attributes
    ----------
    n_components_, n_features_in_, seed_ (the seed the transform is generated from)

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> est = lowdim.SRHT(4, random_state=0).fit(X)
    >>> bool((est.transform(X) == lowdim.srht(X, 4, seed=est.seed_)).all())
    True
    """

    def __init__(self, n_components: int | str = "auto", *, eps: float = 0.1,
                 random_state: RandomStateLike = None, n_threads: int | None = None) -> None:
        self.n_components = n_components
        self.eps = eps
        self.random_state = random_state
        self.n_threads = n_threads

    def transform(self, X: npt.ArrayLike) -> np.ndarray:
        arr = self._checked(X)
        return srht(arr, self.n_components_, seed=self.seed_, n_threads=self.n_threads)


class FastJLT(_HadamardProjection):
    """Ailon–Chazelle fast JL transform as a scikit-learn transformer.

    Parameters
    ----------
    n_components : int or 'auto', default 'auto'
    density : float in (0, 1] or None, default None (= default_fjlt_density)
    eps : float in (0, 1), default 0.1
    random_state : None, int, RandomState or Generator
    n_threads : int, optional

    Attributes
    ----------
    n_components_, n_features_in_, seed_, density_

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16))
    >>> lowdim.FastJLT(4, random_state=0).fit_transform(X).shape
    (100, 4)
    """

    def __init__(self, n_components: int | str = "auto", *, density: float | None = None,
                 eps: float = 0.1, random_state: RandomStateLike = None,
                 n_threads: int | None = None) -> None:
        self.n_components = n_components
        self.density = density
        self.eps = eps
        self.random_state = random_state
        self.n_threads = n_threads

    def _after_fit(self, n: int) -> None:
        self.density_ = (default_fjlt_density(n) if self.density is None
                         else check_fraction(self.density, name="density"))

    def transform(self, X: npt.ArrayLike) -> np.ndarray:
        arr = self._checked(X)
        return fjlt(arr, self.n_components_, density=self.density_, seed=self.seed_,
                    n_threads=self.n_threads)
