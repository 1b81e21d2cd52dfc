"""ScalarQuantizer and RaBitQ (Gao & Long 2024) on dask arrays: fit by a reduction,
encode/decode block by block, search by blockwise top-k merged by (key, index).

The fitted estimator (ranges: 2·D float32; a centre: d float32) is shipped once per worker
(_common.shared); each block calls the in-memory encode/decode, so codes and reconstructions
are bitwise the in-memory ones (rows are coded independently), and search merges the
in-memory keys of each (query, code) pair, so it returns the in-memory neighbours and
distances. fit: ScalarQuantizer's 'minmax' ranges are the min/max over blocks of the
(rotated) rows, bitwise the in-memory fit; RaBitQ's centre is float64 column sums added
over blocks, equal to rounding (numpy's mean sums pairwise). Quantile ranges are refused.
"""
from __future__ import annotations

from typing import Any, TypeVar

import copy

import dask.array as da
from dask.delayed import delayed
import numpy as np
import numpy.typing as npt

from .. import _rng
from .._base import check_is_fitted
from .._validate import as_float_array, as_ndarray, check_int
from ..codecs._ref_codecs import INT_LEVELS, code_dtype, code_width
from ..codecs.quantizer import ScalarQuantizer, _check_metric, _nonzero_rows, _rerank
from ..quantizers.rabitq import RaBitQ
from ._common import as_rows, is_dask, known_chunks, mappable, shared
from .neighbors import _FAN_IN, topk_over_blocks

_C = TypeVar("_C", ScalarQuantizer, RaBitQ)


def _check_type(quantizer: Any) -> None:
    if not isinstance(quantizer, (ScalarQuantizer, RaBitQ)):
        raise TypeError(f"quantizer must be a lowdim.ProductQuantizer, ScalarQuantizer or "
                        f"RaBitQ, got {type(quantizer).__name__}")


def _code_layout(q: Any) -> Any:
    """(width, dtype) of one code row."""
    if isinstance(q, RaBitQ):
        return q.code_size, np.dtype(np.uint8)
    return code_width(q._kind(), q._D), np.dtype(code_dtype(q._kind()))


def _worker_copy(q: Any, n_threads: Any) -> Any:
    check_is_fitted(q, "n_features_in_")
    out = copy.copy(q)
    out.n_threads = n_threads
    return out


def _code_array(q: Any, codes: Any) -> Any:
    """codes (dask, or in memory) as row-chunked dask codes of q: the in-memory checks of
    dtype and shape (their texts, 'dask array' for 'numpy array'), up front."""
    width, dtype = _code_layout(q)
    kind = f" for kind={q._kind()!r}" if isinstance(q, ScalarQuantizer) else ""
    if is_dask(codes):
        known_chunks(codes, "codes")
    else:
        codes = as_ndarray(codes, name="codes")
    if codes.dtype != dtype:
        raise TypeError(f"codes must be a dask array of dtype {dtype}{kind}, got {codes.dtype}")
    if codes.ndim != 2 or codes.shape[1] != width or not codes.shape[0] >= 1:
        dims = f" and {q._D} dimensions" if kind else ""
        raise ValueError(f"codes must have shape (n, {width}) with n >= 1{kind}{dims}, "
                         f"got {codes.shape}")
    return as_rows(codes, name="codes")


def _encode_block(block: Any, q: Any) -> Any:
    return q.encode(block)


def _native(block: Any) -> Any:
    # A block that crossed the network carries an unpickled dtype object, not numpy's
    # builtin one, and the native codec kernels compare dtypes by identity: re-view it.
    return block.view(np.dtype(block.dtype.char))


def _decode_block(block: Any, q: Any) -> Any:
    return q.decode(_native(block))


def encode(quantizer: ScalarQuantizer | RaBitQ, X: da.Array | npt.ArrayLike, *,
           n_threads: int = 1) -> da.Array:
    """Codes of a dask array X (n, d): bitwise quantizer.encode(X.compute())."""
    _check_type(quantizer)
    q = _worker_copy(quantizer, n_threads)
    X = as_rows(X)
    if X.shape[1] != q.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but this {type(q).__name__} was "
                         f"fitted with {q.n_features_in_}")
    width, dtype = _code_layout(q)
    result: da.Array = mappable(X).map_blocks(_encode_block, shared(q), dtype=dtype,
                                              chunks=(X.chunks[0], (width,)),
                                              meta=np.empty((0, 0), dtype))
    return result


