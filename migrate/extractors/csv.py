"""Read a folder of CSV files, one table per file, streamed in chunks with pyarrow."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from migrate.errors import ExtractError
from migrate.extractors import _csvscan
from migrate.extractors.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    Clean,
    Extractor,
    ExtractorCapabilities,
    ReadAccount,
    RejectedRow,
)
from migrate.files import inside, relative_problem
from migrate.registry import PluginOptions


class CsvOptions(PluginOptions):
    """Options of the ``csv`` extractor (``source: {type: csv, ...}``)."""

    path: Path = Field(description="The folder of CSV files, one table per file.")
    encoding: str = Field("utf-8", description="Text encoding of the files, e.g. cp1252.")
    delimiter: str = Field(",", min_length=1, max_length=1,
                           description="The field separator, one character.")
    files: dict[str, str] | None = Field(
        None, description="File name per table, relative to the folder (default TABLE.csv; "
        "the pack's files: are added).")


class CsvExtractor(Extractor):
    """A folder of CSV exports: table ``patients`` is ``patients.csv`` unless ``files`` says.

    Every value is read as text (leading zeros of ZIP codes survive); ragged rows are
    rejected with their line number and the rest of the file is read.
    """

    name = "csv"
    Options = CsvOptions
    text_forms = ('a folder of CSV files',)
    text_rank = 90
    capabilities = ExtractorCapabilities(clean_columns=True, incremental=True, column_values=True,
                                         value_counts=True, selected_reads=True,
                                         lists_tables=True, split_lines=True)

    def __init__(self, path: str | Path, encoding: str = "utf-8", delimiter: str = ",",
                 files: dict[str, str] | None = None) -> None:
        self.root = Path(path)
        self.encoding, self.delimiter, self.files = encoding, delimiter, dict(files or {})
        self._headers: dict[str, list[str]] = {}
        self._accounts: dict[str, ReadAccount] = {}
        if not self.root.is_dir():
            raise ExtractError(f"CSV source folder {str(self.root)!r} does not exist")
        problems = [f"files.{t}: {p}" for t, n in self.files.items()
                    if (p := relative_problem(str(n)))]
        if problems:
            raise ExtractError("; ".join(problems))

    def path(self, table: str) -> Path:
        """The file holding ``table``; it must lie inside the source folder (a symbolic link
        out of it is refused, and the file is never opened)."""
        path = self.root / self.files.get(table, f"{table}.csv")
        if not inside(path, self.root):
            raise ExtractError(f"table {table!r}: {path} leads outside the source folder "
                               f"{self.root} (a link or '..'); copy the file into the folder")
        return path

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """Any string no other extractor claims is a folder (relative paths: see config)."""
        return {"path": text}

    def describe(self, table: str) -> str:
        """The file path."""
        return str(self.path(table))

    def columns(self, table: str) -> list[str]:
        """The header of the table's file, normalised once for the column check and the
        reader alike: surrounding spaces and a byte-order mark are dropped; a name that then
        appears twice is an error naming both positions."""
        if table not in self._headers:
            self._headers[table] = self._read_header(table)
        return list(self._headers[table])

    def _read_header(self, table: str) -> list[str]:
        path = self.path(table)
        try:
            with path.open("rb") as fh:
                first = fh.readline()
        except FileNotFoundError:
            raise ExtractError(f"table {table!r}: file {str(path)!r} not found") from None
        if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
            raise ExtractError(f"{path}: the file looks like UTF-16 (a UTF-16 byte-order mark "
                               "or NUL bytes between the header's letters), which is not read "
                               "line by line; save it as UTF-8 (or cp1252) and run again")
        try:
            text = first.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise ExtractError(f"{path}: line 1 (the header) is not valid {self.encoding} at "
                               f"byte {exc.start}; set the source encoding, e.g. cp1252"
                               ) from None
        if "\r" in text.rstrip("\r\n"):
            raise ExtractError(f"{path}: lines end in a carriage return alone (classic Mac "
                               "line ends), which the reader cannot count line by line; "
                               "convert the file to LF or CRLF line ends")
        try:
            header = next(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter), None)
        except csv.Error as exc:
            raise ExtractError(f"{path}: line 1 (the header) cannot be read: {exc}") from None
        if not header or header == [""]:
            raise ExtractError(f"{path}: the file is empty (no header line)")
        names = [h.lstrip("\ufeff").strip() for h in header]
        seen: dict[str, int] = {}
        for i, name in enumerate(names, 1):
            if name in seen:
                raise ExtractError(f"{path}: line 1: column {name!r} appears twice in the "
                                   f"header (columns {seen[name]} and {i}); rename or remove "
                                   "one of them")
            seen[name] = i
        return names

    def estimate_rows(self, table: str, query: str | None = None) -> int | None:
        """Lines in the file minus the header (cheap: a byte scan)."""
        count = 0
        with self.path(table).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
        return max(count - 1, 0)

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None, *,
                     clean: Clean | None = None) -> Iterator[Batch]:
        """Stream the file in record batches; every column is text.

        A file has no index: with ``since`` every row is read and older ones are skipped (on
        the raw text: ``clean`` is then not applied). ``clean`` cleans a column at a time.
        """
        for batch, _ in self._iter_batches(table, chunk_size,
                                           clean=clean if since is None else None):
            if since is not None:
                col, value = since
                batch.rows = [r for r in batch.rows if (r.get(col) or "") >= value]
            yield batch

    def iter_selected(self, table: str, chunk_size: int, select: Callable[[Any], Any],
                      clean: Clean | None = None) -> Iterator[tuple[Batch, list[int]]]:
        """Like `iter_batches`, keeping only the rows ``select(record_batch)`` marks (a pyarrow
        boolean mask); with each batch, the index in the file of each row kept. Rows left out
        are never turned into Python objects (the partitioned executor's workers use this)."""
        return self._iter_batches(table, chunk_size, select, clean)

    def column_counts(self, table: str, column: str) -> dict[str, int]:
        """How many rows hold each value of one column (ragged rows left out), counted by
        pyarrow: the partitioned executor chooses its key ranges from them."""
        import pyarrow.compute as pc

        counted = pc.value_counts(self._read_column(table, column)).to_pylist()
        return {c["values"]: c["counts"] for c in counted}

    def column_values(self, table: str, column: str, query: str | None = None) -> list[Any]:
        """Every value of one column (ragged rows left out), read by pyarrow alone."""
        return self._read_column(table, column).to_pylist()

    def tables(self) -> list[str]:
        """The tables of the folder: each ``*.csv`` file, named as ``files`` names it (else
        by its stem)."""
        by_file = {name: table for table, name in self.files.items()}
        return sorted(by_file.get(p.name, p.stem) for p in self.root.glob("*.csv"))

    def split_rejected(self, table: str, raw: str) -> dict[str, str] | None:
        """The fields of a rejected line before its first quote (a stray quote makes the rest
        ambiguous), by header column."""
        fields = raw.split(self.delimiter)
        clean = next((i for i, f in enumerate(fields) if '"' in f), len(fields))
        header = self.columns(table)
        return dict(zip(header[:clean], fields[:clean], strict=False)) or None

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        """The physical lines of the file by kind, from the last full read of ``table`` (a
        counting read when this extractor did not read it, as under the partitioned
        executor)."""
        if table not in self._accounts:
            for _ in self._iter_batches(table, DEFAULT_CHUNK_SIZE, select=_nothing):
                pass
        return self._accounts.get(table)

    def _read_column(self, table: str, column: str) -> Any:
        import pyarrow as pa

        parts = [rb.column(column) for rb in self._reader(table, DEFAULT_CHUNK_SIZE, [],
                                                          include=[column])]
        return pa.chunked_array(parts, pa.string())

    def _reader(self, table: str, chunk_size: int, rejects: list[RejectedRow],
                include: list[str] | None = None, tally: _Tally | None = None) -> Any:
        """A pyarrow batch reader over the file minus the lines the scan set aside (those
        become ``rejects``), with the normalised header as column names."""
        import pyarrow as pa
        from pyarrow import csv as pacsv

        names, path = self.columns(table), self.path(table)
        found = _csvscan.scan(path, self.encoding, self.delimiter, names)
        tally = tally if tally is not None else _Tally()
        tally.scan = found
        numbers = _csvscan.LineNumbers(found.shifts)
        for bad in found.bad:
            rejects.append(RejectedRow(bad.line, bad.message, bad.raw))
            tally.quarantined_lines += bad.span

        def on_invalid(row: pacsv.InvalidRow) -> str:
            line = numbers.line(row.number)  # pyarrow numbers records, header = 1
            tally.quarantined_lines += 1 + row.text.count("\n")
            tally.in_ragged += row.text.count("\n")
            rejects.append(RejectedRow(line, f"{path}: line {line}: expected "
                                             f"{row.expected_columns} fields, found "
                                             f"{row.actual_columns}", row.text))
            return "skip"

        block = max(1 << 16, min(chunk_size * 512, 1 << 26))
        while block < 2 * found.longest + 1024:
            block *= 2
        source: Any = _csvscan.skipping_stream(path, found.bad) if found.bad else path
        return pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=block,
                                           use_threads=False, column_names=names,
                                           skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                              invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, include_columns=include,
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )

    def _iter_batches(self, table: str, chunk_size: int,
                      select: Callable[[Any], Any] | None = None, clean: Clean | None = None
                      ) -> Iterator[tuple[Batch, list[int]]]:
        import pyarrow as pa
        import pyarrow.compute as pc

        self._accounts.pop(table, None)
        rejects: list[RejectedRow] = []
        tally = _Tally()
        position = 0
        try:
            reader = self._reader(table, chunk_size, rejects, tally=tally)
            for record_batch in reader:
                tally.count(record_batch)
                if select is None:
                    rows = _rows(record_batch, clean)
                    index: Any = range(position, position + len(rows))
                else:
                    kept = pc.indices_nonzero(select(record_batch))
                    rows = _rows(record_batch.take(kept), clean)
                    index = [position + i for i in kept.to_pylist()]
                position += record_batch.num_rows
                for i in range(0, max(len(rows), 1), chunk_size):
                    part = rows[i:i + chunk_size]
                    start = position - record_batch.num_rows
                    yield (Batch(part, rejects[:] if i == 0 else [], start=start,
                                 clean=clean is not None),
                           list(index[i:i + chunk_size]))
                    if i == 0:
                        rejects.clear()
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise ExtractError(f"{self.path(table)}: cannot read as {self.encoding} CSV: "
                               f"{_first_line(exc)}") from None
        if rejects:
            yield Batch([], rejects[:], start=position), []
        self._accounts[table] = tally.account(self.path(table))


