"""Product quantization (Jégou et al. 2011) of dask arrays: fit, encode, decode, ADC search.

The codebooks are shipped once per worker: scattered with broadcast=True when a
distributed Client is active, else one dask.delayed key that every task depends on; search
makes each query block's ADC table once, on a worker. fit runs Lloyd's iterations
distributed (per block: nearest centroid, float64 partial sums and counts; a tree of fixed
shape adds them, so the codebooks are deterministic for a given chunking), or the
in-memory k-means on lowdim's seeded sample.
"""
from __future__ import annotations

from typing import Any, TypeVar

import copy
import warnings

import dask.array as da
from dask.delayed import delayed
import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .. import pq as _pq
from .._ref_pq import _EPS
from .._validate import check_int
from ..quantizers import opq as _opq
from ..codecs.quantizer import ScalarQuantizer
from ..quantizers.rabitq import RaBitQ
from . import codecs as _codecs
from ._common import as_rows, known_chunks, mappable, seeded_sample, shared
from .neighbors import _FAN_IN, topk_over_blocks

_Quantizer = _pq.ProductQuantizer | ScalarQuantizer | RaBitQ
_Q = TypeVar("_Q", _pq.ProductQuantizer, ScalarQuantizer, RaBitQ)


def _fitted(quantizer: Any) -> Any:
    if not isinstance(quantizer, _pq.ProductQuantizer):
        raise TypeError(f"quantizer must be a lowdim.ProductQuantizer, got "
                        f"{type(quantizer).__name__}")
    return quantizer._fitted_codebooks()


def _state(quantizer: Any) -> Any:
    """What the workers need: (codebooks, OPQ rotation (d, d) or None)."""
    return _fitted(quantizer), getattr(quantizer, "rotation_", None)


def _rotated(x: Any, state: Any, name: Any = "X") -> Any:
    """x·rotationᵀ as quantizer._rotated does (per row, so bitwise per block)."""
    cb, rot = state
    return x if rot is None else _opq.rotate(_pq._check_x(x, cb, name=name), rot)


def _check_features(X: Any, cb: Any, name: Any = "X") -> Any:
    M, _, dsub = cb.shape
    if X.shape[1] != M * dsub:
        raise ValueError(f"{name} has {X.shape[1]} features, but the codebooks expect "
                         f"{M * dsub} (M={M} × dsub={dsub})")


def _encode_block(block: Any, state: Any, n_threads: Any) -> Any:
    return _pq.pq_encode(_rotated(block, state), state[0], n_threads=n_threads)


def encode(quantizer: _Quantizer, X: da.Array | npt.ArrayLike, *,
           n_threads: int = 1) -> da.Array:
    """Codes of a dask array X (n, d): dask array (n, M), uint8 (K ≤ 256) or uint16.

    Bitwise the codes of quantizer.encode(X.compute()) (rows are encoded independently).
    A ScalarQuantizer or RaBitQ is encoded by lowdim.dask.codecs.encode.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> pq = lowdim.ProductQuantizer(4, nbits=2, random_state=0).fit(X)
    >>> np.array_equal(ldd.encode(pq, dX).compute(scheduler="sync"), pq.encode(X))
    True
    """
    if not isinstance(quantizer, _pq.ProductQuantizer):
        return _codecs.encode(quantizer, X, n_threads=n_threads)
    state = _state(quantizer)
    cb = state[0]
    X = as_rows(X)
    _check_features(X, cb)
    dtype = _pq._code_dtype(cb.shape[1])
    result: da.Array = mappable(X).map_blocks(
        _encode_block, shared(state), n_threads, dtype=dtype,
        chunks=(X.chunks[0], (cb.shape[0],)), meta=np.empty((0, 0), dtype))
    return result


def _decode_block(block: Any, state: Any, n_threads: Any) -> Any:
    cb, rot = state
    out = _pq.pq_decode(block, cb, n_threads=n_threads)
    return out if rot is None else np.ascontiguousarray(out.astype(np.float64) @ rot,
                                                        np.float32)


