#!/usr/bin/env python
"""Rebuild python/lowdim/id/calibration_table.txt, the calibration of intrinsic_dim(calibrate=).

For every reference kind (unit ball, cube, sphere), n on a 1-2-5 log grid (50 … 20000)
and d on a grid 1 … 200, it measures the raw statistics (TwoNN least squares and MLE form with
discard_fraction 0.1; Levina–Bickel MLE with k = 5, 10, 20) on reps_for(n) seeded reference
samples (lowdim.id._reference) and writes their mean and standard deviation. Deterministic: the
same lowdim gives the same file bit for bit (numbers are written to 6 significant digits).
Takes ≈ 15 min per kind on a busy shared 2-core machine; --max-n rebuilds the smaller
cells only (for checking); each (kind, n) is cached in --cache so an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from lowdim.id import _reference as ref  # noqa: E402
from lowdim.id._calibration import TABLE_PATH, TABLE_SPECS  # noqa: E402

N_GRID = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
# Step 1 up to 8, then widening: the curves flatten as d grows and are interpolated
# linearly in d (error < 0.3% of d between these points). 31 values keep the rebuild short.
D_GRID = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 23, 26, 30, 35, 40, 45, 50, 60,
          70, 80, 90, 100, 120, 140, 160, 180, 200)


def cell(kind, n, d):
    """(reps, mean per spec, sd per spec) for one (kind, n, d)."""
    reps = ref.reps_for(n)
    specs = list(TABLE_SPECS.values())
    vals = np.array([ref.reference_statistics(kind, n, d, r, specs) for r in range(reps)])
    return reps, vals.mean(axis=0), vals.std(axis=0, ddof=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-n", type=int, default=max(N_GRID))
    ap.add_argument("--out", type=Path, default=TABLE_PATH)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "id_calibration_cache")
    ap.add_argument("--kinds", nargs="+", default=list(ref.KINDS), choices=ref.KINDS)
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    n_grid = [n for n in N_GRID if n <= args.max_n]
    lines = ["# lowdim intrinsic-dimension calibration table, from tools/make_id_calibration.py",
             f"# seed {ref.SEED}",
             "# n " + " ".join(map(str, n_grid)),
             "# d " + " ".join(map(str, D_GRID)),
             "# row: kind statistic n reps, then the mean over reps at each d, then the sd"]
    t0 = time.time()
    for kind in args.kinds:
        for n in n_grid:
            cached = args.cache / f"{kind}-{n}-{len(D_GRID)}.txt"
            if not cached.exists():
                res = [cell(kind, n, d) for d in D_GRID]
                rows = []
                for j, name in enumerate(TABLE_SPECS):
                    means = " ".join(f"{r[1][j]:.6g}" for r in res)
                    sds = " ".join(f"{r[2][j]:.6g}" for r in res)
                    rows.append(f"{kind} {name} {n} {res[0][0]} {means} {sds}")
                cached.write_text("\n".join(rows) + "\n")
            lines += cached.read_text().splitlines()
            print(f"{kind} n={n} done at {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
