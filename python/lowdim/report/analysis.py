"""The numbers of `lowdim report`: basics, shape (intrinsic dimension, LID, PH0, MST,
effective rank) and compression trade-offs (compression.py) of a matrix.

Every expensive measure runs on a seeded subsample whose size is recorded in the result,
so the default report on 100k × 768 stays within minutes on two cores. RankMe is
exp(entropy of the normalised singular values) (Garrido et al. 2023). A measure that is
undefined for the input (TwoNN on a grid, PQ on too few points, an overflow) is null with
its reason in the section's "undefined" dict; the rest of the report is still computed.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

import lowdim
from lowdim.intrinsic import twonn_from_ratios

from .compression import TARGETS, compression, row_norms
from .io import sample_rows
from .progress import Progress as Progress   # re-exported: cli, stream and tests import it here

# Subsample sizes: (default, --quick).
SIZES = {
    "shape": (10000, 3000),      # TwoNN, MLE, LID, RankMe (O(n²·d) kNN)
    "mst": (3000, 1000),         # MST length and PH0 dimension (O(n²·d) per MST)
    "queries": (200, 100),       # held-out queries for recall@10
    "base": (25000, 5000),       # database the queries search (recall@10 depends on its
                                 # size, its precision on the number of queries)
    "pq_train": (20000, 5000),   # fits every codec; PQ uses PQ_TRAIN of them, OPQ OPQ_TRAIN
}


class Undefined(ValueError):
    """A measure without a finite value for this input."""


# What "undefined for this input" looks like: lowdim's ValueErrors, LinAlgError (a
# ValueError), overflow in numpy (RuntimeWarning turned into an error below).
_UNDEFINED = (ValueError, ArithmeticError, RuntimeWarning)

T = TypeVar("T")
Section = dict[str, Any]     # a JSON-ready section of the report (docs/report.md)


def _all_finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return bool(np.isfinite(value).all())
    return True


def compute(fn: Callable[[], T]) -> tuple[T | None, str | None]:
    """(fn(), None), or (None, reason) when the measure is undefined for this input.

    Numpy's overflow/invalid warnings count as undefined (they are how an inf or NaN is
    born), and so does a non-finite result.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = fn()
        if not _all_finite(value):
            raise Undefined("not finite for this input")
    except _UNDEFINED as exc:
        return None, (str(exc).splitlines() or [type(exc).__name__])[0]
    return value, None


def record(section: Section, key: str, fn: Callable[[], T]) -> T | None:
    """section[key] = fn(), or None with the reason in section["undefined"][key]."""
    value, reason = compute(fn)
    section[key] = value
    if reason is not None:
        section.setdefault("undefined", {})[key] = reason
    return value


def _sub(X: npt.NDArray[Any], n: int, seed: int,
         stream_offset: int = 0) -> npt.NDArray[Any]:
    rows = sample_rows(len(X), n, seed + stream_offset)
    return X if rows is None else X[rows]


def duplicate_rows(X: npt.NDArray[Any]) -> int:
    """Rows equal (bit for bit) to an earlier row.

    A wrapping polynomial hash of (some of) each row's 32-bit words finds candidate groups
    in one vectorised pass; only rows whose hash repeats are compared exactly (np.unique
    on the rows of a 100k × 768 matrix alone takes seconds).
    """
    if len(X) < 2:
        return 0
    words = np.ascontiguousarray(X).view(np.uint32)
    # Hash 64 evenly spread words only: equal rows still collide, and the exact check
    # below removes rows that merely agree on those words.
    words = words[:, np.unique(np.linspace(0, words.shape[1] - 1, 64).astype(np.int64))]
    words = words.astype(np.uint64)
    mult = np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)
    coeff = np.cumprod(np.full(words.shape[1], mult, dtype=np.uint64))   # wraps mod 2^64
    with np.errstate(over="ignore"):
        h = (words * coeff).sum(axis=1)
    _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
    candidates = np.flatnonzero(counts[inverse] > 1)
    if len(candidates) == 0:
        return 0
    distinct = np.unique(X[candidates], axis=0).shape[0]
    return int(len(candidates) - distinct)


