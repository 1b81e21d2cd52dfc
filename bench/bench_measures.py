"""Benchmark: lowdim.measures on a 100000 × 768 float32 embedding matrix.

Times every single-matrix measure (target < 2 s each, hubness excepted), hubness at
k = 10 against lowdim.knn itself (target within 1.2×: hubness is the kNN plus a bincount),
linear CKA of two 100000 × 768 matrices (target < 2 s) and, at the largest n whose n × n
Gram matrices fit in half the available memory, against the straightforward n × n
implementation (Kornblith et al.'s gram_linear + center_gram + cka; target ≥ 10×).
Every spectrum measure is one d × d scatter (n·d² flops through BLAS syrk) plus a d × d
eigendecomposition; CKA needs the scatter of [X Y] (4·n·d² flops). The section prints
each time's floor at the float32 matmul rate measured in the same run.
Usage: python bench/bench_measures.py [--quick] [--hub-n N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, measure_memory, table, write_section  # noqa: E402

import lowdim  # noqa: E402
from lowdim import measures as M  # noqa: E402


def embeddings(n: int, d: int, seed: int) -> np.ndarray:
    """Embedding-like float32 data: a 64-dim latent signal, noise, a common mean and two
    outlier dimensions (as in transformer embeddings)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 64), dtype=np.float32) @ rng.standard_normal(
        (64, d), dtype=np.float32) * np.float32(0.2)
    X += rng.standard_normal((n, d), dtype=np.float32)
    X += rng.standard_normal(d, dtype=np.float32)
    X[:, [17, d // 2 + 1]] *= np.float32(8.0)
    return X


def gram_cka(X, Y):
    """The straightforward n × n linear CKA (Kornblith et al.'s notebook, biased)."""
    def center_gram(gram):
        gram = gram.copy()
        means = np.mean(gram, 0, dtype=np.float64)
        means -= np.mean(means) / 2
        gram -= means[:, None].astype(gram.dtype)
        gram -= means[None, :].astype(gram.dtype)
        return gram
    gx, gy = center_gram(X @ X.T), center_gram(Y @ Y.T)
    return float(gx.ravel() @ gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy))


def mem_available() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024.0
    return 4 * 2**30


def loadavg() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--hub-n", type=int, default=None,
                    help="rows of the hubness-vs-knn comparison (default: all n; the kNN "
                         "of 100000 × 768 takes minutes, each call is timed twice)")
    args = ap.parse_args()
    n, d = (10000, 256) if args.quick else (100000, 768)
    load_start = loadavg()
    X = embeddings(n, d, 0)
    Y = (X @ np.linalg.qr(np.random.default_rng(1).standard_normal((d, d)))[0].astype(
        np.float32) + embeddings(n, d, 2) * np.float32(0.5)).astype(np.float32)

    single = [
        ("isoscore(X)", lambda: M.isoscore(X)),
        ("isoscore_star(X, zeta=0.2)", lambda: M.isoscore_star(X, zeta=0.2)),
        ("uniformity(X) (100000 sampled pairs)", lambda: M.uniformity(X)),
        ("w2_isotropy(X)", lambda: M.w2_isotropy(X)),
        ("mean_cosine(X) (exact, all pairs)", lambda: M.mean_cosine(X)),
        ("effective_rank(X)", lambda: M.effective_rank(X)),
        ("vn_entropy(X)", lambda: M.vn_entropy(X)),
        ("alpha_req(X)", lambda: M.alpha_req(X)),
        ("outlier_dimensions(X)", lambda: M.outlier_dimensions(X)),
        ("summary(X) (all of the above + hubness: one scatter, one kNN)", None),
    ]
    a = np.random.default_rng(3).standard_normal((2048, 2048)).astype(np.float32)
    mm_rate = 2 * 2048**3 / best_time(lambda: a @ a, repeat=3) / 1e9
    floor = n * d * d / (mm_rate * 1e9)       # the scatter at the matmul rate
    rows = []
    for name, fn in single[:-1]:
        t = best_time(fn, repeat=2)
        spectral = "outlier" not in name and "cosine" not in name and "uniformity" not in name
        rows.append([name, f"{t:.2f}", f"{floor:.2f}" if spectral else "",
                     "met" if t < 2 else "MISSED"])
    t_iso = float(rows[0][1])
    od = M.outlier_dimensions(X)
    values = {"isoscore": M.isoscore(X), "mean_cosine": M.mean_cosine(X),
              "effective_rank": M.effective_rank(X), "alpha_req": M.alpha_req(X).alpha,
              "outlier dims": [int(i) for i in od.indices]}

    # hubness vs knn: one call each, alternated twice, best of two (each call is long)
    k = 10
    hub_n = min(args.hub_n or n, n)
    Xh = X[:hub_n]
    t_knn, t_hub = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        nn = lowdim.knn(Xh, k)
        t_knn.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        h = M.hubness(Xh, k)
        t_hub.append(time.perf_counter() - t0)
    hub_ratio = min(t_hub) / min(t_knn)
    # summary reuses one kNN graph (passed in, as the report does) and one scatter
    t_sum = best_time(lambda: M.summary(X, knn=nn) if hub_n == n else M.summary(
        X[:hub_n], knn=nn), repeat=1)

    t_cka = best_time(lambda: M.linear_cka(X, Y), repeat=2)
    t_csum = best_time(lambda: M.compare_summary(X[:hub_n], Y[:hub_n]), repeat=1)
    t_dcka = best_time(lambda: M.linear_cka(X, Y, debiased=True), repeat=2)
    t_proc = best_time(lambda: M.procrustes_distance(X, Y), repeat=2)
    mem_cka = measure_memory(lambda: M.linear_cka(X, Y))

    # the n × n peer: four n × n float32 matrices live at its peak (2 Grams + 2 centred).
    # Capped at n = 20000 (6 GiB) because the machine is shared: one timed call.
    avail = mem_available()
    m = max(c for c in (2000, 5000, 10000, 15000, 20000)
            if 4 * c * c * 4 <= avail / 2 and c <= n)
    Xm, Ym = X[:m], Y[:m]
    t0 = time.perf_counter()
    cka_gram = gram_cka(Xm, Ym)
    t_gram = time.perf_counter() - t0
    t_ours_m = best_time(lambda: M.linear_cka(Xm, Ym), repeat=3)
    agree = abs(cka_gram - M.linear_cka(Xm, Ym))
    # which one is right: both float32 versions against float64 on the first 4000 rows
    Xs, Ys = X[:4000], Y[:4000]
    ref = M.linear_cka(Xs.astype(np.float64), Ys.astype(np.float64))
    err_ours, err_gram = abs(M.linear_cka(Xs, Ys) - ref), abs(gram_cka(Xs, Ys) - ref)

    body = f"""
X: {n} × {d} float32 (64-dim latent signal + noise + a common mean + 2 outlier dims);
Y = X rotated + independent noise. Best of 2 runs after a warm-up unless noted.
**The machine was shared with other engineers' test and benchmark runs during this run**
(load average 1/5/15 min: {load_start} at the start, {loadavg()} at the end, on 2 cores), so
absolute times are inflated and noisy; ratios were measured in the same run.

Float32 2048³ matmul in this run: {mm_rate:.0f} GFLOP/s (2 BLAS threads); "floor" = the
n·d² = {n * d * d / 1e9:.0f}·10⁹ flops of the scatter at that rate.

| single-matrix measure | seconds | floor (s) | target < 2 s |
|---|---|---|---|
""" + "\n".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for r in rows) + f"""

summary(X) on {hub_n} rows with a precomputed kNN graph (as `lowdim report` passes it):
{t_sum:.2f} s for all of its numbers — one scatter and two {d} × {d} eigendecompositions.

Values: IsoScore {values['isoscore']:.4f}, mean cosine {values['mean_cosine']:.4f},
RankMe {values['effective_rank']:.1f}, α-ReQ {values['alpha_req']:.3f}, outlier dimensions
{values['outlier dims']} (planted: [17, {d // 2 + 1}]).

""" + table(["task", "seconds", "ratio"], [
        [f"lowdim.knn(X[:{hub_n}], {k})", f"{min(t_knn):.2f}", "1.00"],
        [f"hubness(X[:{hub_n}], k={k})", f"{min(t_hub):.2f}",
         f"{hub_ratio:.3f} (target <= 1.2: {'met' if hub_ratio <= 1.2 else 'MISSED'})"],
    ]) + f"""

Hubness: skewness {h.skewness:.2f}, anti-hubs {h.antihub_share:.2%}, hubs {h.hub_share:.2%}.
Each of the two calls was timed once per round, two rounds alternated, best round kept.
Hubness adds a bincount and two moments, O(n·k), to the kNN's O(n²·d): the ratio on
{hub_n} rows bounds the ratio at any larger n.

""" + table(["similarity of two {n} × {d} float32 matrices".format(n=n, d=d), "seconds",
             "target"], [
        ["linear_cka(X, Y)", f"{t_cka:.2f}", "< 2 s: " + ("met" if t_cka < 2 else "MISSED")
         + f" (floor {4 * floor:.2f} s: 4·n·d² flops at the matmul rate)"],
        ["linear_cka(X, Y, debiased=True)", f"{t_dcka:.2f}", ""],
        ["procrustes_distance(X, Y)", f"{t_proc:.2f}", ""],
        [f"compare_summary(X[:{hub_n}], Y[:{hub_n}]) (both CKAs, Procrustes, 2 kNN graphs)",
         f"{t_csum:.2f}", ""],
    ]) + f"""

linear_cka at n = {n} adds {mem_cka:.0f} MiB of peak memory (measured in a forked child),
against {2 * n * d * 4 / 2**20:.0f} MiB for X and Y themselves.

""" + table([f"linear CKA at n = {m} (largest n in (2000, 5000, 10000, 15000, "
             f"20000) with 4 n² float32 in half of {avail / 2**30:.1f} GiB available)",
             "seconds", "ratio"], [
        ["lowdim.measures.linear_cka (feature space)", f"{t_ours_m:.3f}", "1.00"],
        ["n × n numpy (Kornblith gram_linear + center_gram)", f"{t_gram:.2f}",
         f"{t_gram / t_ours_m:.1f} (target ≥ 10: "
         f"{'met' if t_gram / t_ours_m >= 10 else 'MISSED'})"],
    ]) + f"""

The n × n time is a single call (each takes minutes here); ours is the best of 3.
The two agree to {agree:.1e}. Against float64 on the first 4000 rows, lowdim's float32 CKA
is off by {err_ours:.1e} and the float32 n × n one by {err_gram:.1e}: centring a float32 Gram
matrix of data with a common mean cancels digits, centring the features first does not. The n × n version needs {4 * m * m * 4 / 2**30:.1f} GiB at
n = {m} and would need {4 * n * n * 4 / 2**30:.0f} GiB at n = {n}.
Why the single-matrix times look the way they do: every spectrum measure is one d × d
scatter (n·d² = {n * d * d / 1e9:.0f}·10⁹ flops: syrk computes one triangle, n·d²/2
multiply-adds, on float32 blocks summed in float64) plus a {d} × {d} eigendecomposition, so
it runs at the BLAS rate: isoscore as a whole ran at {n * d * d / t_iso / 1e9:.0f} GFLOP/s,
while a float32 2048³ matmul ran at {mm_rate:.0f} GFLOP/s in this run. The spread between
the spectrum measures (same work) is load noise: with another process on one of the two
cores, OpenBLAS's two threads wait for each other.
"""
    write_section("measures", "Geometry measures (bench/bench_measures.py, issue 19)", body)


if __name__ == "__main__":
    main()
