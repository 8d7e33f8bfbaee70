"""Read a folder of CSV files, one table per file, streamed in chunks with pyarrow."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from migrate.errors import ExtractError
from migrate.extractors.base import (
    DEFAULT_CHUNK_SIZE,
    EXTRACTORS,
    Batch,
    Clean,
    Extractor,
    RejectedRow,
)


@EXTRACTORS.register("csv")
class CsvExtractor(Extractor):
    """A folder of CSV exports: table ``patients`` is ``patients.csv`` unless ``files`` says.

    Every value is read as text (leading zeros of ZIP codes survive); ragged rows are
    rejected with their line number and the rest of the file is read.
    """

    name = "csv"
    cleans_columns = True

    def __init__(self, path: str | Path, encoding: str = "utf-8", delimiter: str = ",",
                 files: dict[str, str] | None = None) -> None:
        self.root = Path(path)
        self.encoding, self.delimiter, self.files = encoding, delimiter, dict(files or {})
        if not self.root.is_dir():
            raise ExtractError(f"CSV source folder {str(self.root)!r} does not exist")

    def path(self, table: str) -> Path:
        """The file holding ``table``."""
        return self.root / self.files.get(table, f"{table}.csv")

    def describe(self, table: str) -> str:
        """The file path."""
        return str(self.path(table))

    def columns(self, table: str) -> list[str]:
        """The header of the table's file."""
        path = self.path(table)
        try:
            with path.open(newline="", encoding=self.encoding) as fh:
                header = next(csv.reader(fh, delimiter=self.delimiter), None)
        except FileNotFoundError:
            raise ExtractError(f"table {table!r}: file {str(path)!r} not found") from None
        except UnicodeDecodeError as exc:
            raise ExtractError(f"{path}: not {self.encoding} text ({exc.reason}); "
                               "set the source encoding (e.g. cp1252)") from None
        if not header:
            raise ExtractError(f"{path}: the file is empty (no header line)")
        return [h.strip().lstrip("\ufeff") for h in header]

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

    def _read_column(self, table: str, column: str) -> Any:
        import pyarrow as pa
        from pyarrow import csv as pacsv

        table_data = pacsv.read_csv(
            self.path(table),
            read_options=pacsv.ReadOptions(encoding=self.encoding, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                              invalid_row_handler=lambda _row: "skip"),
            convert_options=pacsv.ConvertOptions(
                include_columns=[column], column_types={column: pa.string()},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        return table_data.column(column)

    def _iter_batches(self, table: str, chunk_size: int,
                      select: Callable[[Any], Any] | None = None, clean: Clean | None = None
                      ) -> Iterator[tuple[Batch, list[int]]]:
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyarrow import csv as pacsv

        names = self.columns(table)
        rejects: list[RejectedRow] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            line = row.number  # pyarrow counts file lines from 1, header included
            rejects.append(RejectedRow(line, f"expected {row.expected_columns} fields, found "
                                             f"{row.actual_columns}", row.text))
            return "skip"

        block = max(1 << 16, min(chunk_size * 512, 1 << 26))
        reader = pacsv.open_csv(
            self.path(table),
            read_options=pacsv.ReadOptions(encoding=self.encoding, block_size=block,
                                           use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True,
                                              invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
        position = 0
        try:
            for record_batch in reader:
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
