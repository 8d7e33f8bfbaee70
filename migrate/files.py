"""Output files that are private, complete or clearly unfinished.

Every file a run writes may hold patient data, so it is created 0600 (folders 0700) whatever
the umask. A file is written under a temporary name (``NAME.partial``) and renamed to its
final name only once complete: a reader never takes a half-written file for a finished one,
and a killed run leaves ``.partial`` files that the next run removes. Writing errors (disk
full, permissions) become :class:`OutputError` naming the file.

An existing file or folder written into that group or others can read gets one warning line
on stderr (`warn_if_open`, through the ``migrate.files`` logger; the path only, no data); files
we write are made 0600 anyway, existing folders are left as they are.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from migrate.errors import OutputError

PARTIAL = ".partial"
FILE_MODE = 0o600
DIR_MODE = 0o700
log = logging.getLogger(__name__)
_warned: set[Path] = set()


def warn_if_open(path: Path, what: str = "output") -> bool:
    """Warn once (one stderr line, the path only) when ``path`` exists and group or others
    may read it; True when they may."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return False
    if not mode & 0o077:
        return False
    if path.absolute() not in _warned:
        _warned.add(path.absolute())
        kind = "folder" if path.is_dir() else "file"
        holds = ("the id namespace (with it, resource ids can be traced back to source keys)"
                 if what == "project" else "patient data")
        log.warning("warning: %s %s %s is readable by group or others (mode %03o) and may hold "
                    "%s: chmod %s it", what, kind, path, mode, holds,
                    "700" if kind == "folder" else "600")
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as private folders; an existing folder is left as
    is (with a warning when others can read it)."""
    if path.is_dir():
        warn_if_open(path)
        return path
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            folder.chmod(DIR_MODE)
    except OSError as exc:
        raise output_error(path, exc) from None
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (created empty if missing; an existing file that
    others could read is warned about and tightened): for files another library writes, such
    as an SQLite state store (SQLite gives its -wal, -shm and -journal files the same mode)."""
    if not path.exists():
        private_dir(path.parent)
    open_private(path, "ab").close()  # created 0600, or tightened (warned about when open)
    return path


def partial_path(path: Path) -> Path:
    """The temporary name ``path`` is written under."""
    return path.with_name(path.name + PARTIAL)


def open_private(path: Path, mode: str = "wb") -> IO[Any]:
    """Open ``path`` for writing (``wb``, ``ab``, or ``w`` for UTF-8 text), created 0600
    whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    warn_if_open(path)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode otherwise
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding="utf-8", newline="")
    except OSError as exc:
        raise output_error(path, exc) from None


def open_partial(path: Path) -> IO[bytes]:
    """Open the temporary file of ``path`` (emptied); `commit` renames it when complete."""
    return open_private(partial_path(path), "wb")


def commit(path: Path) -> None:
    """Rename the finished temporary file of ``path`` to ``path`` (atomic on one volume)."""
    warn_if_open(path)
    try:
        partial_path(path).replace(path)
    except OSError as exc:
        raise output_error(path, exc) from None


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file, then rename it; with ``sync``
    the data reaches the disk before the rename (a crash leaves the old file or the new)."""
    try:
        with open_partial(path) as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
    except OSError as exc:
        discard(path)
        raise output_error(path, exc) from None
    commit(path)


def discard(path: Path) -> None:
    """Remove the temporary file of ``path``, if any (an unfinished output)."""
    partial_path(path).unlink(missing_ok=True)


def inside(path: Path, root: Path) -> bool:
    """True when ``path``, symbolic links followed, lies inside ``root`` (also resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def relative_problem(name: str) -> str | None:
    """Why ``name`` is not a plain path inside a folder (absolute, ``..``), or None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or PureWindowsPath(name).drive:
        return f"{name!r} must be a path relative to the source folder"
    if ".." in path.parts:
        return f"{name!r} must stay inside the source folder (no '..')"
    if "\0" in name:
        return f"{name!r} holds a NUL character"
    return None


def leftovers(folder: Path) -> Iterator[Path]:
    """Temporary files an interrupted run left in ``folder``."""
    return folder.glob(f"*{PARTIAL}") if folder.is_dir() else iter(())


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn ``OSError`` raised while writing ``path`` into `OutputError`."""
    try:
        yield
    except OSError as exc:
        raise output_error(path, exc) from None


def output_error(path: Path, exc: OSError) -> OutputError:
    """An `OutputError` that names the file and says what to do."""
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        hint = "the disk is full (or the file size limit was reached): free space and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "no permission to write there: choose another output folder"
    else:
        hint = exc.strerror or type(exc).__name__
    return OutputError(f"cannot write {path}: {hint}")
