"""Quantizers, second round (issue 14): lowdim.RaBitQ vs faiss IndexRaBitQ, OPQ vs faiss
OPQMatrix + ProductQuantizer, and recall@10 against bytes per vector.

Modest sizes so it runs in a few minutes on a shared 2-core machine: 20000 × 768 float32
(mixture of 200 Gaussians), 200 queries, k = 10, 2 threads for everyone; OPQ on the first
128 dimensions. Each timing is the best of a few runs. Usage: bench_quantizers.py [--quick].
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, table, write_section  # noqa: E402

import lowdim  # noqa: E402

def recall(idx, truth):
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(idx, truth)]))


def once(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def mixture(n: int, d: int, nq: int, seed: int):
    """Mixture of 200 Gaussians (σ = 0.5): float32 rows (n, d) and queries (nq, d)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((200, d)).astype(np.float32)
    x = centers[rng.integers(0, 200, n)]
    x += 0.5 * rng.standard_normal((n, d), dtype=np.float32)
    q = centers[rng.integers(0, 200, nq)] + 0.5 * rng.standard_normal((nq, d), dtype=np.float32)
    return x, q


def main(quick: bool) -> None:
    import faiss
    threads = 2
    lowdim.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    n, d, nq, k = (5000, 768, 50, 10) if quick else (20_000, 768, 200, 10)
    x, q = mixture(n, d, nq, seed=0)
    _, truth = lowdim.knn(q, k, Y=x, metric="sqeuclidean")
    rows, frontier = [], []

    # ---- RaBitQ 1 bit ------------------------------------------------------------------
    rq = lowdim.RaBitQ(random_state=0).fit(x)
    t_enc = best_time(lambda: rq.encode(x), repeat=3)
    codes = rq.encode(x)

    def faiss_add():
        index = faiss.IndexRaBitQ(d, faiss.METRIC_L2)
        index.train(x)
        index.add(x)
        return index
    t_fadd = best_time(faiss_add, repeat=3)
    index = faiss_add()
    rows.append(["RaBitQ 1-bit encode (lowdim fit+encode vs faiss train+add)",
                 f"{t_enc * 1e3:.0f} ms", f"{t_fadd * 1e3:.0f} ms", f"{t_fadd / t_enc:.2f}"])

    r_ours = recall(rq.search(q, codes, k)[1], truth)
    for qb in (0, 4):      # faiss qb=0 is float queries: lowdim's query_bits=None (same codes)
        rq.query_bits = None if qb == 0 else qb
        t_s = best_time(lambda: rq.search(q, codes, k), repeat=3)
        r_q = recall(rq.search(q, codes, k)[1], truth)
        index.qb = qb
        t_f = best_time(lambda: index.search(q, k), repeat=3)
        r_f = recall(index.search(q, k)[1], truth)
        rows.append([f"RaBitQ search, no rerank, query bits {qb or 'float'} both; recall@10 "
                     f"{r_q:.3f} vs {r_f:.3f}",
                     f"{t_s * 1e3:.0f} ms", f"{t_f * 1e3:.0f} ms", f"{t_f / t_s:.2f}"])
        frontier.append([f"faiss IndexRaBitQ qb={qb}", index.code_size, f"{r_f:.3f}"])
    rq.query_bits = None
    t_r, (_, i_r, nr) = once(lambda: rq.search(q, codes, k, rescore=x))
    frontier.append(["lowdim RaBitQ 1-bit", rq.code_size, f"{r_ours:.3f}"])
    frontier.append([f"lowdim RaBitQ 1-bit + bound rerank ({nr.mean():.0f} of {n} reranked, "
                     f"{t_r * 1e3:.0f} ms)", rq.code_size, f"{recall(i_r, truth):.3f}"])
    plain = lowdim.RaBitQ(rotation=None, random_state=0).fit(x)       # d bits: faiss's bytes, no rotation
    frontier.append(["lowdim RaBitQ 1-bit, rotation=None", plain.code_size,
                     f"{recall(plain.search(q, plain.encode(x), k)[1], truth):.3f}"])
    sq = lowdim.ScalarQuantizer("binary", rotation="hadamard").fit(x)
    frontier.append(["lowdim binary (Hadamard) + Hamming", sq.code_size,
                     f"{recall(sq.search(q, sq.encode(x), k)[1], truth):.3f}"])

    # ---- PQ / OPQ (full 768-d for recall, 8 bits, M = 96 and 128 bytes) ----------------
    for M in (96, 128):
        pq = lowdim.ProductQuantizer(M, 8, max_points_per_centroid=39, random_state=1234).fit(x[:10_000])
        frontier.append([f"lowdim PQ M={M}", M, f"{recall(pq.search(q, pq.encode(x), k)[1], truth):.3f}"])
    opq_m = lowdim.ProductQuantizer(96, 8, rotation="opq", opq_iter=5,
                                    max_points_per_centroid=39, random_state=1234).fit(x[:10_000])
    frontier.append(["lowdim OPQ(5 rounds) + PQ M=96", 96,
                     f"{recall(opq_m.search(q, opq_m.encode(x), k)[1], truth):.3f}"])

    # ---- OPQ training time and MSE vs faiss (128-d) --------------------------------------
    xo = np.ascontiguousarray(x[:10_000, :128])
    it, M, nbits = (3, 16, 6) if quick else (10, 16, 6)
    t_o, ours = once(lambda: lowdim.ProductQuantizer(M, nbits, rotation="opq", opq_iter=it, random_state=1234).fit(xo))

    def faiss_opq():
        opq = faiss.OPQMatrix(128, M)
        opq.niter = it
        inner = faiss.ProductQuantizer(128, M, nbits)
        opq.pq = inner
        opq.train(xo)
        xr = opq.apply(xo)
        fpq = faiss.ProductQuantizer(128, M, nbits)
        fpq.train(xr)
        return opq, fpq, xr
    t_fo, (opq, fpq, xr) = once(faiss_opq)
    mse = lambda xh: float(((xo.astype(np.float64) - xh) ** 2).sum(1).mean())
    e_ours = mse(ours.decode(ours.encode(xo)))
    e_f = mse(opq.reverse_transform(fpq.decode(fpq.compute_codes(xr))))
    rows.append([f"OPQ train ({it} rounds, M={M}, nbits={nbits}, 10000 × 128); MSE "
                 f"{e_ours:.2f} vs {e_f:.2f}", f"{t_o * 1e3:.0f} ms", f"{t_fo * 1e3:.0f} ms",
                 f"{t_fo / t_o:.2f}"])

    body = (f"Threads: {threads} for lowdim and faiss {faiss.__version__}; ISA "
            f"{lowdim.isa()}. Data: mixture of 200 Gaussians (σ = 0.5), {n} × {d} float32, "
            f"{nq} queries, k = {k}. Load average {os.getloadavg()[0]:.1f} (1 min) on the "
            f"{os.cpu_count()} CPUs when the section was written; ratios are from one run.\n\n"
            + table(["what", "lowdim", "faiss", "ratio (faiss / lowdim)"], rows)
            + "\n\nRecall@10 against bytes per vector (RaBitQ bytes include its 8 bytes of "
              "factors; lowdim's Hadamard rotation pads 768 to 1024 dimensions, faiss's "
              "IndexRaBitQ has no rotation; PQ codebooks trained on 10000 rows):\n\n"
            + table(["method", "bytes / vector", "recall@10"], frontier))
    write_section("quantizers", "Quantizers: RaBitQ and OPQ (bench/bench_quantizers.py)", body)


