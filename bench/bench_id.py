"""Benchmark: calibrated intrinsic dimension, accuracy and speed (issue 13).

Accuracy: the 24 manifolds of skdim.datasets.BenchmarkManifolds (Hein–Audibert /
Campadelli) at n = 2500, random_state 0: lowdim raw and calibrated (ball reference) TwoNN
and MLE beside the scikit-dimension estimators that take < 0.5 s per manifold (the slower
ones with --all-peers), with the mean relative error |d̂ − d| / d (MRE) of each.
Speed: calibrated vs raw TwoNN on 20000 × 768 float32, both in this run.
Usage: python bench/bench_id.py [--quick] [--no-peers | --all-peers]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, table, write_section  # noqa: E402

import lowdim  # noqa: E402
from lowdim.id import _calibration  # noqa: E402

OURS = {
    "lowdim TwoNN": dict(method="twonn"),
    "lowdim TwoNN ball": dict(method="twonn", calibrate="ball"),
    "lowdim TwoNN-MLE ball": dict(method="twonn_mle", calibrate="ball"),
    "lowdim TwoNN cube": dict(method="twonn", calibrate="cube"),
    "lowdim TwoNN sphere": dict(method="twonn", calibrate="sphere"),
    "lowdim MLE k=10 ball": dict(method="mle", k=10, calibrate="ball"),
}
# The skdim estimators that take < 0.5 s per manifold here. Left out for time: ESS (minutes
# per manifold), DANCo (≈ 21 s), FisherS (≈ 7 s), TLE and MADA (≈ 1.5 s) — pass --all-peers.
PEERS = ("TwoNN", "MLE", "MOM", "CorrInt", "lPCA", "MiND_ML")
SLOW_PEERS = ("TLE", "MADA", "FisherS", "DANCo")


def suite(n: int, seed: int, peers: tuple):
    import skdim
    bm = skdim.datasets.BenchmarkManifolds(random_state=seed)
    data = bm.generate(n=n)
    truth = {name: int(bm.truth.loc[name, "Intrinsic Dimension"]) for name in data}
    cols, times = {}, {}
    if peers:
        for peer in peers:
            label = f"skdim {peer}"
            cols[label], times[label] = {}, 0.0
            for name, X in data.items():
                t0 = time.perf_counter()
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    try:
                        cols[label][name] = float(getattr(skdim.id, peer)().fit(X).dimension_)
                    except Exception:            # a peer failing on one manifold: NaN
                        cols[label][name] = float("nan")
                times[label] += time.perf_counter() - t0
    _, entries = _calibration._table()
    if not all((kind, "twonn") in entries for kind in ("ball", "cube", "sphere")):
        raise SystemExit("calibration_table.txt is incomplete: run tools/make_id_calibration.py")
    for label, kw in OURS.items():
        cols[label], times[label] = {}, 0.0
        for name, X in data.items():
            t0 = time.perf_counter()
            cols[label][name] = lowdim.intrinsic_dim(X, **kw)
            times[label] += time.perf_counter() - t0
    return truth, cols, times


def mre(truth, col):
    err = [abs(col[m] - d) / d for m, d in truth.items()]
    return float(np.mean(err)), int(np.isnan(err).sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--no-peers", action="store_true", help="lowdim only")
    ap.add_argument("--all-peers", action="store_true", help="also the slow skdim estimators")
    args = ap.parse_args()
    n_suite = 600 if args.quick else 2500
    peers = () if args.no_peers else PEERS + (SLOW_PEERS if args.all_peers else ())
    truth, cols, times = suite(n_suite, 0, peers)
    labels = list(OURS) + [lb for lb in cols if lb not in OURS]
    rows = [[m, d] + [f"{cols[lb][m]:.2f}" for lb in labels] for m, d in truth.items()]
    summary = [[lb, f"{mre(truth, cols[lb])[0]:.4f}", mre(truth, cols[lb])[1],
                f"{times[lb]:.1f}"] for lb in labels]
    seeds = []
    if not args.quick:
        for seed in (1, 2, 3, 4):
            t_s, c_s, _ = suite(n_suite, seed, ())
            seeds.append([seed] + [f"{mre(t_s, c_s[lb])[0]:.4f}" for lb in OURS])

    n, d = (4000, 256) if args.quick else (20000, 768)
    X = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    raw = best_time(lambda: lowdim.intrinsic_dim(X), repeat=3)
    cal = best_time(lambda: lowdim.intrinsic_dim(X, calibrate="ball"), repeat=3)
    det = best_time(lambda: lowdim.intrinsic_dim(X, calibrate="ball", return_details=True),
                    repeat=3)
    body = [f"### Accuracy on skdim.datasets.BenchmarkManifolds, n = {n_suite}, random_state 0",
            "",
            "Mean relative error |d̂ − d| / d over the 24 manifolds (NaN: manifolds where the "
            "estimator failed or returned NaN; s: total time for the suite, this machine):",
            "",
            table(["estimator", "MRE", "NaN", "s"], summary),
            ""]
    if seeds:
        body += ["MRE of lowdim's estimators on other draws of the suite (random_state 1–4):",
                 "", table(["random_state"] + list(OURS), seeds), ""]
    body += ["Per manifold (true dimension, then each estimator):", "",
             table(["manifold", "d"] + labels, rows), "",
             f"### Speed: {n} × {d} float32, {lowdim.get_num_threads()} threads", "",
             table(["call", "s", "ratio to raw TwoNN"],
                   [["intrinsic_dim(X) (raw TwoNN)", f"{raw:.2f}", "1.00"],
                    ["intrinsic_dim(X, calibrate='ball')", f"{cal:.2f}", f"{cal / raw:.2f}"],
                    ["… return_details=True (bootstrap error bar)", f"{det:.2f}",
                     f"{det / raw:.2f}"]])]
    write_section("id", "Calibrated intrinsic dimension (bench/bench_id.py)", "\n".join(body))


if __name__ == "__main__":
    main()