def decode(quantizer: ScalarQuantizer | RaBitQ, codes: da.Array, *,
           n_threads: int = 1) -> da.Array:
    """Reconstructions (n, d) float32 of dask codes: bitwise quantizer.decode(codes.compute())."""
    _check_type(quantizer)
    q = _worker_copy(quantizer, n_threads)
    codes = _code_array(q, codes)
    result: da.Array = mappable(codes).map_blocks(_decode_block, shared(q), dtype=np.float32,
                                        chunks=(codes.chunks[0], (q.n_features_in_,)),
                                        meta=np.empty((0, 0), np.float32))
    return result


def _minmax_block(block: Any, q: Any) -> Any:
    x = q._rotate(as_float_array(block, ndim=2, dtype=np.float32))
    return x.min(axis=0), x.max(axis=0)


def _sum_block(block: Any) -> Any:
    x = as_float_array(block, ndim=2, dtype=np.float32)
    return x.sum(axis=0, dtype=np.float64), len(x)


def _reduce(fn: Any, parts: Any) -> Any:
    while len(parts) > 1:
        parts = [delayed(fn, pure=True)(parts[i:i + _FAN_IN])
                 for i in range(0, len(parts), _FAN_IN)]
    return parts[0].compute()


def _min_max(parts: Any) -> Any:
    return (np.min([p[0] for p in parts], axis=0), np.max([p[1] for p in parts], axis=0))


def _add(parts: Any) -> Any:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def fit(quantizer: _C, X: da.Array | npt.ArrayLike) -> _C:
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
        total, n = _reduce(_add, [delayed(_sum_block, pure=True)(b) for b in blocks])
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
    lo, hi = _reduce(_min_max, [delayed(_minmax_block, pure=True)(b, copy.copy(probe))
                                for b in blocks])
    quantizer.ranges_ = np.stack([lo, hi]).astype(np.float32)
    return quantizer


# ---- search -------------------------------------------------------------------------------

def _queries(q: Any, Q: Any) -> Any:
    """Q as row-chunked dask queries: in memory, every in-memory check now (on the client);
    a dask array, dtype and shape now, NaN/inf in the block that holds them."""
    if not is_dask(Q):
        return as_rows(q._check_x(Q, "Q"), name="Q")
    Q = as_rows(Q, name="Q")
    if Q.shape[1] != q.n_features_in_:
        raise ValueError(f"Q has {Q.shape[1]} features, but this {type(q).__name__} was "
                         f"fitted with {q.n_features_in_}")
    return Q


def _sq_queries(block: Any, q: Any, metric: Any) -> Any:
    qf = q._check_x(block, "Q")
    if metric == "cosine":
        _nonzero_rows(qf, "Q")
    return qf, q._rotate(qf)


def _sq_scan(prep: Any, offset: Any, block: Any, q: Any, k: Any, metric: Any, exact: Any) -> Any:
    c = q._check_codes(_native(block))
    keys, idx = q._search_keys(prep[1], c, min(k, len(c)), metric, exact)
    return keys, idx + offset


def _sq_finish(best: Any, prep: Any, q: Any, metric: Any) -> Any:
    keys, idx = best[:2]
    return q._distances(keys, prep[1], metric), idx


def _gather_rows(best: Any, start: Any, block: Any, is_codes: Any) -> Any:
    """The rows of this block among the merged candidates: (global rows, their values);
    vectors pass the in-memory rescore check here, for every row of the block."""
    cand = best[1]
    block = _native(block) if is_codes else as_float_array(block, name="rescore")
    rows = np.unique(cand[(cand >= start) & (cand < start + len(block))])
    return rows, block[rows - start]