def _faiss_rabitq(faiss, x, bits):
    index = faiss.IndexRaBitQ(x.shape[1], faiss.METRIC_L2, bits)
    index.train(x)
    index.add(x)
    return index


def rabitq_frontier(quick: bool) -> None:
    """Extended RaBitQ (issue 14): recall@10 against bytes per vector for RaBitQ 1/2/4 bits
    (lowdim beside faiss IndexRaBitQ with the same bits and qb), PQ, OPQ+PQ and faiss's
    low-bit ScalarQuantizer kinds (QT_*bit_eden, QT_*bit_tq*), plus encode/search timings."""
    import os
    import faiss
    threads = 2
    lowdim.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    n, d, nq, k = (5000, 768, 50, 10) if quick else (20_000, 768, 100, 10)
    x, q = mixture(n, d, nq, seed=0)
    _, truth = lowdim.knn(q, k, Y=x, metric="sqeuclidean")
    load = os.getloadavg()
    rows, timing = [], []
    for bits in (1, 2, 4):
        t_f, index = once(lambda: _faiss_rabitq(faiss, x, bits))
        rq = lowdim.RaBitQ(bits, random_state=0).fit(x)
        t_l, codes = once(lambda: rq.encode(x))
        timing.append([f"encode {bits}-bit (lowdim encode vs faiss train+add)",
                       f"{t_l * 1e3:.0f} ms", f"{t_f * 1e3:.0f} ms", f"{t_f / t_l:.2f}"])
        for qb in (4, 8):
            index.qb = qb
            t_fs, (_, fi) = once(lambda: index.search(q, k))
            rq.set_params(query_bits=qb)
            t_ls, (_, li, _) = once(lambda: rq.search(q, codes, k))
            rows.append([f"RaBitQ {bits}-bit qb={qb}", rq.bytes_per_vector, f"{recall(li, truth):.3f}",
                         index.code_size, f"{recall(fi, truth):.3f}"])
            timing.append([f"search {bits}-bit qb={qb}, {nq} queries, no rerank",
                           f"{t_ls * 1e3:.0f} ms", f"{t_fs * 1e3:.0f} ms", f"{t_fs / t_ls:.2f}"])
        flat = lowdim.RaBitQ(bits, rotation=None, query_bits=4, random_state=0).fit(x)   # faiss's bytes
        rows.append([f"RaBitQ {bits}-bit qb=4, rotation=None (lowdim only)", flat.bytes_per_vector,
                     f"{recall(flat.search(q, flat.encode(x), k)[1], truth):.3f}", "", ""])
        rq.set_params(query_bits=None)
        rows.append([f"RaBitQ {bits}-bit float queries", rq.bytes_per_vector,
                     f"{recall(rq.search(q, codes, k)[1], truth):.3f}", "", "(faiss qb=0 not run: "
                     "~100× slower than qb=4)"])
    for M in (48, 96):
        pq = lowdim.ProductQuantizer(M, 8, max_points_per_centroid=39, random_state=1234).fit(x[:10_000])
        fpq = faiss.IndexPQ(d, M, 8)
        fpq.train(x[:10_000])
        fpq.add(x)
        rows.append([f"PQ M={M} nbits=8", M, f"{recall(pq.search(q, pq.encode(x), k)[1], truth):.3f}",
                     fpq.code_size, f"{recall(fpq.search(q, k)[1], truth):.3f}"])
    opq_m = lowdim.ProductQuantizer(96, 8, rotation="opq", opq_iter=5,
                                    max_points_per_centroid=39, random_state=1234).fit(x[:10_000])
    rows.append(["OPQ(5 rounds) + PQ M=96 (lowdim only)", 96,
                 f"{recall(opq_m.search(q, opq_m.encode(x), k)[1], truth):.3f}", "", ""])
    kinds = [a for a in dir(faiss.ScalarQuantizer) if a.startswith("QT_") and
             ("eden" in a or "_tq" in a) and a[3] in "124"]
    for kind in sorted(kinds):
        index = faiss.IndexScalarQuantizer(d, getattr(faiss.ScalarQuantizer, kind), faiss.METRIC_L2)
        index.train(x)
        index.add(x)
        rows.append([f"faiss ScalarQuantizer {kind}", "", "", index.code_size,
                     f"{recall(index.search(q, k)[1], truth):.3f}"])
    rows.sort(key=lambda r: int(r[1] or r[3]))
    body = (f"ISA {lowdim.isa()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start; "
            f"faiss {faiss.__version__}; {threads} threads for both. Data: mixture of 200 "
            f"Gaussians (σ = 0.5), {n} × {d} float32, {nq} queries, k = {k}. lowdim RaBitQ "
            "pads 768 to D = 1024 for its Hadamard rotation (bytes include that, and its 8 "
            "(1 bit) or 12 bytes of factors); faiss IndexRaBitQ has no rotation. faiss's "
            "eden/tq scalar quantizers run on the raw vectors. Times are single runs on a "
            "shared machine.\n\n"
            + table(["method", "lowdim bytes", "lowdim recall@10", "faiss bytes",
                     "faiss recall@10"], rows)
            + "\n\n" + table(["what", "lowdim", "faiss", "ratio (faiss / lowdim)"], timing))
    write_section("quantizers_rabitq", "Extended RaBitQ: recall@10 against bytes per vector "
                  "(bench/bench_quantizers.py rabitq_frontier)", body)


