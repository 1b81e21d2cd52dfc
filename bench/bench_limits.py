"""Issue 17's sections in one short run: the float32 distance tile (kNN self-search), PQ
8-bit ADC search and encode (against faiss IndexPQ with the same codebooks) and the FWHT,
each against the ceilings measured in the same process (bench/_limits.py): numpy sgemm
and syrk (X.T @ X), lowdim's FMA probe, the copy bandwidth. Wall time and CPU-seconds
(all threads of the process), best of a few repeats, with the 1-minute load average next
to every row. Usage: bench_limits.py [--quick] [--only fwht]; writes bench/results/limits.md
(not with --only).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import peak_fma_gflops, table, write_section  # noqa: E402
from _limits import cache_sizes, copy_bandwidth, cpu_flags, cpu_model, matmul_rate  # noqa: E402

import lowdim  # noqa: E402
from lowdim import _config  # noqa: E402


def load1() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def timed(fn, repeat: int, warm_up: bool = True) -> tuple[float, float]:
    """Best wall and best CPU-seconds of `repeat` calls (after one warm-up call)."""
    if warm_up:
        fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def cpu_line() -> str:
    """Model name plus family/model (which says the core generation the name hides)."""
    fam = mod = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu family"):
            fam = line.split(":", 1)[1].strip()
        elif line.startswith("model") and not line.startswith("model name"):
            mod = line.split(":", 1)[1].strip()
        if fam != "?" and mod != "?":
            break
    flags = cpu_flags()
    missing = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f not in flags]
    absent = f" (no {', '.join(missing)})" if missing else ""
    return (f"{cpu_model()} (family {fam}, model {mod}), {os.cpu_count()} cores, "
            f"{flags}{absent}, caches {cache_sizes()}, lowdim dispatch `{lowdim.isa()}`")


def syrk_rate(threads: int, n: int = 30000, d: int = 768) -> tuple[float, float]:
    """numpy X.T @ X (BLAS syrk), counted as 2·n·d² like the self-search's effective rate."""
    from threadpoolctl import threadpool_limits
    X = np.random.default_rng(1).standard_normal((n, d), dtype=np.float32)
    with threadpool_limits(threads):
        w, c = timed(lambda: X.T @ X, 2)
    return 2 * n * d * d / w / 1e9, 2 * n * d * d / c / 1e9