def _sq_rescore(best: Any, prep: Any, metric: Any, k: Any, n_vec: Any, finer: Any,
                *gathered: Any) -> Any:
    """lowdim.rescore of the merged candidates on the gathered rows: positions in the
    sorted gathered rows rank ties as the global rows do, so this is the in-memory rerank."""
    cand = best[1]
    if cand.max() >= n_vec:
        raise ValueError(f"candidates must be row numbers in [0, {n_vec})")
    rows = np.concatenate([g[0] for g in gathered])
    values = np.concatenate([g[1] for g in gathered])
    dist, pos = _rerank(prep[0], np.searchsorted(rows, cand), values if finer is None
                        else (finer, values), k, metric=metric)
    return dist, rows[pos]


def _rescore_source(q: Any, rescore: Any, n_threads: Any) -> Any:
    """(dask rows, is_codes, finer quantizer or None) of search's rescore, checked now."""
    if isinstance(rescore, tuple):
        if len(rescore) != 2 or not isinstance(rescore[0], ScalarQuantizer):
            raise TypeError("rescore must be float vectors or a pair (ScalarQuantizer, codes)")
        finer = _worker_copy(rescore[0], n_threads)
        rows, d = _code_array(finer, rescore[1]), finer.n_features_in_
    else:
        finer = None
        rows = as_rows(rescore if is_dask(rescore) else as_float_array(rescore, name="rescore"),
                       name="rescore")
        d = rows.shape[1]
    if d != q.n_features_in_:
        raise ValueError(f"Q has {q.n_features_in_} features but the rescoring vectors have {d}")
    return rows, finer is not None, finer


def _search_sq(q: Any, Q: Any, codes: Any, k: Any, n_threads: Any, *, metric: Any = "euclidean",
               rescore: Any = None, oversample: Any = 4, exact: Any = False) -> Any:
    metric = _check_metric(metric)
    codes = _code_array(q, codes)
    Q = _queries(q, Q)
    n = codes.shape[0]
    k = check_int(k, name="k", low=1, high=n)
    oversample = check_int(oversample, name="oversample", low=1)
    if not isinstance(exact, (bool, np.bool_)):
        raise TypeError(f"exact must be a bool, got {type(exact).__name__}")
    if q._kind() in INT_LEVELS and not exact:       # the in-memory "d too large" error
        lo, vdiff = q._params()
        q._integer_query(np.zeros((1, q._D), np.float32), lo, vdiff)
    state = shared(q)
    finish: tuple[Any, ...]
    kk, finish, gather = k, (_sq_finish, state, metric), None
    if rescore is not None:     # the in-memory candidates, then their rows gathered
        rows, is_codes, finer = _rescore_source(q, rescore, n_threads)
        kk = min(n, oversample * k)
        finish = (_sq_rescore, metric, k, rows.shape[0], None if finer is None else shared(finer))
        gather = (_gather_rows, [(b,) for b in rows.to_delayed()[:, 0]], rows.chunks[0],
                  is_codes)
    return topk_over_blocks(Q, [(c,) for c in codes.to_delayed()[:, 0]], codes.chunks[0], kk,
                            (_sq_queries, state, metric), (_sq_scan, state, kk, metric,
                                                           bool(exact)),
                            finish, [((k,), np.float32), ((k,), np.int64)], gather)


def _rabitq_queries(block: Any, q: Any) -> Any:
    qf = q._check_x(block, "Q")
    return qf, q._query_args(qf)


def _rabitq_scan(prep: Any, offset: Any, block: Any, vectors: Any, q: Any, k: Any) -> Any:
    """The block's best k (the in-memory kernel on this block's codes); with vectors,
    bound-based reranking against the block's own k-th upper bound."""
    c = q._check_codes(_native(block))
    vec = (None if vectors is None
           else as_float_array(vectors, name="rescore", dtype=np.float32))
    qf, qargs = prep
    keys, idx, counts = q._ranked(qargs, qf, c, min(k, len(c)), vec)
    return keys, idx + offset, counts


def _rabitq_finish(best: Any, prep: Any) -> Any:
    return best          # the kernel's keys are already the float32 distances search returns


def _rescore_rows(q: Any, rescore: Any, codes: Any) -> Any:
    """The original vectors as dask rows chunked like the codes (in-memory checks now)."""
    n, d = codes.shape[0], q.n_features_in_
    vec = (as_rows(rescore, name="rescore") if is_dask(rescore)
           else as_float_array(rescore, name="rescore"))
    if vec.shape != (n, d):
        raise ValueError(f"rescore must have shape ({n}, {d}) (the original vectors of the "
                         f"codes), got {vec.shape}")
    if not isinstance(vec, da.Array):
        return da.from_array(vec, chunks=(codes.chunks[0], -1))
    return vec if vec.chunks[0] == codes.chunks[0] else vec.rechunk({0: codes.chunks[0]})


