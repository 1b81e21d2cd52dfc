"""Readers of `lowdim report` for container formats: parquet (pyarrow), HDF5 (h5py; the
ann-benchmarks files with their `train`/`test` datasets) and safetensors (its header is
parsed here with numpy: 8 bytes of little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw data; no `safetensors` package needed).

`--key` names the column, dataset or tensor; without it the only candidate is taken (HDF5:
`train` first). Only the chosen array and only the sampled rows are read: HDF5 and
safetensors are memory-mapped, parquet is read one row group at a time into the output.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .io import ReportInputError, _check_2d, _check_fits, _take, sample_rows

EXTRA = 'pip install "lowdim[report]"'
BLOCK_BYTES = 32 << 20       # HDF5 chunked/compressed datasets are read in blocks this big
MAX_LISTED = 12              # names shown in a one-line error


def _need(module: str, package: str, what: str, path: Path) -> Any:
    """Import an optional package, or the one-line error naming the extra to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ReportInputError(f"{path.name}: reading {what} needs {package}: {EXTRA} "
                               f"(or pip install {package})") from None


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def pick(path: Path, what: str, names: list[str], candidates: list[str], key: str | None,
         default: str | None = None) -> str:
    """The --key if the file has it, else `default`, else the only 2-D candidate."""
    if key is not None:
        if key in names:
            return key
        raise ReportInputError(f"{path.name}: no {what} {key!r}; it has {_listing(names)}")
    if default is not None and default in candidates:
        return default
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ReportInputError(f"{path.name}: no {what} holds an (n, d) numeric matrix; it has "
                               f"{_listing(names) or 'none'}")
    raise ReportInputError(f"{path.name}: {len(candidates)} {what}s hold a matrix; choose one "
                           f"with --key: {_listing(candidates)}")


def _also(path: Path, what: str, chosen: str, candidates: list[str], notes: list[str]) -> None:
    others = [c for c in candidates if c != chosen]
    if others:
        notes.append(f"{path.name}: read {what} {chosen!r}; --key selects another of "
                     f"{_listing(others)}")


# ---- parquet ----------------------------------------------------------------------------

def _list_of_numbers(pa: Any, t: Any) -> bool:
    lists = pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
    numbers: bool = lists and (pa.types.is_floating(t.value_type)
                               or pa.types.is_integer(t.value_type))
    return numbers


def _list_rows(pa: Any, arr: Any, path: Path, name: str,
               notes: list[str]) -> npt.NDArray[Any]:
    """(n, d) rows of a list column; null rows become NaN rows (the report excludes them)."""
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    full = arr if valid.all() else arr.filter(pa.array(valid))
    lengths = np.asarray(full.value_lengths().to_numpy(zero_copy_only=False))
    if len(lengths) and lengths.min() != lengths.max():
        raise ReportInputError(f"{path.name}: column {name!r} holds lists of lengths "
                               f"{lengths.min()} to {lengths.max()}; an embedding has one length")
    d = int(lengths[0]) if len(lengths) else (arr.type.list_size if
                                              pa.types.is_fixed_size_list(arr.type) else 1)
    values: np.ndarray = full.flatten().to_numpy(zero_copy_only=False).reshape(len(full), d)
    if valid.all():
        return values
    out = np.full((len(arr), d), np.nan, dtype=np.result_type(values.dtype, np.float32))
    out[valid] = values
    notes.append(f"{path.name}: {int((~valid).sum())} null rows in column {name!r} read as "
                 "NaN rows")
    return out