def basics(X_raw: npt.NDArray[Any]) -> tuple[Section, npt.NDArray[Any]]:
    """Counts and norms; rows with NaN/inf are reported and dropped."""
    finite = np.isfinite(X_raw).all(axis=1)
    dtype = np.float32 if X_raw.dtype.itemsize <= 4 else np.float64
    # all rows finite (the usual case): no boolean-mask copy of the whole file
    X = np.ascontiguousarray(X_raw if finite.all() else X_raw[finite], dtype=dtype)
    norms = row_norms(X)
    out: Section = {
        "n": int(X_raw.shape[0]), "d": int(X_raw.shape[1]), "dtype": str(X_raw.dtype),
        "nonfinite_rows": int((~finite).sum()),
        "duplicate_rows": duplicate_rows(X),
        "zero_rows": int((norms == 0).sum()),
        "norm": {q: float(np.quantile(norms, p)) for q, p in
                 (("min", 0), ("p5", .05), ("median", .5), ("p95", .95), ("max", 1))}
        if len(X) else {},
    }
    return out, X


def effective_rank(X: npt.NDArray[Any]) -> float:
    """RankMe: exp(H(σ / Σσ)) of the singular values of the centred matrix."""
    return _rank_and_spectrum(X)[0]


# the report's headline ID: the lowest mean relative error on the 24 benchmark manifolds at
# n in the thousands (bench/RESULTS.md, "Calibrated intrinsic dimension")
HEADLINE_ID: dict[str, Any] = {"method": "twonn_mle", "calibrate": "ball+cube"}
SPECTRUM_TOP = 512     # principal components kept in the report's variance spectrum


def _rank_and_spectrum(X: npt.NDArray[Any]) -> tuple[float, Section]:
    """RankMe and the variance share of each principal component (σ² / Σσ², descending,
    the first SPECTRUM_TOP), from one eigendecomposition."""
    X = X.astype(np.float64)
    top = np.abs(X).max()
    X = X / top if top > 0 else X       # scale-free measure: keeps the Gram matrix finite
    Xc = X - X.mean(axis=0)
    gram = Xc.T @ Xc if Xc.shape[0] > Xc.shape[1] else Xc @ Xc.T
    sing = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0, None))
    p = sing / sing.sum() if sing.sum() > 0 else np.ones(1)
    var = np.sort(sing)[::-1] ** 2
    share = var / var.sum() if var.sum() > 0 else var
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum())), {
        "variance_share": share[:SPECTRUM_TOP].tolist(), "components": int(len(share))}


def shape(X: npt.NDArray[Any], quick: bool, seed: int, progress: Progress) -> Section:
    q = int(quick)
    S = _sub(X, SIZES["shape"][q], seed, 1)
    out: Section = {"n_used": int(len(S))}
    k = min(20, len(S) - 1)
    with progress.step(f"kNN (k=20) on {len(S)} points"):
        nn, why_nn = compute(lambda: lowdim.knn(S, k))
    with progress.step("intrinsic dimension (TwoNN, MLE, LID)"):
        # headline: the censored-MLE TwoNN calibrated on uniform balls and cubes, the most
        # accurate calibrated estimate on the benchmark manifolds (docs/intrinsic_dimension.md);
        # the raw least-squares TwoNN beside it reuses the k = 20 neighbours searched above
        pairs, why_id = compute(lambda: _distinct_first_two(S, nn))
        if pairs is None:
            for key in ("twonn", "id_calibrated"):
                out[key] = None
                out.setdefault("undefined", {})[key] = why_id
        else:
            U, d2 = pairs
            record(out, "twonn", lambda: twonn_from_ratios(d2[:, 1] / d2[:, 0])[0])
            # without return_details intrinsic_dim gives a float (its return type is a union)
            record(out, "id_calibrated",
                   lambda: float(cast(float, lowdim.intrinsic_dim(U, **HEADLINE_ID))))
        local, why = (None, f"kNN: {why_nn}") if nn is None else compute(
            lambda: _finite_lid(S, k, nn))
        if local is None:
            for key in ("mle", "lid_quantiles", "lid_histogram"):
                out[key] = None
                out.setdefault("undefined", {})[key] = why
        else:
            record(out, "mle", lambda: float(1.0 / np.mean(1.0 / local)))
            record(out, "lid_quantiles", lambda: {f"p{p}": float(np.quantile(local, p / 100))
                                                  for p in (5, 25, 50, 75, 95)})
            record(out, "lid_histogram", lambda: _histogram(local))
    with progress.step("effective rank (RankMe)"):
        both = record(out, "effective_rank", lambda: _rank_and_spectrum(S))
        out["effective_rank"], out["spectrum"] = both if both else (None, None)
        if both is None:
            out["undefined"]["spectrum"] = out["undefined"]["effective_rank"]
    M = _sub(X, SIZES["mst"][q], seed, 2)
    with progress.step(f"MST and PH0 dimension on {len(M)} points"):
        out["mst_n_used"] = int(len(M))
        # without return_grad mst_length gives a float (its return type is a union)
        record(out, "mst_length", lambda: float(cast(float, lowdim.mst_length(M))))
        if len(M) >= 50:
            fit = record(out, "ph0_fit", lambda: _ph(M, seed))
            out["ph0_dimension"] = None if fit is None else fit.pop("dimension")
            if fit is None:
                out["undefined"]["ph0_dimension"] = out["undefined"].pop("ph0_fit")
        else:
            out["ph0_dimension"] = None
            out.setdefault("undefined", {})["ph0_dimension"] = (
                f"needs at least 50 points, got {len(M)}")
    return out


