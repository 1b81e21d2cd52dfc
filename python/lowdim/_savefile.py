"""The .npz save files of ScalarQuantizer, RaBitQ and ProductQuantizer: one writer, one reader.

Writing is atomic (a temporary file in the target's directory, then os.replace), so a crash
never leaves half a file under the target's name. Every file carries the lowdim version and
the random-generator version (_rng.GENERATOR_VERSION). Reading is hardened for untrusted
files: each member's .npy header is checked (_npyfile) before its data is read, and a file
made with another generator version is refused when its seed would regenerate other numbers.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from typing import IO, Any, Union

import numpy as np

from ._npyfile import check_member_size, read_member_header

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]
# Files written before these entries existed were all made with generator version 1.
_savez: Any = np.savez     # its stubs type **kwds as its own keyword options
_UNVERSIONED: dict[str, Any] = {"lowdim": "unknown (before 0.x save files were versioned)", "generator": 1}


def write_npz(path: PathOrFile, arrays: Mapping[str, np.ndarray]) -> None:
    """np.savez of `arrays` plus the version entries; atomic for paths (".npz" appended
    when missing, as np.savez does), written straight to open binary files."""
    from . import __version__
    from ._rng import GENERATOR_VERSION
    entries = dict(arrays, lowdim_version=np.array(__version__),
                   generator_version=np.array(GENERATOR_VERSION, dtype=np.int64))
    if not isinstance(path, (str, os.PathLike)):
        _savez(path, **entries)
        return
    target = os.fspath(path)
    target += "" if target.endswith(".npz") else ".npz"
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target) or ".", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _savez(fh, **entries)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def read_npz(path: PathOrFile, *, what: str, keys: Sequence[str],
             optional: Sequence[str] = ()) -> dict[str, Any]:
    """The arrays `keys` (all required) and `optional` (if present) of a save file, plus
    'versions' ({'lowdim': str, 'generator': int}).

    ValueError names the file and the reason for anything but a readable lowdim archive:
    not a zip, missing entries, object arrays, members whose header declares more data
    than stored or than the available memory. FileNotFoundError passes through.
    """
    is_path = isinstance(path, (str, os.PathLike))
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)
    version_keys = ("lowdim_version", "generator_version")
    try:
        fh: IO[bytes] = open(path, "rb") if isinstance(path, (str, os.PathLike)) else path
        try:   # our own handle: np.load(path) leaks it when the archive is broken
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with f:
                missing = [k for k in keys if k not in f.files]
                if missing:
                    raise ValueError(f"missing entries {missing}")
                present = [k for k in (*keys, *optional, *version_keys) if k in f.files]
                archive = f.zip
                assert archive is not None       # an NpzFile always has its zip open here
                for key in present:
                    check_member_size(read_member_header(archive, key), what=name)
                data: dict[str, Any] = {k: f[k] for k in present}
        finally:
            if is_path:
                fh.close()
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name} is not a valid lowdim {what} file "
                         f"(corrupted or foreign): {exc}") from None
    versions = dict(_UNVERSIONED)
    if "generator_version" in data:
        made, lowdim_made = data.pop("generator_version"), data.pop("lowdim_version", None)
        bad_lowdim = lowdim_made is not None and (lowdim_made.shape != ()
                                                  or lowdim_made.dtype.kind != "U")
        if made.shape != () or made.dtype.kind not in "iu" or bad_lowdim:
            raise ValueError(f"{name}: version entries of shape {made.shape} / dtype "
                             f"{made.dtype} are not a lowdim {what} file's")
        versions = {"lowdim": str(lowdim_made) if lowdim_made is not None else "unknown",
                    "generator": int(made)}
    data["versions"] = versions
    return data


def check_generator(versions: Mapping[str, Any], *, name: str, what: str) -> None:
    """Refuse a file whose seeded parts this lowdim's generator would make differently."""
    from . import __version__
    from ._rng import GENERATOR_VERSION
    if versions["generator"] != GENERATOR_VERSION:
        raise ValueError(
            f"{name} was saved by lowdim {versions['lowdim']} with random-generator version "
            f"{versions['generator']}; lowdim {__version__} has version {GENERATOR_VERSION} "
            f"and cannot reproduce this {what} exactly: refit it, or load it with lowdim "
            f"{versions['lowdim']}")
