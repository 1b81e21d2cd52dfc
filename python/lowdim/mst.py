"""Exact Euclidean minimum spanning tree, its α-weighted length and PH0 dimension.

mst: Prim's algorithm on the implicit complete graph (O(n²·d) time, O(n) extra memory,
never an n × n matrix); E_α = Σ_e |e|^α and its gradient (the T-REGS regulariser);
ph_dimension: E_α(n) ~ n^((m−α)/m) for n points on an m-dimensional set (Steele 1988),
so m = α / (1 − slope) of log E_α vs log n (Schweinhart 2020; Birdal et al. 2021).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._validate import as_float_array, check_int, check_memory, check_positive

# Squared distances must stay finite: float32 partial sums over 64 dims of (2·1e18)²
# stay below 3.4e38; float64 squares of differences below ~1e308.
_F32_SAFE, _F64_SAFE = 1e18, 1e150


def _working_bytes(shape: tuple[int, ...], itemsize: int) -> float:
    # Input copy + the compacted copy (padded to 8 points) + best/parent/index + output.
    *outer, n, d = shape
    return float(np.prod(outer, dtype=np.float64)) * n * d * itemsize + (n + 8) * (
        d * itemsize + 80.0)


def _points(X: npt.ArrayLike, *, name: str = "X", ndim: int = 2) -> np.ndarray:
    if isinstance(X, np.ndarray) and X.ndim == ndim:     # refuse before any copy is made
        check_memory(_working_bytes(X.shape, max(4, X.dtype.itemsize)),
                     what=f"an MST of {name} with shape {X.shape}")
    arr = as_float_array(X, name=name, ndim=ndim)
    if arr.shape[-2] < 2:
        raise ValueError(f"{name} needs at least 2 points for a spanning tree, got "
                         f"shape {arr.shape}")
    top = float(np.abs(arr).max())
    if arr.dtype == np.float32 and top > _F32_SAFE:
        arr = arr.astype(np.float64)      # squares would overflow float32 partial sums
    if top > _F64_SAFE:
        raise ValueError(f"{name} has coordinates up to {top:.3g}; squared distances would "
                         f"overflow: rescale it below {_F64_SAFE:.0e}")
    return arr


def mst(X: npt.ArrayLike, *, n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean minimum spanning tree of the rows of X.

    Duplicate points are joined by zero-length edges, which are kept (scipy's
    minimum_spanning_tree drops them), so there are always n − 1 edges.

    Parameters
    ----------
    X : array of shape (n, d), n >= 2, finite
    n_threads : int, optional

    Returns
    -------
    edges : int64 array of shape (n − 1, 2), each row (i, j) with i < j
    lengths : float64 array of shape (n − 1,), Euclidean edge lengths
        Sorted by (length, i, j). Prim's algorithm is used for every d (O(n²·d) time,
        O(n) extra memory). Distances are computed from direct differences
        (float32 input: float32 differences, float64 sums), so they carry no
        cancellation error; equal-length ties go to the lowest point index.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> edges, lengths = lowdim.mst(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]]))
    >>> edges.tolist(), lengths.tolist()
    ([[0, 1], [1, 2]], [1.0, 2.0])
    """
    arr = _points(X)
    result: tuple[np.ndarray, np.ndarray] = _config.kernels().mst(
        arr, _config.resolve_threads(n_threads))
    return result


def mst_length(X: npt.ArrayLike, *, alpha: float = 1.0, return_grad: bool = False,
               n_threads: int | None = None) -> float | tuple[float, np.ndarray]:
    """E_α = Σ over MST edges of |e|^α, optionally with its gradient w.r.t. every point.

    The gradient treats the tree as fixed (E_α is piecewise smooth; the tree changes only
    on a measure-zero set): ∂E/∂x_i = Σ_{edges (i, j)} α |x_i − x_j|^(α−2) (x_i − x_j).
    Zero-length edges (duplicates) contribute 0 (for α ≤ 1 the derivative does not
    exist there; 0 is the subgradient closest to the origin). Maximising E_α is the
    T-REGS regulariser; see docs for a PyTorch autograd wrapper.

    Parameters
    ----------
    X : array of shape (n, d), n >= 2
    alpha : float > 0, default 1.0
    return_grad : bool, default False
    n_threads : int, optional

    Returns
    -------
    length : float
    grad : array of shape (n, d), dtype of X (float32 or float64); only if return_grad

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> lowdim.mst_length(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]]))
    3.0
    """
    alpha = check_positive(alpha, name="alpha")
    arr = _points(X)
    edges, lengths = _config.kernels().mst(arr, _config.resolve_threads(n_threads))
    with np.errstate(over="ignore"):
        total = float(np.sum(lengths if alpha == 1.0 else lengths ** alpha))
    _check_power_sum(total, alpha)
    if not return_grad:
        return total
    diff = arr[edges[:, 0]].astype(np.float64) - arr[edges[:, 1]]
    scale = np.zeros_like(lengths)
    pos = lengths > 0
    scale[pos] = alpha * lengths[pos] ** (alpha - 2.0)
    g = diff * scale[:, None]
    grad = np.zeros(arr.shape, dtype=np.float64)
    np.add.at(grad, edges[:, 0], g)
    np.add.at(grad, edges[:, 1], -g)
    return total, grad.astype(arr.dtype, copy=False)


