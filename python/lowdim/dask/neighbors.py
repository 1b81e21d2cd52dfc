"""Exact kNN of dask arrays by blockwise top-k, and the intrinsic dimensions built on it.

knn: lowdim.knn on every (query block, base block) pair gives each block's best k, merged
by (distance, global index) in a tree of fan-in 8, so a task holds two blocks or a few
(rows, 8·k) candidate lists. Pairs rank by squared distance (or inner product, on unit
rows for cosine) exactly as the in-memory kernel does, and the final sqrt / 1 − cos is
applied once after the merge; topk_over_blocks is the same scheme for the code searches
(pq.py, codecs.py). lid / twonn / intrinsic_dim (Amsaleg 2015, Levina–Bickel
2004, Facco 2017) and ph_dimension (Schweinhart 2020) reuse the in-memory formulas.
"""
from __future__ import annotations

from typing import Any

from dask.base import compute
from dask.delayed import delayed
import dask.array as da
import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .. import intrinsic as _id
from .. import neighbors as _nb
from .._validate import as_float_array, check_int, check_positive
from ..mst import _points, _subsample_sizes, ph_schedule   # `lowdim.mst` is the function
from ._common import as_rows, float_dtype, mappable, offsets, seeded_sample

_FAN_IN = 8


def _checked_block(block: Any, name: Any, dtype: Any, metric: Any) -> Any:
    """The in-memory knn's input checks on one block (same messages); unit rows for cosine."""
    arr = as_float_array(block, name=name, dtype=dtype)
    if metric == "cosine":
        return _nb._unit_rows(arr, name)
    _nb._checked_norms(arr, name)
    return arr


def _pair_topk(x: Any, y: Any, k: Any, kind: Any, offset: Any, same_block: Any,
               n_threads: Any) -> Any:
    """Best k of x's rows among y's rows: (keys, global indices); keys ascending-better."""
    kk = min(k, len(y) - 1 if same_block else len(y))
    if kk < 1:
        return np.empty((len(x), 0), x.dtype), np.empty((len(x), 0), np.int64)
    dist, idx = _nb.knn(x, kk, Y=None if same_block else y, metric=kind, n_threads=n_threads)
    return (-dist if kind == "inner_product" else dist), idx + offset


def _merge(k: Any, *parts: Any) -> Any:
    """k smallest (key, index) per row of several candidate lists; ties to the lower index.
    Entries after (keys, indices), per-row counts such as RaBitQ's reranked, are added."""
    keys = np.concatenate([p[0] for p in parts], axis=1)
    idx = np.concatenate([p[1] for p in parts], axis=1)
    order = np.lexsort((idx, keys), axis=1)[:, :k]
    counts = tuple(sum(p[j] for p in parts) for j in range(2, len(parts[0])))
    return (np.take_along_axis(keys, order, axis=1), np.take_along_axis(idx, order, axis=1),
            *counts)


def _finish(part: Any, metric: Any) -> Any:
    keys, idx = part
    if metric == "euclidean":
        return np.sqrt(keys), idx
    if metric == "inner_product":
        return -keys, idx
    if metric == "cosine":
        return np.maximum(1 - (-keys), 0, dtype=keys.dtype), idx
    return keys, idx


def _tree(parts: Any, k: Any) -> Any:
    while len(parts) > 1:
        parts = [delayed(_merge, pure=True)(k, *parts[i:i + _FAN_IN])
                 for i in range(0, len(parts), _FAN_IN)]
    return parts[0]


def _pick(pair: Any, i: Any) -> Any:
    return pair[i]


def _per_block(fn: Any, first: Any, blocks: Any, rows: Any, *args: Any) -> Any:
    """fn(first, first_row_j, *blocks[j], *args) as a delayed per non-empty block j."""
    starts = offsets(rows)
    return [delayed(fn, pure=True)(first, int(starts[j]), *b, *args)
            for j, b in enumerate(blocks) if rows[j]]


