"""Product quantization: lowdim vs faiss (C++/BLAS, same thread count) and nanopq (numpy).

Issue-4 targets: train 65536×768, M=96, 8 bits, 25 iterations in ≤ 1.5× faiss's time;
encode 100000×768 at ≥ 1.0× faiss compute_codes throughput; ADC search of 100 queries
over 100000 codes (k=10) at ≥ 1.0× faiss IndexPQ. nanopq is far slower, so it runs on a
slice and is compared by throughput (rows/s, queries/s). Usage: bench_pq.py [--quick].
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
from _limits import measure  # noqa: E402

import lowdim  # noqa: E402


def once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    # The nanopq slice (and --quick) train on < 39·K points; the warning is expected there.
    warnings.filterwarnings("ignore", message="training .* centroids per sub-space")
    threads = args.threads or lowdim.get_num_threads()
    d, M, nbits = 768, 96, 8
    n_train, n_iter, n_base, nq, k = 65536, 25, 100000, 100, 10
    if args.quick:
        n_train, n_iter, n_base, nq = 8192, 5, 10000, 20

    rng = np.random.default_rng(0)
    # Clustered data (a mixture of 1000 Gaussians) resembles embeddings more than white noise.
    centers = rng.standard_normal((1000, d)).astype(np.float32)
    def sample(n):
        return (centers[rng.integers(0, 1000, n)]
                + 0.5 * rng.standard_normal((n, d), dtype=np.float32))
    X_train, X_base, Q = sample(n_train), sample(n_base), sample(nq)

    rows, checks = [], []
    ours = lowdim.ProductQuantizer(M, nbits, n_iter=n_iter, n_threads=threads, random_state=1234)
    t_ours = once(lambda: ours.fit(X_train))
    codes = ours.encode(X_base)
    mse_ours = float(((ours.decode(codes[:20000]) - X_base[:20000]) ** 2).mean())

    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is None:
        rows.append(["faiss", "not installed", "", ""])
    else:
        faiss.omp_set_num_threads(threads)
        fpq = faiss.ProductQuantizer(d, M, nbits)
        fpq.cp.niter = n_iter
        t_faiss = once(lambda: fpq.train(X_train))
        fcodes = fpq.compute_codes(X_base)
        mse_f = float(((fpq.decode(fcodes[:20000]) - X_base[:20000]) ** 2).mean())
        rows.append([f"train {n_train}×{d}, M={M}, {n_iter} it", f"{t_ours:.2f} s",
                     f"{t_faiss:.2f} s", f"{t_faiss / t_ours:.2f}"])
        checks.append(["train ≤ 1.5× faiss time", f"{t_ours / t_faiss:.2f}× faiss",
                       "met" if t_ours <= 1.5 * t_faiss else "MISSED"])
        checks.append(["reconstruction MSE within 5% of faiss", f"{mse_ours:.4f} vs {mse_f:.4f}",
                       "met" if mse_ours <= 1.05 * mse_f else "MISSED"])

        # Encode and search with faiss's codebooks on both sides: identical work.
        same = lowdim.ProductQuantizer.from_faiss(fpq)
        same.n_threads = threads
        t_enc_o = best_time(lambda: same.encode(X_base), repeat=3)
        t_enc_f = best_time(lambda: fpq.compute_codes(X_base), repeat=3)
        agree = float((same.encode(X_base) == fcodes).mean())
        rows.append([f"encode {n_base}×{d}", f"{t_enc_o * 1e3:.0f} ms", f"{t_enc_f * 1e3:.0f} ms",
                     f"{t_enc_f / t_enc_o:.2f}"])
        checks.append(["encode ≥ 1.0× faiss compute_codes", f"{t_enc_f / t_enc_o:.2f}×",
                       "met" if t_enc_o <= t_enc_f else "MISSED"])
        checks.append(["codes equal faiss (same codebooks)", f"{agree * 100:.5f}% equal",
                       "met" if agree == 1.0 else "near-ties differ"])

        index = faiss.IndexPQ(d, M, nbits)
        index.pq = fpq
        index.is_trained = True
        index.add(X_base)
        c_same = same.encode(X_base)
        t_s_o = best_time(lambda: same.search(Q, c_same, k), repeat=5)
        t_s_f = best_time(lambda: index.search(Q, k), repeat=5)
        rows.append([f"ADC search {nq} q × {n_base} codes, k={k}", f"{t_s_o * 1e3:.1f} ms",
                     f"{t_s_f * 1e3:.1f} ms", f"{t_s_f / t_s_o:.2f}"])
        checks.append(["search ≥ 1.0× faiss IndexPQ", f"{t_s_f / t_s_o:.2f}×",
                       "met" if t_s_o <= t_s_f else "MISSED"])
        same_idx = float((same.search(Q, c_same, k)[1] == index.search(Q, k)[1]).mean())
        checks.append(["search neighbours equal faiss's", f"{same_idx * 100:.2f}%", "info"])

    nano_rows = []
    try:
        import nanopq
    except ImportError:
        nanopq = None
    if nanopq is None:
        nano_rows.append(["nanopq", "not installed", "", ""])
    else:
        # nanopq (scipy k-means per sub-space) needs minutes at full size: a slice instead.
        n_small, it_small = 8192, 5
        npq = nanopq.PQ(M=M, Ks=1 << nbits, verbose=False)
        t_n = once(lambda: npq.fit(X_train[:n_small], iter=it_small, seed=1))
        small = lowdim.ProductQuantizer(M, nbits, n_iter=it_small, n_threads=threads, random_state=1234)
        t_l = once(lambda: small.fit(X_train[:n_small]))
        nano_rows.append([f"train {n_small}×{d}, {it_small} it", f"{t_l:.2f} s", f"{t_n:.2f} s",
                          f"{t_n / t_l:.1f}"])
        n_enc = 10000
        t_n = once(lambda: npq.encode(X_base[:n_enc]))
        t_l = best_time(lambda: small.encode(X_base[:n_enc]), repeat=3)
        nano_rows.append([f"encode {n_enc}×{d}", f"{n_enc / t_l:,.0f} rows/s",
                          f"{n_enc / t_n:,.0f} rows/s", f"{t_n / t_l:.1f}"])
        ncodes = npq.encode(X_base)
        lcodes = small.encode(X_base)
        nq_n = 10
        def nano_search():
            for q in Q[:nq_n]:
                dist = npq.dtable(q).adist(ncodes)
                np.argpartition(dist, k)[:k]
        t_n = once(nano_search)
        t_l = best_time(lambda: small.search(Q, lcodes, k), repeat=3)
        nano_rows.append([f"ADC search over {n_base} codes, k={k}", f"{nq / t_l:,.0f} q/s",
                          f"{nq_n / t_n:,.0f} q/s", f"{(t_n / nq_n) / (t_l / nq):.1f}"])

    lim = measure(threads)
    if faiss is not None:
        # ADC reads every code byte once and gathers M table entries per code: bytes/s of
        # codes against the copy bandwidth says how far search is from memory-bound.
        checks.append(["ADC search code stream", lim.byte_fraction(nq * n_base * M / t_s_o / 1e9),
                       "info"])
        checks.append(["encode as GFLOP/s (2·n·d·2^nbits)", lim.flop_fraction(
            2 * n_base * d * (1 << nbits) / t_enc_o / 1e9), "info"])
    body = [lim.header(), "", f"Threads: {threads} for lowdim and faiss. Data: mixture of 1000 Gaussians, "
            f"d={d}. Encode/search use the same (faiss-trained) codebooks on both sides. "
            "Training is timed once; encode best of 3, search best of 5. faiss runs its "
            "sub-spaces one after another with OpenMP inside each k-means (slow when the "
            "machine is busy); lowdim gives each thread whole sub-spaces.",
            "", table(["task", "lowdim", "faiss", "speed-up"], rows), "",
            table(["issue-4 target", "measured", "status"], checks), "",
            "nanopq (pure numpy) on slices, compared by throughput:", "",
            table(["task", "lowdim", "nanopq", "speed-up"], nano_rows)]
    if args.quick:
        body.insert(0, "**--quick run: reduced sizes, not the issue's targets.**\n")
    write_section("pq", "Product quantization (issue 4)", "\n".join(body))


if __name__ == "__main__":
    main()
