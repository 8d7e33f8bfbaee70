"""A third-party plugin built only from the recipes of docs/architecture.md ("Adding an
extractor", "Adding a target"): an extractor reading a folder of JSON-lines files
(``--source jsonl:DIR``) and a target writing every resource to one file
(``--target lines:DIR``). tests/plugins/conftest.py exposes it as the distribution
``emr-migrate-jsonl`` through a ``.dist-info`` folder, as ``pip install`` would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import Field

from migrate.errors import ExtractError
from migrate.extractors.base import DEFAULT_CHUNK_SIZE, Batch, Extractor, ReadAccount
from migrate.files import commit, discard, open_partial, private_dir
from migrate.loaders.base import Loader, LoadSummary
from migrate.registry import PluginOptions


# Recipe "Adding an extractor", step 1: the options model.
class JsonlOptions(PluginOptions):
    """Options of the ``jsonl`` extractor."""

    path: Path = Field(description="Folder of TABLE.jsonl files, one JSON object a line.")


# Step 2: the class: options, the three abstract methods, the string it reads.
class JsonlExtractor(Extractor):
    """Table ``t`` is ``DIR/t.jsonl``; every value is handed over as text."""

    name = "jsonl"
    Options = JsonlOptions
    text_forms = ("jsonl:DIR",)

    def __init__(self, path: Path) -> None:
        self.root = Path(path)
        self._accounts: dict[str, ReadAccount] = {}

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """``jsonl:DIR``."""
        return {"path": text[6:]} if text.startswith("jsonl:") and text[6:] else None

    def _file(self, table: str) -> Path:
        path = self.root / f"{table}.jsonl"
        if not path.is_file():
            raise ExtractError(f"table {table!r}: file {str(path)!r} not found")
        return path

    def columns(self, table: str) -> list[str]:
        """The keys of the first line."""
        with self._file(table).open(encoding="utf-8") as fh:
            return list(json.loads(fh.readline() or "{}"))

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        """Stream the lines, ``chunk_size`` rows at a time."""
        rows: list[dict[str, Any]] = []
        start = blank = 0
        with self._file(table).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rows.append({k: None if v is None else str(v)
                                 for k, v in json.loads(line).items()})
                else:
                    blank += 1
                if len(rows) == chunk_size:
                    yield Batch(rows, start=start)
                    start, rows = start + len(rows), []
        if rows:
            yield Batch(rows, start=start)
        records = start + len(rows)
        self._accounts[table] = ReadAccount(lines={"total": records + blank,
                                                   "records": records, "blank": blank})

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        """The lines of the last full read of ``table`` by kind (records, blank)."""
        return self._accounts.get(table)

    def describe(self, table: str) -> str:
        """The file."""
        return str(self.root / f"{table}.jsonl")


# Recipe "Adding a target", step 1: the options model.
class LinesOptions(PluginOptions):
    """Options of the ``lines`` target."""

    path: Path = Field(description="Folder that receives the file.")
    file_name: str = Field("resources.ndjson", description="Name of the file written.")


# Step 2: the class: ``_send`` counts what it writes; ``close`` and ``abort`` finish.
class LinesLoader(Loader):
    """Every resource, one JSON line each, in one file of the folder."""

    name = "lines"
    Options = LinesOptions
    text_forms = ("lines:DIR",)

    def __init__(self, path: Path, file_name: str = "resources.ndjson") -> None:
        self.file = Path(path) / file_name
        super().__init__()
        self._fh: IO[bytes] | None = None

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """``lines:DIR``."""
        return {"path": text[6:]} if text.startswith("lines:") and text[6:] else None

    def describe(self) -> str:
        """``lines:<file>``."""
        return f"lines:{self.file}"

    def open(self) -> None:
        """Create the folder and the partial file."""
        private_dir(self.file.parent)
        self._fh = open_partial(self.file)

    def _send(self, resources: list[dict[str, Any]]) -> None:
        assert self._fh is not None, "open() first"
        for res in resources:
            self._fh.write(json.dumps(res, separators=(",", ":")).encode() + b"\n")
            self.summary.written[res["resourceType"]] += 1

    def close(self) -> LoadSummary:
        """Give the file its final name."""
        if self._fh is not None:
            self._fh.close()
            commit(self.file)
        return super().close()

    def abort(self) -> None:
        """Remove the partial file."""
        if self._fh is not None:
            self._fh.close()
            discard(self.file)
