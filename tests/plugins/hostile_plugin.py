"""Plugins a careless or hostile third party might ship (review of issue 18): exposed as
the distribution ``emr-migrate-hostile`` by tests/plugins/test_hostile_plugins.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr

from migrate.extractors.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    ExtractorCapabilities,
    ReadAccount,
)
from migrate.extractors.csv import CsvExtractor, CsvOptions
from tests.plugins.jsonl_plugin import JsonlExtractor


class VaultOptions(CsvOptions):
    """A CSV folder behind a token."""

    token: SecretStr = Field(description="API token of the vault.")


class VaultExtractor(CsvExtractor):
    """The CSV extractor, with a secret option (``vault:DIR`` or a ``source:`` mapping)."""

    name = "vault"
    Options = VaultOptions  # type: ignore[assignment]
    text_forms = ("vault:DIR",)

    def __init__(self, token: SecretStr, **kw: Any) -> None:
        super().__init__(**kw)
        self.token = token

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        return None


class CrashingExtractor(JsonlExtractor):
    """Its ``from_text`` raises on every string."""

    name = "crashing"
    text_forms = ("crash:DIR",)

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        raise RuntimeError("bug in a plugin")


class _Prefixed(JsonlExtractor):
    """Reads ``NAME:DIR``, NAME being the class's ``name``."""

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        prefix = f"{cls.name}:"
        return {"path": text[len(prefix):]} if text.startswith(prefix) else None


class LyingExtractor(_Prefixed):
    """Declares ``clean_columns`` but its ``iter_batches`` takes no ``clean=``."""

    name = "lying"
    capabilities = ExtractorCapabilities(clean_columns=True)
    text_forms = ("lying:DIR",)


class BigBatchExtractor(_Prefixed):
    """Ignores ``chunk_size`` and yields every row twice (a read beyond the table)."""

    name = "bigbatch"
    text_forms = ("bigbatch:DIR",)

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        rows = [r for b in super().iter_batches(table, 10**9) for r in b.rows]
        yield Batch(rows + [dict(r) for r in rows], start=0)


class ShortReadExtractor(_Prefixed):
    """Counts every table 5 rows longer than it yields, and still says the read is complete."""

    name = "shortread"
    text_forms = ("shortread:DIR",)

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        with self._file(table).open(encoding="utf-8") as fh:
            return ReadAccount(expected_rows=sum(1 for line in fh if line.strip()) + 5)


class SloppyExtractor(JsonlExtractor):
    """Its ``from_text`` answers ``True`` instead of options for ``sloppy:`` strings."""

    name = "sloppy"
    text_forms = ("sloppy:DIR",)

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        return True if text.startswith("sloppy:") else None  # type: ignore[return-value]