@dataclass
class _Tally:
    """What one read of a file produced, to balance against the scan's physical lines."""

    scan: _csvscan.Scan | None = None
    rows: int = 0
    in_values: int = 0  # newlines inside the values of records read
    in_ragged: int = 0  # newlines inside the text of ragged (quarantined) rows
    quarantined_lines: int = 0

    def count(self, record_batch: Any) -> None:
        """Count a record batch's rows and the newlines inside its values (a byte count over
        each string column's data buffer)."""
        import numpy as np

        self.rows += record_batch.num_rows
        for column in record_batch.columns:
            _, offsets, data = column.buffers()
            if data is None or not len(column):
                continue
            ends = np.frombuffer(offsets, np.int32, count=len(column) + 1,
                                 offset=column.offset * 4)
            values = np.frombuffer(data, np.uint8)[ends[0]:ends[-1]]
            self.in_values += int(np.count_nonzero(values == 10))

    def account(self, path: Path) -> ReadAccount:
        """Lines by kind, and whether they add up to the file's physical lines."""
        found = self.scan or _csvscan.Scan()
        lines = {"total": found.lines, "header": 1 if found.lines else 0,
                 "records": self.rows + self.in_values, "blank": found.blank,
                 "in_quarantined": self.quarantined_lines}
        counted = sum(v for k, v in lines.items() if k != "total")
        if counted != found.lines:
            return ReadAccount(lines, complete=False, problem=(
                f"{path}: {found.lines} physical lines but {counted} accounted for "
                "(header, records, blank, quarantined)"))
        unexpected = self.in_values + self.in_ragged - found.in_values
        if unexpected > 0:
            return ReadAccount(lines, complete=False, problem=(
                f"{path}: {unexpected} line(s) were read inside quoted values where the scan "
                "saw no multi-line value (a stray quote?); check the file's quotes"))
        return ReadAccount(lines)


def _nothing(record_batch: Any) -> Any:
    """A selection that keeps no row (a counting read)."""
    import numpy as np
    import pyarrow as pa

    return pa.array(np.zeros(record_batch.num_rows, bool))


def _rows(record_batch: Any, clean: Clean | None) -> list[dict[str, Any]]:
    """The rows of a record batch as dicts, each column cleaned first when asked."""
    if clean is None:
        return record_batch.to_pylist()
    names = record_batch.schema.names
    columns = [clean(n, c.to_pylist()) for n, c in zip(names, record_batch.columns, strict=True)]
    if not columns:
        return [{} for _ in range(record_batch.num_rows)]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
