"""The ccda extractor passes the extractor kit (`migrate.testing.ExtractorContract`) on its
``patients`` table, opened through the registry, with the stand-in reader."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import pytest

from migrate.extractors import ccda
from migrate.extractors.ccda.keys import key
from migrate.extractors.ccda.tables import TABLES
from migrate.testing import ExtractorContract
from tests.extractors.ccda.fakes import FakeReader, document


def _doc(i: int) -> bytes:
    return document(patient=f"p{i}", family=f"Name {i}")


def _patient(i: int) -> dict[str, str | None]:
    return {**dict.fromkeys(TABLES["patients"]),
            "patient_key": key("patient", f"p{i}", f"Name {i}"),
            "document_key": hashlib.sha256(_doc(i)).hexdigest(), "documents": "1",
            "id_root": "1.2.3", "id_extension": f"p{i}", "family": f"Name {i}"}


class TestCcdaExtractor(ExtractorContract):
    table: ClassVar[str] = "patients"
    columns: ClassVar[list[str]] = TABLES["patients"]
    rows: ClassVar[list[dict[str, Any]]] = [_patient(i) for i in range(1, 13)]

    @pytest.fixture
    def source(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[str, dict[str, Any]]:
        monkeypatch.setattr(ccda, "_default_reader", FakeReader)
        src = tmp_path / "src"
        src.mkdir()
        for i in range(1, 13):
            (src / f"d{i:02d}.xml").write_bytes(_doc(i))
        return "ccda", {"path": str(src), "spool_dir": str(tmp_path)}