# ---- RaBitQ encode and search in C++ vs faiss IndexRaBitQ (issue 14) -------------------------

def timed(fn, repeat: int = 2):
    """Best (wall, CPU) seconds of `repeat` calls and the last result; CPU = process time of
    all threads, the fair measure on a loaded machine."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = (min(best[0], wall), min(best[1], cpu))
    return best[0], best[1], out


def rabitq_search_main(quick: bool) -> None:
    """1-bit RaBitQ encode vs faiss IndexRaBitQ.add and search with quantized queries vs faiss
    at the same qb (100000 × 768, 1000 queries, k = 10, 2 threads). lowdim is run with its
    Hadamard rotation (D = 1024 bits) and without (768 bits = faiss's bytes, the equal-recall
    comparison)."""
    import faiss
    threads = 2
    lowdim.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    n, d, nq, k = (20_000, 768, 200, 10) if quick else (100_000, 768, 1000, 10)
    x, q = mixture(n, d, nq, seed=0)
    _, truth = lowdim.knn(q, k, Y=x, metric="sqeuclidean")
    load0 = os.getloadavg()
    rows = []

    def faiss_index():
        index = faiss.IndexRaBitQ(d, faiss.METRIC_L2)
        index.train(x)
        return index
    index = faiss_index()
    tf_w, tf_c, _ = timed(lambda: (index.reset(), index.add(x)))
    ours = {rot: lowdim.RaBitQ(rotation=rot).fit(x) for rot in ("hadamard", None)}
    codes = {}
    for rot, rq in ours.items():
        tl_w, tl_c, codes[rot] = timed(lambda: rq.encode(x))
        rows.append([f"1-bit encode, rotation={rot} (lowdim encode vs faiss add)",
                     f"{tl_w:.3f} / {tl_c:.3f}", f"{tf_w:.3f} / {tf_c:.3f}",
                     f"{tf_w / tl_w:.2f} / {tf_c / tl_c:.2f}", "", ""])
    for qb in (4, 8):
        index.qb = qb
        tf_w, tf_c, (_, fi) = timed(lambda: index.search(q, k))
        r_f = recall(fi, truth)
        for rot, rq in ours.items():
            rq.set_params(query_bits=qb)
            tl_w, tl_c, (_, li, _) = timed(lambda: rq.search(q, codes[rot], k))
            rows.append([f"search qb={qb}, rotation={rot} ({rq.code_size} vs {index.code_size} B)",
                         f"{tl_w:.3f} / {tl_c:.3f}", f"{tf_w:.3f} / {tf_c:.3f}",
                         f"{tf_w / tl_w:.2f} / {tf_c / tl_c:.2f}", f"{recall(li, truth):.3f}",
                         f"{r_f:.3f}"])
    rq = ours["hadamard"]
    for qb in (None, 8):
        rq.set_params(query_bits=qb)
        tl_w, tl_c, (_, li, nr) = timed(lambda: rq.search(q, codes["hadamard"], k, rescore=x), 1)
        rows.append([f"search qb={qb}, rotation=hadamard, bound rerank ({nr.mean():.0f} of {n} "
                     "reranked per query)", f"{tl_w:.3f} / {tl_c:.3f}", "", "",
                     f"{recall(li, truth):.3f}", ""])
    rq.set_params(query_bits=None)
    tl_w, tl_c, (_, li, _) = timed(lambda: rq.search(q, codes["hadamard"], k), 1)
    rows.append(["search float queries, rotation=hadamard (faiss qb=0 not run: ~50× slower "
                 "than its qb=4)", f"{tl_w:.3f} / {tl_c:.3f}", "", "", f"{recall(li, truth):.3f}", ""])
    load1 = os.getloadavg()
    body = (f"ISA {lowdim.isa()} (AVX2 kernels: vpshufb popcount for quantized queries; no "
            f"AVX-512 on this CPU); faiss {faiss.__version__}; {threads} threads for both. Data: "
            f"mixture of 200 Gaussians (σ = 0.5), {n} × {d} float32, {nq} queries, k = {k}. "
            "Times are the best of two calls, wall / CPU seconds (CPU = process time of all "
            "threads). lowdim's Hadamard rotation pads 768 to D = 1024 bits; rotation=None "
            "codes the 768 dimensions as faiss IndexRaBitQ does (same bytes, the equal-recall "
            "row). Load average (1/5/15 min) "
            f"{load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} at the start, "
            f"{load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} at the end.\n\n"
            + table(["what", "lowdim s (wall / CPU)", "faiss s (wall / CPU)",
                     "ratio faiss / lowdim (wall / CPU)", "lowdim recall@10", "faiss recall@10"],
                    rows))
    write_section("quantizers_rabitq_search", "RaBitQ encode and search, C++ kernels vs faiss "
                  "IndexRaBitQ (bench/bench_quantizers.py rabitq_search_main)", body)


# ---- 4-bit fast-scan PQ (issue 14) ----------------------------------------------------------

def fastscan_main(quick: bool) -> None:
    """lowdim ProductQuantizer(96, nbits=4) fast-scan search against faiss IndexPQFastScan
    (bbs = 32, its default) and against lowdim's own 8-bit ADC at the same M."""
    import faiss
    threads = 2
    lowdim.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    n, d, nq, k, M = (20_000, 768, 200, 10, 96) if quick else (100_000, 768, 1000, 10, 96)
    x, q = mixture(n, d, nq, seed=1)
    train = x[:20_000]
    pq4 = lowdim.ProductQuantizer(M, 4, n_iter=10, random_state=1234).fit(train)
    codes4 = pq4.encode(x)
    t_fast = best_time(lambda: pq4.search(q, codes4, k), repeat=3)
    t_plain4 = best_time(lambda: pq4.search(q, codes4, k, fast_scan=False), repeat=1)
    d_fast, i_fast = pq4.search(q, codes4, k)
    d_plain, i_plain = pq4.search(q, codes4, k, fast_scan=False)
    same_sets = np.mean([set(a) == set(b) for a, b in zip(i_fast, i_plain)])
    exact = bool(np.array_equal(np.sort(d_fast, 1), np.sort(d_plain, 1)))

    index = faiss.IndexPQFastScan(d, M, 4, faiss.METRIC_L2, 32)
    index.pq = pq4.to_faiss()       # the same codebooks: recall compares scan, not training
    index.is_trained = True
    index.add(x)
    t_faiss = best_time(lambda: index.search(q, k), repeat=3)
    _, i_faiss = index.search(q, k)

    pq8 = lowdim.ProductQuantizer(M, 8, n_iter=10, max_points_per_centroid=64, random_state=1234).fit(train)
    codes8 = pq8.encode(x)
    t_adc8 = best_time(lambda: pq8.search(q, codes8, k), repeat=1)

    _, truth = lowdim.knn(q, k, Y=x, metric="sqeuclidean")
    rows = [
        ["lowdim 4-bit fast-scan (+ rerank of 4k)", f"{t_fast * 1e3:.0f} ms", "1.00",
         f"{recall(i_fast, truth):.3f}"],
        ["faiss IndexPQFastScan (bbs 32, same codebooks)", f"{t_faiss * 1e3:.0f} ms",
         f"{t_faiss / t_fast:.2f}", f"{recall(i_faiss, truth):.3f}"],
        ["lowdim 8-bit ADC (M = 96)", f"{t_adc8 * 1e3:.0f} ms", f"{t_adc8 / t_fast:.2f}",
         f"{recall(pq8.search(q, codes8, k)[1], truth):.3f}"],
        ["lowdim 4-bit plain ADC (fast_scan=False)", f"{t_plain4 * 1e3:.0f} ms",
         f"{t_plain4 / t_fast:.2f}", f"{recall(i_plain, truth):.3f}"],
    ]
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    body = (f"Threads: {threads} for lowdim and faiss {faiss.__version__}; ISA {lowdim.isa()} "
            f"(the AVX2 kernel; no AVX-512 on this CPU). Data: mixture of 200 Gaussians "
            f"(σ = 0.5), {n} × {d} float32, {nq} queries, k = {k}, M = {M}; codebooks trained "
            f"on 20000 rows. Each time is the best of a few calls of the whole search "
            f"(lowdim's includes packing the codes into blocks and the exact re-rank; faiss's "
            f"codes were packed at add time). The machine is shared: load average "
            f"{load} (1/5/15 min) when the section was written, so absolute times are noisy; "
            f"ratios are from one run.\n\n"
            + table(["search", "time", "ratio (its time / fast-scan)", "recall@10"], rows)
            + f"\n\nFast-scan against plain 4-bit ADC: identical neighbour sets for "
              f"{same_sets:.1%} of the queries; returned distances equal the plain ADC "
              f"distances: {exact}.")
    write_section("quantizers_fastscan",
                  "4-bit fast-scan PQ (bench/bench_quantizers.py, fastscan_main)", body)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=("main", "rabitq", "rabitq-search", "fastscan"), default=None,
                    help="run one section (default: all)")
    args = ap.parse_args()
    if args.only in (None, "main"):
        main(args.quick)
    if args.only in (None, "rabitq"):
        rabitq_frontier(args.quick)
    if args.only in (None, "rabitq-search"):
        rabitq_search_main(args.quick)
    if args.only in (None, "fastscan"):
        fastscan_main(args.quick)
