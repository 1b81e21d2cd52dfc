"""Exact Euclidean MST: lowdim.mst against scipy (pdist + minimum_spanning_tree), hdbscan's
Prim and dual-tree Borůvka, and mlpack's emst; distance GFLOP/s against peak FMA rate.

Targets (issue 6): n = 20000, d = 768 float32 ≥ 20× scipy end to end at a small fraction of
its peak memory; n = 5000, d = 3 within 2× of the best low-dimensional peer.
Thread team (issue 10): 1, cores and 2×cores threads on a quiet and a busy machine.
Usage: python bench/bench_mst.py [--quick] [--threads]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, measure_memory, peak_fma_gflops, table, write_section  # noqa: E402

import lowdim  # noqa: E402

def scipy_mst_total(X):
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import pdist, squareform
    return minimum_spanning_tree(squareform(pdist(X))).sum()


def peer_hdbscan_prim(X):
    from hdbscan._hdbscan_linkage import mst_linkage_core_vector
    from hdbscan.dist_metrics import DistanceMetric
    X64 = np.ascontiguousarray(X, dtype=np.float64)
    return mst_linkage_core_vector(X64, np.zeros(len(X64)), DistanceMetric.get_metric("euclidean"),
                                   1.0)[:, 2].sum()


def peer_hdbscan_boruvka(X):
    from hdbscan._hdbscan_boruvka import KDTreeBoruvkaAlgorithm
    from sklearn.neighbors import KDTree
    X64 = np.ascontiguousarray(X, dtype=np.float64)
    alg = KDTreeBoruvkaAlgorithm(KDTree(X64, leaf_size=20), min_samples=1, leaf_size=20, n_jobs=1)
    return alg.spanning_tree()[:, 2].sum()


def peer_mlpack(X):
    import mlpack
    return mlpack.emst(input_=np.ascontiguousarray(X, dtype=np.float64))["output"][:, 2].sum()


def available(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def time_once(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# Live values per team thread in cpp/src/mst/mst.cpp (kThreadMinWork).
_TEAM_THREAD_WORK = 1 << 16


def _busy_loops(count: int):
    """`count` pure-Python busy loops: a machine whose every core is taken by someone else."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def thread_section(quick: bool) -> None:
    """mst_length with 1, cores and 2×cores threads (and 64, capped), on a quiet machine and
    with a busy loop on every core (issue 10: the old spinning barrier took 8.2 s with 2
    threads and 34.5 s with 64 where 1 thread took 0.22 s). Medians: load makes times noisy."""
    cores = lowdim.config()["usable_cpus"]
    counts = [1, cores, 2 * cores, 64]
    rng = np.random.default_rng(1)
    repeat = 3 if quick else 5
    body = [f"Busy = one `python -c \"while True: pass\"` per usable CPU ({cores}); "
            f"n_threads above {lowdim._config.thread_cap()} (4 per CPU) is capped. Median of "
            f"{repeat} calls; the last column is loaded time / loaded 1-thread time. "
            f"Load average when the section started: {os.getloadavg()[0]:.1f} (a shared "
            f"machine is never fully quiet).\n"]
    for n, d in [(3000, 32), (2000, 256)]:
        X = rng.standard_normal((n, d), dtype=np.float32)
        want = lowdim.mst(X, n_threads=1)
        quiet = {t: _median_time(lambda: lowdim.mst_length(X, n_threads=t), repeat)
                 for t in counts}
        busy = _busy_loops(cores)
        try:
            loaded = {t: _median_time(lambda: lowdim.mst_length(X, n_threads=t), repeat)
                      for t in counts}
        finally:
            for p in busy:
                p.kill()
                p.wait()
        for t in counts:   # the tree itself never depends on the thread count
            got = lowdim.mst(X, n_threads=t)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        rows = [[t, f"{1e3 * quiet[t]:.1f}", f"{1e3 * loaded[t]:.1f}",
                 f"{loaded[t] / loaded[1]:.2f}"] for t in counts]
        body.append(f"### mst_length, n = {n}, d = {d}, float32\n")
        body.append(table(["n_threads", "quiet ms", "busy ms", "busy / busy 1 thread"], rows))
        if n * d < 2 * _TEAM_THREAD_WORK:
            body.append("\nn·d is below two helpers' worth of work: every row runs the same "
                        "single thread, so the spread between rows is the machine's noise.")
        body.append("")
    write_section("mst_threads", "MST thread team on a quiet and a busy machine "
                  "(bench/bench_mst.py --threads)", "\n".join(body))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--threads", action="store_true",
                    help="only the thread-team section (quiet and busy machine)")
    args = ap.parse_args()
    if args.threads:
        thread_section(args.quick)
        return
    threads = lowdim.get_num_threads()
    rng = np.random.default_rng(0)
    body = []

    # --- high d: n x 768 float32 ------------------------------------------------------
    n_hi = 3000 if args.quick else 20000
    X = rng.standard_normal((n_hi, 768), dtype=np.float32)   # no float64 temporary: it
    # would raise the peak RSS that measure_memory compares against
    t_low, (edges, lengths) = time_once(lambda: lowdim.mst(X))
    mem_low = measure_memory(lambda: lowdim.mst(X))
    flops = 2.0 * n_hi * (n_hi - 1) / 2 * 768          # one FMA (2 flops) per (pair, dim)
    # Bytes streamed by the updates: the float16 copy (2 bytes a value) while the filter
    # is on, which is nearly every step at this size (exact re-reads not counted).
    traffic = 2.0 * n_hi * (n_hi - 1) / 2 * 768
    rows = [["lowdim.mst", f"{t_low:.2f}", f"{mem_low:.0f}", "1.0", f"{lengths.sum():.6g}"]]
    t_sp, total_sp = time_once(lambda: scipy_mst_total(X))
    mem_sp = measure_memory(lambda: scipy_mst_total(X))
    rows.append(["scipy pdist + minimum_spanning_tree", f"{t_sp:.2f}", f"{mem_sp:.0f}",
                 f"{t_sp / t_low:.1f}", f"{total_sp:.6g}"])
    if available("hdbscan"):
        t_h, total_h = time_once(lambda: peer_hdbscan_prim(X))
        rows.append(["hdbscan Prim (mst_linkage_core_vector, 1 thread)", f"{t_h:.2f}", "-",
                     f"{t_h / t_low:.1f}", f"{total_h:.6g}"])
    else:
        rows.append(["hdbscan", "not installed", "", "", ""])
    rows.append(["mlpack emst", "skipped: kd-tree Borůvka is hopeless at d = 768", "", "", ""])
    gflops = flops / t_low / 1e9
    peak = peak_fma_gflops(threads)
    ratio = t_sp / t_low
    body.append(f"### n = {n_hi}, d = 768, float32 (end to end, {threads} threads)\n")
    body.append(table(["method", "seconds", "peak extra MiB", "lowdim speed-up", "total length"],
                      rows))
    body.append("")
    body.append(f"Target ≥ 20× scipy: **{'met' if ratio >= 20 else 'missed'}** ({ratio:.1f}×); "
                f"memory {mem_low:.0f} MiB vs {mem_sp:.0f} MiB "
                f"({100 * mem_low / max(mem_sp, 1e-9):.1f}%).")
    peak_txt = f"{peak:.0f} GFLOP/s measured f32 FMA peak ({threads} threads)" if peak else \
        "peak not measured (numpy backend)"
    body.append(f"Distance update: {gflops:.1f} GFLOP/s (one FMA per pair and dim, the subtraction not counted) vs {peak_txt}"
                + (f" = {100 * gflops / peak:.0f}% of peak" if peak else "") + ". "
                f"Prim streams the remaining points once per step (float16 filter copy): "
                f"{traffic / 1e9:.0f} GB read in total, {traffic / t_low / 1e9:.1f} GB/s achieved. Once the points outgrow "
                "the caches this is memory-bound, not FMA-bound"
                + ("" if ratio >= 20 else
                   ", which caps the speed-up over scipy (compute-bound scalar pdist) below "
                   "20×; a cache-blocked exact method (kNN graph + Borůvka correction) is the "
                   "way past it")
                + ". The peak is measured in the same run: noisy on a shared machine.\n")

    # --- low d: n x 3 --------------------------------------------------------------------
    n_lo = 5000
    Y = rng.standard_normal((n_lo, 3))
    t_low3 = best_time(lambda: lowdim.mst(Y), repeat=3)
    rows = [["lowdim.mst (Prim)", f"{1e3 * t_low3:.1f}", "1.0"]]
    peers = []
    for name, mod, fn in [("mlpack emst (dual-tree Borůvka)", "mlpack", peer_mlpack),
                          ("hdbscan KD-tree Borůvka", "hdbscan", peer_hdbscan_boruvka),
                          ("hdbscan Prim", "hdbscan", peer_hdbscan_prim)]:
        if not available(mod):
            rows.append([name, "not installed", ""])
            continue
        t = best_time(lambda: fn(Y), repeat=3)
        peers.append(t)
        rows.append([name, f"{1e3 * t:.1f}", f"{t / t_low3:.2f}"])
    body.append(f"### n = {n_lo}, d = 3, float64\n")
    body.append(table(["method", "ms", "lowdim speed-up"], rows))
    if peers:
        best = min(peers)
        verdict = "met" if t_low3 <= 2 * best else "missed"
        body.append(f"\nTarget within 2× of the best low-d peer: **{verdict}** "
                    f"(lowdim / best = {t_low3 / best:.2f}). lowdim uses Prim's O(n²) "
                    "algorithm in every dimension (no tree method for low d).")
    write_section("mst", "Euclidean minimum spanning tree (bench/bench_mst.py)",
                  "\n".join(body))
    thread_section(args.quick)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(lowdim.get_num_threads()))
    main()
