"""The extractor protocol and registry.

An extractor reads one source table at a time as a stream of :class:`Batch` objects (a list of
row dicts plus the rows it could not parse), never the whole table at once (invariant 5).
Write a new one by subclassing :class:`Extractor` and declaring it as an entry point of the
``migrate.extractors`` group in your distribution (the built-ins are declared the same way in
pyproject.toml; see docs/architecture.md, "Adding an extractor")::

    [project.entry-points."migrate.extractors"]
    my-source = "my_package.extractor:MyExtractor"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from migrate.errors import ConfigError
from migrate.outcomes import Batch, RejectedRow  # noqa: F401 - what an extractor yields
from migrate.registry import Plugin, Registry

DEFAULT_CHUNK_SIZE = 5000


@dataclass
class ReadAccount:
    """How completely one table was read, as the extractor can prove it after the read.

    ``lines`` (files): physical lines by kind, e.g. ``{"total": 380, "header": 1,
    "records": 378, "blank": 0, "in_quarantined": 1}``; total = the sum of the others.
    ``expected_rows`` (databases): ``COUNT(*)`` of the table or query when the read began.
    ``complete`` is False when rows may be missing (lines unaccounted for, fewer rows than
    counted); ``problem`` then says why, naming the file or table.
    """

    lines: dict[str, int] | None = None
    expected_rows: int | None = None
    complete: bool = True
    problem: str | None = None


@dataclass(frozen=True)
class ExtractorCapabilities:
    """What an extractor can do beyond its three abstract methods. The pipeline, the
    executors and the validation probes ask this declaration, never the object itself: a
    capability that is declared has its method implemented, one that is not is never called.
    """

    clean_columns: bool = False
    """``iter_batches(..., clean=)`` applies a `Clean` a column at a time (batches ``clean``)."""
    queries: bool = False
    """Mappings may declare ``query:``; ``query_columns(sql)`` and ``iter_batches(query=)``."""
    incremental: bool = False
    """``iter_batches(since=(column, value))`` yields only rows changed since a watermark."""
    column_values: bool = False
    """``column_values(table, column)``: every value of one column, read cheaply."""
    value_counts: bool = False
    """``column_counts(table, column)``: rows per value of one column."""
    selected_reads: bool = False
    """``iter_selected(table, chunk_size, select)``: reads only rows a mask keeps."""
    lists_tables: bool = False
    """``tables()``: the tables the source holds (coverage of unmapped tables)."""
    split_lines: bool = False
    """``split_rejected(table, raw)``: the fields of a rejected line (to key it)."""
    closed_references: bool = False
    """Every key a row holds for a row of another table is the key of a row the extractor
    reads (a document source builds both from one document): an empty table is then no sign
    of a lost file, and the run does not fail a table that emitted nothing but is referred
    to (``pipeline.empty_but_referenced``)."""
    locates_rows: bool = False
    """``locate(table, keys)``: where a row came from (a document and a line), for the
    quarantine record of a row set aside after it was read."""
    reports_source: bool = False
    """``source_report()``: what was read beyond rows (documents, entries left unread), for
    ``run.json`` ``source_report``."""


# ``clean(column, values) -> values``: a mapping's trimming and null tokens for one column.
Clean = Callable[[str, list[Any]], list[Any]]


class Extractor(Plugin, ABC):
    """Reads tables from one source. Subclasses implement the three abstract methods."""

    name = "base"
    capabilities: ClassVar[ExtractorCapabilities] = ExtractorCapabilities()

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The table's column names; raise ExtractError naming the table if it is missing."""

    @abstractmethod
    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        """Yield the table (or the declared query's rows) in chunks of at most chunk_size.

        ``since`` is ``(column, value)``: only rows whose column is at or after the value (as
        ISO text) are wanted, for incremental re-syncs (capability ``incremental``). An
        extractor that declares ``clean_columns`` also takes ``clean=`` (a `Clean`), applies
        it a column at a time and marks its batches ``clean``.
        """

    @abstractmethod
    def describe(self, table: str) -> str:
        """Where the table lives, for messages (a file path or a table name, no secrets)."""

    def estimate_rows(self, table: str, query: str | None = None) -> int | None:
        """A row count for progress bars, if cheap to get. Override when it is."""
        return None

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        """After a full read of ``table`` (or of the declared query): what the extractor
        can prove about its completeness (see `ReadAccount`); None when it cannot tell.
        Override when it can."""
        return None

    def close(self) -> None:  # noqa: B027 - a hook with a default
        """Release connections and files. Override when the extractor holds any."""

    # -- optional methods: each belongs to one capability (`ExtractorCapabilities`) ----------
    def query_columns(self, query: str) -> list[str]:
        """Capability ``queries``: the columns a declared SQL query returns."""
        raise ConfigError(f"the {self.name} source cannot run SQL queries")

    def column_values(self, table: str, column: str,
                      query: str | None = None) -> Iterable[Any]:
        """Capability ``column_values``: every value of one column, in table order."""
        raise self._lacks("column_values", table)

    def column_counts(self, table: str, column: str) -> dict[Any, int]:
        """Capability ``value_counts``: how many rows hold each value of one column."""
        raise self._lacks("value_counts", table)

    def iter_selected(self, table: str, chunk_size: int, select: Callable[[Any], Any],
                      clean: Clean | None = None) -> Iterator[tuple[Batch, list[int]]]:
        """Capability ``selected_reads``: the rows a mask function keeps, in chunks, each
        chunk with the index in the table of each of its rows."""
        raise self._lacks("selected_reads", table)

    def tables(self) -> list[str]:
        """Capability ``lists_tables``: the names of the tables the source holds, sorted."""
        raise self._lacks("lists_tables", None)

    def split_rejected(self, table: str, raw: str) -> dict[str, str] | None:
        """Capability ``split_lines``: the fields of a rejected line of ``table`` that can be
        told apart, by column name (to recover its key); None when none can."""
        return None

    def locate(self, table: str, keys: dict[str, Any]) -> dict[str, Any] | None:
        """Capability ``locates_rows``: where the row of ``table`` with these key values was
        read (e.g. ``{"document": "a.xml", "line": 120}``), for ``quarantine.ndjson`` only
        (it may name files that hold patient names); None when unknown."""
        raise self._lacks("locates_rows", table)

    def source_report(self) -> dict[str, Any]:
        """Capability ``reports_source``: after the run's reads, counts of what the source
        held beyond rows (documents parsed and quarantined, entries read, merged and left
        unread by template), JSON-ready, no PHI. Written to ``run.json`` as
        ``source_report``."""
        raise self._lacks("reports_source", None)

    def _lacks(self, capability: str, table: str | None) -> ConfigError:
        where = f" (table {table!r})" if table is not None else ""
        return ConfigError(f"the {self.name} source does not declare the {capability!r} "
                           f"capability{where}; the caller should have asked "
                           "`capabilities` first")


