"""Streaming basics for `lowdim report` over .npy shards, or one .npy larger than memory.

Every row is read once, memory-mapped in chunks of `chunk_rows` (a chunk never spans two
files), for the basics: rows, NaN/inf rows, zero rows, norms (min/max exact; p5/median/p95
from a histogram keyed by the norms' top 20 float64 bits, i.e. 256 bins per octave, with
each bin's exact min and max), and duplicate rows: a 64-bit hash of every finite row's bytes
is spilled to hash-partitioned temporary files, then rows sharing a hash are read again and
compared byte for byte, so the count is exact. The same pass takes the seeded row sample
(the rows `load_matrix(concatenation, n_sample=, seed=)` would take) that the rest of the
report runs on. With a scheduler address every chunk is a task on that Dask cluster (the
workers need the same paths); only per-chunk summaries, hashes and sampled rows come back.
"""
from __future__ import annotations

import glob
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import _validate
from .io import ReportInputError, _check_2d, _file_kind, sample_rows

if TYPE_CHECKING:
    import argparse

    from .progress import Progress

# (bin keys, counts, min, max) of a norm histogram, see _norm_bins
Bins = tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[Any],
             npt.NDArray[Any]]

DEFAULT_SAMPLE = 100_000      # rows the rest of the report reads (its largest subsample: 50k)
CHUNK_BYTES = 32 << 20        # default chunk: 32 MiB of raw rows
MAX_PARTS = 256               # hash partitions (open temporary files) at most
_BIN_SHIFT = 44               # float64 bits >> 44: exponent + 8 mantissa bits
_MULT = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Shard:
    """One .npy file of the concatenation: rows offset .. offset + n."""
    path: str
    n: int
    d: int
    dtype: np.dtype[Any]
    offset: int


def expand(files: Sequence[str]) -> list[str]:
    """Paths in order, each glob pattern replaced by its matches in sorted order."""
    out: list[str] = []
    for name in files:
        if glob.has_magic(name) and not os.path.exists(name):
            found = sorted(glob.glob(name))
            if not found:
                raise ReportInputError(f"{name}: no file matches")
            out += found
        else:
            out.append(name)
    return out


def _npy_nbytes(path: str) -> float | None:
    """n·d·(itemsize + 8) of a 2-D .npy (its raw rows and the float copy), None if unreadable
    or not a regular file (opening a FIFO would block; load_matrix names it)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
    return float(arr.size) * (arr.dtype.itemsize + 8) if arr.ndim == 2 else None


def wanted(files: Sequence[str], scheduler: str | None) -> bool:
    """Stream for several files, a glob, a --scheduler, or one .npy too big to load."""
    if scheduler is not None or len(expand(files)) > 1 or any(
            glob.has_magic(f) and not os.path.exists(f) for f in files):
        return True
    if len(files) != 1 or not files[0].lower().endswith(".npy"):
        return False
    need = _npy_nbytes(files[0])
    return need is not None and need > _validate.available_memory()


def open_shards(paths: Sequence[str]) -> list[Shard]:
    """Headers of every shard, checked: 2-D numeric .npy, the first file's d and dtype."""
    shards: list[Shard] = []
    offset = 0
    for name in paths:
        path = Path(name)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            raise ReportInputError(f"{path}: {exc.strerror or 'cannot read'}") from None
        kind = _file_kind(mode)
        if kind is not None:
            raise ReportInputError(f"{path}: is {kind}, not a file")
        if path.suffix.lower() != ".npy":
            raise ReportInputError(f"{path.name}: streaming reads .npy files only")
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ReportInputError(f"{path.name}: cannot read ({first})") from None
        if arr.dtype.kind not in "fiu" or arr.ndim != 2 or arr.shape[1] < 1:
            _check_2d(path, arr)            # raises the in-memory reader's one-line message
        if shards and (arr.shape[1], arr.dtype) != (shards[0].d, shards[0].dtype):
            raise ReportInputError(
                f"{path.name}: shape {arr.shape} and dtype {arr.dtype} do not match the first "
                f"file {Path(shards[0].path).name} (d = {shards[0].d}, dtype {shards[0].dtype})")
        shards.append(Shard(str(path), int(arr.shape[0]), int(arr.shape[1]), arr.dtype, offset))
        offset += int(arr.shape[0])
    if offset < 2:
        raise ReportInputError(f"{paths[0]}: needs at least 2 rows in all, got {offset}")
    return shards


