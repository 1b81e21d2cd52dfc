"""What an .npz member declares, read before its data: shape, dtype and byte counts.

A member's .npy header (NEP 1 format) fixes how much numpy allocates when the member is
read, and a small compressed archive can declare gigabytes; readers of untrusted files
(ProductQuantizer.load, `lowdim report`) check this header against the member's stored
size and the available memory first, so a hostile file gives ValueError, not MemoryError.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass

import numpy as np

from ._validate import check_memory


@dataclass(frozen=True)
class MemberHeader:
    name: str            # the array's key (member name without ".npy")
    shape: tuple
    dtype: np.dtype
    fortran_order: bool
    data_bytes: int      # what the header declares: prod(shape) * itemsize
    stored_bytes: int    # uncompressed member size from the zip directory, minus the header


def member_name(archive: zipfile.ZipFile, key: str) -> str:
    """The zip member holding array `key` (np.savez writes 'key.npy')."""
    names = archive.namelist()
    return key + ".npy" if key + ".npy" in names else key


def read_member_header(archive: zipfile.ZipFile, key: str) -> MemberHeader:
    """Parse array `key`'s .npy header without reading its data; ValueError if malformed."""
    info = archive.getinfo(member_name(archive, key))
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"array {key!r}: unsupported .npy format version {version}")
        header_bytes = fh.tell()
    data_bytes = math.prod(shape) * dtype.itemsize
    return MemberHeader(key, tuple(shape), dtype, bool(fortran), data_bytes,
                        info.file_size - header_bytes)


def check_member_size(header: MemberHeader, *, what: str) -> None:
    """The declared data must be what the archive stores and fit in available memory.

    Object arrays (pickles) are refused: their size says nothing about what they allocate.
    """
    if header.dtype.hasobject:
        raise ValueError(f"{what}: array {header.name!r} holds Python objects (dtype "
                         f"{header.dtype}), which are not read from untrusted files")
    if header.data_bytes != header.stored_bytes:
        raise ValueError(f"{what}: array {header.name!r} declares shape {header.shape} "
                         f"({header.data_bytes} bytes) but the archive stores "
                         f"{header.stored_bytes} bytes")
    check_memory(float(header.data_bytes), what=f"{what}: array {header.name!r} {header.shape}")
