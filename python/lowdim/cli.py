"""`lowdim` command line: `lowdim report [FILE]` and `lowdim config`.

Exit codes: 0 success; 2 unreadable input, unwritable output or bad arguments; 1 an
unexpected internal error. Every failure is exactly one line `lowdim: error: …` on
stderr, never a traceback (LOWDIM_DEBUG=1 shows the traceback of an internal error).
Outputs are checked before the analysis runs and written atomically.
Imports of lowdim are inside the functions and absolute: the `lowdim` script loads this
file without the package (_lowdim_cli), so --help and --version never import numpy.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import NoReturn, Sequence

SEED_LIMIT = 2**63   # the report derives sub-seeds seed + i; library seeds go up to 2**64


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints usage first)."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see {self.prog} --help)")
        sys.exit(2)


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**63), got {value}")
    return value


def _sample(text: str) -> int:
    value = int(text)
    if value < 4:
        raise argparse.ArgumentTypeError(f"must be at least 4, got {value}")
    return value


def _target(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a recall in (0, 1], got {text}")
    return value


def _codecs(text: str) -> tuple[str, ...]:
    from lowdim.report.settings import CODEC_NAMES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in names if t not in CODEC_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown codec {', '.join(bad) or repr(text)}; "
                                         f"choose from {','.join(CODEC_NAMES)}")
    return names


_seed.__name__ = _sample.__name__ = "int"      # argparse names the type in its messages
_target.__name__, _codecs.__name__ = "float", "list"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lowdim", description="Fast CPU kernels for embedding geometry.")
    parser.add_argument("--version", action="version", version=f"lowdim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report", help="geometry and compression report of an embedding matrix",
        description="Shape (intrinsic dimension, local ID, PH0, MST, effective rank) and "
                    "compression trade-offs (float16/bfloat16/FP8/int8/int4/binary codes, PQ, "
                    "PCA, truncation, SRHT, sparse projection; Pareto frontier and the "
                    "smallest setting per recall target) of an "
                    "(n, d) embedding matrix. Without FILE it runs on a built-in sample "
                    "whose correct answers are known (intrinsic dimension 8, 10 duplicates).")
    rep.add_argument("file", nargs="*", help=".npy, .npz, .fvecs, .bvecs, .csv/.tsv (a header row "
                     "and an id column are skipped), .parquet, .h5/.hdf5 (ann-benchmarks) or "
                     ".safetensors; several "
                     ".npy files or a quoted glob ('shards/*.npy') are streamed (docs/scale.md)")
    rep.add_argument("--key", help="the array to read: .npz member, parquet column, HDF5 "
                     "dataset (default train) or safetensors tensor")
    rep.add_argument("--sample", type=_sample, metavar="N",
                     help="use a seeded sample of N >= 4 rows")
    rep.add_argument("--seed", type=_seed, default=0,
                     help="seed of every subsample, in [0, 2**63) (default 0)")
    rep.add_argument("--quick", action="store_true", help="smaller subsamples: seconds, not minutes")
    rep.add_argument("--metric", choices=("cosine", "euclidean", "inner_product"),
                     help="search metric of the ground truth and every codec (default cosine "
                          "when every row is unit-norm, else euclidean)")
    rep.add_argument("--codecs", type=_codecs, metavar="LIST",
                     help="comma-separated codecs to measure (float32, fp16, bf16, fp8_e4m3, "
                          "fp8_e5m2, int8, int4, binary, hadamard, rabitq, pq, opq, pca, truncate, "
                          "matryoshka, srht, sparse_rp); default all")
    rep.add_argument("--target-recall", type=_target, metavar="R",
                     help="add a recommendation for recall@10 >= R (0.99, 0.95, 0.90 always)")
    rep.add_argument("--json", metavar="OUT", help="write every number to OUT as JSON")
    rep.add_argument("--html", metavar="OUT", help="write a self-contained HTML report with plots")
    rep.add_argument("--quiet", action="store_true", help="no progress lines")
    rep.add_argument("--scheduler", metavar="ADDRESS",
                     help="stream the shards' basics on this Dask scheduler (default in-process)")
    rep.add_argument("--chunk-rows", type=_sample, metavar="N", help="rows per streamed chunk")
    rep.add_argument("--compare", metavar="B", help="a second embedding of the same rows "
                     "(same order): adds CKA, Procrustes and mutual-kNN alignment")
    sub.add_parser("config", help="print backend, ISA, threads and build information")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lowdim")
    except PackageNotFoundError:  # running from a source tree, as lowdim.__version__ says
        return "0.0.0+source"


def _warn_if_numpy_backend() -> None:
    from lowdim import _config
    if _config._native_error is not None:      # lowdim._core is missing
        print(_config.native_missing_note(), file=sys.stderr, flush=True)


def _fail(message: str, status: int = 2) -> int:
    # One line whatever the message holds (file names and library messages may span lines).
    print("lowdim: error: " + " ".join(str(message).splitlines()), file=sys.stderr, flush=True)
    return status


def _note(w: warnings.WarningMessage) -> str:
    """A caught warning as one line without its source location (users cannot act on
    lowdim's internal file names and source lines)."""
    return " ".join(f"{w.category.__name__}: {w.message}".split())


def _stdout_closed() -> None:
    """The reader of stdout went away (`lowdim report | head -1`): send the rest of the
    output to /dev/null so neither this print nor the exit-time flush raises."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _print_report(body: str) -> None:
    try:
        print(body, flush=True)
    except BrokenPipeError:
        _stdout_closed()


def report(args: argparse.Namespace, caught: Sequence[warnings.WarningMessage] = (),
           shown: set[str] | None = None) -> int:
    """Run the report; warnings in `caught` (recorded by main) become its notes."""
    from lowdim.report import ReportInputError, analyse, builtin_sample, load_matrix
    from lowdim.report.io import sample_rows
    from lowdim.report.progress import Progress
    from lowdim.report.output import OutputError, check_outputs, write_atomic
    from lowdim.report import geometry, stream
    from lowdim.report.render import html_page, json_text, text

    files, args.file = args.file, (args.file or [None])[0]
    try:   # before the work: a bad output path must not cost the whole analysis
        check_outputs({"--json": args.json, "--html": args.html}, source=args.file)
    except OutputError as exc:
        return _fail(str(exc))
    progress = Progress(None if args.quiet else sys.stderr)
    # what the reader chose or skipped: a header row, an id column, --key
    input_notes: list[str] = []
    try:   # several .npy files, a glob, --scheduler or one .npy too big: stream the basics
        streamed = stream.from_args(files, args, progress)
    except ReportInputError as exc:
        return _fail(str(exc))
    if streamed is not None:
        X, source = streamed.pop("sample"), streamed.pop("source")
    elif args.file is None:
        X, source = builtin_sample(), "built-in sample (3000 × 128 unit-norm, sentence-embedding-like; expected ID ≈ 8, 10 duplicates)"
        if args.sample and args.sample < len(X):   # the same seeded rows as from a file
            X = X[sample_rows(len(X), args.sample, args.seed)]
            source += f", {args.sample} sampled rows"
    else:
        try:
            X = load_matrix(args.file, key=args.key, n_sample=args.sample, seed=args.seed,
                            notes=input_notes)
        except ReportInputError as exc:
            return _fail(str(exc))
        source = str(args.file)
    try:
        if args.compare and streamed is not None:
            raise ReportInputError("--compare takes one FILE, not several files or --scheduler")
        Y = geometry.load_compare(args, X) if args.compare else None
    except ReportInputError as exc:
        return _fail(str(exc))
    targets = tuple(sorted({0.99, 0.95, 0.90, *([args.target_recall] if args.target_recall
                                                else [])}, reverse=True))
    rep = analyse(X, quick=args.quick, seed=args.seed, progress=progress, metric=args.metric,
                  codecs=args.codecs, targets=targets)
    geometry.add_to_report(rep, X, Y, quick=args.quick, seed=args.seed, progress=progress,
                           compare_source=args.compare)
    rep["source"], rep["input_notes"] = source, input_notes
    stream.merge(rep, streamed)
    rep["warnings"] = sorted(set(rep.get("warnings", [])) | {_note(w) for w in caught})
    if shown is not None:
        shown.update(rep["warnings"])
    _print_report(text(rep, source))
    try:
        if args.json:
            write_atomic(args.json, json_text(rep))
        if args.html:
            write_atomic(args.html, html_page(rep, source))
    except OutputError as exc:
        return _fail(str(exc))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown: set[str] = set()
        status = _run(args, caught, shown)
    for line in sorted({_note(w) for w in caught} - shown):   # not in the report's notes
        print(f"lowdim: note: {line}", file=sys.stderr, flush=True)
    return status


def _run(args: argparse.Namespace, caught: Sequence[warnings.WarningMessage],
         shown: set[str]) -> int:
    try:
        if args.command == "config":
            import lowdim
            try:
                lowdim.show_config()
            except BrokenPipeError:
                _stdout_closed()
            return 0
        _warn_if_numpy_backend()
        return report(args, caught, shown)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except MemoryError:
        return _fail("out of memory (try --sample N or --quick)")
    except Exception as exc:   # a bug in lowdim: still one line, unless debugging
        if os.environ.get("LOWDIM_DEBUG"):
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc} (LOWDIM_DEBUG=1 shows the "
                     "traceback; please report it)", 1)


if __name__ == "__main__":
    sys.exit(main())