EXTRACTORS: Registry[type[Extractor]] = Registry("extractor", "migrate.extractors")


def parse_source_text(text: str) -> dict[str, Any]:
    """A ``--source`` string as extractor options: the extractor that claims it decides (a
    folder is ``csv``, ``sqlite:///``, ``mysql+pymysql://``, ``postgresql://`` are ``sql``)."""
    return EXTRACTORS.from_text(text, "source")


def source_options(source: dict[str, Any], pack_files: dict[str, str] | None = None
                   ) -> dict[str, Any]:
    """``open_extractor`` arguments (``kind`` and options) for a source setting as
    `migrate.config.parse_source` gives it. A pack's ``files:`` (file name per table) are
    added for an extractor that takes ``files``; the source's own names win."""
    opts = dict(source)
    kind = opts.pop("type")
    if pack_files and kind in EXTRACTORS and "files" in EXTRACTORS.get(kind).Options.model_fields:
        opts["files"] = {**pack_files, **(opts.get("files") or {})}
    return {"kind": kind, **opts}


def open_extractor(kind: str, **options: Any) -> Extractor:
    """Instantiate the extractor ``kind`` (an entry point of ``migrate.extractors``) with its
    options, checked by its ``Options`` model."""
    return EXTRACTORS.create(kind, options, "source")  # type: ignore[no-any-return]