def row_hashes(rows: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each row's bytes: a wrapping polynomial over its widest words, then
    the splitmix64 finaliser (equal rows hash equal; the caller confirms the rest)."""
    raw = np.ascontiguousarray(rows).view(np.uint8).reshape(len(rows), -1)
    width = next(w for w in (8, 4, 2, 1) if raw.shape[1] % w == 0)
    words = raw.view(f"<u{width}").astype(np.uint64, copy=False)
    coeff = np.cumprod(np.full(words.shape[1], _MULT, dtype=np.uint64))   # wraps mod 2^64
    h = (words * coeff).sum(axis=1, dtype=np.uint64)
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        h = (h ^ (h >> np.uint64(shift))) * np.uint64(mult)
    mixed: npt.NDArray[np.uint64] = h ^ (h >> np.uint64(31))
    return mixed


def _norm_bins(norms: npt.NDArray[Any]) -> Bins:
    """(bin keys, counts, min, max) of the norms per histogram bin."""
    norms = np.sort(norms)
    keys = norms.view(np.uint64) >> np.uint64(_BIN_SHIFT)
    if len(keys) == 0:
        return keys, np.zeros(0, np.int64), norms, norms
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, len(keys)])
    return keys[starts], counts, norms[starts], norms[np.r_[starts[1:], len(keys)] - 1]


def _merge_bins(a: Bins, b: Bins) -> Bins:
    keys, counts, lo, hi = (np.concatenate([x, y]) for x, y in zip(a, b))
    uniq, inv = np.unique(keys, return_inverse=True)
    out_lo = np.full(len(uniq), np.inf)
    out_hi = np.full(len(uniq), -np.inf)
    np.minimum.at(out_lo, inv, lo)
    np.maximum.at(out_hi, inv, hi)
    return uniq, np.bincount(inv, counts, len(uniq)).astype(np.int64), out_lo, out_hi


def block_summary(path: str, start: int, stop: int, offset: int,
                  take: npt.NDArray[np.int64]) -> dict[str, Any]:
    """Basics of rows start..stop of one .npy (global rows offset + start ..), plus the rows
    `take` (local indices) of the seeded sample; run in-process or as a Dask task."""
    from .compression import row_norms
    raw = np.ascontiguousarray(np.load(path, mmap_mode="r", allow_pickle=False)[start:stop])
    finite = np.isfinite(raw).all(axis=1)
    good = raw[finite]
    X = good.astype(np.float32 if raw.dtype.itemsize <= 4 else np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = row_norms(X)
    return {"n": len(raw), "nonfinite": int((~finite).sum()), "zero": int((norms == 0).sum()),
            "bins": _norm_bins(norms), "hashes": row_hashes(good),
            "rows": (offset + start + np.flatnonzero(finite)).astype(np.uint64),
            "first": offset + start, "sample": raw[take]}


class HashSpill:
    """(hash, global row) pairs in hash-partitioned temporary files; groups of rows sharing
    a hash come back one partition at a time (memory: one partition, ≈ n / parts pairs)."""

    def __init__(self, n_rows: int, chunk_rows: int, directory: str) -> None:
        self.parts = min(MAX_PARTS, 1 << max(0, math.ceil(math.log2(max(1, n_rows / chunk_rows)))))
        self.paths = [os.path.join(directory, f"hashes-{i}.u64") for i in range(self.parts)]
        self.files = [open(p, "wb") for p in self.paths]

    def add(self, hashes: npt.NDArray[np.uint64], rows: npt.NDArray[np.uint64]) -> None:
        part = (hashes >> np.uint64(56)).astype(np.int64) * self.parts >> 8
        order = np.argsort(part, kind="stable")
        pairs = np.stack([hashes[order], rows[order]], axis=1)
        bounds = np.searchsorted(part[order], np.arange(self.parts + 1))
        for i in np.flatnonzero(np.diff(bounds)):
            pairs[bounds[i]:bounds[i + 1]].tofile(self.files[i])

    def groups(self) -> Iterator[npt.NDArray[np.int64]]:
        """Sorted global rows of every set of >= 2 rows with one hash."""
        for fh in self.files:
            fh.close()
        for path in self.paths:
            pairs = np.fromfile(path, dtype=np.uint64).reshape(-1, 2)
            os.unlink(path)
            if len(pairs) < 2:
                continue
            pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
            h = pairs[:, 0]
            starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
            sizes = np.diff(np.r_[starts, len(h)])
            for s, size in zip(starts[sizes > 1], sizes[sizes > 1]):
                yield pairs[s:s + size, 1].astype(np.int64)


def read_rows(shards: Sequence[Shard], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Global rows (any order) of the concatenated shards, as raw bytes per row."""
    starts = np.array([s.offset for s in shards])
    which = np.searchsorted(starts, rows, side="right") - 1
    out = np.empty((len(rows), shards[0].d * shards[0].dtype.itemsize), np.uint8)
    for i in np.unique(which):
        sel = np.flatnonzero(which == i)
        local = rows[sel] - shards[i].offset
        order = np.argsort(local)
        mm = np.load(shards[i].path, mmap_mode="r", allow_pickle=False)
        block = np.ascontiguousarray(mm[local[order]])
        out[sel[order]] = block.view(np.uint8).reshape(len(sel), -1)
    return out


def count_duplicates(groups: Iterable[npt.NDArray[np.int64]],
                     fetch: Callable[[npt.NDArray[np.int64]], npt.NDArray[Any]],
                     batch_rows: int) -> int:
    """Rows equal byte for byte to an earlier row, among the hash groups; the rows are
    fetched in batches of about batch_rows (a large group is split over batches)."""
    pending: dict[int, list[Any]] = {}       # group id: [distinct row bytes, group size]
    batch: list[tuple[int, npt.NDArray[np.int64], int]] = []
    dup, size = 0, 0

    def flush(last: int | None) -> None:
        nonlocal dup
        rows = np.concatenate([r for _, r, _ in batch])
        data = fetch(rows)
        pos = 0
        for gid, r, total in batch:
            seen = pending.setdefault(gid, [set(), total])
            seen[0].update(row.tobytes() for row in data[pos:pos + len(r)])
            pos += len(r)
        for gid in [g for g in pending if g != last]:
            distinct, total = pending.pop(gid)
            dup += total - len(distinct)
        batch.clear()

    for gid, group in enumerate(groups):
        for s in range(0, len(group), batch_rows):
            piece = group[s:s + batch_rows]
            batch.append((gid, piece, len(group)))
            size += len(piece)
            if size >= batch_rows:
                flush(gid if s + batch_rows < len(group) else None)
                size = 0
    if batch:
        flush(None)
    for distinct, total in pending.values():
        dup += total - len(distinct)
    return dup


def _quantile(bins: Bins, total: int, p: float) -> float:
    """np.quantile's linear rule over the histogram; inside a bin, ranks are spread evenly
    between the bin's exact min and max."""
    keys, counts, lo, hi = bins
    ends = np.cumsum(counts)

    def at(rank: int) -> float:
        b = int(np.searchsorted(ends, rank, side="right"))
        first = ends[b] - counts[b]
        if counts[b] == 1:
            return float(lo[b])
        return float(lo[b] + (hi[b] - lo[b]) * (rank - first) / (counts[b] - 1))

    pos = p * (total - 1)
    below = math.floor(pos)
    frac = pos - below
    value = at(below)
    return value if frac == 0 else value + frac * (at(min(below + 1, total - 1)) - value)


class _Runner:
    """Runs block tasks in this process, or on a Dask cluster as they complete."""

    def __init__(self, scheduler: str | None) -> None:
        self.client: Any = None       # a distributed.Client when a scheduler is given
        if scheduler is None:
            return
        try:
            from distributed import Client
        except ImportError:
            raise ReportInputError("--scheduler needs dask and distributed: "
                                   "pip install 'lowdim[dask]'") from None
        try:
            self.client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ReportInputError(f"--scheduler {scheduler}: cannot connect "
                                   f"({type(exc).__name__}: {exc})") from None

    def map(self, fn: Callable[..., dict[str, Any]],
            jobs: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        if self.client is None:
            for job in jobs:
                yield fn(*job)
            return
        from distributed import as_completed
        futures = [self.client.submit(fn, *job, pure=False) for job in jobs]
        for future in as_completed(futures):
            yield future.result()
            future.release()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.client is None:
            return fn(*args)
        return self.client.submit(fn, *args, pure=False).result()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def stream_input(files: Sequence[str], *, n_sample: int | None = None, seed: int = 0,
                 chunk_rows: int | None = None, scheduler: str | None = None,
                 progress: Progress | None = None) -> tuple[npt.NDArray[Any], dict[str, Any]]:
    """Stream the basics over every row of `files` and take the seeded row sample.

    Parameters
    ----------
    files : list of str
        .npy paths or glob patterns, concatenated by rows in the order given.
    n_sample : int, optional
        Rows of the seeded sample the rest of the report uses (default 100 000).
    seed : int
        Seed of the sample (the rows ``load_matrix(..., n_sample=, seed=)`` would take
        from the concatenated file).
    chunk_rows : int, optional
        Rows per chunk (default: 32 MiB of rows); memory is a few chunks.
    scheduler : str, optional
        Address of a Dask scheduler that runs the chunks; default in this process.
    progress : lowdim.report.analysis.Progress, optional

    Returns
    -------
    sample : ndarray (m, d) of the files' dtype, the sampled rows in row order
    stream : dict
        "basics" (the keys of the in-memory report's basics), "rows_seen", "rows_sampled",
        "files", "chunks", "chunk_rows", "where", "norm_quantiles".

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> X = np.arange(24, dtype=np.float32).reshape(6, 4)
    >>> np.save(os.path.join(d, "a.npy"), X[:4]); np.save(os.path.join(d, "b.npy"), X[:2])
    >>> S, info = stream_input([os.path.join(d, "*.npy")], n_sample=4)
    >>> info["rows_seen"], info["rows_sampled"], info["basics"]["duplicate_rows"]
    (6, 4, 2)
    """
    from .analysis import Progress
    progress = progress or Progress(None)
    shards = open_shards(expand(files))
    n, d, dtype = shards[-1].offset + shards[-1].n, shards[0].d, shards[0].dtype
    chunk_rows = chunk_rows or max(1, CHUNK_BYTES // (d * dtype.itemsize))
    sample = sample_rows(n, n_sample or DEFAULT_SAMPLE, seed)
    m = n if sample is None else len(sample)
    try:
        _validate.check_memory(float(m) * d * (dtype.itemsize + 8),
                               what=f"the sample of {m} × {d}")
    except ValueError as exc:
        raise ReportInputError(f"{exc}; use --sample N to read fewer rows") from None
    jobs: list[tuple[str, int, int, int, npt.NDArray[np.int64]]] = []
    for sh in shards:
        for s in range(0, sh.n, chunk_rows):
            e = min(sh.n, s + chunk_rows)
            g0, g1 = sh.offset + s, sh.offset + e
            take = (np.arange(e - s) if sample is None else
                    sample[np.searchsorted(sample, g0):np.searchsorted(sample, g1)] - g0)
            jobs.append((sh.path, s, e, sh.offset, take.astype(np.int64)))
    runner = _Runner(scheduler)
    where = "in-process" if scheduler is None else f"Dask scheduler {scheduler}"
    out = np.empty((m, d), dtype)
    totals = {"n": 0, "nonfinite": 0, "zero": 0}
    bins: Bins = (np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    try:
        with tempfile.TemporaryDirectory(prefix="lowdim-report-") as tmp:
            spill = HashSpill(n, chunk_rows, tmp)
            with progress.step(f"streaming basics over {n} rows in {len(jobs)} chunks "
                               f"({where})") as bar:
                for i, part in enumerate(runner.map(block_summary, jobs)):
                    bar.advance(i + 1, len(jobs))
                    for key in totals:
                        totals[key] += part[key]
                    bins = _merge_bins(bins, part["bins"])
                    spill.add(part["hashes"], part["rows"])
                    at = (part["first"] if sample is None
                          else np.searchsorted(sample, part["first"]))
                    out[at:at + len(part["sample"])] = part["sample"]
            with progress.step("confirming duplicate rows byte for byte"):
                dup = count_duplicates(spill.groups(),
                                       lambda rows: runner.call(read_rows, shards, rows),
                                       chunk_rows)
    except OSError as exc:
        raise ReportInputError(f"streaming failed ({exc.strerror or exc})") from None
    finally:
        runner.close()
    kept = int(bins[1].sum())
    norm: dict[str, float] = {} if kept == 0 else {
        "min": float(bins[2][0]), "p5": _quantile(bins, kept, 0.05),
        "median": _quantile(bins, kept, 0.5), "p95": _quantile(bins, kept, 0.95),
        "max": float(bins[3][-1])}
    basics = {"n": n, "d": d, "dtype": str(dtype), "nonfinite_rows": totals["nonfinite"],
              "duplicate_rows": dup, "zero_rows": totals["zero"], "norm": norm}
    return out, {"basics": basics, "rows_seen": totals["n"], "rows_sampled": m,
                 "files": len(shards), "chunks": len(jobs), "chunk_rows": chunk_rows,
                 "where": where,
                 "norm_quantiles": "p5/median/p95 interpolated in a 256-bins-per-octave "
                                   "histogram with exact per-bin min/max; min/max exact"}


def from_args(files: Sequence[str], args: argparse.Namespace,
              progress: Progress) -> dict[str, Any] | None:
    """The CLI's hook: None when the input is read whole, else stream_input's dict plus
    "sample" (the rows the report analyses) and "source" (the header line)."""
    if not wanted(files, args.scheduler):
        return None
    if args.key is not None:
        raise ReportInputError("--key selects an array of one .npz file; streaming reads .npy")
    sample, info = stream_input(files, n_sample=args.sample, seed=args.seed,
                                chunk_rows=args.chunk_rows, scheduler=args.scheduler,
                                progress=progress)
    names = " ".join(files)
    info["source"] = (f"{names} — streamed ({info['where']}): basics over all "
                      f"{info['rows_seen']} rows of {info['files']} file(s) in {info['chunks']} "
                      f"chunks; the rest on a seeded sample of {info['rows_sampled']} rows")
    info["sample"] = sample
    return info


def merge(rep: dict[str, Any], streamed: dict[str, Any] | None) -> None:
    """Put the streamed basics (every row) in the report; the sample's go to "stream"."""
    if streamed is not None:
        rep["stream"] = {**streamed, "sample_basics": rep["basics"]}
        rep["basics"] = rep["stream"].pop("basics")
