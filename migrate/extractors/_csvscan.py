"""A quote-aware pre-scan of a CSV file, before pyarrow parses it.

pyarrow's reader (``newlines_in_values=True``) lets one unbalanced quote swallow every line up to
the next quote, and stops on the first byte that is not valid in the encoding or on a record
longer than its block. This scan finds, in one vectorised pass over the bytes (numpy; memory
bounded by the block, plus the few exceptional lines it keeps), what pyarrow must not see:

* lines whose bytes are not valid in the declared encoding, and lines holding a NUL byte;
* broken quotes: a line that opens a quoted value which then runs over lines that each read as a
  complete record (the quote is a typo, not a multi-line note);
* genuine multi-line values (notes), whose lines stay together;
* the longest record, so the reader's block can hold it (or the record is set aside).

Those lines are cut out of the byte stream pyarrow reads (`skipping_stream`) and become
quarantined rows with their physical line numbers; the counts let the extractor prove that every
physical line of the file is a header, record, blank or quarantined line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

SCAN_BLOCK = 1 << 22
# Lines shorter than this need no exact length (the reader's block is far larger).
LONG_LINE = 1 << 15
# A record longer than this is quarantined rather than read (pyarrow's block must hold it).
MAX_RECORD = 1 << 28


@dataclass(frozen=True)
class BadLines:
    """Physical lines set aside before parsing (one quarantined row)."""

    line: int  # first physical line, 1-based
    span: int  # how many physical lines
    start: int  # byte offset of the first line
    end: int  # byte offset just past the last line's newline
    message: str
    raw: str | None = None


@dataclass
class _Odd:
    """A line with an odd number of quote characters (it may open or close a quoted value)."""

    line: int
    start: int
    end: int
    text: bytes


@dataclass
class Scan:
    """What the scan found in one file."""

    lines: int = 0  # physical lines (a last line without a newline counts)
    blank: int = 0  # blank lines outside quoted values (the reader skips them)
    in_values: int = 0  # newlines inside genuine multi-line values
    longest: int = 0  # bytes of the longest record
    bad: list[BadLines] = field(default_factory=list)
    # physical line and extra lines of every event that shifts record numbers against lines:
    # blank lines (+1), multi-line records (+span-1), bad lines cut out (+span)
    shifts: list[tuple[int, int, bool]] = field(default_factory=list)


@dataclass
class _Acc:
    blank: list[Any] = field(default_factory=list)
    odd: list[_Odd] = field(default_factory=list)
    bad: dict[int, BadLines] = field(default_factory=dict)
    longest: int = 0


def scan(path: Path, encoding: str, delimiter: str, names: list[str]) -> Scan:
    """Scan ``path`` (its first line is the header, already read by the caller)."""
    acc, lines = _Acc(), 1
    buf = bytearray(SCAN_BLOCK)  # reused: fresh 4 MB blocks and their copies cost more
    with path.open("rb") as fh:
        offset = len(fh.readline())
        held = 0  # bytes of an unfinished line kept at the start of buf
        while True:
            if held == len(buf):  # a line longer than the buffer
                buf.extend(bytes(len(buf)))
            with memoryview(buf) as view:
                got = fh.readinto(view[held:])
            if not got:
                break
            size = held + got
            cut = buf.rfind(b"\n", 0, size) + 1
            if cut:
                lines += _lines(acc, buf, cut, offset, lines + 1, path, encoding, names,
                                delimiter)
                buf[:size - cut] = buf[cut:size]
                offset += cut
            held = size - cut
        if held:
            buf[held:held + 1] = b"\n"
            lines += _lines(acc, buf, held + 1, offset, lines + 1, path, encoding, names,
                            delimiter)
        if offset == 0:
            lines = 0
        return _settle(acc, lines, fh, path, encoding, delimiter, names)


def _lines(acc: _Acc, buf: bytearray, size: int, base: int, first: int, path: Path,
           encoding: str, names: list[str], delimiter: str) -> int:
    """Scan the whole lines in ``buf[:size]`` (ending in a newline) starting at physical line
    ``first``; how many there are. Only a block with something to look at (a quote, a blank
    line, a NUL, a long line, a bad byte) has its lines located one by one."""
    arr = np.frombuffer(buf, np.uint8, count=size)
    newline = arr == 10
    # (`b"\n\n" in buf` is slow where newlines are frequent; the mask is at hand)
    blank = bool(newline[0]) or bool(np.any(newline[1:] & newline[:-1])) or \
        (buf.find(b"\r", 0, size) >= 0
         and (buf.startswith(b"\r\n") or buf.find(b"\n\r\n", 0, size) >= 0))
    quoted, nul = buf.find(b'"', 0, size) >= 0, buf.find(b"\x00", 0, size) >= 0
    if not (blank or quoted or nul or _long_line(buf, size)) and _decodes(buf, size, encoding):
        acc.longest = max(acc.longest, LONG_LINE)
        return int(np.count_nonzero(newline))
    ends = np.flatnonzero(newline)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    acc.longest = max(acc.longest, int(lengths.max()) + 1)
    if blank:
        empty = (lengths == 0) | ((lengths == 1) & (arr[starts] == 13))
        acc.blank.append(np.flatnonzero(empty) + first)
    if quoted:
        quotes = np.flatnonzero(arr == 34)
        counts = np.diff(np.searchsorted(quotes, ends), prepend=0)
        for i in np.flatnonzero(counts & 1).tolist():
            acc.odd.append(_Odd(first + i, base + int(starts[i]), base + int(ends[i]) + 1,
                                bytes(buf[starts[i]:ends[i]])))
    if nul:
        for i in np.unique(np.searchsorted(ends, np.flatnonzero(arr == 0))).tolist():
            text = bytes(buf[starts[i]:ends[i]])
            col = _column_of(text, text.index(b"\x00"), delimiter, names)
            _bad(acc, first + i, base + int(starts[i]), base + int(ends[i]) + 1,
                 f"{path}: line {first + i}: NUL byte in {col}; NUL cannot go into FHIR text "
                 "or ids (remove it from the export)", text)
    _check_encoding(acc, buf, size, ends, starts, base, first, path, encoding, names,
                    delimiter)
    return len(ends)


def _long_line(buf: bytearray, size: int) -> bool:
    """True when ``buf[:size]`` may hold a line of LONG_LINE bytes or more (a stretch of
    LONG_LINE / 2 bytes from an aligned start without a newline), checked without locating
    every line."""
    half = LONG_LINE // 2
    return any(buf.find(b"\n", p, min(p + half, size)) < 0 for p in range(0, size, half))


def _decodes(buf: bytearray, size: int, encoding: str) -> bool:
    with memoryview(buf) as view, view[:size] as part:
        try:
            str(part, encoding)
        except UnicodeDecodeError:
            return False
    return True


def _check_encoding(acc: _Acc, buf: bytearray, size: int, ends: Any, starts: Any, base: int,
                    first: int, path: Path, encoding: str, names: list[str],
                    delimiter: str) -> None:
    """Lines whose bytes are not valid in ``encoding`` become bad lines; decoding resumes at
    the next line."""
    pos = 0
    while pos < size:
        with memoryview(buf) as view, view[pos:size] as part:
            try:
                str(part, encoding)
                return
            except UnicodeDecodeError as exc:
                at = pos + exc.start
        i = int(np.searchsorted(ends, at))
        text = bytes(buf[starts[i]:ends[i]])
        col = _column_of(text, at - int(starts[i]), delimiter, names)
        _bad(acc, first + i, base + int(starts[i]), base + int(ends[i]) + 1,
             f"{path}: line {first + i}: not valid {encoding} at byte {base + at} (in {col}); "
             "set the source encoding, e.g. cp1252", text)
        pos = int(ends[i]) + 1


def _bad(acc: _Acc, line: int, start: int, end: int, message: str, text: bytes) -> None:
    if line not in acc.bad:
        raw = text.decode("utf-8", "replace").replace("\x00", "\\0").rstrip("\r")
        acc.bad[line] = BadLines(line, 1, start, end, message, raw)


def _column_of(text: bytes, at: int, delimiter: str, names: list[str]) -> str:
    """'column N 'name'' for the field holding byte ``at`` of a line (quotes taken roughly)."""
    index = _fields_before(text[:at].decode("latin-1"), delimiter)
    name = names[index] if index < len(names) else "?"
    return f"column {index + 1} {name!r}"


def _fields_before(text: str, delimiter: str) -> int:
    """How many delimiters outside quotes precede the end of ``text``."""
    inside, count = False, 0
    for ch in text:
        if ch == '"':
            inside = not inside
        elif ch == delimiter and not inside:
            count += 1
    return count


def _opening_field(text: str, delimiter: str) -> int | None:
    """The index of the field whose quoted value is still open at the end of the line (read
    as pyarrow does: a quote opens a value only at the start of a field), or None."""
    inside, at_start, index, i, n = False, True, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if inside:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    inside = False
        elif ch == '"' and at_start:
            inside = True
        elif ch == delimiter:
            index += 1
            at_start = True
            i += 1
            continue
        at_start = False
        i += 1
    return index if inside else None


def _settle(acc: _Acc, lines: int, fh: IO[bytes], path: Path, encoding: str,
            delimiter: str, names: list[str]) -> Scan:
    """Pair the odd-quote lines into multi-line values or broken quotes; finish the counts."""
    out = Scan(lines=lines, longest=acc.longest)
    blank = np.concatenate(acc.blank) if acc.blank else np.empty(0, np.int64)
    odd = [o for o in acc.odd if o.line not in acc.bad]
    regions: list[tuple[int, int, int, int]] = []
    k = 0
    while k < len(odd):
        a = odd[k]
        col = _opening_field(a.text.decode(encoding, "replace"), delimiter)
        if col is None:  # its quotes are literal (inside an unquoted value)
            k += 1
            continue
        b = odd[k + 1] if k + 1 < len(odd) else None
        if b is None or _all_complete(fh, a, b, encoding, delimiter, len(names), acc.bad):
            name = names[col] if col < len(names) else "?"
            why = "before the end of the file" if b is None else \
                "before lines that each read as complete rows"
            _bad(acc, a.line, a.start, a.end,
                 f"{path}: line {a.line}: unbalanced quote in column {col + 1} {name!r} (the "
                 f"quoted value never closes {why}); this line is set aside and reading goes "
                 f"on at line {a.line + 1}", a.text)
            k += 1
            continue
        regions.append((a.line, b.line - a.line + 1, a.start, b.end))
        k += 2
    _absorb(acc, regions, path)
    inside = np.zeros(blank.shape, bool)
    for line, span, start, end in regions:
        inside |= (blank > line) & (blank < line + span)
        if line not in acc.bad:
            out.in_values += span - 1
            out.longest = max(out.longest, end - start)
            out.shifts.append((line, span - 1, True))
    outside = blank[~inside]
    out.blank = int(outside.size)
    out.shifts.extend((int(x), 1, False) for x in outside.tolist())
    _giants(acc, out, path)
    out.bad = sorted(acc.bad.values(), key=lambda b: b.line)
    out.shifts.extend((b.line, b.span, False) for b in out.bad)
    out.shifts.sort()
    return out


def _all_complete(fh: IO[bytes], a: _Odd, b: _Odd, encoding: str, delimiter: str,
                  width: int, bad: dict[int, BadLines]) -> bool:
    """True when the lines strictly between ``a`` and ``b`` (at least one) each read as a
    complete record of ``width`` fields: then ``a``'s quote is a typo."""
    fh.seek(a.end)
    checked = 0
    for line in range(a.line + 1, b.line):
        raw = fh.readline()
        if line in bad:  # set aside anyway; it tells nothing about the quote
            continue
        text = raw.decode(encoding, "replace").rstrip("\r\n")
        if not text or len(next(csv.reader([text], delimiter=delimiter))) != width:
            return False
        checked += 1
    return checked > 0