def tiles(thread_counts: list[int], quick: bool) -> str:
    n, d, k = (6144, 768, 20) if quick else (20000, 768, 20)
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((n, 64)) @ rng.standard_normal((64, d))
         + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
    blocks = -(-n // 192)
    done = 2 * d * 192 * 192 * blocks * (blocks + 1) / 2   # flops of the I <= J tiles run
    rows = []
    for t in thread_counts:
        mm_w, mm_c = matmul_rate(t)
        sy_w, sy_c = syrk_rate(t)
        probe = peak_fma_gflops(t) or float("nan")
        w, c = timed(lambda: lowdim.knn(X, k, n_threads=t), 2, warm_up=False)
        kw, kc = done / w / 1e9, done / c / 1e9
        eff_w, eff_c = 2 * n * n * d / w / 1e9, 2 * n * n * d / c / 1e9
        rows.append([f"{t}", f"{mm_w:.0f} / {mm_c:.0f}", f"{sy_w:.0f} / {sy_c:.0f}",
                     f"{probe:.0f}", f"{kw:.0f} / {kc:.0f}", f"{kw / mm_w:.0%} / {kc / mm_c:.0%}",
                     f"{eff_w / sy_w:.0%} / {eff_c / sy_c:.0%}", f"{kw / probe:.0%}", load1()])
    return (f"**float32 distance tiles**: kNN self-search {n} × {d}, k = {k} (tiles + fused "
            "selection + packing + exact re-check), best of 2 (no warm-up: one call is seconds). Rates are GFLOP/s wall / per "
            "CPU-second. The kNN's executed rate counts the I <= J tiles it runs "
            f"({done / 1e9:.0f} GFLOP) and is compared with numpy's sgemm 2048³; its effective "
            f"rate (2·n²·d = {2 * n * n * d / 1e9:.0f} GFLOP, every pair) with numpy's "
            "X.T @ X (30000 × 768, BLAS syrk, counted as 2·n·d², which also does half the "
            "flops it is credited with).\n\n"
            + table(["threads", "sgemm", "syrk (eff.)", "FMA probe", "kNN executed",
                     "of sgemm", "kNN eff. of syrk eff.", "of probe", "load"], rows))


def pq(threads: int, quick: bool) -> str:
    import faiss
    d, M, nbits, k = 768, 96, 8, 10
    n_base, nq, n_enc = (20000, 20, 5000) if quick else (100000, 100, 20000)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((1000, d)).astype(np.float32)

    def sample(m):
        return centers[rng.integers(0, 1000, m)] + 0.5 * rng.standard_normal((m, d), dtype=np.float32)
    X_base, Q = sample(n_base), sample(nq)
    faiss.omp_set_num_threads(threads)
    fpq = faiss.ProductQuantizer(d, M, nbits)
    fpq.cp.niter = 4                       # codebook quality does not change the timings
    fpq.train(X_base[:20000])
    ours = lowdim.ProductQuantizer.from_faiss(fpq)
    ours.n_threads = threads
    index = faiss.IndexPQ(d, M, nbits)
    index.pq = fpq
    index.is_trained = True
    index.add(X_base)
    codes = ours.encode(X_base)
    same = float((ours.search(Q, codes, k)[1] == index.search(Q, k)[1]).mean())
    s_o = timed(lambda: ours.search(Q, codes, k), 3)
    s_f = timed(lambda: index.search(Q, k), 3)
    load_s = load1()
    E = X_base[:n_enc]
    e_o = timed(lambda: ours.encode(E), 3)
    e_f = timed(lambda: fpq.compute_codes(E), 3)
    load_e = load1()
    bw = copy_bandwidth(threads)
    mm_w, mm_c = matmul_rate(threads)
    stream = nq * n_base * M / s_o[0] / 1e9
    enc_gf = 2 * n_enc * d * (1 << nbits) / e_o[0] / 1e9
    rows = [[f"ADC search {nq} q × {n_base} codes, k = {k}", f"{s_o[0] * 1e3:.0f} / {s_o[1] * 1e3:.0f}",
             f"{s_f[0] * 1e3:.0f} / {s_f[1] * 1e3:.0f}", f"**{s_f[0] / s_o[0]:.2f}×** / {s_f[1] / s_o[1]:.2f}×",
             f"code stream {stream:.1f} GB/s = {stream / bw:.0%} of copy", load_s],
            [f"encode {n_enc} × {d}", f"{e_o[0] * 1e3:.0f} / {e_o[1] * 1e3:.0f}",
             f"{e_f[0] * 1e3:.0f} / {e_f[1] * 1e3:.0f}", f"**{e_f[0] / e_o[0]:.2f}×** / {e_f[1] / e_o[1]:.2f}×",
             f"{enc_gf:.0f} GFLOP/s (2·n·d·2^nbits) = {enc_gf / mm_w:.0%} of sgemm", load_e]]
    return (f"**PQ 8-bit ADC search and encode** (M = {M}, d = {d}, K = 256, {threads} threads; "
            "faiss's codebooks on both sides, so the work is identical; neighbours equal to "
            f"faiss's for {same:.1%} of entries). Times in ms wall / CPU-seconds, best of 3; "
            f"ratio = faiss time / lowdim time. Copy bandwidth {bw:.1f} GB/s, numpy sgemm "
            f"{mm_w:.0f} GFLOP/s wall ({mm_c:.0f} per CPU-second) in the same run. Training "
            "is not re-timed here (bench/bench_pq.py, minutes at full size).\n\n"
            + table(["task", "lowdim", "faiss IndexPQ", "speed-up wall / CPU", "of the limit",
                     "load"], rows))


def fwht(thread_counts: list[int], quick: bool) -> str:
    n, d = (4096, 1024) if quick else (16384, 1024)
    X = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
    work = X.copy()
    Y = np.empty_like(X)
    traffic = 2 * X.nbytes                 # every byte of X read once, the result written once
    core = _config._core

    def best(fn, repeat=7):                # input restored before each call, untimed
        times = []
        for _ in range(repeat + 1):
            np.copyto(work, X)
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times[1:])

    def of_copy(s, bw):
        return f"{traffic / s / 1e9:.1f} = **{traffic / s / 1e9 / bw:.0%}**"
    rows = []
    for t in thread_counts:
        bw = copy_bandwidth(t)
        t_kernel = best(lambda: core.fwht(work, 1.0, t))
        t_fused = best(lambda: core.fwht_checked(work, 1.0, False, t))
        t_e2e = best(lambda: lowdim.fwht(work, out=work, n_threads=t))
        t_new = best(lambda: lowdim.fwht(work, n_threads=t))
        t_alloc_copy = best(lambda: work.copy())
        t_out = best(lambda: lowdim.fwht(work, out=Y, n_threads=t))
        rows.append([f"{t}", f"{bw:.1f}"] + [of_copy(s, bw) for s in (t_kernel, t_fused, t_e2e)]
                    + [f"{t_new * 1e3:.1f} ms = {of_copy(t_new, bw)}",
                       f"{t_alloc_copy * 1e3:.1f} ms", f"**{t_alloc_copy / t_new:.0%}**",
                       f"{t_out * 1e3:.1f} ms = {of_copy(t_out, bw)}", load1()])
    return (f"**FWHT** {n} × {d} float32, unnormalised. \"kernel\": the unchecked C++ "
            "transform in place (`_core.fwht`); \"row-checked\": the in-place pass a private "
            "copy gets, each row's output checked in L1 right after its transform "
            "(`_core.fwht_checked(X, 1, False, t)`); \"end to end\": `lowdim.fwht(X, out=X)`, "
            "which refuses NaN, infinity and overflow and leaves X untouched when it does, so "
            "it reads X once before writing any of it (3 memory streams against copy's 2: "
            "ceiling about 67% of copy); \"out-of-place\": `lowdim.fwht(X)`, one fused pass "
            "(read a row, transform it in cache, check, write the result with non-temporal "
            "stores into a fresh array), also against `X.copy()` timed in the same run (a copy "
            "that allocates its output too; \"vs X.copy()\" = copy time / fwht time); "
            "\"out=Y\": `lowdim.fwht(X, out=Y)` into a separate preallocated Y, which reads X "
            "once to check it first so Y stays untouched on a refusal (3 streams). GB/s count "
            "one read of X and one write of the result; copy GB/s is np.copyto into a "
            "preallocated array (bench/_limits.py); best of 7, the input restored before each "
            "call.\n\n"
            + table(["threads", "copy GB/s", "kernel GB/s = of copy", "row-checked",
                     "end to end", "out-of-place", "X.copy()", "vs X.copy()", "out=Y",
                     "load"], rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--only", choices=("fwht",),
                    help="print one section and write nothing (for iterating on a kernel)")
    args = ap.parse_args()
    threads = lowdim.get_num_threads()
    counts = sorted({1, threads})
    if args.only == "fwht":
        print(fwht(counts, args.quick))
        return
    start = load1()
    parts = [f"CPU: {cpu_line()}. Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"1-minute load average {start} at the start (`uptime`; {os.cpu_count()} cores)."]
    parts.append(tiles(counts, args.quick))
    try:
        parts.append(pq(threads, args.quick))
    except ImportError:
        parts.append("**PQ**: faiss-cpu not installed, section skipped.")
    parts.append(fwht(counts, args.quick))
    parts.append(f"Load average at the end: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}.")
    if args.quick:
        parts.insert(0, "**--quick run: reduced sizes, not the issue's targets.**")
    write_section("limits", f"At the machine's limit (issue 17): {cpu_model()}, "
                  f"{lowdim.isa().upper()}", "\n\n".join(parts), limits=False)


if __name__ == "__main__":
    main()
