"""Benchmark: lowdim.id's skdim-style estimators beside scikit-dimension's (issue 13).

Parity: every (estimator, configuration) on the 24 skdim.datasets.BenchmarkManifolds at
n = 2500 (random_state 0), largest relative difference and how many are within 2%.
Speed: ENTRIES = (name, lowdim factory, skdim factory, rows or None); a factory returns
a callable of X. Both run in this process on the same float32 X (rows × dim, default
20000 × 768; an entry's own row count when skdim's per-point path would take minutes).
Usage: python bench/bench_id_estimators.py [--n 20000] [--dim 768] [--no-parity]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_section  # noqa: E402

from lowdim import id as lid  # noqa: E402


def _pair(cls, fit_kw=None, **kw):
    fit_kw = fit_kw or {}
    return lambda mod: (lambda X: getattr(mod, cls)(**kw).fit(X, **fit_kw).dimension_)


def _pw(cls, n_neighbors=100, **kw):
    return lambda mod: (lambda X: getattr(mod, cls)(**kw).fit_pw(
        X, n_neighbors=n_neighbors).dimension_pw_)


# (name, lowdim factory, skdim factory, rows): the factories take the module (lowdim.id or
# skdim.id) so one spec serves both; rows None = the run's --n.
ENTRIES = [
    ("lPCA (FO)", _pair("lPCA"), _pair("lPCA"), None),
    ("lPCA.fit_pw (FO, 100 nn)", _pw("lPCA"), _pw("lPCA"), 500),
    ("MOM (100 nn)", _pair("MOM"), _pair("MOM"), None),
    ("TLE (20 nn)", _pair("TLE"), _pair("TLE"), None),
    ("CorrInt (10, 20)", _pair("CorrInt"), _pair("CorrInt"), None),
    ("GRIDE (1, 2)", _pair("GRIDE"), _pair("GRIDE"), None),
]

PARITY = [(f"lPCA {v}", _pair("lPCA", ver=v)) for v in
          ("FO", "Fan", "maxgap", "ratio", "participation_ratio", "Kaiser", "broken_stick")]
PARITY += [("MOM", _pair("MOM")), ("TLE", _pair("TLE")), ("CorrInt", _pair("CorrInt")),
           ("GRIDE", _pair("GRIDE")), ("GRIDE (2, 5)", _pair("GRIDE", n1=2, n2=5))]


def _quiet(fn, X):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(X)


def parity(skdim, n=2500):
    data = skdim.datasets.BenchmarkManifolds(random_state=0).generate(n=n)
    rows = []
    for name, factory in PARITY:
        ours, theirs = factory(lid), factory(skdim.id)
        rel = []
        for X in data.values():
            a, b = float(_quiet(ours, X)), float(_quiet(theirs, X))
            rel.append(abs(a - b) / max(abs(b), 1e-12))
        rel = np.array(rel)
        worst = [k for k, r in zip(data, rel) if r > 0.02]
        rows.append([name, f"{rel.max():.1e}", f"{(rel <= 0.02).sum()}/24",
                     ", ".join(worst) or "—"])
    return table(["estimator", "max rel. diff", "within 2%", "outside 2%"], rows)


def speed(skdim, n, dim, only=None):
    X = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    rows = []
    for name, ours_f, theirs_f, rows_n in ENTRIES:
        if only and not name.startswith(tuple(only.split(","))):
            continue
        x = X if rows_n is None else X[:rows_n]
        ours, theirs = ours_f(lid), theirs_f(skdim.id)
        _quiet(ours, x[:500])                             # warm-up (imports, pools)
        t0 = time.perf_counter()
        a = _quiet(ours, x)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = _quiet(theirs, x)
        t_theirs = time.perf_counter() - t0
        a, b = np.mean(a), np.mean(b)
        rows.append([name, f"{len(x)} × {dim}", f"{t_ours:.2f}", f"{t_theirs:.2f}",
                     f"{t_theirs / t_ours:.1f}×", f"{a:.3f} / {b:.3f}"])
        print(rows[-1], flush=True)
    return table(["estimator", "X", "lowdim s", "skdim s", "speed-up", "value lowdim / skdim"],
                 rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--no-parity", action="store_true")
    ap.add_argument("--only", help="run only the ENTRIES whose name starts with one of these "
                                   "comma-separated prefixes")
    args = ap.parse_args()
    try:
        import skdim
    except ImportError:
        print("scikit-dimension is not installed: nothing to compare with")
        return
    load0 = os.getloadavg()[0]
    body = []
    if not args.no_parity:
        body += ["Parity on the 24 benchmark manifolds, n = 2500:", "", parity(skdim), ""]
        print(body[-2], flush=True)
    body += [f"Speed, float32 X, one run each (skdim's n_jobs default):", "",
             speed(skdim, args.n, args.dim, args.only), "",
             f"Load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."]
    write_section("id_estimators", "skdim-style ID estimators (bench/bench_id_estimators.py)",
                  "\n".join(body))


if __name__ == "__main__":
    main()
