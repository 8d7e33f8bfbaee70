"""Fixtures shared by the whole suite: paths, settings, and real servers started on demand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.config import RunSettings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SYNTHEA_10PT = SHARED_DATA / "synthea-csv-10pt"
SYNTHEA_PACK = REPO / "mappings" / "synthea"
TEST_NAMESPACE = uuid.UUID("3c0d0e7a-1b2f-5a59-9f3e-6f0c2d4e8b11")
TEST_SYSTEM = "urn:emr-migrate:test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite the expected files of golden tests from the current output.")


@pytest.fixture(scope="session")
def synthea_10pt() -> Path:
    """The real Synthea export in ../shared (CI has it; a bare clone may not)."""
    if not SYNTHEA_10PT.is_dir():
        pytest.skip(f"reference data not found at {SYNTHEA_10PT} (it lives in ../shared)")
    return SYNTHEA_10PT


def make_settings(source: Path | str | dict, target: str | dict, out: Path,
                  mappings: Path = SYNTHEA_PACK, **extra: object) -> RunSettings:
    """RunSettings for tests: test namespace, no progress bars."""
    from migrate.config import parse_source, parse_target_setting

    src = source if isinstance(source, dict) else parse_source(str(source), REPO)
    tgt = target if isinstance(target, dict) else parse_target_setting(target, REPO)
    return RunSettings(mappings=mappings, source=src, target=tgt, output=out,
                       namespace=TEST_NAMESPACE, source_system=TEST_SYSTEM, progress=False,
                       **extra)


@pytest.fixture(scope="session")
def sekmet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real sekmet-fhir server for the whole run (installed in its own venv if needed)."""
    from tests.harness.sekmet import SekmetServer

    with SekmetServer(tmp_path_factory.mktemp("sekmet")) as server:
        yield server
