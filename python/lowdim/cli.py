"""`lowdim` command line: `lowdim report [FILE]`, `lowdim config`.

The report grows with the kernels; today it prints the configuration and checks the
Hadamard family on a built-in sample whose answers are known exactly.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _hadamard_section() -> list[str]:
    import lowdim
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=(256, 1024)).astype(np.float32)
    t0 = time.perf_counter()
    twice = lowdim.fwht(lowdim.fwht(signs))
    exact = bool(np.array_equal(twice, 1024 * signs))
    x = rng.standard_normal((512, 1000)).astype(np.float32)
    y = lowdim.srht(x, 256, seed=0)
    ratio = np.linalg.norm(y, axis=1) / np.linalg.norm(x, axis=1)
    dt = time.perf_counter() - t0
    return [
        "Hadamard family (built-in sample: 256 ±1 rows of length 1024; 512 Gaussian rows, d=1000)",
        f"  fwht(fwht(x)) == 1024·x exactly: {exact}",
        f"  srht to k=256: norm ratio quantiles 5/50/95%: "
        + " / ".join(f"{q:.3f}" for q in np.quantile(ratio, [0.05, 0.5, 0.95])),
        f"  time: {dt * 1e3:.1f} ms",
    ]


def report(args) -> int:
    import lowdim
    t0 = time.perf_counter()
    print("lowdim report")
    lowdim.show_config()
    print()
    for line in _hadamard_section():
        print(line)
    print(f"\ntotal wall time: {time.perf_counter() - t0:.2f} s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lowdim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="geometry and compression report of an embedding matrix")
    rep.add_argument("file", nargs="?", help="embedding file (default: built-in sample)")
    sub.add_parser("config", help="print backend, ISA, threads and build information")
    args = parser.parse_args(argv)
    if args.command == "config":
        import lowdim
        lowdim.show_config()
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
