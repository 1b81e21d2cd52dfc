"""Benchmark: the ceiling of the kNN-bound skdim-style estimators (MOM, TLE, CorrInt, GRIDE,
MiND_ML; issue 13's ≥ 10× target).

Their cost is one exact kNN self-search of n × D float32 points: 2·n²·D flops of distance
products whichever library runs it. skdim calls sklearn's NearestNeighbors (brute force for
D > 15), whose ArgKmin upcasts each 256-row chunk of float32 X to float64 and runs DGEMM
(sklearn/metrics/_pairwise_distances_reduction/_middle_term_computer.pyx.tp); lowdim.knn
runs float32 tiles. So the speed-up is bounded by the float32 / float64 product rates.
In one process: numpy's float32 and float64 matmul rates, sklearn kneighbors and lowdim.knn
at k = 20 and 100, each with its CPU seconds and the load average.
Usage: nice python bench/bench_id_knn_bound.py [--n 20000] [--dim 768]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_line, table  # noqa: E402
from _limits import matmul_rate  # noqa: E402

import lowdim  # noqa: E402


def gemm_rate(dtype, m: int, k: int, n: int, repeat: int = 5) -> tuple[float, float]:
    """numpy (m × k) @ (k × n) in dtype on the process's BLAS threads: (best wall GFLOP/s,
    best GFLOP/s per CPU-second)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    a @ b
    runs = [_timed(lambda: a @ b) for _ in range(repeat)]
    flop = 2 * m * k * n / 1e9
    return flop / min(r[1] for r in runs), flop / max(min(r[0] for r in runs), 1e-9)


def _timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=768)
    args = ap.parse_args()
    from sklearn.neighbors import NearestNeighbors
    n, dim = args.n, args.dim
    X = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    flops = 2.0 * n * n * dim
    print(machine_line())
    print(f"load before: {os.getloadavg()}")
    s32, s32_cpu = matmul_rate(2)
    rates = [["numpy float32 matmul 2048³ (bench/_limits.py)", s32, s32_cpu],
             ["numpy float64 matmul 2048³", *gemm_rate(np.float64, 2048, 2048, 2048)],
             [f"numpy float32 256 × {dim} × 256", *gemm_rate(np.float32, 256, dim, 256, 50)],
             [f"numpy float64 256 × {dim} × 256 (sklearn's chunk GEMM)",
              *gemm_rate(np.float64, 256, dim, 256, 50)]]
    rates = [[label, f"{w:.0f}", f"{c:.0f}"] for label, w, c in rates]
    print(rates)
    rows = []
    lowdim.knn(X[:500], 5)
    for k in (20, 100):
        c_l, w_l, (d_l, _) = _timed(lambda: lowdim.knn(X, k))
        c_s, w_s, (d_s, _) = _timed(
            lambda: NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=True))
        assert np.allclose(d_l[:, -1], d_s[:, -1], rtol=1e-3)
        rows.append([f"k = {k}", f"{w_s:.2f} / {c_s:.2f}", f"{w_l:.2f} / {c_l:.2f}",
                     f"{w_s / w_l:.1f}× / {c_s / c_l:.1f}×", f"{flops / c_s / 1e9:.0f}",
                     f"{flops / c_l / 1e9:.0f}", f"{os.getloadavg()[0]:.1f}"])
        print(rows[-1], flush=True)
    print(f"load after: {os.getloadavg()}")
    print(table(["BLAS product", "GFLOP/s wall", "GFLOP/s per CPU-s"], rates))
    print()
    print(f"{n} × {dim} float32 self-search, 2·n²·D = {flops / 1e9:.0f} GFLOP of products:")
    print(table(["search", "sklearn s (wall / CPU)", "lowdim.knn s (wall / CPU)",
                 "ratio (wall / CPU)", "sklearn GFLOP per CPU-s",
                 "lowdim GFLOP per CPU-s", "load"], rows))


if __name__ == "__main__":
    main()
