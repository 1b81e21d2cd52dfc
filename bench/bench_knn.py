"""Benchmark: exact kNN and local intrinsic dimension against faiss, scikit-learn, skdim.

kNN of 20000 × 768 float32, k = 20 (self excluded): lowdim.knn vs faiss IndexFlatL2
(BLAS sgemm inside) and sklearn NearestNeighbors(algorithm='brute'), all on the same
thread count. LID end to end: lowdim.lid vs skdim.id.MLE().fit and vs faiss kNN + the
numpy formula. The distance kernel's GFLOP/s (2·n²·d flops) is set against the peak of a
pure-FMA loop (lowdim._core.fma_probe) and of a large numpy sgemm.
Usage: python bench/bench_knn.py [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, table, write_section  # noqa: E402
from _limits import measure  # noqa: E402

import lowdim  # noqa: E402


def cpu_seconds(fn, repeat: int = 3) -> float:
    """Best CPU time (all threads of the process) of `repeat` calls: on a shared machine
    this is steadier than wall time, and it is what the per-CPU-second matmul rate uses."""
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def amsaleg(dist: np.ndarray) -> np.ndarray:
    """The numpy formula a user would write after a faiss search (squared distances in)."""
    r = np.sqrt(np.maximum(dist, 0, dtype=np.float64))
    return dist.shape[1] / np.log(r[:, -1:] / r).sum(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = ap.parse_args()
    n, d, k = (3000, 256, 20) if args.quick else (20000, 768, 20)
    threads = lowdim.get_num_threads()
    rng = np.random.default_rng(0)
    # Embedding-like data: a 64-dim latent signal plus noise, so neighbours are meaningful.
    X = (rng.standard_normal((n, 64)) @ rng.standard_normal((64, d))
         + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
    repeat = 3

    rows, notes, times = [], [], {}
    t_ours = best_time(lambda: lowdim.knn(X, k, n_threads=threads), repeat=repeat)
    dist, idx = lowdim.knn(X, k, n_threads=threads)
    gflops = 2 * n * n * d / t_ours / 1e9           # "effective": every pair counted
    blocks = -(-n // 192)                           # self-search tiles I <= J of 192 rows
    done = 2 * d * 192 * 192 * blocks * (blocks + 1) / 2
    kernel_gflops = done / t_ours / 1e9             # flops the kernel actually executed
    times["lowdim"] = t_ours
    rows.append(["kNN", "lowdim.knn", f"{t_ours:.3f}", "1.00", f"{gflops:.0f}"])

    try:
        import faiss
        faiss.omp_set_num_threads(threads)

        def faiss_knn():
            index = faiss.IndexFlatL2(d)
            index.add(X)
            return index.search(X, k + 1)
        t = best_time(faiss_knn, repeat=repeat)
        _, fi = faiss_knn()
        times["faiss"] = t
        agree = (fi[:, 1:] == idx).mean()
        rows.append(["kNN", "faiss IndexFlatL2", f"{t:.3f}", f"{t / t_ours:.2f}",
                     f"{2 * n * n * d / t / 1e9:.0f}"])
        notes.append(f"faiss and lowdim return the same neighbour indices for {agree:.2%} "
                     "of entries (the rest are float32 near-ties).")
    except ImportError:
        notes.append("faiss-cpu not installed: faiss rows skipped.")

    try:
        from sklearn.neighbors import NearestNeighbors
        from threadpoolctl import threadpool_limits

        def sk_knn():
            with threadpool_limits(threads):
                nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads).fit(X)
                return nn.kneighbors()
        t = best_time(sk_knn, repeat=1)
        times["sklearn"] = t
        rows.append(["kNN", "sklearn NearestNeighbors(brute)", f"{t:.3f}", f"{t / t_ours:.2f}",
                     f"{2 * n * n * d / t / 1e9:.0f}"])
    except ImportError:
        notes.append("scikit-learn or threadpoolctl not installed: sklearn row skipped.")

    t_lid = best_time(lambda: lowdim.lid(X, k, n_threads=threads), repeat=repeat)
    times["lid"] = t_lid
    rows.append(["LID (k=20)", "lowdim.lid", f"{t_lid:.3f}", "1.00", ""])
    try:
        import skdim
        from threadpoolctl import threadpool_limits

        def skdim_mle():
            with threadpool_limits(threads):
                return skdim.id.MLE().fit(X, n_jobs=threads).dimension_pw_
        t = best_time(skdim_mle, repeat=1)
        times["skdim"] = t
        rows.append(["LID (k=20)", "skdim.id.MLE().fit", f"{t:.3f}", f"{t / t_lid:.2f}", ""])
    except ImportError:
        notes.append("scikit-dimension not installed: skdim row skipped.")
    if "faiss" in times:
        def faiss_lid():
            index = faiss.IndexFlatL2(d)
            index.add(X)
            D, _ = index.search(X, k + 1)
            return amsaleg(D[:, 1:])
        t = best_time(faiss_lid, repeat=repeat)
        times["faiss_lid"] = t
        rows.append(["LID (k=20)", "faiss kNN + numpy formula", f"{t:.3f}", f"{t / t_lid:.2f}",
                     ""])

    lim = measure(threads)
    cpu_gflops = done / cpu_seconds(lambda: lowdim.knn(X, k, n_threads=threads)) / 1e9
    notes.append(lim.header())
    notes.append("The GFLOP/s column counts 2·n²·d for every library (effective rate). "
                 f"lowdim's self-search executes only the tiles I <= J ({done / 1e9:.0f} of "
                 f"{2 * n * n * d / 1e9:.0f} GFLOP): the whole kNN (tiles + selection + "
                 f"packing) ran at {lim.flop_fraction(kernel_gflops, cpu_gflops)}.")

    def target(name, peer, ours, want):
        if peer not in times:
            return f"- {name}: peer not installed"
        ratio = times[peer] / times[ours]
        return f"- {name}: {ratio:.2f}× (target ≥ {want}×) — {'met' if ratio >= want else 'MISSED'}"
    checks = [target("kNN vs faiss IndexFlatL2", "faiss", "lowdim", 0.8),
              target("kNN vs sklearn brute", "sklearn", "lowdim", 5),
              target("LID vs skdim.id.MLE", "skdim", "lid", 10),
              target("LID vs faiss kNN + numpy", "faiss_lid", "lid", 3)]
    notes.append(
        "Why some ratios are bounded: faiss, scikit-learn's brute force and skdim (which calls "
        "scikit-learn) all spend their time in a BLAS sgemm over the same n²·d multiply-adds, "
        "and sgemm runs close to the FMA peak. An exact search cannot beat that by a large "
        "factor; lowdim's edge comes from computing each self-distance tile once (I <= J, "
        "half the flops), fusing the top-k selection into the tile loop, and never "
        "materialising distance rows. Ratios of 5-10x against a BLAS-backed peer would need "
        "an approximate search or fewer flops than n²·d/2.")
    body = (f"X: {n} × {d} float32 (64-dim latent + noise), k = {k}, self excluded, "
            f"{threads} threads for every library{' (--quick sizes)' if args.quick else ''}. "
            "Ratio = peer time / lowdim time (> 1: lowdim faster).\n\n"
            + table(["task", "implementation", "seconds", "ratio", "GFLOP/s"], rows)
            + "\n\nTargets from the issue:\n" + "\n".join(checks) + "\n\n" + "\n".join(notes))
    write_section("knn", "Exact kNN and local intrinsic dimension", body)


if __name__ == "__main__":
    main()
