"""Benchmark: calibrated intrinsic dimension, accuracy and speed (issue 13).

Accuracy: the 24 manifolds of skdim.datasets.BenchmarkManifolds (Hein–Audibert /
Campadelli) at n = 2500, random_state 0: lowdim raw and calibrated TwoNN and MLE beside the
scikit-dimension estimators that take < 0.5 s per manifold (the slower ones with
--all-peers), with the mean relative error |d̂ − d| / d (MRE). DADApy (0.3.4 needs numpy < 2)
reads the same samples in its own venv: bench/bench_id_dadapy.py, its own subsection.
Speed: calibrated vs raw TwoNN on 20000 × 768 float32 (ID ≈ 16), CPU seconds of one cold
call each, in this run. Usage:
python bench/bench_id.py [--quick] [--no-peers | --all-peers] [--speed-only | --known]
(--speed-only: the timing section alone, ≈ 1 min CPU on this 2-core machine; --known: the
known-answer grid of balls, cubes and spheres, d = 1…50, n = 1000…20000, written as a "### "
subsection to bench/results/id_known.md for tools/splice-results.)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS_DIR as RESULTS, table, write_section  # noqa: E402

import lowdim  # noqa: E402
from lowdim.id import _calibration  # noqa: E402

OURS = {
    "lowdim TwoNN": dict(method="twonn"),
    "lowdim TwoNN-MLE ball+cube": dict(method="twonn_mle", calibrate="ball+cube"),
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


def cpu_seconds(fn) -> tuple[float, float]:
    """(CPU seconds of this process, all threads; wall seconds) of one call of fn."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def speed_section(quick: bool) -> str:
    """Calibrated vs raw TwoNN on embedding-like float32 data: one cold call each."""
    n, d = (4000, 256) if quick else (20000, 768)
    rng = np.random.default_rng(0)
    X = np.tanh(rng.standard_normal((n, 16)) @ rng.standard_normal((16, d)) / 4)
    X = X.astype(np.float32)
    load0 = os.getloadavg()[0]
    calls = [("intrinsic_dim(X) (raw TwoNN)", dict()),
             ("intrinsic_dim(X, 'twonn_mle', calibrate='ball+cube')",
              dict(method="twonn_mle", calibrate="ball+cube")),
             ("intrinsic_dim(X, calibrate='ball')", dict(calibrate="ball")),
             ("… return_details=True (bootstrap error bar)",
              dict(calibrate="ball", return_details=True))]
    lowdim.intrinsic_dim(X[:500])            # imports and first-touch costs out of the way
    res = [cpu_seconds(lambda kw=kw: lowdim.intrinsic_dim(X, **kw)) for _, kw in calls]
    raw_cpu = res[0][0]
    est = lowdim.intrinsic_dim(X, "twonn_mle", calibrate="ball+cube")
    rows = [[label, f"{c:.2f}", f"{w:.2f}", f"{c / raw_cpu:.2f}"]
            for (label, _), (c, w) in zip(calls, res)]
    return "\n".join([
        f"### Speed: {n} × {d} float32 (tanh(16-d Gaussian · W), ID ≈ 16), "
        f"{lowdim.get_num_threads()} threads, ISA {lowdim.isa()}", "",
        "One cold call each (the calibration table is parsed in the first calibrated call); "
        "CPU seconds of the process (all threads), which a loaded machine inflates less than "
        f"wall time. Load average (1 min) {load0:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end. Calibrated estimate {est:.2f}.", "",
        table(["call", "CPU s", "wall s", "CPU ratio to raw TwoNN"], rows)])


def accuracy_section(quick: bool, peers: tuple) -> str:
    n_suite = 600 if quick else 2500
    truth, cols, times = suite(n_suite, 0, peers)
    labels = list(OURS) + [lb for lb in cols if lb not in OURS]
    rows = [[m, d] + [f"{cols[lb][m]:.2f}" for lb in labels] for m, d in truth.items()]
    summary = [[lb, f"{mre(truth, cols[lb])[0]:.4f}", mre(truth, cols[lb])[1],
                f"{times[lb]:.1f}"] for lb in labels]
    seeds = []
    if not quick:
        per_seed = [[mre(truth, cols[lb])[0] for lb in OURS]]
        for seed in (1, 2, 3, 4):
            t_s, c_s, _ = suite(n_suite, seed, ())
            per_seed.append([mre(t_s, c_s[lb])[0] for lb in OURS])
        seeds = [[seed] + [f"{v:.4f}" for v in vals] for seed, vals in enumerate(per_seed)]
        seeds.append(["mean"] + [f"{v:.4f}" for v in np.mean(per_seed, axis=0)])
    body = [f"### Accuracy on skdim.datasets.BenchmarkManifolds, n = {n_suite}, random_state 0",
            "",
            "Mean relative error |d̂ − d| / d over the 24 manifolds (NaN: manifolds where the "
            "estimator failed or returned NaN; s: total time for the suite, this machine):",
            "",
            table(["estimator", "MRE", "NaN", "s"], summary),
            ""]
    if seeds:
        body += ["MRE of lowdim's estimators on five draws of the suite (random_state 0–4; "
                 "their spread is the noise of the 24-manifold MRE itself):",
                 "", table(["random_state"] + list(OURS), seeds), ""]
    body += ["Per manifold (true dimension, then each estimator):", "",
             table(["manifold", "d"] + labels, rows)]
    return "\n".join(body)