def _check_code_array(codes: Any, cb: Any) -> Any:
    M, K, _ = cb.shape
    want = np.dtype(_pq._code_dtype(K))
    if not isinstance(codes, da.Array) or codes.dtype != want:
        got = codes.dtype if hasattr(codes, "dtype") else type(codes).__name__
        raise TypeError(f"codes must be a dask array of dtype {want} for {K} centroids per "
                        f"sub-space, got {got}")
    known_chunks(codes, "codes")
    if codes.ndim != 2 or codes.shape[1] != M or not codes.shape[0] >= 1:
        raise ValueError(f"codes must have shape (n, {M}) with n >= 1, got {codes.shape}")
    return as_rows(codes, name="codes")


def decode(quantizer: _Quantizer, codes: da.Array, *,
           n_threads: int = 1) -> da.Array:
    """Reconstructions (n, d) float32 of dask codes (n, M); codes out of range raise there.
    A ScalarQuantizer or RaBitQ is decoded by lowdim.dask.codecs.decode.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> pq = lowdim.ProductQuantizer(4, nbits=2, random_state=0).fit(X)
    >>> codes = ldd.encode(pq, dX)
    >>> np.array_equal(ldd.decode(pq, codes).compute(scheduler="sync"), pq.transform(X))
    True
    """
    if not isinstance(quantizer, _pq.ProductQuantizer):
        return _codecs.decode(quantizer, codes, n_threads=n_threads)
    state = _state(quantizer)
    cb = state[0]
    codes = _check_code_array(codes, cb)
    d = cb.shape[0] * cb.shape[2]
    result: da.Array = mappable(codes).map_blocks(
        _decode_block, shared(state), n_threads, dtype=np.float32,
        chunks=(codes.chunks[0], (d,)), meta=np.empty((0, 0), np.float32))
    return result


def _table(q: Any, state: Any, n_threads: Any) -> Any:
    """The query block's ADC table and scale, as the in-memory search makes them."""
    q = _pq._check_x(_rotated(q, state, name="Q"), state[0], name="Q")
    return _pq._adc_table(q, state[0], n_threads)


def _search_block(table: Any, offset: Any, codes: Any, state: Any, k: Any, n_threads: Any) -> Any:
    c = _pq._check_codes(codes, state[0])
    dist, idx = _config.kernels().pq_search(table[0], c, min(k, len(c)), n_threads)
    return dist, idx + offset


def _unscale(best: Any, table: Any) -> Any:
    dist, idx = best
    if table[1] == 0:
        return dist, idx
    with np.errstate(over="ignore"):
        return np.ldexp(dist, 2 * table[1]).astype(np.float32), idx


def search(quantizer: _Quantizer, Q: da.Array | npt.ArrayLike, codes: da.Array,
           k: int, *, n_threads: int = 1, **options: Any) -> tuple[da.Array, ...]:
    """k nearest codes of each query by ADC (quantizer.search), codes a dask array.

    Q : ndarray or dask array (nq, d). Each query block's ADC table is made once on a worker
    and fetched by the tasks that search the code blocks; the per-block top-k are merged by
    (distance, global index), which is the in-memory order (ADC sums are per pair, so the
    result is bitwise quantizer.search(Q, codes.compute(), k, fast_scan=False); fast-scan's
    uint8 tables are not used here, and with nbits=4 the in-memory default fast_scan=True
    gives the same result except at its documented near-ties).

    A ScalarQuantizer or RaBitQ is searched by lowdim.dask.codecs.search, which takes their
    in-memory keyword options (metric, rescore, oversample, exact).

    Returns
    -------
    distances (nq, k) float32, indices (nq, k) int64: dask arrays of one graph (compute
    them together: dask.compute(d, i)).

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> pq = lowdim.ProductQuantizer(4, nbits=2, random_state=0).fit(X)
    >>> d, i = dask.compute(*ldd.search(pq, X[:2], ldd.encode(pq, dX), 3), scheduler="sync")
    >>> np.array_equal(i, pq.search(X[:2], pq.encode(X), 3, fast_scan=False)[1])
    True
    """
    if not isinstance(quantizer, _pq.ProductQuantizer):
        return _codecs.search(quantizer, Q, codes, k, n_threads=n_threads, **options)
    if options:
        raise TypeError(f"search() got unexpected keyword arguments {sorted(options)} for a "
                        "ProductQuantizer (lowdim.dask runs the plain ADC scan)")
    state = _state(quantizer)
    cb = state[0]
    codes = _check_code_array(codes, cb)
    Q = as_rows(Q, name="Q")
    _check_features(Q, cb, name="Q")
    k = check_int(k, name="k", low=1, high=codes.shape[0])
    cbs = shared(state)
    blocks = [(c,) for c in codes.to_delayed()[:, 0]]
    return topk_over_blocks(Q, blocks, codes.chunks[0], k, (_table, cbs, n_threads),
                            (_search_block, cbs, k, n_threads), (_unscale,),
                            [((k,), np.float32), ((k,), np.int64)])