def _absorb(acc: _Acc, regions: list[tuple[int, int, int, int]], path: Path) -> None:
    """A bad line inside a multi-line value sets the whole record aside (not just its line)."""
    if not acc.bad:
        return
    for line, span, start, end in regions:
        inner = [b for b in acc.bad.values() if line <= b.line < line + span]
        if inner:
            for b in inner:
                del acc.bad[b.line]
            acc.bad[line] = BadLines(line, span, start, end,
                                     f"{inner[0].message} (a row of lines {line}-"
                                     f"{line + span - 1}, set aside whole)", inner[0].raw)


def _giants(acc: _Acc, out: Scan, path: Path) -> None:
    """Records longer than MAX_RECORD are set aside (with their line) instead of read."""
    if out.longest <= MAX_RECORD:
        return
    fh_lines = _long_lines(path, out.lines)
    for line, start, end in fh_lines:
        if line not in acc.bad:
            acc.bad[line] = BadLines(line, 1, start, end,
                                     f"{path}: line {line}: a record of {end - start} bytes is "
                                     f"longer than the {MAX_RECORD} bytes the reader holds; "
                                     "split the value or export it separately")
    out.longest = MAX_RECORD


def _long_lines(path: Path, lines: int) -> list[tuple[int, int, int]]:
    """(line, start, end) of every physical line longer than MAX_RECORD (a rare second pass)."""
    found: list[tuple[int, int, int]] = []
    with path.open("rb") as fh:
        start, line = 0, 0
        for raw in iter(lambda: fh.readline(MAX_RECORD + 1), b""):
            size = len(raw)
            while size > MAX_RECORD and not raw.endswith(b"\n"):  # consume the rest
                raw = fh.readline(MAX_RECORD + 1)
                size += len(raw)
                if not raw:
                    break
            line += 1
            if size > MAX_RECORD:
                found.append((line, start, start + size))
            start += size
    return found


