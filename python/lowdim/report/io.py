"""Readers for `lowdim report`: .npy, .npz, .fvecs/.bvecs (ANN-benchmark format); text
tables (.csv/.tsv/.txt) in text.py, parquet/HDF5/safetensors in readers.py.

Large files are memory-mapped and only the sampled rows are read, so a file larger than
RAM does not crash the report; what a file declares (an .npz member's header, an .npy
shape) is checked against the available memory before anything is read. Every malformed file raises ReportInputError with a
one-line message; the CLI prints it and exits with status 2.
"""
from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._npyfile import check_member_size, member_name, read_member_header
from .._rng import STREAM_REPORT_SAMPLE, sample_without_replacement
from .._validate import check_memory


class ReportInputError(ValueError):
    """A file the report cannot read; the message is one line for the user.

    Examples
    --------
    >>> import os, tempfile
    >>> from lowdim import report
    >>> try:
    ...     report.load_matrix(os.path.join(tempfile.mkdtemp(), "missing.npy"))
    ... except report.ReportInputError as exc:
    ...     print(str(exc).endswith("missing.npy: no such file"))
    True
    """


def sample_rows(n_rows: int, n_sample: int | None,
                seed: int) -> npt.NDArray[np.int64] | None:
    """Sorted row indices of a seeded sample without replacement (None = all rows)."""
    if n_sample is None or n_sample >= n_rows:
        return None
    return sample_without_replacement(seed, STREAM_REPORT_SAMPLE, n_rows, n_sample)


def _take(arr: npt.NDArray[Any], rows: npt.NDArray[np.int64] | None) -> npt.NDArray[Any]:
    out = arr if rows is None else arr[rows]
    return np.asarray(out)


def _read_vecs(path: Path, item: str, rows: npt.NDArray[np.int64] | None,
               n_sample: int | None, seed: int) -> npt.NDArray[Any]:
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
    _check_fits(path, n if rows is None else len(rows), d, itemsize)
    block = _take(raw, rows)
    dims = block[:, :4].copy().view("<i4").ravel()
    if np.any(dims != d):
        raise ReportInputError(f"{path.name}: inconsistent vector dimensions in {path.suffix} file")
    payload = np.ascontiguousarray(block[:, 4:])
    return payload.view("<f4") if item == "f" else payload


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _check_fits(path: Path, n_rows: int, n_cols: int, itemsize: int) -> None:
    """The rows the report reads, and its float copy of them, must fit in available memory."""
    try:
        check_memory(float(n_rows) * n_cols * (itemsize + 8),
                     what=f"{path.name}: reading {n_rows} × {n_cols}")
    except ValueError as exc:
        raise ReportInputError(f"{exc}; use --sample N to read fewer rows") from None


def _read_npz(path: Path, key: str | None, n_sample: int | None,
              seed: int) -> npt.NDArray[Any]:
    """One array of an .npz; its header is checked before its data is decompressed."""
    with zipfile.ZipFile(path) as archive:
        names = [n[:-4] if n.endswith(".npy") else n for n in archive.namelist()]
        if key is None:
            if len(names) != 1:
                raise ReportInputError(f"{path.name}: holds arrays {names}; choose one with --key")
            key = names[0]
        if key not in names:
            raise ReportInputError(f"{path.name}: no array {key!r} (has {names})")
        header = read_member_header(archive, key)
        _check_2d(path, np.empty((0,) * len(header.shape), header.dtype), header.shape)
        try:
            check_member_size(header, what=path.name)
        except ValueError as exc:
            raise ReportInputError(str(exc)) from None
        n, d = header.shape
        _check_fits(path, n + min(n, n_sample or n), d, header.dtype.itemsize)
        with archive.open(member_name(archive, key)) as fh:
            arr = np.lib.format.read_array(fh, allow_pickle=False)
    return _take(arr, sample_rows(n, n_sample, seed))


SINGLE = (".npy", ".fvecs", ".bvecs", ".csv", ".tsv", ".txt")   # one matrix: no --key


def load_matrix(path: str | os.PathLike[str], *, key: str | None = None,
                n_sample: int | None = None, seed: int = 0,
                notes: list[str] | None = None) -> npt.NDArray[Any]:
    """Read an (n, d) embedding matrix from `path`, optionally a seeded row sample.
    What the reader chose or skipped (a header row, an id column, the --key it took) is
    appended to `notes` as one line each.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from lowdim import report
    >>> path = os.path.join(tempfile.mkdtemp(), "emb.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("id,a,b\\nx,1,2\\ny,3,4\\nz,5,6\\n")
    >>> notes = []
    >>> report.load_matrix(path, notes=notes).tolist(), len(notes) > 0
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], True)
    >>> report.load_matrix(path, n_sample=2, seed=0).shape
    (2, 2)
    """
    from .readers import READERS
    from .text import read_text
    path, notes = Path(path), ([] if notes is None else notes)
    arr: npt.NDArray[Any]
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise ReportInputError(f"{path}: cannot read ({exc.strerror})") from None
    kind = _file_kind(mode)
    if kind is not None:     # a FIFO would block the reader; a directory is a user slip
        raise ReportInputError(f"{path}: is {kind}, not a file")
    if path.stat().st_size == 0:
        raise ReportInputError(f"{path.name}: file is empty")
    suffix = path.suffix.lower()
    if key is not None and suffix in SINGLE:
        raise ReportInputError(f"{path.name}: --key selects an array of an .npz, .parquet, "
                               f".h5/.hdf5 or .safetensors file; a {suffix} file holds one")
    try:
        if suffix in READERS:
            arr = READERS[suffix](path, key, n_sample, seed, notes)
        elif suffix == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            arr = _check_2d(path, arr)
            rows = sample_rows(arr.shape[0], n_sample, seed)
            _check_fits(path, arr.shape[0] if rows is None else len(rows), arr.shape[1],
                        arr.dtype.itemsize)
            arr = _take(arr, rows)
        elif suffix == ".npz":
            arr = _read_npz(path, key, n_sample, seed)
        elif suffix in (".fvecs", ".bvecs"):
            arr = _read_vecs(path, suffix[1], None, n_sample, seed)
        elif suffix in (".csv", ".tsv", ".txt"):
            arr = read_text(path, "\t" if suffix == ".tsv" else ("," if suffix == ".csv" else None),
                            n_sample, seed, notes)
        else:
            raise ReportInputError(f"{path.name}: unknown format {suffix!r} (use .npy, .npz, "
                                   ".fvecs, .bvecs, .csv, .tsv, .parquet, .h5, .safetensors)")
    except ReportInputError:
        raise
    except MemoryError:
        raise ReportInputError(f"{path.name}: not enough memory to read it; use --sample N") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReportInputError(f"{path.name}: cannot read ({first})") from None
    return _check_2d(path, arr)


def _check_2d(path: Path, arr: npt.NDArray[Any],
              shape: tuple[int, ...] | None = None) -> npt.NDArray[Any]:
    """A numeric (n >= 2, d >= 1) matrix; `shape` overrides arr.shape (a header's shape)."""
    shape = arr.shape if shape is None else shape
    if arr.dtype.kind not in "fiu":
        raise ReportInputError(f"{path.name}: dtype {arr.dtype} is not numeric")
    if len(shape) != 2:
        raise ReportInputError(f"{path.name}: expected a 2-D matrix (n, d), got shape {shape}")
    if shape[0] < 2 or shape[1] < 1:
        raise ReportInputError(f"{path.name}: needs at least 2 rows and 1 column, got {shape}")
    return arr