# ---- training ---------------------------------------------------------------------------

def _params(quantizer: Any, X: Any) -> Any:
    M = quantizer._n_subspaces()
    nbits = check_int(quantizer.nbits, name="nbits", low=1, high=16)
    n_iter = check_int(quantizer.n_iter, name="n_iter", low=0, high=100_000)
    mppc = check_int(quantizer.max_points_per_centroid, name="max_points_per_centroid", low=1)
    if quantizer.rotation not in (None, "opq"):
        raise ValueError(f"rotation must be None or 'opq', got {quantizer.rotation!r}")
    n, d = X.shape
    if d % M:
        raise ValueError(f"n_features={d} is not divisible by M={M}")
    K = 1 << nbits
    if n < K:
        raise ValueError(f"k-means needs at least 2**nbits = {K} training points, got {n}")
    return M, K, n_iter, mppc


def _warn_few(n: Any, K: Any) -> Any:
    """The in-memory fit's warning, on the number of rows of X (as it does)."""
    if n < _pq.MIN_POINTS_PER_CENTROID * K:
        warnings.warn(f"training {K} centroids per sub-space on {n} points: at least "
                      f"{_pq.MIN_POINTS_PER_CENTROID * K} ({_pq.MIN_POINTS_PER_CENTROID} per "
                      "centroid) are recommended", UserWarning, stacklevel=3)


def _initial(x: Any, first: Any, M: Any, K: Any) -> Any:
    return np.ascontiguousarray(x[first].reshape(K, M, -1).transpose(1, 0, 2))


def _fit_on_sample(x: Any, quantizer: Any) -> Any:
    """The in-memory fit on the rows it would subsample itself (it then draws no further
    sample, and the same initial rows): its codebooks and OPQ rotation, bitwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # warned on the client, for all n
        fitted = quantizer.fit(x)
    return fitted.codebooks_, fitted.rotation_


def _lloyd_partial(block: Any, codebooks: Any) -> Any:
    """Per block: float64 sums (M, K, dsub) and counts (M, K) of the nearest centroids."""
    M, K, dsub = codebooks.shape
    x = np.ascontiguousarray(block, dtype=np.float32)
    codes = _config.kernels().pq_encode(x, codebooks, 1)
    sums = np.empty((M, K, dsub))
    counts = np.empty((M, K), dtype=np.int64)
    col = np.arange(dsub)
    for m in range(M):
        c = codes[:, m].astype(np.int64)
        counts[m] = np.bincount(c, minlength=K)
        flat = (c[:, None] * dsub + col).ravel()      # one bincount per sub-space, row order
        sums[m] = np.bincount(flat, weights=x[:, m * dsub:(m + 1) * dsub].ravel()
                              .astype(np.float64), minlength=K * dsub).reshape(K, dsub)
    return sums, counts


def _add(*parts: Any) -> Any:
    sums = parts[0][0].copy()
    counts = parts[0][1].copy()
    for s, c in parts[1:]:
        sums += s
        counts += c
    return sums, counts


def _update(codebooks: Any, sums: Any, counts: Any) -> Any:
    """New centroids; an empty cluster splits the largest, as lowdim's k-means does."""
    cb = codebooks.copy()
    dsub = cb.shape[2]
    even = np.arange(dsub) % 2 == 0
    up = np.where(even, np.float32(1) + _EPS, np.float32(1) - _EPS).astype(np.float32)
    down = np.where(even, np.float32(1) - _EPS, np.float32(1) + _EPS).astype(np.float32)
    for m in range(cb.shape[0]):
        cnt = counts[m].copy()
        full = cnt > 0
        cb[m, full] = (sums[m, full] / cnt[full, None]).astype(np.float32)
        for ci in np.flatnonzero(cnt == 0):
            cj = int(np.argmax(cnt))
            v = cb[m, cj].copy()
            cb[m, ci] = v * up
            cb[m, cj] = v * down
            cnt[ci] = cnt[cj] // 2
            cnt[cj] -= cnt[ci]
    return cb


