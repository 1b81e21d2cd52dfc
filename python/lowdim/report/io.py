"""Readers for `lowdim report`: .npy, .npz, .fvecs/.bvecs (ANN-benchmark format), .csv/.tsv.

Large files are memory-mapped and only the sampled rows are read, so a file larger than
RAM does not crash the report. Every malformed file raises ReportInputError with a
one-line message; the CLI prints it and exits with status 2.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .._rng import STREAM_REPORT_SAMPLE, sample_without_replacement


class ReportInputError(ValueError):
    """A file the report cannot read; the message is one line for the user."""


def sample_rows(n_rows: int, n_sample: int | None, seed: int) -> np.ndarray | None:
    """Sorted row indices of a seeded sample without replacement (None = all rows)."""
    if n_sample is None or n_sample >= n_rows:
        return None
    return sample_without_replacement(seed, STREAM_REPORT_SAMPLE, n_rows, n_sample)


def _take(arr, rows):
    out = arr if rows is None else arr[rows]
    return np.asarray(out)


def _read_vecs(path: Path, item: str, rows, n_sample, seed):
    """fvecs: per vector an int32 dimension then d float32; bvecs: int32 then d uint8."""
    size = path.stat().st_size
    if size < 4:
        raise ReportInputError(f"{path.name}: empty or truncated {path.suffix} file")
    d = int(np.fromfile(path, dtype="<i4", count=1)[0])
    itemsize = 4 if item == "f" else 1
    record = 4 + d * itemsize
    if d <= 0 or d > 1 << 24 or size % record:
        raise ReportInputError(f"{path.name}: bad {path.suffix} header (dimension {d} does not "
                               f"divide the file size {size})")
    n = size // record
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, record))
    rows = sample_rows(n, n_sample, seed)
    block = _take(raw, rows)
    dims = block[:, :4].copy().view("<i4").ravel()
    if np.any(dims != d):
        raise ReportInputError(f"{path.name}: inconsistent vector dimensions in {path.suffix} file")
    payload = np.ascontiguousarray(block[:, 4:])
    return payload.view("<f4") if item == "f" else payload


def _read_text(path: Path, delimiter, n_sample, seed):
    try:
        data = np.loadtxt(path, delimiter=delimiter, dtype=np.float64, ndmin=2, comments="#")
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ReportInputError(f"{path.name}: not a numeric table ({first})") from None
    return _take(data, sample_rows(len(data), n_sample, seed))


def load_matrix(path: str | os.PathLike, *, key: str | None = None,
                n_sample: int | None = None, seed: int = 0) -> np.ndarray:
    """Read an (n, d) embedding matrix from `path`, optionally a seeded row sample."""
    path = Path(path)
    if not path.is_file():
        raise ReportInputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ReportInputError(f"{path.name}: file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            arr = _check_2d(path, arr)
            arr = _take(arr, sample_rows(arr.shape[0], n_sample, seed))
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                names = list(z.files)
                if key is None:
                    if len(names) != 1:
                        raise ReportInputError(f"{path.name}: holds arrays {names}; "
                                               "choose one with --key")
                    key = names[0]
                if key not in names:
                    raise ReportInputError(f"{path.name}: no array {key!r} (has {names})")
                arr = _check_2d(path, z[key])
            arr = _take(arr, sample_rows(arr.shape[0], n_sample, seed))
        elif suffix in (".fvecs", ".bvecs"):
            arr = _read_vecs(path, suffix[1], None, n_sample, seed)
        elif suffix in (".csv", ".tsv", ".txt"):
            arr = _read_text(path, "\t" if suffix == ".tsv" else ("," if suffix == ".csv" else None),
                             n_sample, seed)
        else:
            raise ReportInputError(f"{path.name}: unknown format {suffix!r} "
                                   "(use .npy, .npz, .fvecs, .bvecs, .csv or .tsv)")
    except ReportInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReportInputError(f"{path.name}: cannot read ({first})") from None
    return _check_2d(path, arr)


def _check_2d(path: Path, arr) -> np.ndarray:
    if arr.dtype.kind not in "fiu":
        raise ReportInputError(f"{path.name}: dtype {arr.dtype} is not numeric")
    if arr.ndim != 2:
        raise ReportInputError(f"{path.name}: expected a 2-D matrix (n, d), got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ReportInputError(f"{path.name}: needs at least 2 rows and 1 column, got {arr.shape}")
    return arr
