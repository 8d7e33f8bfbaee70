"""The documents of a folder or a zip file, one at a time, each read with a size bound.

Files named ``*.xml``, ``*.ccd`` or ``*.cda`` (any case) are documents, found recursively and
taken in the order of their relative paths; other files are counted by extension. Nothing is
read outside the source: a folder's links are followed only to files inside it (never to
folders, so a link loop cannot trap the walk), only regular files are opened (a named pipe
would block), and a zip's members are read by their entries, never extracted, and refused
when their names point outside the archive, their declared or actual size passes the bound,
or they are compressed suspiciously well (a zip bomb).
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from migrate.errors import ExtractError
from migrate.extractors.ccda.safexml import DocumentProblem

SUFFIXES = (".xml", ".ccd", ".cda")
MAX_RATIO = 200
"""A zip member that expands more than this many times (and past 1 MB) is refused: XML
compresses 5 to 30 times; a bomb compresses thousands of times."""
_RATIO_FLOOR = 2 ** 20


@dataclass(frozen=True)
class SourceFile:
    """One candidate document: its name (relative path or member name), a reference to read
    it again (a relative path, or the member's index in the zip), and a problem found before
    reading (a name pointing outside, a link leaving the folder)."""

    name: str
    ref: str
    problem: DocumentProblem | None = None


class DocumentSource:
    """The documents under ``path`` (a folder or a ``.zip``), each at most ``max_bytes``."""

    def __init__(self, path: str | Path, max_bytes: int) -> None:
        self.root = Path(path)
        self.max_bytes = max_bytes
        self.skipped: Counter[str] = Counter()  # extension (or kind) -> files not documents
        if not self.root.exists():
            raise ExtractError(f"the C-CDA source {self.root} does not exist")
        self.is_zip = self.root.is_file()
        if self.is_zip and not zipfile.is_zipfile(self.root):
            damaged = self.root.suffix.lower() == ".zip"  # named a zip: damaged or cut short
            raise ExtractError(
                f"the C-CDA source {self.root} is " + (
                    "a damaged or truncated zip file (its directory cannot be read): copy it "
                    "again" if damaged else "neither a folder nor a zip file"))
        self._zip: zipfile.ZipFile | None = None

    def files(self) -> Iterator[SourceFile]:
        """Every candidate document, in the order of their names (counts the others)."""
        self.skipped.clear()
        return self._members() if self.is_zip else self._folder()

    def read(self, item: SourceFile) -> bytes:
        """The bytes of ``item``, at most ``max_bytes`` (else a `DocumentProblem`)."""
        if item.problem is not None:
            raise item.problem
        return self._read_member(int(item.ref)) if self.is_zip else self._read_file(item.ref)

    def close(self) -> None:
        """Close the zip file if one is open."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    # -- folders ---------------------------------------------------------------------------
    def _folder(self) -> Iterator[SourceFile]:
        names: list[str] = []
        def unreadable(_exc: OSError) -> None:
            self.skipped["(unreadable folder)"] += 1

        for top, dirs, files in os.walk(self.root, onerror=unreadable, followlinks=False):
            for d in dirs:
                if os.path.islink(_join(top, d)):  # noqa: PTH114 - see _join
                    self.skipped["(link to a folder)"] += 1
            for f in files:
                rel = os.path.relpath(_join(top, f), self.root).replace(os.sep, "/")
                if _is_document(f):
                    names.append(rel)
                else:
                    self.skipped[_extension(f)] += 1
        for rel in sorted(names):
            # A name that is not UTF-8 (a Latin-1 "José.xml") is shown with U+FFFD in its
            # place; the file is read again by its bytes (ref: the name's bytes as Latin-1).
            yield SourceFile(_shown(rel), os.fsencode(rel).decode("latin-1"),
                             self._outside(rel))

    def _outside(self, rel: str) -> DocumentProblem | None:
        """A problem when the file ``rel`` is a link leading outside the source folder."""
        real = os.path.realpath(_join(self.root, rel))
        base = os.path.realpath(self.root)
        if os.path.commonpath([real, base]) != base:
            return DocumentProblem("outside-source", "the file is a link leading outside the "
                                   "source folder; copy the document into the folder")
        return None

    def _read_file(self, ref: str) -> bytes:
        path = os.path.join(os.fsencode(self.root), ref.encode("latin-1"))  # noqa: PTH118 - see _join
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise DocumentProblem("unreadable", f"cannot be opened ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise DocumentProblem("not-a-file", "not a regular file (a pipe or a device)")
            if info.st_size > self.max_bytes:
                raise self._too_large()
            data = _read_bounded(fh, self.max_bytes)
        if len(data) > self.max_bytes:
            raise self._too_large()
        return data

    def _too_large(self) -> DocumentProblem:
        return DocumentProblem("too-large", f"the file is larger than the bound of "
                               f"{self.max_bytes // 2 ** 20} MB (max_document_mb)")

    # -- zip files -------------------------------------------------------------------------
    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.root)
            except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
                raise ExtractError(f"cannot open the zip file {self.root}: {exc}") from None
        return self._zip

    def _members(self) -> Iterator[SourceFile]:
        found: list[tuple[str, int]] = []
        for index, info in enumerate(self._archive().infolist()):
            if info.is_dir():
                continue
            if _is_document(info.filename):
                found.append((info.filename, index))
            else:
                self.skipped[_extension(info.filename)] += 1
        for name, index in sorted(found):
            yield SourceFile(name, str(index), _member_problem(name))

    def _read_member(self, index: int) -> bytes:
        info = self._archive().infolist()[index]
        if info.file_size > self.max_bytes:
            raise self._too_large()
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1):
            raise DocumentProblem("zip-bomb", f"the zip member expands "
                                  f"{info.file_size // max(info.compress_size, 1)} times: "
                                  "refused as a zip bomb")
        try:
            with self._archive().open(info) as fh:
                data = _read_bounded(fh, self.max_bytes)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
                RuntimeError) as exc:
            raise DocumentProblem("damaged-zip-member", f"the zip member cannot be read "
                                  f"({type(exc).__name__}: {exc})") from None
        if len(data) > self.max_bytes:
            raise self._too_large()
        return data


def _join(*parts: str | Path) -> str:
    """A path as text. Not pathlib: it interns every name it parses, for good, so memory
    would grow with the number of documents."""
    return os.path.join(*parts)  # noqa: PTH118


def _shown(name: str) -> str:
    """``name`` as text that can be stored and written (undecodable bytes -> U+FFFD)."""
    return os.fsencode(name).decode("utf-8", "replace")


def _read_bounded(fh: IO[bytes], max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of ``fh``, a megabyte at a time (one read of the
    whole bound would reserve the bound's memory for every document)."""
    chunks, total = [], 0
    while chunk := fh.read(min(2 ** 20, max_bytes + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _member_problem(name: str) -> DocumentProblem | None:
    """A problem when a member name points outside the archive (absolute, ``..``)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return DocumentProblem("unsafe-name", "the zip member's name points outside the "
                               "archive ('..' or an absolute path): refused")
    return None


def _is_document(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def _extension(name: str) -> str:
    """A file's extension for the skipped counts (never its name: names hold patients')."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if suffix and len(suffix) <= 12 and suffix[1:].isalnum() else "(none)"
