"""Output files of `lowdim report` (--json, --html): checked before the analysis runs,
written atomically (a temporary file in the target's directory, then os.replace), so a
failure never costs the analysis first, nor leaves a partial or truncated file behind.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


class OutputError(ValueError):
    """An output path the report cannot write; the message is one line for the user."""


def _probe_directory(option: str, path: Path) -> None:
    """Create and remove a temporary file where `path` will go: the only test that also
    holds for root, read-only mounts and ACLs (os.access does not)."""
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"{option} {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write in {parent} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_outputs(outputs: Mapping[str, str | os.PathLike[str] | None], *,
                  source: str | os.PathLike[str] | None = None) -> None:
    """Refuse unwritable outputs before any work: {option: path or None}."""
    seen: dict[str, str] = {}
    for option, name in outputs.items():
        if name is None:
            continue
        path = Path(name)
        if path.is_dir():
            raise OutputError(f"{option} {path}: is a directory")
        if path.exists() and not path.is_file():
            raise OutputError(f"{option} {path}: exists and is not a regular file")
        if path.is_file() and not os.access(path, os.W_OK):
            raise OutputError(f"{option} {path}: the file is read-only")
        if source is not None and path.exists() and path.samefile(source):
            raise OutputError(f"{option} {path}: would overwrite the input file")
        key = os.path.abspath(path)
        if key in seen:
            raise OutputError(f"{option} and {seen[key]} name the same file {path}")
        seen[key] = option
        _probe_directory(option, path)


def _new_file_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the umask's (mkstemp: 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(name: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `name` so readers see the old file or the whole new one."""
    path = Path(name)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (OSError, UnicodeError)):
            raise OutputError(f"cannot write {path} ({getattr(exc, 'strerror', None) or exc})") from None
        raise
