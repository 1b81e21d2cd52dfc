"""Float and bit conversions: fp16, bfloat16, OCP FP8 (E4M3FN, E5M2) codes and packed bits.

Round to nearest even on the float32 bits, bit-identical to ml_dtypes (float8_e4m3fn,
float8_e5m2, bfloat16) and numpy's float16 for every value the format represents after
rounding; values beyond the largest finite one saturate to it (±448 E4M3, ±57344 E5M2,
±65504 fp16, ±3.39e38 bf16) where ml_dtypes/numpy give NaN or inf.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .. import _config
from .._validate import as_float_array, c_aligned, check_copy_memory, check_memory
from ._ref_codecs import FLOAT_FORMATS

_FP8_KINDS = {"e4m3": "fp8_e4m3", "fp8_e4m3": "fp8_e4m3", "e4m3fn": "fp8_e4m3",
              "e5m2": "fp8_e5m2", "fp8_e5m2": "fp8_e5m2"}
_F32_MAX = float(np.finfo(np.float32).max)
_EMPTY = np.zeros(0, np.float32)    # lo / vdiff: unused by the float kinds and binary


def _float32_rows(X: npt.ArrayLike, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """X (any shape, ndim >= 1) as float32 rows (-1, last); float64 beyond float32 clips."""
    arr = as_float_array(X, name=name, ndim=tuple(range(1, 33)))
    if arr.dtype != np.float32:
        arr = np.clip(arr, -_F32_MAX, _F32_MAX).astype(np.float32)
    return arr, arr.reshape(-1, arr.shape[-1])


def _fp8_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind.lower() not in _FP8_KINDS:
        raise ValueError(f"kind must be 'e4m3' or 'e5m2', got {kind!r}")
    return _FP8_KINDS[kind.lower()]


def _encode(X: npt.ArrayLike, kind: str, n_threads: int | None) -> np.ndarray:
    arr, rows = _float32_rows(X)
    codes = _config.kernels().codec_encode(rows, kind, _EMPTY, _EMPTY,
                                           _config.resolve_threads(n_threads))
    result: np.ndarray = codes.reshape(arr.shape)
    return result


def _decode(codes: np.ndarray, kind: str, n_threads: int | None) -> np.ndarray:
    dtype = np.dtype(np.uint16 if FLOAT_FORMATS[kind][3] == 16 else np.uint8)
    if not isinstance(codes, np.ndarray) or codes.dtype != dtype:
        got = codes.dtype if isinstance(codes, np.ndarray) else type(codes).__name__
        raise TypeError(f"codes must be a numpy array of dtype {dtype} for {kind}, got {got}")
    if codes.ndim < 1 or codes.size == 0:
        raise ValueError(f"codes is empty or 0-D: got shape {codes.shape}")
    check_copy_memory(codes, dtype, name="codes")       # e.g. a huge np.broadcast_to view
    check_memory(float(codes.size) * 4, what="the decoded float32 values")
    rows = c_aligned(codes, dtype).reshape(-1, codes.shape[-1])   # a pickled dtype: native
    out = _config.kernels().codec_decode(rows, kind, _EMPTY, _EMPTY, rows.shape[1],
                                         _config.resolve_threads(n_threads))
    result: np.ndarray = out.reshape(codes.shape)
    return result



def to_fp8(X: npt.ArrayLike, kind: str = "e4m3", *, n_threads: int | None = None) -> np.ndarray:
    """FP8 codes (uint8, same shape as X) of X, round to nearest even.

    Parameters
    ----------
    X : array, ndim >= 1, float16/32/64 or int (float64 is rounded to float32 first)
    kind : {'e4m3', 'e5m2'} (also 'fp8_e4m3', 'fp8_e5m2')
        E4M3FN: bias 7, no inf, max 448. E5M2: bias 15, max 57344.

    Returns
    -------
    ndarray of uint8: the bits of ``X.astype(ml_dtypes.float8_e4m3fn)`` (or e5m2) wherever
    that is finite. Values beyond the largest finite value saturate to ±max (ml_dtypes gives
    NaN for e4m3fn and ±inf for e5m2). NaN or ±inf in X raise ValueError.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codes = lowdim.to_fp8(np.array([1.0, -0.5, 500.0], np.float32))
    >>> codes.tolist(), lowdim.from_fp8(codes).tolist()
    ([56, 176, 126], [1.0, -0.5, 448.0])
    """
    return _encode(X, _fp8_kind(kind), n_threads)


def from_fp8(codes: np.ndarray, kind: str = "e4m3", *,
             n_threads: int | None = None) -> np.ndarray:
    """float32 values of FP8 codes (uint8), exactly; NaN/inf codes decode as in ml_dtypes.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.from_fp8(np.array([56, 0], np.uint8))
    array([1., 0.], dtype=float32)
    """
    return _decode(codes, _fp8_kind(kind), n_threads)


def to_bf16(X: npt.ArrayLike, *, n_threads: int | None = None) -> np.ndarray:
    """bfloat16 codes (uint16, same shape), round to nearest even, saturating at ±3.39e38.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codes = lowdim.to_bf16(np.array([[1.0, -2.5]], np.float32))
    >>> codes, lowdim.from_bf16(codes)
    (array([[16256, 49184]], dtype=uint16), array([[ 1. , -2.5]], dtype=float32))
    """
    return _encode(X, "bf16", n_threads)


def from_bf16(codes: np.ndarray, *, n_threads: int | None = None) -> np.ndarray:
    """float32 values of bfloat16 codes (uint16): the code in the top half of the bits.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.from_bf16(np.array([16256], np.uint16))
    array([1.], dtype=float32)
    """
    return _decode(codes, "bf16", n_threads)


def to_fp16(X: npt.ArrayLike, *, n_threads: int | None = None) -> np.ndarray:
    """IEEE half codes (uint16, same shape): ``X.astype(np.float16).view(np.uint16)`` where
    that is finite; beyond ±65504 saturates (numpy gives ±inf).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codes = lowdim.to_fp16(np.array([1.0, 1e6], np.float32))
    >>> codes.tolist(), lowdim.from_fp16(codes).tolist()
    ([15360, 31743], [1.0, 65504.0])
    """
    return _encode(X, "fp16", n_threads)


def from_fp16(codes: np.ndarray, *, n_threads: int | None = None) -> np.ndarray:
    """float32 values of IEEE half codes (uint16).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.from_fp16(np.array([15360], np.uint16))
    array([1.], dtype=float32)
    """
    return _decode(codes, "fp16", n_threads)


def binarize(X: npt.ArrayLike, *, n_threads: int | None = None) -> np.ndarray:
    """One bit per value, packed: bit = X > 0 (so 0.0 and -0.0 give 0, as in
    sentence-transformers' ``embeddings > 0``), in ``np.packbits`` order along the last
    axis (first value in the most significant bit; the last byte is zero-padded).

    Parameters
    ----------
    X : array of shape (n, d) or (d,); NaN/inf raise ValueError

    Returns
    -------
    ndarray of uint8, shape (n, ceil(d/8)) or (ceil(d/8),).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.binarize(np.array([[0.5, -1.0, 2.0]]))
    array([[160]], dtype=uint8)
    """
    arr = as_float_array(X, ndim=(1, 2))
    rows = arr.reshape(-1, arr.shape[-1])
    if rows.dtype != np.float32:   # the sign survives the cast; tiny values keep > 0
        rows = np.where(rows > 0, np.float32(1), np.float32(0))
    codes = _config.kernels().codec_encode(rows, "binary", _EMPTY, _EMPTY,
                                           _config.resolve_threads(n_threads))
    result: np.ndarray = codes.reshape(arr.shape[:-1] + (codes.shape[1],))
    return result