def _distinct_first_two(S: npt.NDArray[Any],
                        nn: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None,
                        ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """(distinct rows of S, their two nearest distances in float64), as lowdim.twonn and
    intrinsic_dim see them: the k = 20 neighbours searched above, or, when duplicate rows
    (r1 = 0) must be merged first, one k = 2 search of the distinct rows."""
    if nn is not None and nn[0].shape[1] >= 2 and (nn[0][:, 0] > 0).all():
        return S, nn[0][:, :2].astype(np.float64)
    U = cast(np.ndarray, lowdim.remove_duplicates(S))   # one array: no return_index/inverse
    if len(U) < 3:
        raise ValueError(f"TwoNN needs at least 3 distinct points, got {len(U)}")
    return U, lowdim.knn(U, 2)[0].astype(np.float64)


def _finite_lid(S: npt.NDArray[Any], k: int,
                nn: tuple[npt.NDArray[Any], npt.NDArray[Any]]) -> npt.NDArray[np.float64]:
    """Local IDs of the points where it is finite; Undefined when there are none."""
    if k < 2:
        raise Undefined(f"local ID needs k >= 2 neighbours, got {k}")
    local: npt.NDArray[np.float64] = lowdim.lid(S, k=k, knn=nn)
    local = local[np.isfinite(local)]
    if len(local) == 0:
        raise Undefined("no point has a finite local ID (all its k neighbours at one distance)")
    return local


def _histogram(local: npt.NDArray[np.float64]) -> dict[str, list[Any]]:
    hi = max(float(np.quantile(local, 0.99)), 1e-9)
    counts, edges = np.histogram(local, bins=30, range=(0, hi))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _ph(M: npt.NDArray[Any], seed: int) -> dict[str, Any]:
    """PH0 dimension and its fit points (subsample size, mean E_α over the reruns)."""
    # return_points=True: the (estimate, sizes, energies) arm of ph_dimension's union
    est, sizes, energies = cast("tuple[float, np.ndarray, np.ndarray]", lowdim.ph_dimension(
        M, n_max=len(M), seed=seed, return_points=True))
    if not np.isfinite(est):    # slope of log E_α vs log n at or above 1: no finite dimension
        raise Undefined(f"PH0 dimension is {est}: the MST length grows like n^1 or faster")
    return {"dimension": float(est), "n": np.asarray(sizes).tolist(),
            "E": np.asarray(energies).mean(axis=1).tolist()}


def analyse(X_raw: npt.NDArray[Any], *, quick: bool = False, seed: int = 0,
            progress: Progress | None = None, metric: str | None = None,
            codecs: Collection[str] | None = None,
            targets: Sequence[float] = TARGETS) -> Section:
    """Everything the report shows, as a JSON-ready dict (undefined values are None).

    Warnings raised on the way (e.g. PQ's "few training points") are collected in
    result["warnings"] instead of being printed.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import report
    >>> X = np.random.default_rng(0).standard_normal((200, 8)).astype(np.float32)
    >>> r = report.analyse(X, quick=True)
    >>> r["basics"]["n"], r["basics"]["duplicate_rows"], sorted(r)[:3]
    (200, 0, ['basics', 'compression', 'config'])
    """
    progress = progress or Progress(None)
    t0 = time.perf_counter()
    result: Section = {"config": lowdim.config()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress.step("basics"):
            result["basics"], X = basics(X_raw)
        if len(X) < 4:
            why = f"only {len(X)} finite rows; needs at least 4"
            result["shape"] = result["compression"] = None
            result["undefined"] = {"shape": why, "compression": why}
        else:
            result["shape"] = shape(X, quick, seed, progress)
            result["compression"] = compression(X, quick=quick, seed=seed, progress=progress,
                                                sizes=SIZES, metric=metric, codecs=codecs,
                                                targets=targets)
    result["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    result["timings_s"] = progress.timings
    result["cpu_timings_s"] = progress.cpu
    result["wall_time_s"] = round(time.perf_counter() - t0, 3)
    return result
