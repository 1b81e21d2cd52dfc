"""FWHT / SRHT / FJLT against their peers on 8192 × 4096 float32 (issue targets).

Peers: FFHT (`ffht-unofficial`, C + AVX, 1-D only), pyfwht (GPL; benchmark only), a
vectorised numpy butterfly (lowdim's own numpy twin), scipy.linalg.hadamard(d) @ X, and
scikit-learn's Gaussian/Sparse random projection transforms at the same k.
Memory bandwidth is measured here with large array copies (2 × bytes / time).
"""
from __future__ import annotations

import argparse
import threading

import numpy as np

import lowdim
from _common import best_time, table, write_section
from _limits import measure


def memory_bandwidth_gbs(n_bytes=1 << 29) -> float:
    """Best of 1- and 2-thread np.copyto over n_bytes (read + write bytes per second)."""
    src = np.ones(n_bytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    one = best_time(lambda: np.copyto(dst, src), repeat=5)

    def two_threads():
        half = len(src) // 2
        ts = [threading.Thread(target=np.copyto, args=(dst[s], src[s]))
              for s in (slice(0, half), slice(half, None))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    two = best_time(two_threads, repeat=5)
    return 2 * n_bytes / min(one, two) / 1e9


def main(quick: bool) -> None:
    n, d, k = (1024, 4096, 256) if quick else (8192, 4096, 256)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    work = X.copy()
    threads = lowdim.get_num_threads()
    rows = []

    def run_fwht(t):
        np.copyto(work, X)
        lowdim.fwht(work, out=work, n_threads=t)
    copy_time = best_time(lambda: np.copyto(work, X))
    t_one = best_time(lambda: run_fwht(1)) - copy_time
    t_all = best_time(lambda: run_fwht(threads)) - copy_time
    bw = memory_bandwidth_gbs()
    rows.append([f"lowdim.fwht, 1 thread ({lowdim.isa()})", f"{t_one * 1e3:.1f}",
                 f"{t_one / n * 1e6:.2f}", "1.00"])
    active = lowdim.isa()
    for level in lowdim.available_isas():
        if level == active:
            continue
        lowdim.set_isa(level)
        t = best_time(lambda: run_fwht(1)) - copy_time
        rows.append([f"lowdim.fwht, 1 thread ({level})", f"{t * 1e3:.1f}", f"{t / n * 1e6:.2f}",
                     f"{t_one / t:.2f}"])
    lowdim.set_isa(active)
    rows.append([f"lowdim.fwht, {threads} threads", f"{t_all * 1e3:.1f}",
                 f"{t_all / n * 1e6:.2f}", f"{t_one / t_all:.2f}"])
    notes = []
    try:
        import ffht

        def run_ffht():
            np.copyto(work, X)
            for row in work:
                ffht.fht_(row)
        t = best_time(run_ffht) - copy_time
        rows.append(["FFHT fht_ per row, 1 thread", f"{t * 1e3:.1f}", f"{t / n * 1e6:.2f}",
                     f"{t_one / t:.2f}"])
        notes.append(f"fwht 1 thread vs FFHT per row: **{t / t_one:.2f}×** (target ≥ 1.0×)")
    except ImportError:
        notes.append("FFHT not installed (`pip install --no-build-isolation ffht-unofficial`)")
    try:
        import pyfwht
        X64 = X[: n // 4].astype(np.float64)            # pyfwht's CPU path takes float64 only
        ours = best_time(lambda: lowdim.fwht(X64, n_threads=1), repeat=3)
        rows.append(["lowdim.fwht float64, 1 thread (quarter of rows)", f"{ours * 1e3:.1f}",
                     f"{ours / len(X64) * 1e6:.2f}", ""])
        for backend in ("cpu", "openmp"):
            t = best_time(lambda: pyfwht.fwht(X64, backend=backend), repeat=3)
            rows.append([f"pyfwht.fwht float64 backend={backend} (quarter of rows)",
                         f"{t * 1e3:.1f}", f"{t / len(X64) * 1e6:.2f}", f"{t / ours:.2f} (vs f64)"])
    except ImportError:
        notes.append("pyfwht not installed")
    from lowdim import _ref
    t = best_time(lambda: (np.copyto(work, X), _ref.fwht(work, 1.0, 1)), repeat=3) - copy_time
    rows.append(["numpy butterfly (lowdim._ref)", f"{t * 1e3:.1f}", f"{t / n * 1e6:.2f}",
                 f"{t_one / t:.2f}"])
    try:
        from scipy.linalg import hadamard
        H = hadamard(d).astype(np.float32)
        sub = X[:512]
        t = best_time(lambda: sub @ H, repeat=3) * n / 512
        rows.append(["scipy.linalg.hadamard(d) @ X (BLAS)", f"{t * 1e3:.1f}",
                     f"{t / n * 1e6:.2f}", f"{t_one / t:.2f}"])
    except ImportError:
        notes.append("scipy not installed")
    frac = 2 * X.nbytes / t_all / 1e9 / bw
    notes.append(f"fwht with {threads} threads moves {2 * X.nbytes / t_all / 1e9:.1f} GB/s = "
                 f"**{frac:.0%}** of the measured {bw:.1f} GB/s copy bandwidth (issue-17 "
                 "target ≥ 80%)")
    lim = measure(threads)
    notes.append(lim.header() + " fwht, all threads: "
                 + lim.byte_fraction(2 * X.nbytes / t_all / 1e9) + " (chunked-copy probe).")

    proj_rows = []
    t_srht = best_time(lambda: lowdim.srht(X, k, seed=0))
    t_fjlt = best_time(lambda: lowdim.fjlt(X, k, seed=0))
    proj_rows.append(["lowdim.srht", f"{t_srht * 1e3:.1f}", "", ""])
    proj_rows.append(["lowdim.fjlt", f"{t_fjlt * 1e3:.1f}", "", ""])
    try:
        from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection
        for cls in (GaussianRandomProjection, SparseRandomProjection):
            est = cls(n_components=k, random_state=0).fit(X)
            t = best_time(lambda: est.transform(X), repeat=3)
            proj_rows.append([f"sklearn {cls.__name__}.transform", f"{t * 1e3:.1f}",
                              f"{t / t_srht:.2f}", f"{t / t_fjlt:.2f}"])
            if cls is GaussianRandomProjection:
                notes.append(f"srht vs sklearn Gaussian transform: **{t / t_srht:.1f}×**, "
                             f"fjlt: **{t / t_fjlt:.1f}×** (target ≥ 3×)")
    except ImportError:
        notes.append("scikit-learn not installed")

    body = (f"Input {n} × {d} float32; times are best of several runs, "
            "excluding the copy that restores the input for in-place transforms.\n\n"
            + table(["FWHT", "ms", "µs / row", "lowdim 1-thread speed-up"], rows)
            + f"\n\nProjection to k = {k}:\n\n"
            + table(["projection", "ms", "speed-up of srht", "speed-up of fjlt"], proj_rows)
            + "\n\n" + "\n".join(f"- {s}" for s in notes))
    write_section("hadamard", "Hadamard family: fwht, srht, fjlt", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