def topk_over_blocks(Q: Any, blocks: Any, rows: Any, k: int, prepare: Any, scan: Any,
                     finish: Any, outputs: Any, gather: Any = None) -> tuple[da.Array, ...]:
    """Blockwise top-k of every query block of Q against row blocks, merged by (key, index).

    Per query block: prepare = (fn, *args) runs once on a worker, fn(query_block, *args);
    scan = (fn, *args) per row block j, fn(prepared, first_row_j, *blocks[j], *args) -> the
    block's best keys and global indices (plus per-row counts, added by _merge); a tree of
    fan-in 8 merges them; finish = (fn, *args) or None, fn(merged, prepared, *args,
    *gathered). gather = (fn, blocks, rows, *args), optional: per row block of another
    array, fn(merged, first_row, *block, *args), whose results finish receives (e.g. the
    rows the merged candidates need). rows: the blocks' row counts (empty blocks are
    skipped). outputs: (shape after the query axis, dtype) of each array finish returns.
    Returns those arrays as dask arrays of one graph, concatenated over query blocks.
    """
    results: list[list[da.Array]] = [[] for _ in outputs]
    for qi, nq in zip(Q.to_delayed()[:, 0], Q.chunks[0]):
        prep = delayed(prepare[0], pure=True)(qi, *prepare[1:])
        best = _tree(_per_block(scan[0], prep, blocks, rows, *scan[1:]), k)
        gathered = [] if gather is None else _per_block(gather[0], best, *gather[1:])
        if finish is not None:
            best = delayed(finish[0], pure=True)(best, prep, *finish[1:], *gathered)
        for i, (tail, dtype) in enumerate(outputs):
            results[i].append(da.from_delayed(delayed(_pick)(best, i), (nq, *tail),
                                              dtype=dtype))
    return tuple(da.concatenate(r) for r in results)


def knn(X: da.Array | npt.ArrayLike, k: int, *, Y: da.Array | npt.ArrayLike | None = None,
        metric: str = "euclidean", n_threads: int = 1) -> tuple[da.Array, da.Array]:
    """Exact k nearest neighbours of every row of X among the rows of Y (or of X), on Dask.

    Parameters
    ----------
    X : dask.array.Array (n, d) (or numpy), queries
    k : int; k <= n − 1 when Y is None (self excluded), else k <= m
    Y : dask.array.Array or ndarray (m, d), optional. None: X among itself, each point
        itself excluded (its duplicates are not).
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'inner_product'}, as lowdim.knn
    n_threads : int, default 1 (kernel threads per task)

    Returns
    -------
    distances : dask.array.Array (n, k), dtype of X, best first
    indices : dask.array.Array (n, k) int64, global rows of Y (or X)
        Both come from one graph: compute them together, ``dask.compute(dist, idx)``, or
        every pair of blocks is searched twice.

    Notes
    -----
    Equal to lowdim.knn(X.compute(), k, Y=...): the neighbour sets and their order are
    the same (exact equal distances go to the lower global index in both), and the
    distances of a pair are recomputed from direct differences in each kernel call, so
    they agree bitwise in our tests; candidates whose distances differ only in the last
    bits (~1e-7 relative in float32) may come in either order, as lowdim.knn documents.
    Memory per task: one query block, one base block and (query rows, 8·k) candidates.
    Input checks of lowdim.knn (NaN/inf, overflowing norms, zero rows for cosine) run once
    per block, so their counts refer to one block; shape, dtype, k and metric are checked
    before any task runs. Chunks: rows as they are, columns merged (rechunk({1: -1})).

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> d, i = dask.compute(*ldd.knn(dX, 3), scheduler="sync")
    >>> np.array_equal(i, lowdim.knn(X, 3)[1])
    True
    """
    _config.resolve_threads(n_threads)
    if metric not in _nb.METRICS:
        raise ValueError(f"metric must be one of {_nb.METRICS}, got {metric!r}")
    X = as_rows(X, name="X")
    dtype = float_dtype(X.dtype)
    if Y is None:
        exclude_self, m = True, X.shape[0]
    else:
        Y = as_rows(Y, name="Y")
        float_dtype(Y.dtype, name="Y")
        if Y.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} columns but Y has {Y.shape[1]}")
        exclude_self, m = False, Y.shape[0]
    limit = m - 1 if exclude_self else m
    k = check_int(k, name="k", low=1)
    if k > limit:
        raise ValueError(f"k must be <= {limit} (number of "
                         f"{'other points' if exclude_self else 'rows of Y'}), got {k}")
    kind = "sqeuclidean" if metric in ("euclidean", "sqeuclidean") else "inner_product"
    xs = mappable(X).map_blocks(_checked_block, "X", dtype, metric, dtype=dtype).to_delayed()[:, 0]
    if exclude_self or Y is None:
        ys, base_chunks = xs, X.chunks[0]
    else:
        ys = mappable(Y).map_blocks(_checked_block, "Y", dtype, metric,
                                    dtype=dtype).to_delayed()[:, 0]
        base_chunks = Y.chunks[0]
    starts = offsets(base_chunks)
    pair = delayed(_pair_topk, pure=True)
    dists, idxs = [], []
    for i, (xi, ni) in enumerate(zip(xs, X.chunks[0])):
        parts = [pair(xi, yj, k, kind, int(starts[j]), exclude_self and i == j, n_threads)
                 for j, yj in enumerate(ys)]
        best = delayed(_finish, pure=True)(_tree(parts, k), metric)
        dists.append(da.from_delayed(delayed(_pick)(best, 0), (ni, k), dtype=dtype))
        idxs.append(da.from_delayed(delayed(_pick)(best, 1), (ni, k), dtype=np.int64))
    return da.concatenate(dists), da.concatenate(idxs)


