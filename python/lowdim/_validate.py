"""Input checks shared by every public function, run once before either backend.

Anything array-like is read through as_ndarray: numpy, torch (detached; bfloat16 widened),
pandas (numpy- or pyarrow-backed columns), polars, pyarrow, JAX and DLPack producers.
Arrays come out C-contiguous float32 or float64 (the dtype rule: float16/bfloat16/float8
and float32 -> float32, float64 and integers -> float64), copied only when needed.
Messages are fixed here, so both backends raise exactly the same ValueError / TypeError.
"""
from __future__ import annotations

import math
import numbers
import os

from typing import Any

import numpy as np
import numpy.typing as npt


def as_float_array(X: Any, *, name: str = "X", ndim: int | tuple[int, ...] = 2,
                   allow_nonfinite: bool = False, min_rows: int = 1, min_cols: int = 1,
                   dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """Validate X and return it as a C-contiguous float32/float64 array.

    float16 -> float32; integers -> float64; bool, complex, object -> TypeError.
    `dtype` forces one output dtype.
    """
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        raise TypeError(f"{name} is a sparse matrix; this function needs a dense array "
                        "(use X.toarray())")
    arr = widen_small_floats(as_ndarray(X, name=name))
    kind = arr.dtype.kind
    if kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if dtype is None:
        dtype = {np.dtype(np.float32): np.float32, np.dtype(np.float16): np.float32}.get(
            arr.dtype, np.float64)
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in ndims:
        want = " or ".join(f"{k}-D" for k in ndims)
        raise ValueError(f"{name} must be a {want} array, got shape {arr.shape}")
    if arr.size == 0 or (arr.ndim >= 1 and arr.shape[0] < min_rows) or (
            arr.ndim >= 2 and arr.shape[-1] < min_cols):
        raise ValueError(f"{name} is empty or too small: got shape {arr.shape}")
    check_copy_memory(arr, dtype, name=name)
    source = arr
    with np.errstate(over="ignore"):          # overflow is refused below, with its reason
        arr = c_aligned(arr, dtype)
    if arr.dtype.kind == "f" and source.dtype.kind == "f" and arr.itemsize < source.itemsize:
        _refuse_narrowing_overflow(source, arr, name)
    # np.sum first (no temporary): finite sum => all finite; only else the full check.
    if not allow_nonfinite:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()
        if not np.isfinite(total) and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
    return arr


# Floats narrower than float16 or with float32's exponent (ml_dtypes, JAX): computed in
# float32, which holds each of their values exactly.
_SMALL_FLOATS = frozenset({"bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                           "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e4m3",
                           "float8_e3m4", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
                           "float4_e2m1fn"})


def as_ndarray(X: Any, *, name: str = "X") -> np.ndarray:
    """X as a numpy array, sharing X's memory whenever its layout allows it.

    torch tensors are detached (lowdim returns numpy arrays, so no gradient could flow
    through a result anyway) and must live on the CPU; bfloat16 and float8 tensors are
    widened to float32 (a copy numpy needs: it has no such dtype). pandas frames with
    extension columns (``float32[pyarrow]``, ``Float64``) become their numeric numpy
    dtype, missing values NaN. Objects with ``__dlpack__`` but no ``__array__`` are read
    through DLPack. Anything else goes to np.asarray. Failures are TypeError.
    """
    if isinstance(X, np.ndarray):
        return X
    try:
        if _is_torch_tensor(X):
            return _torch_to_numpy(X, name)
        if _has_pandas_extension_dtypes(X):
            return _pandas_to_numpy(X)
        if not hasattr(X, "__array__") and hasattr(X, "__dlpack__"):
            return np.from_dlpack(X)
        return np.asarray(X)
    except (ValueError, TypeError, RuntimeError, BufferError) as exc:
        raise TypeError(f"{name} must be a numeric array: {exc}") from None


def widen_small_floats(arr: np.ndarray) -> np.ndarray:
    """bfloat16 / float8 numpy arrays (ml_dtypes) as float32; anything else unchanged."""
    if arr.dtype.kind == "V" and arr.dtype.name in _SMALL_FLOATS:
        check_copy_memory(arr, np.float32)
        return arr.astype(np.float32)
    return arr


def _is_torch_tensor(X: Any) -> bool:
    return type(X).__module__.split(".", 1)[0] == "torch" and hasattr(X, "detach")


def _torch_to_numpy(X: Any, name: str) -> np.ndarray:
    t = X.detach()
    if t.device.type != "cpu":
        raise TypeError(f"{name} is a torch tensor on {t.device}; lowdim computes on the "
                        f"CPU: pass {name}.cpu()")
    t = t.resolve_conj().resolve_neg()      # no-ops unless a lazy conj/neg view
    try:
        arr: np.ndarray = t.numpy()
    except TypeError:                       # bfloat16, float8: no numpy dtype
        if not t.is_floating_point():
            raise
        arr = t.float().numpy()
    return arr


def _has_pandas_extension_dtypes(X: Any) -> bool:
    if type(X).__module__.split(".", 1)[0] != "pandas":
        return False
    dtypes = list(X.dtypes) if hasattr(X, "columns") else [getattr(X, "dtype", None)]
    return any(not isinstance(dt, np.dtype) and hasattr(dt, "numpy_dtype") for dt in dtypes)


def _pandas_to_numpy(X: Any) -> np.ndarray:
    dtypes = list(X.dtypes) if hasattr(X, "columns") else [X.dtype]
    try:
        target = np.result_type(*[np.dtype(getattr(dt, "numpy_dtype", dt)) for dt in dtypes])
    except TypeError:           # mixed kinds: refused downstream with the dtype it shows
        return np.asarray(X)
    arr: np.ndarray
    if target.kind == "f":
        arr = X.to_numpy(dtype=target, na_value=np.nan)
    elif target.kind in "iub":
        try:
            arr = X.to_numpy(dtype=target)
        except ValueError:      # missing values in an integer column: NaN in float64
            arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(X)
    return arr


def _refuse_narrowing_overflow(source: np.ndarray, arr: np.ndarray, name: str) -> None:
    """A finite value of `source` that became ±inf in the narrower `arr` (float64 beyond
    float32's range) would silently turn into inf: ValueError instead."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and (np.isinf(arr) & np.isfinite(source)).any():
        top = float(np.finfo(arr.dtype).max)
        raise ValueError(f"{name} has finite values beyond the {arr.dtype} range "
                         f"(|x| > {top:.7g}); rescale it first")


def c_aligned(arr: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """arr as a C-contiguous, aligned ndarray (copied only when needed).

    np.ascontiguousarray keeps a misaligned buffer (np.frombuffer(..., offset=1)); it would
    reach C++ as a typed pointer, and a misaligned load is undefined behaviour.
    """
    arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr if arr.flags.aligned else arr.copy()


def sklearn_style_array(X: Any) -> Any:
    """Estimators only: the input conventions scikit-learn's check_estimator demands, with
    its texts, whether or not scikit-learn is installed (as_float_array does the rest).

    Numbers in an object array are converted (anything else: float()'s TypeError); complex,
    1-D and zero-feature input raise scikit-learn's ValueError texts.
    """
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        return X
    arr = widen_small_floats(as_ndarray(X))
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if arr.dtype.kind == "O":
        check_copy_memory(arr, np.float64)          # a huge np.broadcast_to view of objects
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        raise ValueError(f"Expected a 2-D array, got a 1-D array of shape {arr.shape} "
                         "instead. Reshape your data either using array.reshape(-1, 1) if "
                         "your data has a single feature or array.reshape(1, -1) if it "
                         "contains a single sample.")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum "
                         "of 1 is required.")
    return arr


def check_int(value: object, *, name: str, low: int = 1, high: int | None = None) -> int:
    """An integer in [low, high]; bool is refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def neighbor_count(k: int | None, n_neighbors: int | None, *,
                   default: int | None = None) -> int:
    """k, or n_neighbors (scikit-learn's and scikit-dimension's name) as its alias."""
    if n_neighbors is not None:
        if k is not None and k is not default and not (k is n_neighbors or k == n_neighbors):
            raise ValueError(f"k={k!r} and its alias n_neighbors={n_neighbors!r} differ; "
                             "set only one of them")
        return n_neighbors
    if k is None:
        raise TypeError("missing the neighbour count k (or its alias n_neighbors)")
    return k


def check_fraction(value: object, *, name: str) -> float:
    """A float in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value}")
    return value


def check_positive(value: object, *, name: str) -> float:
    """A finite float > 0; bool is refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def available_memory() -> int:
    """Bytes the process can allocate without swapping: MemAvailable from /proc/meminfo
    (free memory plus reclaimable cache, Linux), else sysconf's available pages, else 2**48
    (not POSIX: only the absurd is refused)."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**48


def check_memory(nbytes: float, *, what: str) -> None:
    """Refuse, before allocating, work that needs more memory than is available now
    (total RAM would let a call push a busy machine into swap or the OOM killer)."""
    available = available_memory()
    if nbytes > available:
        raise ValueError(f"{what} needs about {nbytes / 2**30:.1f} GiB of memory, more than "
                         f"the {available / 2**30:.1f} GiB available")


def check_copy_memory(arr: Any, dtype: npt.DTypeLike | None, *, name: str = "X") -> None:
    """Refuse a contiguous copy of `arr` (e.g. a np.broadcast_to view) too big to allocate.

    No-op when `arr` is already C-contiguous in `dtype` (its memory exists already).
    """
    if not isinstance(arr, np.ndarray):
        return
    dtype = np.dtype(dtype) if dtype is not None else arr.dtype
    if arr.flags.c_contiguous and arr.dtype == dtype:
        return
    check_memory(float(arr.size) * dtype.itemsize, what=f"a contiguous copy of {name}")


def next_pow2_exponent(n: int) -> int:
    """Smallest m with 2**m >= n."""
    return max(0, int(n - 1).bit_length())
