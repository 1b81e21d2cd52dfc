"""Exact k-nearest neighbours and duplicate removal.

knn: blocked distance tiles ‖x‖² + ‖y‖² − 2·x·y (SIMD micro-kernel, threads over query
blocks), per-query best k + 8 candidates, then exact recomputation by direct differences,
so distances are accurate and O(n·k) memory suffices. Ties go to the lower index.
Data whose norms would overflow the expansion (or underflow to nothing) is scaled by a
power of two first, which is exact, and the distances scaled back.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _config
from ._validate import as_float_array, check_int, neighbor_count

METRICS = ("euclidean", "sqeuclidean", "cosine", "inner_product")
METHODS = ("float", "int8")


def _checked_norms(arr: np.ndarray, name: str) -> np.ndarray:
    """Squared row norms; refuse values whose squares overflow (keys would be inf − inf)."""
    with np.errstate(over="ignore"):
        sq: np.ndarray = np.einsum("ij,ij->i", arr, arr)
    if not np.isfinite(sq).all():
        raise ValueError(f"{name} has values too large: squared norms overflow {arr.dtype}")
    return sq


def _pow2_exponent(x: np.ndarray, y: np.ndarray) -> int:
    """t with x·2⁻ᵗ, y·2⁻ᵗ safe for the tile expansion, 0 (no copy) for ordinary data.

    Safe: every norm² ≤ max/16, so ‖x‖² + ‖y‖² + 2|x·y| ≤ 4·max‖·‖² stays finite; and the
    largest norm² above 2^(minexp/2), so squares do not underflow to zero.
    """
    info = np.finfo(x.dtype)
    both = (x,) if y is x else (x, y)
    with np.errstate(over="ignore"):
        top = max(float(np.einsum("ij,ij->i", a, a).max()) for a in both)
    if 2.0 ** (info.minexp // 2) <= top <= float(info.max) / 16:
        return 0
    big = max(float(np.abs(a).max()) for a in both)
    if big == 0:
        return 0
    # ‖row‖ ≤ big·√d; aim for ‖row‖ ≤ 2^target with target = (maxexp − 4) / 2.
    target = (info.maxexp - 4) // 2
    return int(np.frexp(big)[1]) + int(np.ceil(np.log2(x.shape[1]) / 2)) - target


def knn(X: npt.ArrayLike, k: int | None = None, *, Y: npt.ArrayLike | None = None,
        metric: str = "euclidean", n_threads: int | None = None,
        n_neighbors: int | None = None, method: str = "float") -> tuple[np.ndarray, np.ndarray]:
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
    n_neighbors : int, optional
        Alias of k (scikit-learn's name).
    method : {'float', 'int8'}
        'float': candidates from tiles in X's dtype. 'int8' (float32 X only): a candidate
        pass on a per-row int8 copy whose proven error bound discards pairs that cannot
        be candidates; the rest get the float path's keys. The output is the 'float'
        output bit for bit (distances, indices, tie order); the speed depends on how
        well the bound separates neighbours (bench/RESULTS.md, issue 17).

    Returns
    -------
    distances : ndarray of shape (n, k), dtype of X (float32 or float64)
        Sorted best first.
    indices : ndarray of shape (n, k), int64
        Row numbers in Y (or X). Equal distances are ordered by lower index; distances
        equal to within rounding (~1e-7 relative in float32) may come in either order.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    >>> distances, indices = lowdim.knn(X, 1)
    >>> distances.ravel().tolist(), indices.ravel().tolist()
    ([1.0, 1.0, 2.0], [1, 0, 1])
    >>> d8, i8 = lowdim.knn(X.astype(np.float32), 1, method="int8")
    >>> d8.ravel().tolist(), i8.ravel().tolist()
    ([1.0, 1.0, 2.0], [1, 0, 1])
    """
    n_threads = _config.resolve_threads(n_threads)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = as_float_array(X, name="X")
    if method == "int8" and x.dtype != np.float32:
        raise ValueError(f"method='int8' needs float32 X, got {x.dtype}")
    if Y is None:
        y, exclude_self = x, True
    else:
        y = as_float_array(Y, name="Y", dtype=x.dtype)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"X has {x.shape[1]} columns but Y has {y.shape[1]}")
        exclude_self = False
    m = y.shape[0]
    limit = m - 1 if exclude_self else m
    k = check_int(neighbor_count(k, n_neighbors), name="k", low=1)
    if k > limit:
        raise ValueError(f"k must be <= {limit} (number of {'other points' if exclude_self else 'rows of Y'}), got {k}")
    if metric == "cosine":
        x = _unit_rows(x, "X")
        y = x if exclude_self else _unit_rows(y, "Y")
    t = 0
    if metric == "inner_product":     # x·y itself may overflow: refuse what could
        _checked_norms(x, "X")
        if not exclude_self:
            _checked_norms(y, "Y")
    elif metric != "cosine":
        t = _pow2_exponent(x, y)
        if t:
            x = np.ldexp(x, -t).astype(x.dtype, copy=False)
            y = x if exclude_self else np.ldexp(y, -t).astype(x.dtype, copy=False)
    kind = "sqeuclidean" if metric in ("euclidean", "sqeuclidean") else "inner_product"
    if method == "int8":
        dist, idx, _ = _config.kernels().knn_int8(x, y, k, kind, exclude_self, n_threads)
    else:
        dist, idx = _config.kernels().knn(x, y, k, kind, exclude_self, n_threads)
    if metric == "euclidean":
        np.sqrt(dist, out=dist)
    if t and metric in ("euclidean", "sqeuclidean"):
        with np.errstate(over="ignore"):   # a squared distance beyond the dtype is inf
            dist = np.ldexp(dist, t if metric == "euclidean" else 2 * t).astype(x.dtype)
    elif metric == "cosine":
        dist = np.maximum(1 - dist, 0, dtype=dist.dtype)
    return dist, idx


def _unit_rows(arr: np.ndarray, name: str) -> np.ndarray:
    # Each row scaled by a power of two near its largest entry first: exact, and the
    # norm² can then neither overflow nor underflow.
    big = np.abs(arr).max(axis=1)
    arr = np.ldexp(arr, -np.frexp(big)[1][:, None]).astype(arr.dtype, copy=False)
    norms = np.sqrt(_checked_norms(arr, name))
    if (norms == 0).any():
        raise ValueError(f"{name} has {int((norms == 0).sum())} all-zero rows; "
                         "cosine distance is undefined for them")
    unit: np.ndarray = (arr / norms[:, None]).astype(arr.dtype, copy=False)
    return unit


def remove_duplicates(X: npt.ArrayLike, *, return_index: bool = False,
                      return_inverse: bool = False) -> np.ndarray | tuple[np.ndarray, ...]:
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

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.remove_duplicates(np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]]))
    array([[1., 2.],
           [0., 0.]])
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
    out: list[np.ndarray] = [x[index]]
    if return_index:
        out.append(index)
    if return_inverse:
        out.append(rank[inverse.ravel()].astype(np.int64))
    return out[0] if len(out) == 1 else tuple(out)