_search = knn     # lid's `knn=` argument shadows the function inside lid


def _duplicates_error(n_zero: Any) -> Any:
    return ValueError(f"{n_zero} points have a duplicate (zero distance to a neighbour); "
                      "lowdim.dask does not merge duplicates: remove them first (e.g. "
                      "lowdim.remove_duplicates on each shard and across shards)")


def _lid_block(dist: Any, k: Any, kfac: Any) -> Any:
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        raise _duplicates_error(zero)
    return _id.mle_from_distances(dist[:, :k], kfac)


def _check_duplicates(duplicates: Any) -> Any:
    if duplicates != "raise":
        raise ValueError(f"duplicates must be one of ('raise',) in lowdim.dask (merging "
                         f"duplicates needs a global deduplication), got {duplicates!r}")


def lid(X: da.Array | npt.ArrayLike | None, k: int = 20, *, estimator: str = "mle",
        knn: tuple[Any, Any] | None = None, duplicates: str = "raise",
        n_threads: int = 1) -> da.Array:
    """Local intrinsic dimension of every point (lowdim.lid) from a Dask kNN, lazily.

    Parameters
    ----------
    X : dask.array.Array (n, d), or None when `knn` is given
    k : int >= 2; estimator : {'mle', 'levina_bickel'}
    knn : (distances, indices) of shape (n, >= k), optional (Euclidean): dask arrays, or
        in memory (checked as lowdim.lid checks them, before any task runs)
    duplicates : 'raise' (the only policy here: a point with a zero-distance neighbour
        raises ValueError when its block is computed)

    Returns
    -------
    dask.array.Array (n,) float64: the in-memory estimates for the same kNN, bitwise.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> est = ldd.lid(dX, 10).compute(scheduler="sync")
    >>> est.shape, np.allclose(est, lowdim.lid(X, 10))
    ((300,), True)
    """
    _id._check_choice(estimator, "estimator", _id.ESTIMATORS)
    _check_duplicates(duplicates)
    k = check_int(k, name="k", low=2)
    dist: Any
    if knn is None:
        dist = _search(as_rows(X), k, n_threads=n_threads)[0]
    elif not isinstance(knn, (tuple, list)) or len(knn) != 2:
        raise TypeError("knn must be a (distances, indices) pair")
    elif isinstance(knn[0], da.Array):
        dist = knn[0]
        if dist.ndim != 2 or dist.shape[1] < k:
            raise ValueError(f"knn has {dist.shape[1] if dist.ndim == 2 else 0} neighbours "
                             f"per point, k={k} needs more")
        dist = dist.rechunk({1: -1})
    else:       # in memory: every check of lowdim.lid(knn=...) now, on the client
        dist = da.from_array(_id._check_knn_arrays(knn, k)[0])
    kfac = k if estimator == "mle" else k - 1
    result: da.Array = dist.map_blocks(_lid_block, k, kfac, dtype=np.float64, drop_axis=1)
    return result


def _ratio_block(dist: Any) -> Any:
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        raise _duplicates_error(zero)
    d64 = dist.astype(np.float64)
    return d64[:, 1] / d64[:, 0]


def twonn(X: da.Array | npt.ArrayLike, *, discard_fraction: float = 0.1, method: str = "linear",
          duplicates: str = "raise", n_threads: int = 1, return_xy: bool = False) -> Any:
    """TwoNN dimension (lowdim.twonn) of a dask array; returns a float (computes).

    The two neighbour distances come from the Dask kNN; the n ratios r2/r1 (8 bytes per
    point) are gathered to the client, sorted and fitted by the in-memory code, so the
    estimate equals lowdim.twonn for the same kNN. duplicates: 'raise' only.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> ldd.twonn(dX) == lowdim.twonn(X)
    True
    """
    discard_fraction = _id._check_discard(discard_fraction)
    _id._check_choice(method, "method", ("linear", "mle"))
    _check_duplicates(duplicates)
    X = as_rows(X)
    if X.shape[0] < 3:
        raise ValueError(f"TwoNN needs at least 3 points, got {X.shape[0]}")
    dist = knn(X, 2, n_threads=n_threads)[0]
    mu = mappable(dist).map_blocks(_ratio_block, dtype=np.float64, drop_axis=1).compute()
    result = _id.twonn_from_ratios(mu, discard_fraction=discard_fraction, method=method)
    return result if return_xy else result[0]