def _search_rabitq(q: Any, Q: Any, codes: Any, k: Any, *, rescore: Any = None) -> Any:
    codes = _code_array(q, codes)
    q._check_params()
    Q = _queries(q, Q)
    k = check_int(k, name="k", low=1, high=codes.shape[0])
    code_blocks = codes.to_delayed()[:, 0]
    if rescore is None:
        blocks = [(c, None) for c in code_blocks]
    else:
        blocks = list(zip(code_blocks, _rescore_rows(q, rescore, codes).to_delayed()[:, 0]))
    state = shared(q)
    return topk_over_blocks(Q, blocks, codes.chunks[0], k, (_rabitq_queries, state),
                            (_rabitq_scan, state, k), (_rabitq_finish,),
                            [((k,), np.float32), ((k,), np.int64), ((), np.int64)])


def search(quantizer: ScalarQuantizer | RaBitQ, Q: npt.ArrayLike | da.Array,
           codes: npt.ArrayLike | da.Array, k: int, *, n_threads: int = 1,
           **options: Any) -> tuple[da.Array, ...]:
    """k nearest codes per query of a ScalarQuantizer or RaBitQ, codes a dask array.

    quantizer.search(Q, codes.compute(), k, **options), computed block by block: every
    code block returns its best k by the in-memory key of each (query, code) pair, and a
    tree of fan-in 8 merges them by (key, global index), the in-memory order.

    Parameters
    ----------
    quantizer : fitted ScalarQuantizer or RaBitQ (scattered once per worker)
    Q : ndarray (nq, d), checked here as in memory; or a dask array (nq, d), whose
        blocks are checked (NaN/inf, zero rows for cosine) on the workers
    codes : dask array (n, code width) of the quantizer's code dtype, row-chunked (a numpy
        array is wrapped)
    k : int in [1, n]
    n_threads : int, default 1, kernel threads per task
    **options
        The in-memory search keywords. ScalarQuantizer: metric, oversample, exact and
        rescore (float vectors (n', d) or a pair (quantizer, its codes), dask or in memory:
        the min(n, oversample·k) merged candidates' rows are gathered, one task per block
        of the rescoring array, and reranked by lowdim.rescore). RaBitQ: rescore, the
        original vectors (n, d) (dask, rechunked to the codes' row chunks, or in memory).

    Returns
    -------
    distances (nq, k) float32, indices (nq, k) int64, and for RaBitQ n_reranked (nq,)
    int64: dask arrays of one graph (compute them together: ``dask.compute(d, i)``).

    Notes
    -----
    Without rescore, and for ScalarQuantizer with rescore, the result is bitwise the
    in-memory one. RaBitQ with rescore reranks per block: a block keeps the codes whose
    lower bound is at most the block's own k-th smallest upper bound, which is never below
    the global one, so each block's kept set contains the in-memory candidates of that
    block. When every bound holds both results are the exact top k (the same neighbours and
    distances); when some fail, this one is the exact top k of a superset of the in-memory
    candidates, so its j-th distance is never larger. n_reranked is summed over the blocks
    and is at least the in-memory count (more with more blocks).

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> sq = lowdim.ScalarQuantizer("int8").fit(X)
    >>> codes = da.from_array(sq.encode(X), chunks=(100, -1))
    >>> d, i = dask.compute(*ldd.search(sq, X[:2], codes, 3), scheduler="sync")
    >>> bool((i == sq.search(X[:2], sq.encode(X), 3)[1]).all()), i[:, 0].tolist()
    (True, [0, 1])
    """
    _check_type(quantizer)
    q = _worker_copy(quantizer, n_threads)
    if isinstance(q, RaBitQ):
        result: tuple[da.Array, ...] = _search_rabitq(q, Q, codes, k, **options)
        return result
    result = _search_sq(q, Q, codes, k, n_threads, **options)
    return result
