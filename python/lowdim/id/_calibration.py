"""Calibrated intrinsic dimension: d̂ = s_n⁻¹(s(X)) (Ceruti et al. 2014, applied to TwoNN).

s(X) is a raw statistic (TwoNN least squares or MLE form, Facco et al. 2017; Levina–Bickel
MLE with small k) and s_n(d) its mean over uniform reference samples of the unit d-ball,
d-cube or d-sphere with the data's n (lowdim.id._reference), or the mean of the ball's and
the cube's curves ("ball+cube", halfway between their boundary effects). s_n comes from
calibration_table.txt (tools/make_id_calibration.py), interpolated linearly in log n and
in d, or is measured on the fly for an n or a statistic the table does not hold.
See docs/intrinsic_dimension.md.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .. import intrinsic as _lid
from .. import neighbors as _knn_mod
from .._validate import as_float_array
from . import _reference as _ref

TABLE_PATH = Path(__file__).with_name("calibration_table.txt")
# statistic name in the table -> (method, k, discard_fraction)
TABLE_SPECS = {"twonn": ("twonn", 2, 0.1), "twonn_mle": ("twonn_mle", 2, 0.1),
               "mle_k5": ("mle", 5, 0.1), "mle_k10": ("mle", 10, 0.1),
               "mle_k20": ("mle", 20, 0.1)}
CALIBRATIONS = _ref.KINDS + ("ball+cube",)
# (n grid, reps per n, mean (n, d), sd (n, d)) of one tabulated statistic
_Entry = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_Spec = tuple[str, int, float]          # (method, k, discard_fraction)
MIN_POINTS = 50            # below this the statistic's own noise swamps any calibration
EXTRA_D = (250, 300, 400, 500, 650, 800, 1000)   # measured on the fly past the table's d
N_BOOTSTRAP = 200


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, dict[tuple[str, str], _Entry]]:
    """(d grid, {(kind, name): (n grid, reps, mean (n, d), sd (n, d))}) from the text file."""
    d_grid = np.zeros(0, dtype=np.int64)     # the "# d" line precedes every row
    cells: dict[tuple[str, str], dict[int, tuple[int, np.ndarray, np.ndarray]]] = {}
    for line in TABLE_PATH.read_text().splitlines():
        if line.startswith("# d "):
            d_grid = np.array(line[4:].split(), dtype=np.int64)
        elif line and not line.startswith("#"):
            kind, name, n, reps, *fields = line.split()
            vals = np.array(fields, dtype=np.float64).reshape(2, len(d_grid))
            cells.setdefault((kind, name), {})[int(n)] = (int(reps), vals[0], vals[1])
    entries: dict[tuple[str, str], _Entry] = {}
    for key, c in cells.items():
        ns = sorted(c)
        entries[key] = (np.array(ns), np.array([c[n][0] for n in ns]),
                        np.array([c[n][1] for n in ns]), np.array([c[n][2] for n in ns]))
    return d_grid, entries


def table_name(method: str, k: int, discard_fraction: float) -> str | None:
    """Name of the tabulated statistic for these parameters, or None."""
    spec = (method, k if method == "mle" else 2, discard_fraction)
    return next((name for name, s in TABLE_SPECS.items() if s == spec), None)


def _table_curve(kind: str, name: str | None,
                 n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(d, mean, standard error of the mean) at n, interpolated in log n; None if not held."""
    d_grid, entries = _table()
    if name is None or (kind, name) not in entries:
        return None
    n_grid, reps, mean, sd = entries[(kind, name)]
    if len(n_grid) < 2 or not n_grid[0] <= n <= n_grid[-1]:
        return None
    i = min(int(np.searchsorted(n_grid, n, side="right")) - 1, len(n_grid) - 2)
    w = math.log(n / n_grid[i]) / math.log(n_grid[i + 1] / n_grid[i])
    m = (1 - w) * mean[i] + w * mean[i + 1]
    se = (1 - w) * sd[i] / np.sqrt(reps[i]) + w * sd[i + 1] / np.sqrt(reps[i + 1])
    if not np.isfinite(m).all():
        return None
    return d_grid.astype(np.float64), m, se


@functools.lru_cache(maxsize=4096)
def _measured(kind: str, n: int, d: int, spec: _Spec,
              n_threads: int | None) -> tuple[float, float]:
    """(mean, standard error) of one statistic over reps_for(n) reference samples."""
    v = np.array([_ref.reference_statistics(kind, n, d, r, [spec], n_threads)[0]
                  for r in range(_ref.reps_for(n))])
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))