def fit(quantizer: _Q, X: da.Array | npt.ArrayLike, *, sample: bool = False) -> _Q:
    """Fit a ProductQuantizer on a dask array X (n, d); returns the quantizer (fitted).

    sample=False: Lloyd's iterations over all n rows on the workers. The initial centroids
    are the rows lowdim's k-means would draw (stream STREAM_PQ_INIT over the n rows); each
    iteration ships the codebooks once per worker and gets back (M, K, dsub) sums and
    (M, K) counts per block, added by a tree of fixed shape: deterministic for a given
    chunking. Rows are assigned by pq_encode's exact distance Σ(c − x)², where the in-memory
    k-means uses ‖c‖² − 2x·c; the two agree except at float32 near-ties, and partial sums
    are added in a different order, so the codebooks are close to, not bitwise, the
    in-memory ones. max_points_per_centroid is ignored (all rows are used); persist X if it
    is generated or read lazily, since every iteration reads it once.

    sample=True: the in-memory fit on the seeded subsample it would draw itself
    (max_points_per_centroid · K rows, stream STREAM_PQ_SUBSAMPLE), gathered and trained on
    one worker: the codebooks (and an OPQ rotation_, rotation='opq') are bitwise
    quantizer.fit(X.compute()). Lloyd (sample=False) learns no rotation and refuses 'opq'.

    A ScalarQuantizer or RaBitQ is fitted by lowdim.dask.codecs.fit (sample is ignored).

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> pq = ldd.fit(lowdim.ProductQuantizer(4, nbits=2, random_state=0), dX, sample=True)
    >>> ref = lowdim.ProductQuantizer(4, nbits=2, random_state=0).fit(X)
    >>> np.array_equal(pq.codebooks_, ref.codebooks_)      # sample=True: the in-memory fit
    True
    """
    if not isinstance(quantizer, _pq.ProductQuantizer):
        return _codecs.fit(quantizer, X)
    X = as_rows(X)
    M, K, n_iter, mppc = _params(quantizer, X)
    if not sample and quantizer.rotation == "opq":
        raise ValueError("rotation='opq' trains on one sample (rounds of k-means and an SVD "
                         "over the same rows): use lowdim.dask.fit(..., sample=True)")
    n, d = X.shape
    seed = _rng.resolve_random_state(quantizer.random_state, quantizer.seed,
                                     owner="ProductQuantizer")
    n_threads = _config.resolve_threads(quantizer.n_threads)
    _warn_few(n, K)
    rot = None
    if sample:
        rows = seeded_sample(seed, _rng.STREAM_PQ_SUBSAMPLE, n, mppc * K).compute()
        x = X[rows].astype(np.float32).rechunk({0: -1}).to_delayed()[0, 0]
        worker_copy = copy.copy(quantizer)
        # the resolved seed as random_state (seed= is the deprecated alias: it would warn)
        worker_copy.n_threads, worker_copy.random_state, worker_copy.seed = n_threads, seed, None
        cb, rot = delayed(_fit_on_sample, pure=True)(x, worker_copy).compute()
    else:
        first = seeded_sample(seed, _rng.STREAM_PQ_INIT, n, K).compute()
        x0 = X[first].astype(np.float32).compute()
        # The draw order matters: row first[j] becomes centroid j, as in-memory.
        cb = _initial(x0, np.arange(K), M, K)
        blocks = X.to_delayed()[:, 0]
        for _ in range(n_iter):
            shared_cb = shared(cb)
            parts = [delayed(_lloyd_partial, pure=True)(b, shared_cb) for b in blocks]
            while len(parts) > 1:
                parts = [delayed(_add, pure=True)(*parts[i:i + _FAN_IN])
                         for i in range(0, len(parts), _FAN_IN)]
            sums, counts = parts[0].compute()
            cb = _update(cb, sums, counts)
    quantizer.codebooks_ = cb
    quantizer.rotation_ = rot
    quantizer.n_features_in_ = d
    quantizer.seed_ = seed
    return quantizer
