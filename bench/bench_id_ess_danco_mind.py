"""Benchmark: lowdim.id's native skdim-style estimators beside scikit-dimension (issue 13).

ENTRIES lists (name, lowdim factory, skdim factory): each factory returns an unfitted
estimator configured alike, so both run `.fit(X).dimension_` on the same data in one run.
Parity: the 24 skdim.datasets.BenchmarkManifolds at n = 2500 (random_state 0), relative
difference of the two answers (ESS and simulated DANCo on the manifolds in PARITY_SUBSET
only: skdim's ESS takes minutes per manifold, its DANCo ≈ 20 s). Speed: SPEED_SIZES gives
the size of each timing — 20000 × 768, or the largest size skdim finishes in ~5 minutes.
Usage: python bench/bench_id_ess_danco_mind.py [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_section  # noqa: E402

import lowdim  # noqa: E402
from lowdim import id as lid  # noqa: E402
from lowdim.id import _danco  # noqa: E402


def _skdim():
    import skdim
    return skdim.id


ENTRIES = [
    ("ESS (ver a, 100 neighbours)", lambda: lid.ESS(), lambda: _skdim().ESS()),
    ("ESS (ver b)", lambda: lid.ESS(ver="b"), lambda: _skdim().ESS(ver="b")),
    ("MiND_ML (MLk)", lambda: lid.MiND_ML(), lambda: _skdim().MiND_ML()),
    ("MiND_ML (MLk, mlk_solver='lbfgsb')", lambda: lid.MiND_ML(mlk_solver="lbfgsb"),
     lambda: _skdim().MiND_ML()),
    ("MiND_ML (MLi)", lambda: lid.MiND_ML(ver="MLi"), lambda: _skdim().MiND_ML(ver="MLi")),
    ("DANCo (DANCoFit, D <= 100)", lambda: lid.DANCo(ver="DANCoFit", D=100),
     lambda: _skdim().DANCo(ver="DANCoFit", D=100)),
    ("DANCo (DANCoFit, mlk_solver='lbfgsb')",
     lambda: lid.DANCo(ver="DANCoFit", D=100, mlk_solver="lbfgsb"),
     lambda: _skdim().DANCo(ver="DANCoFit", D=100)),
    ("DANCo (simulated, D = 30)", lambda: lid.DANCo(D=30), lambda: _skdim().DANCo(D=30)),
]
PARITY_SUBSET = {"ESS (ver a, 100 neighbours)": ("Mp2_Paraboloid",),
                 "ESS (ver b)": ("Mp2_Paraboloid",),
                 "DANCo (simulated, D = 30)": ("M4_Nonlinear", "M7_Roll", "Mp2_Paraboloid")}
# rows for the speed run: 20000 × 768 where skdim finishes in minutes; its ESS loops over
# 4950 determinants per point in Python (~25 ms/point on a quiet core, 0.5 s/point under a
# load of 18), DANCoFit's table stops at 5000, simulated DANCo (D = 30) at 20000 takes skdim
# tens of minutes under load
SPEED_SIZES = {"ESS (ver a, 100 neighbours)": 1000, "ESS (ver b)": 1000,
               "DANCo (DANCoFit, D <= 100)": 5000, "DANCo (DANCoFit, mlk_solver='lbfgsb')": 5000,
               "DANCo (simulated, D = 30)": 5000}


def _fit(factory, X):
    est = factory()
    if isinstance(est, lid.DANCo):
        _danco._CACHE.clear()                 # time the calibration too (a cold fit)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        if hasattr(est, "D") and getattr(est, "ver", "") == "DANCoFit":
            est.set_params(D=min(100, X.shape[1]))
        d = float(est.fit(X).dimension_)
        return d, time.perf_counter() - t0


def parity(n: int, names):
    import skdim
    data = skdim.datasets.BenchmarkManifolds(random_state=0).generate(n=n)
    rows = []
    for name, ours, theirs in ENTRIES:
        if name not in names:
            continue
        rel, t_o, t_s, worst = [], 0.0, 0.0, ""
        for m in PARITY_SUBSET.get(name, data):
            a, ta = _fit(ours, data[m])
            b, tb = _fit(theirs, data[m])
            rel.append(abs(a - b) / abs(b))
            t_o, t_s = t_o + ta, t_s + tb
            if rel[-1] == max(rel):
                worst = f"{m} ({a:.3f} vs {b:.3f})"
        rows.append([name, len(rel), f"{np.mean(rel):.2e}", f"{max(rel):.2e}", worst,
                     f"{t_o:.1f}", f"{t_s:.1f}", f"{t_s / t_o:.0f}×"])
        print(rows[-1], flush=True)
    return rows


def speed(n_max: int, dim: int, names):
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((n_max, 16))
    X = np.tanh(latent @ rng.standard_normal((16, dim)) / 4).astype(np.float32)
    rows = []
    for name, ours, theirs in ENTRIES:
        if name not in names:
            continue
        n = min(n_max, SPEED_SIZES.get(name, n_max))
        a, ta = _fit(ours, X[:n])
        b, tb = _fit(theirs, X[:n])
        rows.append([name, f"{n} × {dim}", f"{ta:.2f}", f"{tb:.1f}", f"{tb / ta:.0f}×",
                     f"{a:.3f}", f"{b:.3f}"])
        print(rows[-1], flush=True)
    return rows


def report(load, n_suite, prow, srow):
    body = [f"Load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"{lowdim.get_num_threads()} threads; skdim runs single-process (its default).", "",
            f"### Parity on skdim.datasets.BenchmarkManifolds, n = {n_suite}, random_state 0",
            "", "Relative difference |lowdim − skdim| / skdim of dimension_, configured alike:",
            "", table(["estimator", "manifolds", "mean", "max", "largest at", "lowdim s",
                       "skdim s", "speed-up"], prow), "",
            "### Speed (one cold fit each, float32 tanh(16-d Gaussian · W), same run)", "",
            table(["estimator", "n × D", "lowdim s", "skdim s", "speed-up", "lowdim d̂",
                   "skdim d̂"], srow)]
    write_section("id_ess_danco_mind", "skdim-style estimators: ESS, DANCo, MiND_ML "
                  "(bench/bench_id_ess_danco_mind.py)", "\n".join(body))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--only", nargs="*", default=[e[0] for e in ENTRIES])
    ap.add_argument("--speed-only", nargs="*", default=None,
                    help="entries for the speed run (default: --only)")
    ap.add_argument("--speed-n", type=int, default=None, help="rows of the speed run")
    args = ap.parse_args()
    n_suite, (n_speed, dim) = (300, (2000, 64)) if args.quick else (2500, (20000, 768))
    n_speed = args.speed_n or n_speed
    import os
    load = os.getloadavg()
    srow = speed(n_speed, dim, args.only if args.speed_only is None else args.speed_only)
    report(load, n_suite, [], srow)            # written as soon as each part is done
    prow = parity(n_suite, args.only)
    report(load, n_suite, prow, srow)


if __name__ == "__main__":
    main()