def _mean_of(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(mean, standard error) of the mean of independent curves' (mean, se) points."""
    m = sum(p[0] for p in points) / len(points)
    return m, math.sqrt(sum(p[1] ** 2 for p in points)) / len(points)


class _Curve:
    """s_n(d) as points (d, mean, se); tabulated points first, others measured when needed.
    For "ball+cube" every point is the mean of the ball's and the cube's."""

    def __init__(self, calibrate: str, n: int, spec: _Spec, n_threads: int | None):
        self.kinds, self.n, self.spec, self.n_threads = calibrate.split("+"), n, spec, n_threads
        found = [_table_curve(kind, table_name(*spec), n) for kind in self.kinds]
        tabs = [t for t in found if t is not None]
        d_grid = _table()[0].astype(np.float64)
        held = len(tabs) == len(found)
        self.source = "table" if held else "computed"
        self.grid = np.concatenate([[0.0], d_grid, EXTRA_D])
        # the statistic vanishes with the dimension
        self.known: dict[int, tuple[float, float]] = {0: (0.0, 0.0)}
        if held:
            self.known.update({j + 1: _mean_of([(t[1][j], t[2][j]) for t in tabs])
                               for j in range(len(d_grid))})

    def at(self, j: int) -> float:
        if j not in self.known:
            self.known[j] = _mean_of([_measured(kind, self.n, int(self.grid[j]), self.spec,
                                                self.n_threads) for kind in self.kinds])
            if self.source == "table":
                self.source = "table+computed"
        return self.known[j][0]

    def bracket(self, s: float, guess: float) -> tuple[int, int]:
        """Grid indices lo < hi with at(lo) <= s <= at(hi), searched from the guess."""
        last = len(self.grid) - 1
        j = int(np.clip(np.searchsorted(self.grid, guess), 1, last))
        if self.at(j) < s:
            lo, step = j, 1
            while True:
                hi = min(lo + step, last)
                if self.at(hi) >= s:
                    break
                if hi == last:
                    raise ValueError(f"the statistic {s:.4g} is beyond the calibration range "
                                     f"(d > {int(self.grid[-1])}); use calibrate=None")
                lo, step = hi, 2 * step
        else:
            hi, step = j, 1
            while True:
                lo = max(hi - step, 0)
                if self.at(lo) <= s:
                    break
                hi, step = lo, 2 * step
        while hi - lo > 1:                  # bisection on the (increasing) curve
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self.at(mid) <= s else (lo, mid)
        return lo, hi

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        js = sorted(self.known)
        return (self.grid[js], np.array([self.known[j][0] for j in js]),
                np.array([self.known[j][1] for j in js]))


def _distinct_values(X: npt.ArrayLike, method: str, k: int, duplicates: str,
                     n_threads: int | None) -> np.ndarray:
    """Per-point values (r2/r1 or local MLE) of the distinct points of X."""
    if method == "mle":
        return _lid.local_mle(X, k, k - 1, duplicates, n_threads)[0]
    x = as_float_array(X, name="X")
    if x.shape[0] < 3:
        raise ValueError(f"TwoNN needs at least 3 points, got {x.shape[0]}")
    dist, _ = _knn_mod.knn(x, 2, n_threads=n_threads)
    zero = int((dist[:, 0] == 0).sum())
    if zero:
        x, _ = _lid._dedupe_or_raise(x, duplicates, zero, 3)
        dist, _ = _knn_mod.knn(x, 2, n_threads=n_threads)
    return _ref.per_point(method, dist.astype(np.float64), 2)


def _bootstrap_sd(method: str, values: np.ndarray, discard_fraction: float) -> float:
    """Standard deviation of the statistic over seeded bootstrap resamples of the points."""
    n = len(values)
    draw = _config.kernels().random_bits
    stats = [_ref.from_per_point(method, values[draw(_ref.SEED, _rng.STREAM_ID_BOOTSTRAP,
                                                       b * n, n) % np.uint64(n)],
                                 discard_fraction) for b in range(N_BOOTSTRAP)]
    return float(np.std(stats, ddof=1))


def estimate(X: Any, method: str, *, k: int, discard_fraction: float, calibrate: str | None,
             duplicates: str, n_threads: int | None,
             return_details: bool) -> float | dict[str, Any]:
    """intrinsic_dim's calibrated path and its details (see lowdim.intrinsic_dim)."""
    if calibrate not in (None,) + CALIBRATIONS:
        raise ValueError(f"calibrate must be one of {(None,) + CALIBRATIONS}, got {calibrate!r}")
    k = k if method == "mle" else 2
    values = _distinct_values(X, method, k, duplicates, n_threads)
    stat = _ref.from_per_point(method, values, discard_fraction)
    if not math.isfinite(stat):
        raise ValueError("the raw statistic is not finite (every neighbourhood has equal "
                         "distances); the dimension is undefined")
    n = len(values)
    if calibrate is None:
        if not return_details:
            return stat
        se = _bootstrap_sd(method, values, discard_fraction)
        return {"estimate": stat, "statistic": stat, "method": method, "calibrate": None,
                "n_points": n, "curve": None, "std_error": se,
                "interval": (max(stat - 1.96 * se, 0.0), float(stat + 1.96 * se))}
    if n < MIN_POINTS:
        raise ValueError(f"calibration needs at least {MIN_POINTS} distinct points, X has {n}; "
                         "use calibrate=None")
    curve = _Curve(calibrate, n, (method, k, discard_fraction), n_threads)
    lo, hi = curve.bracket(stat, stat)
    (d_lo, d_hi), (s_lo, s_hi) = curve.grid[[lo, hi]], (curve.at(lo), curve.at(hi))
    slope = max((s_hi - s_lo) / (d_hi - d_lo), 1e-12)   # > 0 unless the curve is flat
    est = float(d_lo + (stat - s_lo) / slope)
    if not return_details:
        return est
    w = (est - d_lo) / (d_hi - d_lo)
    curve_se = (1 - w) * curve.known[lo][1] + w * curve.known[hi][1]
    se = math.hypot(_bootstrap_sd(method, values, discard_fraction), curve_se) / slope
    d, s, s_se = curve.points()
    return {"estimate": est, "statistic": stat, "method": method, "calibrate": calibrate,
            "n_points": n, "curve": {"d": d, "statistic": s, "std_error": s_se,
                                     "source": curve.source},
            "std_error": float(se),
            "interval": (max(est - 1.96 * se, 0.0), float(est + 1.96 * se))}