def mst_length_batch(batch: npt.ArrayLike, *, alpha: float = 1.0,
                     n_threads: int | None = None) -> np.ndarray:
    """E_α of many small point clouds in one call (threads across clouds).

    Parameters
    ----------
    batch : array of shape (B, n, d), n >= 2
    alpha : float > 0, default 1.0
    n_threads : int, optional

    Returns
    -------
    float64 array of shape (B,): Σ |e|^α over the MST of each cloud.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> clouds = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]],
    ...                    [[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]]])
    >>> lowdim.mst_length_batch(clouds)
    array([3., 5.])
    """
    alpha = check_positive(alpha, name="alpha")
    arr = _points(batch, name="batch", ndim=3)
    with np.errstate(over="ignore"):       # an overflow is refused just below
        out: np.ndarray = _config.kernels().mst_length_batch(
            arr, alpha, _config.resolve_threads(n_threads))
    _check_power_sum(out, alpha)
    return out


def _check_power_sum(values: npt.ArrayLike, alpha: float) -> None:
    """Σ |e|^α of finite edges is finite unless it overflows: refuse it (as mst_length)."""
    if not np.isfinite(values).all():
        raise ValueError(f"the MST length to the power alpha={alpha} overflows float64")


def _subsample_sizes(n_min: int, n_max: int, n_steps: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(n_min, n_max, n_steps)).astype(np.int64))


def ph_schedule(n: int, n_max: int | None, n_min: int | None, n_steps: int, n_reruns: int,
                seed: int) -> tuple[int, int, int, int, int]:
    """ph_dimension's validated subsample schedule (shared with lowdim.dask)."""
    n_max = min(n, 2000) if n_max is None else check_int(n_max, name="n_max", low=3, high=n)
    n_min = max(10, n_max // 10) if n_min is None else check_int(n_min, name="n_min", low=2)
    if n_min >= n_max:
        raise ValueError(f"n_min must be < n_max, got n_min={n_min}, n_max={n_max}")
    n_steps = check_int(n_steps, name="n_steps", low=2)
    n_reruns = check_int(n_reruns, name="n_reruns", low=1, high=4096)
    seed = _rng.check_seed(seed)
    return n_max, n_min, n_steps, n_reruns, seed


def ph_dimension(X: npt.ArrayLike, *, alpha: float = 1.0, n_min: int | None = None,
                 n_max: int | None = None, n_steps: int = 10, n_reruns: int = 5, seed: int = 0,
                 return_points: bool = False, n_threads: int | None = None
                 ) -> float | tuple[float, np.ndarray, np.ndarray]:
    """PH0 (minimum-spanning-tree) intrinsic dimension of the rows of X.

    For k points drawn from an m-dimensional set, E_α(k) ∝ k^((m − α)/m); the slope s
    of log E_α against log k over random subsamples gives m = α / (1 − s).

    Parameters
    ----------
    X : array of shape (n, d)
    alpha : float > 0, default 1.0 (must be below the dimension to be measured)
    n_min, n_max : int, optional
        Smallest and largest subsample size; default n_max = min(n, 2000),
        n_min = max(10, n_max // 10).
    n_steps : int, default 10
        Number of log-spaced sizes (duplicates after rounding are merged).
    n_reruns : int, default 5
        Random subsamples per size; E_α is averaged over them.
    seed : int, default 0
        Subsample k, rerun r uses the counter-based stream (seed, STREAM_PH_SUBSAMPLE +
        k·2^12 + r), so a subsample does not depend on n_steps.
    return_points : bool, default False
    n_threads : int, optional

    Notes
    -----
    Finite-sample bias: the boundary correction to E_α decays like k^(−1/m), so sets with
    a boundary are underestimated in high dimension (cube [0,1]^10 with 4000 points:
    about −15%); closed manifolds (spheres) are within 10% up to m = 10 (tests/test_mst.py).

    Returns
    -------
    dim : float (inf when the slope is >= 1)
    sizes : int64 array (k,), energies : float64 array (k, n_reruns); only if return_points

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> P = np.random.default_rng(0).uniform(size=(400, 2))
    >>> round(lowdim.ph_dimension(P, seed=0), 1)
    1.9
    """
    alpha = check_positive(alpha, name="alpha")
    arr = _points(X)
    n = arr.shape[0]
    n_max, n_min, n_steps, n_reruns, seed = ph_schedule(n, n_max, n_min, n_steps, n_reruns, seed)
    threads = _config.resolve_threads(n_threads)
    sizes = _subsample_sizes(n_min, n_max, n_steps)
    energies = np.empty((sizes.size, n_reruns))
    for row, k in enumerate(sizes):
        idx = np.stack([_rng.sample_without_replacement(
            seed, _rng.STREAM_PH_SUBSAMPLE + (int(k) << 12) + r, n, int(k))
            for r in range(n_reruns)])
        with np.errstate(over="ignore"):   # an overflow is refused after the loop
            energies[row] = _config.kernels().mst_length_batch(arr[idx], alpha, threads)
    _check_power_sum(energies, alpha)
    mean_energy = energies.mean(axis=1)
    if not np.all(mean_energy > 0):
        raise ValueError("ph_dimension needs distinct points: some subsamples have an MST of "
                         "length 0 (all their points coincide)")
    slope = np.polyfit(np.log(sizes), np.log(mean_energy), 1)[0]
    dim = float(alpha / (1.0 - slope)) if slope < 1.0 else float("inf")
    return (dim, sizes, energies) if return_points else dim