def read_parquet(path: Path, key: str | None, n_sample: int | None, seed: int,
                 notes: list[str]) -> npt.NDArray[Any]:
    """An embedding column (list or fixed-size list of numbers), else the float columns."""
    pa = _need("pyarrow", "pyarrow", "parquet", path)
    pq = _need("pyarrow.parquet", "pyarrow", "parquet", path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReportInputError(f"{path.name}: not a parquet file ({str(exc).splitlines()[0]})"
                               ) from None
    schema = pf.schema_arrow
    names = list(schema.names)
    lists = [f.name for f in schema if _list_of_numbers(pa, f.type)]
    if key is not None or lists:
        name = pick(path, "column", names, lists, key)
        if name not in lists:
            raise ReportInputError(f"{path.name}: column {name!r} is {schema.field(name).type}, "
                                   "not a list of numbers per row (without --key the float "
                                   "columns are read as the matrix)")
        columns, d = [name], getattr(schema.field(name).type, "list_size", None)
        _also(path, "column", name, lists, notes)
    else:
        columns = [f.name for f in schema if pa.types.is_floating(f.type)]
        if not columns:
            raise ReportInputError(f"{path.name}: no list-of-numbers column and no float "
                                   f"columns; it has {_listing(names)}")
        d, skipped = len(columns), [n for n in names if n not in columns]
        notes.append(f"{path.name}: read the {d} float columns as the matrix"
                     + (f"; skipped {_listing(skipped)}" if skipped else ""))
    n = pf.metadata.num_rows
    rows = sample_rows(n, n_sample, seed)
    m_out = n if rows is None else len(rows)
    out, at, start = None, 0, 0
    for g in range(pf.num_row_groups):
        m = pf.metadata.row_group(g).num_rows
        take = None if rows is None else (
            rows[np.searchsorted(rows, start):np.searchsorted(rows, start + m)] - start)
        start += m
        if take is not None and len(take) == 0:
            continue
        table = pf.read_row_group(g, columns=columns)
        if take is not None:
            table = table.take(pa.array(take))
        if len(columns) == 1 and columns[0] in lists:
            part = _list_rows(pa, table.column(0).combine_chunks(), path, columns[0], notes)
        else:
            part = np.column_stack([table.column(c).to_numpy(zero_copy_only=False)
                                    for c in columns])
        if out is None:    # d is known now: the whole read must fit before it goes on
            _check_fits(path, m_out, part.shape[1], part.dtype.itemsize)
            out = np.empty((m_out, part.shape[1]), part.dtype)
        if part.shape[1] != out.shape[1]:
            raise ReportInputError(f"{path.name}: column {columns[0]!r} holds lists of "
                                   f"lengths {out.shape[1]} and {part.shape[1]}; an embedding "
                                   "has one length")
        if out.dtype.kind in "iu" and part.dtype.kind == "f":   # null rows (NaN) in int lists
            out = out.astype(part.dtype)
        out[at:at + len(part)] = part
        at += len(part)
        del table, part
    if out is None:
        raise ReportInputError(f"{path.name}: needs at least 2 rows and 1 column, got {n} rows")
    return out


# ---- HDF5 -------------------------------------------------------------------------------

def _hdf5_pick(h5py: Any, fh: Any, path: Path, key: str | None, notes: list[str]) -> str:
    names: list[str] = []
    fh.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    cands = [n for n in names if fh[n].ndim == 2 and fh[n].dtype.kind in "fiu"]
    name = pick(path, "dataset", names, cands, key, default="train")
    _also(path, "dataset", name, cands, notes)
    return name


def read_hdf5(path: Path, key: str | None, n_sample: int | None, seed: int,
              notes: list[str]) -> npt.NDArray[Any]:
    """A 2-D dataset (ann-benchmarks: `train` unless --key test); memory-mapped when it is
    stored contiguous and uncompressed, else read in blocks keeping the sampled rows."""
    h5py = _need("h5py", "h5py", "HDF5", path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ReportInputError(f"{path.name}: not an HDF5 file ({str(exc).splitlines()[0]})"
                               ) from None
    with fh:
        ds = fh[_hdf5_pick(h5py, fh, path, key, notes)]
        distance = fh.attrs.get("distance")
        if distance is not None:
            distance = distance.decode() if isinstance(distance, bytes) else str(distance)
            notes.append(f"{path.name}: the file's distance attribute is {distance!r}"
                         + (" (lowdim: --metric cosine)" if distance == "angular" else ""))
        _check_2d(path, np.empty(0, ds.dtype), ds.shape)
        n, d = ds.shape
        rows = sample_rows(n, n_sample, seed)
        _check_fits(path, n if rows is None else len(rows), d, ds.dtype.itemsize)
        offset = ds.id.get_offset()
        if ds.chunks is None and ds.compression is None and offset is not None:
            return _take(np.memmap(path, dtype=ds.dtype, mode="r", offset=offset,
                                   shape=ds.shape), rows)
        if rows is None:
            whole: np.ndarray = ds[()]
            return whole
        step = max(1, BLOCK_BYTES // max(1, d * ds.dtype.itemsize))
        out = np.empty((len(rows), d), ds.dtype)
        for s in range(0, n, step):
            lo, hi = np.searchsorted(rows, s), np.searchsorted(rows, s + step)
            if hi > lo:
                out[lo:hi] = ds[s:s + step][rows[lo:hi] - s]
        return out


# ---- safetensors ------------------------------------------------------------------------

def _e4m3_table() -> npt.NDArray[np.float32]:
    """float32 value of each FP8 E4M3 (the "fn" variant: no inf, 0x7f/0xff NaN) byte."""
    b = np.arange(256)
    sign = np.where(b >> 7, -1.0, 1.0)
    e, m = (b >> 3) & 15, b & 7
    mag = np.where(e == 0, m / 8 * 2.0 ** -6, (1 + m / 8) * 2.0 ** (e - 7))
    return np.where((e == 15) & (m == 7), np.nan, sign * mag).astype(np.float32)


# raw storage dtype, and how the sampled rows become numbers the report reads
SAFETENSORS_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
    "BF16": "<u2", "F8_E5M2": "u1", "F8_E4M3": "u1"}
_WIDEN: dict[str, Callable[[npt.NDArray[Any]], npt.NDArray[Any]]] = {
    "BF16": lambda a: (a.astype(np.uint32) << 16).view(np.float32),     # the top half of f32
    "F8_E5M2": lambda a: (a.astype(np.uint16) << 8).view(np.float16),   # the top byte of f16
    "F8_E4M3": lambda a: _e4m3_table()[a]}


def _safetensors_header(path: Path) -> tuple[int, dict[str, Any], int]:
    """(header length, header without __metadata__, file size)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        hlen = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 2 <= hlen <= size - 8:
            raise ReportInputError(f"{path.name}: not a safetensors file (header length "
                                   f"{hlen} in a {size}-byte file)")
        try:
            header = json.loads(fh.read(hlen))
        except (ValueError, UnicodeDecodeError):
            header = None
    if not isinstance(header, dict):
        raise ReportInputError(f"{path.name}: not a safetensors file (its header is not a "
                               "JSON object)")
    header.pop("__metadata__", None)
    return hlen, header, size


def _safetensors_pick(path: Path, header: dict[str, Any], key: str | None,
                      notes: list[str]) -> str:
    names = list(header)
    cands = [n for n, t in header.items() if isinstance(t, dict) and len(t.get("shape", ())) == 2
             and t.get("dtype") in SAFETENSORS_DTYPES]
    name = pick(path, "tensor", names, cands, key)
    _also(path, "tensor", name, cands, notes)
    return name


def read_safetensors(path: Path, key: str | None, n_sample: int | None, seed: int,
                     notes: list[str]) -> npt.NDArray[Any]:
    """One 2-D tensor of a .safetensors file, memory-mapped; BF16/FP8 widened after sampling."""
    hlen, header, size = _safetensors_header(path)
    name = _safetensors_pick(path, header, key, notes)
    t = header[name]
    try:
        code, shape = t["dtype"], tuple(int(s) for s in t["shape"])
        start, end = (int(o) for o in t["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise ReportInputError(f"{path.name}: tensor {name!r} has a malformed header "
                               "entry") from None
    if code not in SAFETENSORS_DTYPES:
        raise ReportInputError(f"{path.name}: tensor {name!r} has dtype {code}, not a number "
                               f"type lowdim reads ({', '.join(SAFETENSORS_DTYPES)})")
    raw = np.dtype(SAFETENSORS_DTYPES[code])
    _check_2d(path, np.empty(0, raw), shape)
    if end - start != shape[0] * shape[1] * raw.itemsize or start < 0 or 8 + hlen + end > size:
        raise ReportInputError(f"{path.name}: tensor {name!r} byte range {start}..{end} does not "
                               f"hold {shape} {code} values in this {size}-byte file")
    rows = sample_rows(shape[0], n_sample, seed)
    _check_fits(path, shape[0] if rows is None else len(rows), shape[1], max(raw.itemsize, 4))
    block = _take(np.memmap(path, dtype=raw, mode="r", offset=8 + hlen + start, shape=shape),
                  rows)
    return _WIDEN[code](block) if code in _WIDEN else block


Reader = Callable[[Path, str | None, int | None, int, list[str]], npt.NDArray[Any]]
READERS: dict[str, Reader] = {".parquet": read_parquet, ".pq": read_parquet, ".h5": read_hdf5,
                              ".hdf5": read_hdf5, ".safetensors": read_safetensors}


def rows_in(path: Path, key: str | None) -> int:
    """Rows of the array load_matrix would read, from the file's metadata (no data read)."""
    reader = READERS[path.suffix.lower()]
    if reader is read_parquet:
        pq = _need("pyarrow.parquet", "pyarrow", "parquet", path)
        return int(pq.ParquetFile(path).metadata.num_rows)
    if reader is read_hdf5:
        h5py = _need("h5py", "h5py", "HDF5", path)
        with h5py.File(path, "r") as fh:
            return int(fh[_hdf5_pick(h5py, fh, path, key, [])].shape[0])
    _, header, _ = _safetensors_header(path)
    return int(header[_safetensors_pick(path, header, key, [])]["shape"][0])
