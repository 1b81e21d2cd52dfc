"""`lowdim` command line: `lowdim report [FILE]` and `lowdim config`.

Exit codes: 0 success, 2 unreadable input or bad arguments (one line on stderr, never
a traceback), 1 an unexpected internal error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lowdim", description="Fast CPU kernels for embedding geometry.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report", help="geometry and compression report of an embedding matrix",
        description="Shape (intrinsic dimension, local ID, PH0, MST, effective rank) and "
                    "compression trade-offs (random projection, SRHT, truncation, PQ) of an "
                    "(n, d) embedding matrix. Without FILE it runs on a built-in sample "
                    "whose correct answers are known (intrinsic dimension 8, 10 duplicates).")
    rep.add_argument("file", nargs="?", help=".npy, .npz, .fvecs, .bvecs, .csv or .tsv")
    rep.add_argument("--key", help="array name inside an .npz file")
    rep.add_argument("--sample", type=int, metavar="N", help="use a seeded sample of N rows")
    rep.add_argument("--seed", type=int, default=0, help="seed of every subsample (default 0)")
    rep.add_argument("--quick", action="store_true", help="smaller subsamples: seconds, not minutes")
    rep.add_argument("--json", metavar="OUT", help="write every number to OUT as JSON")
    rep.add_argument("--html", metavar="OUT", help="write a self-contained HTML report with plots")
    rep.add_argument("--quiet", action="store_true", help="no progress lines")
    sub.add_parser("config", help="print backend, ISA, threads and build information")
    return parser


def _fail(message: str) -> int:
    print(f"lowdim: error: {message}", file=sys.stderr)
    return 2


def report(args) -> int:
    from .report import ReportInputError, analyse, builtin_sample, load_matrix
    from .report.analysis import Progress
    from .report.render import html_page, text

    if args.sample is not None and args.sample < 4:
        return _fail("--sample must be at least 4")
    if args.file is None:
        X, source = builtin_sample(), "built-in sample (3000 × 128; expected ID ≈ 8, 10 duplicates)"
    else:
        try:
            X = load_matrix(args.file, key=args.key, n_sample=args.sample, seed=args.seed)
        except ReportInputError as exc:
            return _fail(str(exc))
        source = str(args.file)
    progress = Progress(None if args.quiet else sys.stderr)
    try:
        rep = analyse(X, quick=args.quick, seed=args.seed, progress=progress)
    except (ValueError, TypeError) as exc:
        return _fail(str(exc).splitlines()[0])
    rep["source"] = source
    print(text(rep, source))
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1))
    if args.html:
        Path(args.html).write_text(html_page(rep, source), encoding="utf-8")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config":
        import lowdim
        lowdim.show_config()
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
