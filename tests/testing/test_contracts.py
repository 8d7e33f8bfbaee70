"""The plugin test kit run against every built-in extractor and target (issue 18, item 2)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from migrate.extractors.base import EXTRACTORS
from migrate.loaders.base import LOADERS
from migrate.testing import (
    ExtractorContract,
    FileTargetContract,
    IncrementalContract,
    LoaderContract,
    QueriesContract,
)


def write_csv(folder: Path, table: str, rows: list[dict[str, str]]) -> Path:
    """The kit's table as ``folder/table.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


class TestCsvExtractor(ExtractorContract, IncrementalContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        return "csv", {"path": str(write_csv(tmp_path / "src", self.table, self.rows))}


class TestSqliteExtractor(ExtractorContract, IncrementalContract, QueriesContract):
    @pytest.fixture
    def source(self, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        db = tmp_path / "emr.db"
        with sqlite3.connect(db) as conn:
            conn.execute(f"CREATE TABLE {self.table} (pid TEXT, name TEXT, updated TEXT)")
            conn.executemany(f"INSERT INTO {self.table} VALUES (:pid, :name, :updated)",
                             self.rows)
        return "sql", {"url": f"sqlite:///{db}"}


class TestNdjsonLoader(LoaderContract, FileTargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "ndjson", "path": str(tmp_path / "nd")}


class TestBundlesLoader(LoaderContract, FileTargetContract):
    @pytest.fixture
    def target(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "bundles", "path": str(tmp_path / "b"), "bundle_size": 2}


@pytest.mark.integration
class TestFhirServerLoader(LoaderContract):
    secret = "s3cret"

    @pytest.fixture
    def target(self, sekmet_server: Any) -> dict[str, Any]:
        return {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 2}

    def test_describe_shows_no_secret(self, target: dict[str, Any]) -> None:
        url = target["url"].replace("://", "://migrator:s3cret@") + "?token=s3cret"
        super().test_describe_shows_no_secret({**target, "url": url})


def test_every_built_in_has_a_contract_subclass() -> None:
    extractors = {"csv", "sql", "ccda"}  # ccda: tests/extractors/ccda/test_contract.py
    loaders = {"ndjson", "bundles", "fhir-server"}
    assert extractors == set(EXTRACTORS.names())
    assert loaders == set(LOADERS.names()) - {"null"}  # null writes nothing, by design
