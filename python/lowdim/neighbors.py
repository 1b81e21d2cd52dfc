"""Exact k-nearest neighbours and duplicate removal.

knn: blocked distance tiles ‖x‖² + ‖y‖² − 2·x·y (SIMD micro-kernel, threads over query
blocks), per-query best k + 8 candidates, then exact recomputation by direct differences,
so distances are accurate and O(n·k) memory suffices. Ties go to the lower index.
"""
from __future__ import annotations

import numpy as np

from . import _config
from ._validate import as_float_array, check_int

METRICS = ("euclidean", "sqeuclidean", "cosine", "inner_product")


def _checked_norms(arr: np.ndarray, name: str) -> np.ndarray:
    """Squared row norms; refuse values whose squares overflow (keys would be inf − inf)."""
    with np.errstate(over="ignore"):
        sq = np.einsum("ij,ij->i", arr, arr)
    if not np.isfinite(sq).all():
        raise ValueError(f"{name} has values too large: squared norms overflow {arr.dtype}")
    return sq


def knn(X, k, *, Y=None, metric="euclidean", n_threads=None):
    """Exact k nearest neighbours of every row of X among the rows of Y (or of X).

    Parameters
    ----------
    X : array of shape (n, d), float32 or float64 (ints and float16 are promoted)
        Queries.
    k : int
        Neighbours per query; k <= n - 1 when Y is None (self excluded), else k <= m.
    Y : array of shape (m, d), optional
        Database. None searches X among itself and excludes each point itself (but not
        its duplicates, which come back at distance 0).
    metric : {'euclidean', 'sqeuclidean', 'cosine', 'inner_product'}
        'cosine' returns 1 − cos (rows must be nonzero); 'inner_product' returns the k
        largest inner products, largest first.
    n_threads : int, optional

    Returns
    -------
    distances : ndarray of shape (n, k), dtype of X (float32 or float64)
        Sorted best first.
    indices : ndarray of shape (n, k), int64
        Row numbers in Y (or X). Equal distances are ordered by lower index; distances
        equal to within rounding (~1e-7 relative in float32) may come in either order.
    """
    n_threads = _config.resolve_threads(n_threads)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    x = as_float_array(X, name="X")
    if Y is None:
        y, exclude_self = x, True
    else:
        y = as_float_array(Y, name="Y", dtype=x.dtype)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"X has {x.shape[1]} columns but Y has {y.shape[1]}")
        exclude_self = False
    m = y.shape[0]
    limit = m - 1 if exclude_self else m
    k = check_int(k, name="k", low=1)
    if k > limit:
        raise ValueError(f"k must be <= {limit} (number of {'other points' if exclude_self else 'rows of Y'}), got {k}")
    if metric == "cosine":
        x = _unit_rows(x, "X")
        y = x if exclude_self else _unit_rows(y, "Y")
    else:
        _checked_norms(x, "X")
        if not exclude_self:
            _checked_norms(y, "Y")
    kind = "sqeuclidean" if metric in ("euclidean", "sqeuclidean") else "inner_product"
    dist, idx = _config.kernels().knn(x, y, k, kind, exclude_self, n_threads)
    if metric == "euclidean":
        np.sqrt(dist, out=dist)
    elif metric == "cosine":
        dist = np.maximum(1 - dist, 0, dtype=dist.dtype)
    return dist, idx


def _unit_rows(arr: np.ndarray, name: str) -> np.ndarray:
    norms = np.sqrt(_checked_norms(arr, name))
    if (norms == 0).any():
        raise ValueError(f"{name} has {int((norms == 0).sum())} all-zero rows; "
                         "cosine distance is undefined for them")
    return (arr / norms[:, None]).astype(arr.dtype, copy=False)


def remove_duplicates(X, *, return_index=False, return_inverse=False):
    """Rows of X with exact duplicates removed, first occurrences in original order.

    Parameters
    ----------
    X : array of shape (n, d)
    return_index : bool
        Also return `index` (n_unique,): X[index] is the result.
    return_inverse : bool
        Also return `inverse` (n,): result[inverse] reconstructs X.

    Returns
    -------
    unique : ndarray of shape (n_unique, d)
    index, inverse : ndarrays of int64, when asked for.
    """
    x = as_float_array(X, name="X")
    # +0.0 and -0.0 are the same point; view rows as opaque bytes for a fast unique.
    x = x + 0.0
    rows = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1])))
    _, first, inverse = np.unique(rows.ravel(), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")      # keep first occurrences in input order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    index = first[order].astype(np.int64)
    out = [x[index]]
    if return_index:
        out.append(index)
    if return_inverse:
        out.append(rank[inverse.ravel()].astype(np.int64))
    return out[0] if len(out) == 1 else tuple(out)