class _SkippingRaw(io.RawIOBase):
    """The bytes of a file minus some byte ranges (the bad lines)."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]]) -> None:
        self._fh = path.open("rb")
        self._ranges, self._pos = ranges, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._ranges and self._pos >= self._ranges[0][0]:
            self._pos = max(self._pos, self._ranges.pop(0)[1])
            self._fh.seek(self._pos)
        view = memoryview(buffer)
        if self._ranges:
            view = view[:self._ranges[0][0] - self._pos]
        n = self._fh.readinto(view) or 0
        self._pos += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def skipping_stream(path: Path, bad: list[BadLines]) -> IO[bytes]:
    """``path`` without the bytes of ``bad`` (sorted), as a buffered binary stream."""
    return io.BufferedReader(_SkippingRaw(path, [(b.start, b.end) for b in bad]), 1 << 20)


class LineNumbers:
    """Physical line of the k-th record pyarrow reports (header = 1), for records asked in
    increasing order: blank lines, multi-line records and lines cut out shift them."""

    def __init__(self, shifts: list[tuple[int, int, bool]]) -> None:
        self._shifts, self._next, self._extra = shifts, 0, 0

    def line(self, record: int) -> int:
        """The physical line where record number ``record`` starts."""
        while self._next < len(self._shifts):
            at, extra, is_record = self._shifts[self._next]
            here = record + self._extra
            if at < here or (at == here and not is_record):
                self._extra += extra
                self._next += 1
            else:
                break
        return record + self._extra
