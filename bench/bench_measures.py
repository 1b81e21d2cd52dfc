"""Benchmark: lowdim.measures on a 100000 × 768 float32 embedding matrix (issue 19).

Targets: every single-matrix measure except hubness < 2 s; hubness at k = 10 within 1.2×
of lowdim.knn; linear CKA of two 100000 × 768 matrices < 2 s and ≥ 10× the straightforward
n × n numpy implementation (Kornblith et al.'s gram_linear + center_gram) at the largest
n whose Gram matrices fit in half the free memory (capped at 20000 on a shared machine).
Every figure is printed with the load average at that moment, and each section with numpy's
float32 matmul rate measured just before it, and the bare BLAS products of the same data
(XᵀX, XᵀY) timed in the same run: on a shared machine the ratios and the CPU-seconds are
what carry over. float32 results are checked against a float64 textbook oracle.
Usage: python bench/bench_measures.py [--quick] [--hub-n N]   (writes bench/results/measures.md)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import measure_memory, table, write_section  # noqa: E402
from _limits import cpu_model, load_average, matmul_rate  # noqa: E402

import lowdim  # noqa: E402
from lowdim import measures as M  # noqa: E402


def blas_threads() -> int:
    from threadpoolctl import threadpool_info
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
               default=1)


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


def timed(fn, repeat: int = 2):
    """(best wall s, best CPU s of the whole process, 1-min load) over `repeat` calls; the
    first call doubles as the warm-up (only the best is kept)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), load_average().split(" / ")[0]


def gram_cka(X, Y):
    """The straightforward n × n linear CKA (Kornblith et al.'s notebook, biased)."""
    def center_gram(gram):
        means = np.mean(gram, 0, dtype=np.float64)
        means -= np.mean(means) / 2
        gram -= means[:, None].astype(gram.dtype)
        gram -= means[None, :].astype(gram.dtype)
        return gram
    gx, gy = center_gram(X @ X.T), center_gram(Y @ Y.T)
    return float(gx.ravel() @ gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy))


def oracle_spectrum(X64):
    """Textbook float64 covariance eigenvalues (np.cov + eigvalsh), descending."""
    return np.clip(np.linalg.eigvalsh(np.cov(X64.T))[::-1], 0, None)


def oracle_cka(X64, Y64, debiased):
    """Kornblith's feature_space_linear_cka in float64 (centred copies)."""
    x, y = X64 - X64.mean(0), Y64 - Y64.mean(0)
    n = len(x)
    dots = [np.sum((a.T @ b) ** 2) for a, b in ((x, y), (x, x), (y, y))]
    if debiased:
        rx, ry = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
        for i, (a, b) in enumerate(((rx, ry), (rx, rx), (ry, ry))):
            dots[i] += (-n / (n - 2.0) * (a @ b) + a.sum() * b.sum() / ((n - 1.0) * (n - 2.0)))
    return dots[0] / np.sqrt(dots[1] * dots[2])