def intrinsic_dim(X: da.Array | npt.ArrayLike, method: str = "twonn", *, k: int = 20,
                  discard_fraction: float = 0.1, duplicates: str = "raise",
                  n_threads: int = 1) -> float:
    """Global intrinsic dimension (lowdim.intrinsic_dim) of a dask array; returns a float.

    'mle' gathers the n local Levina–Bickel estimates (8 bytes per point) and averages them
    on the client as the in-memory code does, so both give the same float.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> ldd.intrinsic_dim(dX, "mle", k=10) == lowdim.intrinsic_dim(X, "mle", k=10)
    True
    """
    _id._check_choice(method, "method", ("twonn", "mle"))
    if method == "twonn":
        result: float = twonn(X, discard_fraction=discard_fraction, duplicates=duplicates,
                              n_threads=n_threads)
        return result
    local = lid(X, k, estimator="levina_bickel", duplicates=duplicates,
                n_threads=n_threads).compute()
    return float(1.0 / np.mean(1.0 / local))


def _energies(points: Any, samples: Any, alpha: Any, n_threads: Any) -> Any:
    """E_α of each subsample (rows of `points` given by each row of `samples`)."""
    arr = _points(points)
    return _config.kernels().mst_length_batch(np.ascontiguousarray(arr[samples]), alpha,
                                              n_threads)


def _finite_flag(block: Any) -> Any:
    return np.array([bool(np.isfinite(block).all())])


def ph_dimension(X: da.Array | npt.ArrayLike, *, alpha: float = 1.0, n_min: int | None = None,
                 n_max: int | None = None, n_steps: int = 10, n_reruns: int = 5, seed: int = 0,
                 return_points: bool = False, check_finite: bool = True,
                 n_threads: int = 1) -> Any:
    """PH0 dimension (lowdim.ph_dimension) of a dask array, subsamples drawn on the workers.

    Every subsample is the row set lowdim.ph_dimension draws for the same seed (the k
    smallest counter-based keys, selected range by range on the workers); the rows are
    gathered once on a worker and the MST energies of each size computed there, so the
    result equals the in-memory one. check_finite=True reads all of X once to raise the
    in-memory "X contains NaN or infinity" for any row; False checks the sampled rows only.
    Parameters and Returns as lowdim.ph_dimension.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> ldd.ph_dimension(dX, n_reruns=2) == lowdim.ph_dimension(X, n_reruns=2)
    True
    """
    alpha = check_positive(alpha, name="alpha")
    X = as_rows(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 points for a spanning tree, got shape {X.shape}")
    n_max, n_min, n_steps, n_reruns, seed = ph_schedule(n, n_max, n_min, n_steps, n_reruns, seed)
    sizes = _subsample_sizes(n_min, n_max, n_steps)
    samples = [[seeded_sample(seed, _rng.STREAM_PH_SUBSAMPLE + (int(s) << 12) + r, n, int(s))
                for r in range(n_reruns)] for s in sizes]
    todo = [samples]
    if check_finite:
        todo.append(mappable(X).map_blocks(_finite_flag, dtype=bool,
                                           chunks=((1,) * X.numblocks[0],),
                                           drop_axis=1).all())
    got = compute(*todo)
    samples = got[0]
    if check_finite and not got[1]:
        raise ValueError("X contains NaN or infinity")
    rows = np.unique(np.concatenate([r for per in samples for r in per]))
    points = X[rows].rechunk({0: -1}).to_delayed()[0, 0]
    jobs = [delayed(_energies, pure=True)(
        points, np.searchsorted(rows, np.stack(per)), alpha, n_threads) for per in samples]
    energies = np.stack(compute(*jobs))
    mean_energy = energies.mean(axis=1)
    if not np.all(mean_energy > 0):
        raise ValueError("ph_dimension needs distinct points: some subsamples have an MST of "
                         "length 0 (all their points coincide)")
    slope = np.polyfit(np.log(sizes), np.log(mean_energy), 1)[0]
    dim = float(alpha / (1.0 - slope)) if slope < 1.0 else float("inf")
    return (dim, sizes, energies) if return_points else dim
