"""ScalarQuantizer and RaBitQ (Gao & Long 2024) on dask arrays: fit by a reduction,
encode/decode block by block.

The fitted estimator (ranges: 2·D float32; a centre: d float32) is shipped once per worker
(pq.shared); each block calls the in-memory encode/decode, so codes and reconstructions are
bitwise the in-memory ones (rows are coded independently). fit: ScalarQuantizer's 'minmax'
ranges are the min/max over blocks of the (rotated) rows, bitwise the in-memory fit;
RaBitQ's centre is float64 column sums added over blocks, equal to rounding (numpy's mean
sums pairwise). Quantile ranges need all rows at once and are refused.
"""
from __future__ import annotations

import copy

import dask
import numpy as np

from .. import _rng
from .._base import check_is_fitted
from .._validate import as_float_array
from ..codecs.quantizer import INT_LEVELS, ScalarQuantizer, code_dtype, code_width
from ..quantizers.rabitq import RaBitQ
from ._common import as_rows
from .neighbors import _FAN_IN


def _check_type(quantizer):
    if not isinstance(quantizer, (ScalarQuantizer, RaBitQ)):
        raise TypeError(f"quantizer must be a lowdim.ProductQuantizer, ScalarQuantizer or "
                        f"RaBitQ, got {type(quantizer).__name__}")


def _code_layout(q):
    """(width, dtype) of one code row."""
    if isinstance(q, RaBitQ):
        return q.code_size, np.dtype(np.uint8)
    return code_width(q._kind(), q._D), np.dtype(code_dtype(q._kind()))


def _worker_copy(q, n_threads):
    check_is_fitted(q, "n_features_in_")
    out = copy.copy(q)
    out.n_threads = n_threads
    return out


def _encode_block(block, q):
    return q.encode(block)


def _decode_block(block, q):
    # A block that crossed the network carries an unpickled dtype object, not numpy's
    # builtin one, and the native codec_decode compares dtypes by identity: re-view it.
    return q.decode(block.view(np.dtype(block.dtype.char)))


def encode(quantizer, X, *, n_threads=1):
    """Codes of a dask array X (n, d): bitwise quantizer.encode(X.compute())."""
    from .pq import shared
    _check_type(quantizer)
    q = _worker_copy(quantizer, n_threads)
    X = as_rows(X)
    if X.shape[1] != q.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but this {type(q).__name__} was "
                         f"fitted with {q.n_features_in_}")
    width, dtype = _code_layout(q)
    return X.map_blocks(_encode_block, shared(q), dtype=dtype, chunks=(X.chunks[0], (width,)),
                        meta=np.empty((0, 0), dtype))


def decode(quantizer, codes, *, n_threads=1):
    """Reconstructions (n, d) float32 of dask codes: bitwise quantizer.decode(codes.compute())."""
    from .pq import shared
    _check_type(quantizer)
    q = _worker_copy(quantizer, n_threads)
    width, dtype = _code_layout(q)
    if not hasattr(codes, "dtype") or codes.dtype != dtype:
        got = codes.dtype if hasattr(codes, "dtype") else type(codes).__name__
        raise TypeError(f"codes must be a dask array of dtype {dtype}, got {got}")
    codes = as_rows(codes, name="codes")
    if codes.shape[1] != width:
        raise ValueError(f"codes must have shape (n, {width}), got {codes.shape}")
    return codes.map_blocks(_decode_block, shared(q), dtype=np.float32,
                            chunks=(codes.chunks[0], (q.n_features_in_,)),
                            meta=np.empty((0, 0), np.float32))


def _minmax_block(block, q):
    x = q._rotate(as_float_array(block, ndim=2, dtype=np.float32))
    return x.min(axis=0), x.max(axis=0)


def _sum_block(block):
    x = as_float_array(block, ndim=2, dtype=np.float32)
    return x.sum(axis=0, dtype=np.float64), len(x)


def _reduce(fn, parts):
    while len(parts) > 1:
        parts = [dask.delayed(fn, pure=True)(parts[i:i + _FAN_IN])
                 for i in range(0, len(parts), _FAN_IN)]
    return parts[0].compute()


def _min_max(parts):
    return (np.min([p[0] for p in parts], axis=0), np.max([p[1] for p in parts], axis=0))


def _add(parts):
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def fit(quantizer, X):
    """Fit a ScalarQuantizer or RaBitQ on a dask array X (n, d); returns it, fitted.

    ScalarQuantizer: 'minmax' ranges by a min/max reduction (bitwise the in-memory fit);
    an explicit (2, D) ranges array and the float/binary kinds need only d; quantile ranges
    are refused (they need every row at once: fit on a sample, X[rows].compute()).
    RaBitQ: the centre from float64 column sums added over blocks (equal to rounding).
    NaN/inf rows raise inside the block that holds them, with the in-memory message.
    """
    _check_type(quantizer)
    X = as_rows(X)
    blocks = X.to_delayed()[:, 0]
    if isinstance(quantizer, RaBitQ):
        quantizer._check_params()
        seed = _rng.resolve_random_state(quantizer.random_state, quantizer.seed, owner="RaBitQ")
        total, n = _reduce(_add, [dask.delayed(_sum_block, pure=True)(b) for b in blocks])
        quantizer.center_ = (total / n).astype(np.float32)
        quantizer.n_features_in_ = X.shape[1]
        quantizer.seed_ = seed
        return quantizer
    kind = quantizer._kind()
    if kind not in INT_LEVELS or not isinstance(quantizer.ranges, str):
        if isinstance(quantizer.ranges, (tuple, list)) and kind in INT_LEVELS:
            raise ValueError("quantile ranges need every row at once; fit on a sample "
                             "(quantizer.fit(X[rows].compute())) or pass a (2, D) array")
        return quantizer.fit(X[:1].compute())         # validates; needs only d
    probe = quantizer.fit(X[:1].compute())            # validates parameters, records d
    lo, hi = _reduce(_min_max, [dask.delayed(_minmax_block, pure=True)(b, copy.copy(probe))
                                for b in blocks])
    quantizer.ranges_ = np.stack([lo, hi]).astype(np.float32)
    return quantizer