def mem_available() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024.0
    return 4 * 2**30


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--hub-n", type=int, default=20000,
                    help="rows of the hubness-vs-knn comparison (default 20000: the ratio "
                         "bounds the one at any larger n, see the note)")
    args = ap.parse_args()
    n, d = (10000, 256) if args.quick else (100000, 768)
    threads = blas_threads()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = load_average()
    X = embeddings(n, d, 0)
    Y = (X @ np.linalg.qr(np.random.default_rng(1).standard_normal((d, d)))[0].astype(
        np.float32) + embeddings(n, d, 2) * np.float32(0.5)).astype(np.float32)

    def rate():
        wall, cpu = matmul_rate(threads)
        return wall, cpu, f"{wall:.0f} GFLOP/s wall, {cpu:.0f} per CPU-second"

    # the BLAS floor of the same data: XᵀX (numpy hands A.T @ A to syrk) and XᵀY (gemm)
    mm1 = rate()
    t_syrk = timed(lambda: X.T @ X)
    t_gemm = timed(lambda: X.T @ Y)
    gemm_equiv = (2 * n * d * d / (mm1[0] * 1e9), 2 * n * d * d / (mm1[1] * 1e9))

    single = [
        ("isoscore(X)", lambda: M.isoscore(X), True),
        ("isoscore_star(X, zeta=0.2)", lambda: M.isoscore_star(X, zeta=0.2), True),
        ("w2_isotropy(X)", lambda: M.w2_isotropy(X), True),
        ("effective_rank(X)", lambda: M.effective_rank(X), True),
        ("vn_entropy(X)", lambda: M.vn_entropy(X), True),
        ("alpha_req(X)", lambda: M.alpha_req(X), True),
        ("uniformity(X) (100000 sampled pairs)", lambda: M.uniformity(X), False),
        ("mean_cosine(X) (exact, all pairs)", lambda: M.mean_cosine(X), False),
        ("outlier_dimensions(X)", lambda: M.outlier_dimensions(X), False),
    ]
    rows = []
    for name, fn, spectral in single:
        w, c, ld = timed(fn)
        ratio = (f"{c / t_syrk[1]:.2f} / {w / gemm_equiv[0]:.2f}" if spectral else "")
        rows.append([name, f"{w:.2f}", f"{c:.2f}", ratio, ld,
                     "met" if w < 2 else "MISSED"])
    mm2 = rate()

    # accuracy of float32 against the float64 textbook oracle, on the first 20000 rows
    m_acc = min(n, 20000)
    X64, Y64 = X[:m_acc].astype(np.float64), Y[:m_acc].astype(np.float64)
    lam = oracle_spectrum(X64)
    p = lam / lam.sum()
    p = p[p > 0]
    acc = {"vn_entropy": (M.vn_entropy(X[:m_acc]), float(-(p * np.log(p)).sum())),
           "isoscore": (M.isoscore(X[:m_acc]), M.isoscore(X64)),
           "linear_cka": (M.linear_cka(X[:m_acc], Y[:m_acc]), oracle_cka(X64, Y64, False)),
           "debiased CKA": (M.linear_cka(X[:m_acc], Y[:m_acc], debiased=True),
                            oracle_cka(X64, Y64, True))}
    acc_txt = ", ".join(f"{k} {abs(a - b) / abs(b):.1e}" for k, (a, b) in acc.items())
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        one = (M.isoscore(X[:m_acc]), M.linear_cka(X[:m_acc], Y[:m_acc], debiased=True))
    thr_txt = (f"One BLAS thread against {threads}, same rows, absolute difference: isoscore "
               f"{abs(one[0] - acc['isoscore'][0]):.1e}, debiased CKA "
               f"{abs(one[1] - acc['debiased CKA'][0]):.1e}." if threads > 1 else
               "(numpy ran on one BLAS thread: no thread-count comparison in this run.)")

    # hubness vs knn: one call each, alternated twice, best of two
    k = 10
    hub_n = min(args.hub_n, n)
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
    t_sum = timed(lambda: M.summary(Xh, knn=nn), repeat=1)
    hub_load = load_average().split(" / ")[0]

    # similarity of two n × d matrices
    mm3 = rate()
    pair = [("linear_cka(X, Y)", lambda: M.linear_cka(X, Y)),
            ("linear_cka(X, Y, debiased=True)", lambda: M.linear_cka(X, Y, debiased=True)),
            ("procrustes_distance(X, Y)", lambda: M.procrustes_distance(X, Y))]
    floor_w, floor_c = 2 * t_syrk[0] + t_gemm[0], 2 * t_syrk[1] + t_gemm[1]
    prow = []
    for name, fn in pair:
        w, c, ld = timed(fn)
        prow.append([name, f"{w:.2f}", f"{c:.2f}", f"{c / floor_c:.2f} / {w / floor_w:.2f}",
                     ld, ("< 2 s: " + ("met" if w < 2 else "MISSED")) if "cka" in name else ""])
    mem_cka = measure_memory(lambda: M.linear_cka(X, Y, debiased=True))

    # the n × n peer: four n × n float32 matrices at its peak (2 Grams + 2 products)
    avail = mem_available()
    m = max(c for c in (2000, 5000, 10000, 15000, 20000)
            if 4 * c * c * 4 <= avail / 2 and c <= n)
    Xm, Ym = X[:m], Y[:m]
    t_gram = timed(lambda: gram_cka(Xm, Ym), repeat=1)
    t_ours_m = timed(lambda: M.linear_cka(Xm, Ym), repeat=3)
    mm4 = rate()

    body = f"""
Run of {started} ({'--quick' if args.quick else 'default'}, `python bench/bench_measures.py`),
{cpu_model()}, {threads} BLAS thread(s) (numpy's, as threadpoolctl / OMP_NUM_THREADS leave them);
load average 1/5/15 min {load_start} at the start, {load_average()} at the end, on 2 cores.
X: {n} × {d} float32 (64-dim latent signal + noise + a common mean + 2 outlier dims);
Y = X rotated + independent noise. Times are the best of 2 calls (the first is the warm-up),
wall and CPU-seconds of the process (all threads); "load" is the 1-min load average right
after the row was measured. On a busy machine wall time inflates with the load; CPU-seconds
and the ratios to the BLAS products timed in the same run are what carry over.

numpy float32 2048³ matmul ({threads} BLAS thread(s)): {mm1[2]} before the
single-matrix rows, {mm2[2]} after them. Bare BLAS products of the same data, no centring: XᵀX (numpy → syrk)
{t_syrk[0]:.2f} s wall / {t_syrk[1]:.2f} CPU-s, XᵀY (gemm) {t_gemm[0]:.2f} s / {t_gemm[1]:.2f}
CPU-s; 2·n·d² = {2 * n * d * d / 1e9:.0f}·10⁹ flops as gemm at the matmul rate:
{gemm_equiv[0]:.2f} s wall / {gemm_equiv[1]:.2f} CPU-s.

"ratio" = CPU-s ÷ the CPU-s of bare XᵀX / wall ÷ the gemm-equivalent wall time above.

""" + table(["single-matrix measure", "wall s", "CPU-s", "ratio", "load", "target < 2 s"],
            rows) + f"""

summary(X[:{hub_n}]) with a precomputed kNN graph (as `lowdim report` passes it):
{t_sum[0]:.2f} s wall / {t_sum[1]:.2f} CPU-s for all of its numbers (one scatter, two {d} × {d}
eigendecompositions; load {t_sum[2]}).

Accuracy, float32 input against the float64 textbook oracle (np.cov + eigvalsh; Kornblith's
feature-space CKA on centred float64 copies) on the first {m_acc} rows, relative error:
{acc_txt}. Documented tolerance: 1e-5 relative for float32 input (float64 input is computed
in float64, tested to 1e-10). {thr_txt}

""" + table(["task", "wall s", "ratio", "load"], [
        [f"lowdim.knn(X[:{hub_n}], {k})", f"{min(t_knn):.2f}", "1.00", hub_load],
        [f"hubness(X[:{hub_n}], k={k})", f"{min(t_hub):.2f}",
         f"{hub_ratio:.3f} (target <= 1.2: {'met' if hub_ratio <= 1.2 else 'MISSED'})",
         hub_load],
    ]) + f"""

Hubness: skewness {h.skewness:.2f}, anti-hubs {h.antihub_share:.2%}, hubs {h.hub_share:.2%}.
Calls alternated twice, best kept. Hubness adds a bincount and two moments, O(n·k), to the
kNN's O(n²·d): the ratio on {hub_n} rows bounds the ratio at any larger n.

numpy float32 2048³ matmul before the similarity rows: {mm3[2]}. "ratio" = CPU-s ÷ the CPU-s
of the three bare products XᵀX + YᵀY + XᵀY ({floor_c:.2f} CPU-s, {floor_w:.2f} s wall,
timed above with XᵀX standing for YᵀY) / wall ÷ their wall time.

""" + table([f"similarity of two {n} × {d} float32 matrices", "wall s", "CPU-s", "ratio",
             "load", "target"], prow) + f"""

debiased linear_cka at n = {n} adds {mem_cka:.0f} MiB of peak memory (measured in a forked
child), against {2 * n * d * 4 / 2**20:.0f} MiB for X and Y themselves.

""" + table([f"linear CKA at n = {m} (largest n in (2000, 5000, 10000, 15000, 20000) with "
             f"4 n² float32 in half of {avail / 2**30:.1f} GiB available)",
             "wall s", "CPU-s", "ratio (wall)", "load"], [
        ["lowdim.measures.linear_cka (feature space, best of 3)", f"{t_ours_m[0]:.3f}",
         f"{t_ours_m[1]:.3f}", "1.00", t_ours_m[2]],
        ["n × n numpy (Kornblith gram_linear + center_gram, one call)", f"{t_gram[0]:.2f}",
         f"{t_gram[1]:.2f}", f"{t_gram[0] / t_ours_m[0]:.1f} (CPU {t_gram[1] / t_ours_m[1]:.1f}; "
         f"target ≥ 10: {'met' if t_gram[0] / t_ours_m[0] >= 10 else 'MISSED'})", t_gram[2]],
    ]) + f"""

numpy float32 2048³ matmul at the end: {mm4[2]}.

How the time is spent: each spectrum measure is validation (three memory passes: finite
sum, max/min for the power-of-two rescale, the mean), one pass over 8192-row blocks
centred in float32 into one reused buffer, cᵀc per block by BLAS syrk (half the
multiply-adds of gemm) summed in float64, and one {d} × {d} float64 eigvalsh on one BLAS
thread. CKA does the same for X and Y plus the gemm X̃ᵀỸ per block, and (debiased) the
centred row norms of the cached block: 4·n·d² = {4 * n * d * d / 1e9:.0f}·10⁹ flops of
products in all, no n × n matrix.
"""
    write_section("measures", "Geometry measures (bench/bench_measures.py, issue 19)", body)


if __name__ == "__main__":
    main()
