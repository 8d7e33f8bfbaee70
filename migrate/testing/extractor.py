"""The extractor contract: columns, streaming in chunks, accounting, describe, options errors,
and resumability where the extractor declares it (``capabilities``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from migrate.errors import MigrateError
from migrate.extractors.base import Extractor, open_extractor
from migrate.testing._common import check_misspelt_option


class ExtractorContract:
    """Contract tests for an extractor. Subclass it and define the fixture ``source``: write
    ``self.rows`` (every value text, columns ``self.columns``) as table ``self.table`` into a
    source of yours, and return ``(kind, options)`` that open it through the registry."""

    table: ClassVar[str] = "people"
    columns: ClassVar[list[str]] = ["pid", "name", "updated"]
    rows: ClassVar[list[dict[str, str]]] = [
        {"pid": str(i), "name": f"Name {i}", "updated": f"2024-01-{i:02d}"} for i in range(1, 13)]
    chunk_size: ClassVar[int] = 5
    secret: ClassVar[str | None] = None
    """A secret in the options (a password in a URL) that ``describe`` must not show."""
    query: ClassVar[str] = "SELECT pid, name FROM people"
    """A declared query, for extractors that declare ``capabilities.queries``."""

    @pytest.fixture
    def source(self) -> tuple[str, dict[str, Any]]:
        """``(kind, options)`` of a source holding the kit's table: define it."""
        raise NotImplementedError("define the fixture 'source' in your contract subclass")

    @pytest.fixture
    def extractor(self, source: tuple[str, dict[str, Any]]) -> Iterator[Extractor]:
        """The extractor, opened through the registry by its name."""
        kind, options = source
        ext = open_extractor(kind, **options)
        yield ext
        ext.close()

    def read(self, ext: Extractor, **kwargs: Any) -> tuple[list[dict[str, Any]], int, int]:
        """(rows, rejects, batches with rows) of a whole read, checking every chunk's size."""
        rows: list[dict[str, Any]] = []
        rejects = chunks = 0
        for batch in ext.iter_batches(self.table, self.chunk_size, **kwargs):
            assert len(batch.rows) <= self.chunk_size, "a batch larger than chunk_size"
            rows += batch.rows
            rejects += len(batch.rejects)
            chunks += bool(batch.rows)
        return rows, rejects, chunks

    def test_columns_are_the_table_s(self, extractor: Extractor) -> None:
        assert extractor.columns(self.table) == self.columns

    def test_streams_in_chunks_of_at_most_chunk_size(self, extractor: Extractor) -> None:
        rows, rejects, chunks = self.read(extractor)
        assert rejects == 0
        assert chunks > 1, "a table larger than chunk_size came in one chunk"
        assert [{k: r[k] for k in self.columns} for r in rows] == self.rows

    def test_rows_and_rejects_add_up_to_the_account(self, extractor: Extractor) -> None:
        rows, rejects, _ = self.read(extractor)
        account = extractor.account(self.table)
        assert account is not None, (
            "after a full read, account() proves it complete (invariant 2): return a "
            "ReadAccount (lines of a file by kind, or COUNT(*) of a table)")
        assert account.complete, account.problem
        if account.expected_rows is not None:
            assert len(rows) + rejects == account.expected_rows
        if account.lines is not None:
            lines = account.lines
            assert sum(v for k, v in lines.items() if k != "total") == lines["total"]
            assert lines.get("records") == len(rows)

    def test_describe_names_the_table_and_no_secret(self, extractor: Extractor) -> None:
        text = extractor.describe(self.table)
        assert self.table in text
        if self.secret:
            assert self.secret not in text

    def test_a_misspelt_option_is_refused_with_did_you_mean(
            self, source: tuple[str, dict[str, Any]]) -> None:
        kind, options = source
        check_misspelt_option(lambda o: open_extractor(kind, **o), options)

    def test_undeclared_capabilities_refuse_and_declared_ones_are_tested(
            self, extractor: Extractor) -> None:
        """A capability's method answers only when the capability is declared (the pipeline
        asks the declaration), and a declared one with a contract of its own is tested."""
        caps = type(extractor).capabilities
        calls = {"queries": lambda: extractor.query_columns(self.query),
                 "column_values": lambda: list(extractor.column_values(self.table, "pid")),
                 "value_counts": lambda: extractor.column_counts(self.table, "pid"),
                 "selected_reads": lambda: list(extractor.iter_selected(
                     self.table, self.chunk_size, lambda batch: batch)),
                 "lists_tables": extractor.tables}
        for capability, call in calls.items():
            if not getattr(caps, capability):
                with pytest.raises(MigrateError):
                    call()
            elif capability == "lists_tables":
                assert self.table in call()
        if not caps.split_lines:
            assert extractor.split_rejected(self.table, "1,a,b") is None
        for capability, contract in (("incremental", IncrementalContract),
                                     ("queries", QueriesContract)):
            assert not getattr(caps, capability) or isinstance(self, contract), (
                f"{type(extractor).__name__} declares {capability}: add {contract.__name__} "
                "to the bases of this test class")


class IncrementalContract:
    """For extractors that declare ``capabilities.incremental``: add it to the bases."""

    def test_since_yields_the_rows_at_or_after_the_watermark(self, extractor: Extractor) -> None:
        assert type(extractor).capabilities.incremental
        mark = self.rows[7]["updated"]  # type: ignore[attr-defined]
        rows, _, _ = self.read(extractor, since=("updated", mark))  # type: ignore[attr-defined]
        assert sorted(r["pid"] for r in rows) == sorted(
            r["pid"] for r in self.rows if r["updated"] >= mark)  # type: ignore[attr-defined]


class QueriesContract:
    """For extractors that declare ``capabilities.queries``: add it to the bases."""

    def test_a_declared_query_names_its_columns(self, extractor: Extractor) -> None:
        assert type(extractor).capabilities.queries
        assert extractor.query_columns(self.query) == ["pid", "name"]  # type: ignore[attr-defined]
        rows, _, _ = self.read(extractor, query=self.query)  # type: ignore[attr-defined]
        assert len(rows) == len(self.rows)  # type: ignore[attr-defined]
