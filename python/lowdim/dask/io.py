"""Dask arrays over embedding files: .npy shards memory-mapped per block, and zarr stores.

from_npy reads only the headers on the client; each task opens its file with
np.load(mmap_mode='r') and copies its own rows, so the graph holds file names and row
ranges, never data, and no process maps more than the block it works on.
"""
from __future__ import annotations

import glob
import os
from typing import Any, Iterable

import dask.array as da
from dask.base import tokenize
import numpy as np

DEFAULT_BLOCK_BYTES = 128 << 20


class _NpyRows:
    """Array-like over one .npy file (shape, dtype, row slicing) for da.from_array."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        mm = np.load(self.path, mmap_mode="r")
        self.shape, self.dtype, self.ndim = mm.shape, mm.dtype, mm.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.ascontiguousarray(np.load(self.path, mmap_mode="r")[key])


def _paths(paths_or_glob: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
           ) -> list[str]:
    if isinstance(paths_or_glob, (str, os.PathLike)):
        path = os.fspath(paths_or_glob)
        found = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    else:
        found = [os.fspath(p) for p in paths_or_glob]
    if not found:
        raise FileNotFoundError(f"no .npy file matches {paths_or_glob!r}")
    return found


def from_npy(paths_or_glob: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
             chunks: int | None = None) -> da.Array:
    """One row-chunked dask array over one or many 2-D .npy files (concatenated by rows).

    Parameters
    ----------
    paths_or_glob : path, glob pattern (files taken in sorted order) or list of paths
    chunks : int, optional
        Rows per block (a block never spans two files); default ~128 MiB of rows.

    Returns
    -------
    dask.array.Array (sum of rows, d) of the files' dtype.

    Examples
    --------
    >>> import os, tempfile, numpy as np, lowdim.dask as ldd
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     np.save(os.path.join(folder, f"part{i}.npy"), np.full((3, 4), i, np.float32))
    >>> X = ldd.from_npy(os.path.join(folder, "part*.npy"))
    >>> X.shape, X.chunks[0], float(X.sum().compute(scheduler="sync"))
    ((6, 4), (3, 3), 12.0)
    """
    arrays: list[da.Array] = []
    for path in _paths(paths_or_glob):
        src = _NpyRows(path)
        if src.ndim != 2:
            raise ValueError(f"{path} holds an array of shape {src.shape}; need 2-D")
        if arrays and (src.shape[1] != arrays[0].shape[1] or src.dtype != arrays[0].dtype):
            raise ValueError(f"{path} has shape {src.shape} and dtype {src.dtype}, the first "
                             f"file {arrays[0].shape} and {arrays[0].dtype}")
        rows = chunks or max(1, DEFAULT_BLOCK_BYTES // max(1, src.shape[1] * src.dtype.itemsize))
        name = "npy-" + tokenize(path, os.path.getmtime(path), src.shape, rows)
        arrays.append(da.from_array(src, chunks=(rows, -1), name=name,
                                    meta=np.empty((0, 0), src.dtype)))
    return arrays[0] if len(arrays) == 1 else da.concatenate(arrays)


def from_zarr(url: Any, component: str | None = None, *, chunks: int | None = None,
              **kwargs: Any) -> da.Array:
    """A zarr array as a row-chunked dask array (needs zarr; kwargs go to da.from_zarr).

    chunks : int, optional — rows per block (columns are always whole); default the
    store's own row chunks.

    Examples
    --------
    >>> import tempfile, numpy as np, zarr, lowdim.dask as ldd
    >>> path = tempfile.mkdtemp()
    >>> z = zarr.open(path, mode="w", shape=(6, 4), chunks=(2, 4), dtype="f4")
    >>> z[:] = np.arange(24, dtype=np.float32).reshape(6, 4)
    >>> X = ldd.from_zarr(path)
    >>> X.chunks[0], float(X.sum().compute(scheduler="sync"))
    ((2, 2, 2), 276.0)
    """
    arr = da.from_zarr(url, component=component, **kwargs)
    if arr.ndim != 2:
        raise ValueError(f"the zarr array has shape {arr.shape}; need 2-D")
    result: da.Array = arr.rechunk({0: chunks, 1: -1}) if chunks else arr.rechunk({1: -1})
    return result
