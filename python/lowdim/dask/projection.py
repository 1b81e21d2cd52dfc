"""Random projections of row-chunked dask arrays; each block regenerates its matrix.

The graph holds parameters only (n_components, density, seed): every task calls the
in-memory function (lowdim.random_projection / lowdim.hadamard) on its block, whose
entries are pure functions of (seed, row, column) of lowdim's counter-based generator, so
the pickled graph does not grow with d·k and no matrix crosses the network.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np
import numpy.typing as npt
import dask.array as da

from .. import hadamard as _hd
from .. import random_projection as _rp
from .._rng import check_seed
from .._validate import check_fraction, check_int
from ._common import as_rows, float_dtype, mappable

_ROWS_NOTE = """
    Notes
    -----
    X is row-chunked (any row chunking); a chunking that splits columns is merged to whole
    rows first (X.rechunk({1: -1})), since every output needs whole input rows. numpy input
    is wrapped into ~128 MiB row blocks.
"""


_F = TypeVar("_F", bound=Callable[..., Any])


def _rows_note(fn: _F) -> _F:
    """Append the Notes section, before Examples (numpydoc's order)."""
    doc = (fn.__doc__ or "").rstrip()
    head, examples, tail = doc.partition("\n    Examples\n")
    fn.__doc__ = (head.rstrip() + "\n" + _ROWS_NOTE + examples + tail if examples
                  else doc + "\n" + _ROWS_NOTE)
    return fn


def _project(X: Any, k: int, fn: Callable[..., np.ndarray], **params: Any) -> da.Array:
    # X: a dask array; Any, because dask's annotation of Array.map_blocks takes no function
    result: da.Array = X.map_blocks(fn, k=k, **params, dtype=float_dtype(X.dtype),
                                    chunks=(X.chunks[0], (k,)),
                                    meta=np.empty((0, 0), float_dtype(X.dtype)))
    return result


def _sparse_block(block: np.ndarray, k: int, density: Any, seed: int, n_threads: int
                  ) -> np.ndarray:
    return _rp.sparse_random_projection(block, k, density=density, seed=seed,
                                        n_threads=n_threads)


def _gaussian_block(block: np.ndarray, k: int, seed: int) -> np.ndarray:
    return _rp.gaussian_random_projection(block, k, seed=seed)


def _srht_block(block: np.ndarray, k: int, seed: int, n_threads: int) -> np.ndarray:
    return _hd.srht(block, k, seed=seed, n_threads=n_threads)


def _fjlt_block(block: np.ndarray, k: int, density: float | None, seed: int, n_threads: int
                ) -> np.ndarray:
    return _hd.fjlt(block, k, density=density, seed=seed, n_threads=n_threads)


@_rows_note
def sparse_random_projection(X: da.Array | npt.ArrayLike, n_components: int, *,
                             density: float | str = "auto", seed: int = 0,
                             n_threads: int = 1) -> da.Array:
    """lowdim.sparse_random_projection of every row block of a dask array, lazily.

    Parameters
    ----------
    X : dask.array.Array (n, d), float16/32/64 or int (or a numpy array)
    n_components, density, seed : as lowdim.sparse_random_projection
    n_threads : int, default 1
        Kernel threads per task; Dask runs tasks in parallel, so 1 thread per task and one
        Dask thread per core is the usual setup.

    Returns
    -------
    dask.array.Array (n, n_components), float32 for float16/32 input else float64, with
    X's row chunks; bitwise equal to the in-memory call on the whole array.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> Y = ldd.sparse_random_projection(dX, 4, seed=0)
    >>> np.array_equal(Y.compute(scheduler="sync"), lowdim.sparse_random_projection(X, 4, seed=0))
    True
    """
    X = as_rows(X)
    k = check_int(n_components, name="n_components", low=1, high=_rp._MAX_COMPONENTS)
    rho = _rp.check_density(density, X.shape[1])
    return _project(X, k, _sparse_block, density=rho, seed=check_seed(seed),
                    n_threads=n_threads)


@_rows_note
def gaussian_random_projection(X: da.Array | npt.ArrayLike, n_components: int, *,
                               seed: int = 0) -> da.Array:
    """lowdim.gaussian_random_projection of every row block, lazily.

    Returns
    -------
    dask.array.Array (n, n_components). The product runs in numpy's BLAS, whose sums can
    depend on the number of rows and threads in a call (OpenBLAS picks kernels and splits by
    shape), so the result equals the in-memory call to rounding (float32: ~1e-6 relative),
    not bitwise; the matrix itself is bitwise the same.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> Y = ldd.gaussian_random_projection(dX, 4, seed=0).compute(scheduler="sync")
    >>> np.allclose(Y, lowdim.gaussian_random_projection(X, 4, seed=0), rtol=1e-5, atol=1e-6)
    True
    """
    X = as_rows(X)
    k = check_int(n_components, name="n_components", low=1, high=_rp._MAX_COMPONENTS)
    return _project(X, k, _gaussian_block, seed=check_seed(seed))


def _hadamard_k(X: da.Array, n_components: int) -> tuple[int, int]:
    n = _hd._padded_length(X.shape[1])
    return check_int(n_components, name="n_components", low=1, high=n), n


@_rows_note
def srht(X: da.Array | npt.ArrayLike, n_components: int, *, seed: int = 0,
         n_threads: int = 1) -> da.Array:
    """lowdim.srht of every row block (2-D X only), lazily; bitwise equal to the in-memory call.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> Y = ldd.srht(dX, 4, seed=0)
    >>> np.array_equal(Y.compute(scheduler="sync"), lowdim.srht(X, 4, seed=0))
    True
    """
    X = as_rows(X)
    k, _ = _hadamard_k(X, n_components)
    return _project(X, k, _srht_block, seed=check_seed(seed), n_threads=n_threads)


@_rows_note
def fjlt(X: da.Array | npt.ArrayLike, n_components: int, *, density: float | None = None,
         seed: int = 0, n_threads: int = 1) -> da.Array:
    """lowdim.fjlt of every row block (2-D X only), lazily; bitwise equal to the in-memory call.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> Y = ldd.fjlt(dX, 4, seed=0)
    >>> np.array_equal(Y.compute(scheduler="sync"), lowdim.fjlt(X, 4, seed=0))
    True
    """
    X = as_rows(X)
    k, n = _hadamard_k(X, n_components)
    q = _hd.default_fjlt_density(n) if density is None else check_fraction(density,
                                                                           name="density")
    return _project(X, k, _fjlt_block, density=q, seed=check_seed(seed), n_threads=n_threads)


_ESTIMATORS = (_rp.SparseRandomProjection, _rp.GaussianRandomProjection, _hd.SRHT,
               _hd.FastJLT)


def _transform_block(block: np.ndarray, estimator: Any) -> np.ndarray:
    return np.asarray(estimator.transform(block))


@_rows_note
def transform(estimator: Any, X: da.Array | npt.ArrayLike) -> da.Array:
    """estimator.transform of every row block, for a fitted lowdim projection estimator.

    Parameters
    ----------
    estimator : fitted SparseRandomProjection, GaussianRandomProjection, SRHT or FastJLT
        Pickled into the graph once: it holds the seed and sizes, never the matrix.
    X : dask.array.Array (n, n_features_in_)

    Returns
    -------
    dask.array.Array (n, n_components_), dense. Errors of the estimator (not fitted, wrong
    number of features, wrong dtype) are raised here, from a one-row probe, before any task
    runs.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, lowdim, lowdim.dask as ldd
    >>> X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    >>> dX = da.from_array(X, chunks=(100, -1))
    >>> est = lowdim.SRHT(4, random_state=0).fit(X)
    >>> np.array_equal(ldd.transform(est, dX).compute(scheduler="sync"), est.transform(X))
    True
    """
    if not isinstance(estimator, _ESTIMATORS):
        raise TypeError(f"estimator must be one of {[c.__name__ for c in _ESTIMATORS]}, got "
                        f"{type(estimator).__name__}")
    rows = mappable(as_rows(X))
    probe = np.asarray(estimator.transform(np.zeros((1, rows.shape[1]), dtype=rows.dtype)))
    result: da.Array = rows.map_blocks(_transform_block, estimator=estimator, dtype=probe.dtype,
                                       chunks=(rows.chunks[0], (probe.shape[1],)),
                                       meta=np.empty((0, 0), probe.dtype))
    return result