def _known_sample(shape: str, m: int, n: int, seed: int) -> np.ndarray:
    """Uniform m-ball / m-cube / m-sphere (in R^(m+1)) rotated into 7 more dimensions, float32:
    the samples of tests/test_id_calibration.py (same generators and seeds)."""
    rng = np.random.default_rng(seed)
    if shape == "ball":
        g = rng.standard_normal((n, m))
        Z = g / np.linalg.norm(g, axis=1, keepdims=True) * rng.random((n, 1)) ** (1 / m)
    elif shape == "cube":
        Z = rng.random((n, m))
    else:
        g = rng.standard_normal((n, m + 1))
        Z = g / np.linalg.norm(g, axis=1, keepdims=True)
    Q, _ = np.linalg.qr(rng.standard_normal((Z.shape[1] + 7, Z.shape[1])))
    return (Z @ Q.T).astype(np.float32)


KNOWN_D = (1, 2, 3, 5, 8, 12, 20, 30, 40, 50)
KNOWN_N = (1000, 2000, 5000, 10000, 20000)
KNOWN_CALLS = {"TwoNN-MLE ball+cube": lambda X, shape: lowdim.intrinsic_dim(
                   X, "twonn_mle", calibrate="ball+cube"),
               "TwoNN-MLE own shape": lambda X, shape: lowdim.intrinsic_dim(
                   X, "twonn_mle", calibrate=shape),
               "MLE k=10 own shape": lambda X, shape: lowdim.intrinsic_dim(
                   X, "mle", k=10, calibrate=shape)}


def known_section(quick: bool) -> str:
    """The issue's known-answer grid: within 5 % (d <= 30) / 10 % (above) of the truth?"""
    ns = KNOWN_N[:2] if quick else KNOWN_N
    load0 = os.getloadavg()[0]
    err = {label: {} for label in KNOWN_CALLS}
    for shape in ("ball", "cube", "sphere"):
        for m in KNOWN_D:
            for n in ns:
                X = _known_sample(shape, m, n, 1000 * m + n)
                for label, fn in KNOWN_CALLS.items():
                    err[label][shape, m, n] = (fn(X, shape) - m) / m
    tol = {m: 0.05 if m <= 30 else 0.10 for m in KNOWN_D}
    summary = []
    for label, e in err.items():
        bad = [key for key, v in e.items() if abs(v) > tol[key[1]]]
        big = max(e, key=lambda key: abs(e[key]))
        summary.append([label, f"{len(e) - len(bad)}/{len(e)}",
                        f"{np.mean(np.abs(list(e.values()))):.4f}",
                        f"{e[big]:+.3f} ({big[0]} d={big[1]} n={big[2]})",
                        ", ".join(f"{s} {m}/{n}" for s, m, n in bad) or "—"])
    per_n = [[f"{shape} d={m}"] + [" / ".join(f"{100 * err[lb][shape, m, n]:+.1f}"
                                            for lb in KNOWN_CALLS) for n in ns]
             for shape in ("ball", "cube", "sphere") for m in KNOWN_D]
    return "\n".join([
        "### Known answers: uniform balls, cubes and spheres (bench/bench_id.py --known)", "",
        f"d = {', '.join(map(str, KNOWN_D))}; n = {', '.join(map(str, ns))}; each set rotated into "
        "7 more ambient dimensions, float32, the generators and seeds of "
        "tests/test_id_calibration.py (which keeps a fast subset). Tolerance 5 % for d <= 30, "
        "10 % above; 'own shape' reads each set with its own reference (ball, cube, sphere). "
        f"Load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.", "",
        table(["estimate", "within tolerance", "mean |rel. error|", "largest error",
               "outside tolerance (shape d/n)"], summary), "",
        "Relative error in % per case (" + " / ".join(KNOWN_CALLS) + "):", "",
        table(["set"] + [f"n = {n}" for n in ns], per_n)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--no-peers", action="store_true", help="lowdim only")
    ap.add_argument("--all-peers", action="store_true", help="also the slow skdim estimators")
    ap.add_argument("--speed-only", action="store_true", help="the timing section alone")
    ap.add_argument("--known", action="store_true", help="the known-answer grid alone")
    args = ap.parse_args()
    if args.known:
        path = RESULTS / "id_known.md"
        path.write_text(known_section(args.quick) + "\n")
        print(path.read_text())
        return
    if not args.speed_only:
        peers = () if args.no_peers else PEERS + (SLOW_PEERS if args.all_peers else ())
        write_section("id", "Calibrated intrinsic dimension (bench/bench_id.py)",
                      accuracy_section(args.quick, peers))
    write_section("id_speed", "Calibrated intrinsic dimension: speed (bench/bench_id.py "
                  "--speed-only)", speed_section(args.quick))


if __name__ == "__main__":
    main()
