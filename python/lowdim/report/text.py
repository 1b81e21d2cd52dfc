"""The text-table reader of `lowdim report` (.csv, .tsv, .txt): a header row and an id column
are detected and skipped, and the report says so.

Header: a first line with a cell that is not a number where the second line has one. Id
column: the first column when its header is an id-like name (id, idx, index, key, uuid,
…_id, or empty or "Unnamed: 0" as pandas writes its index), when it holds non-numbers,
or when (without a header) it holds strictly increasing integers and the others do not. With
--sample only the sampled lines are parsed (one counting pass first), so memory holds the
sample, not the whole file.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .io import ReportInputError, sample_rows

ID_NAME = re.compile(r"^(|id|idx|index|key|row|uid|uuid|doc|docid|.*[_ -]id|unnamed: ?0)$", re.I)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _lines(path: Path) -> Iterator[str]:
    """Data-carrying lines (no blank or comment lines); utf-8-sig: spreadsheets write a BOM."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for line in fh:
            body = line.split("#", 1)[0].strip()
            if body:
                yield body


def _cells(line: str, delimiter: str | None) -> list[str]:
    return [c.strip().strip('"') for c in (line.split(delimiter) if delimiter else line.split())]


def _increasing_ints(col: npt.NDArray[np.float64]) -> bool:
    return bool(len(col) >= 2 and np.all(col == np.round(col)) and np.all(np.diff(col) > 0))


def read_text(path: Path, delimiter: str | None, n_sample: int | None, seed: int,
              notes: list[str]) -> npt.NDArray[np.float64]:
    try:
        head: list[list[str]] = []
        for line in _lines(path):
            head.append(_cells(line, delimiter))
            if len(head) == 2:
                break
    except UnicodeDecodeError as exc:
        raise ReportInputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte "
                               f"{exc.start})") from None
    if not head:
        raise ReportInputError(f"{path.name}: no numbers (empty or only comments)")
    header = (len(head) == 2 and any(not _number(a) and _number(b)
                                     for a, b in zip(head[0], head[1])))
    first = head[1] if header else head[0]
    named_id = header and bool(ID_NAME.match(head[0][0]))
    skip = int(len(first) > 1 and (named_id or not _number(first[0])))
    if header:
        notes.append(f"{path.name}: header row skipped ({', '.join(head[0][:4])}"
                     + (", …)" if len(head[0]) > 4 else ")"))
    try:
        data = _parse(path, delimiter, header, skip, len(first), n_sample, seed)
    except UnicodeDecodeError as exc:
        raise ReportInputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte "
                               f"{exc.start})") from None
    except ValueError as exc:
        first_line = (str(exc).splitlines() or ["no numbers"])[0]
        raise ReportInputError(f"{path.name}: not a numeric table ({first_line})") from None
    if not skip and not header and data.shape[1] > 2 and _increasing_ints(data[:, 0]) and \
            not np.all(data[:, 1:] == np.round(data[:, 1:])):
        skip, data = 1, data[:, 1:]
    if skip:
        name = f"{head[0][0]!r}" if header and head[0][0] else "the first column"
        why = ("an id-like name" if named_id else "non-numbers" if not _number(first[0])
               else "strictly increasing integers")
        notes.append(f"{path.name}: {name} skipped as an id column ({why})")
    return data


def _parse(path: Path, delimiter: str | None, header: bool, skip: int, n_cols: int,
           n_sample: int | None, seed: int) -> npt.NDArray[np.float64]:
    """Only the wanted lines go through np.loadtxt: all of them, or the sampled ones."""
    rows = None
    if n_sample is not None:
        rows = sample_rows(sum(1 for _ in _lines(path)) - header, n_sample, seed)

    def wanted() -> Iterator[str]:
        it = _lines(path)
        if header:
            next(it)
        if rows is None:
            yield from it
            return
        want = iter(rows.tolist())
        nxt = next(want, None)
        for i, line in enumerate(it):
            if i == nxt:
                yield line
                nxt = next(want, None)
                if nxt is None:
                    return
    # a file of comments only makes loadtxt warn and return nothing; _check_2d refuses it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cols = range(skip, n_cols) if skip else None
        return np.loadtxt(wanted(), delimiter=delimiter, dtype=np.float64, ndmin=2,
                          usecols=cols, comments=None, quotechar='"')
