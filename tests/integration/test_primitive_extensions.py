"""A Patient with ``_birthDate`` and no ``birthDate`` (issue 19: masked birth dates) is written,
loaded into a real sekmet-fhir server and read back with its data-absent-reason extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.mappers.extensions import DATA_ABSENT_REASON_URL
from migrate.pipeline import run_pipeline
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[1] / "golden" / "spec" / "primitive-extension"


def _absent(code: str) -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT_REASON_URL, "valueCode": code}]}


def test_birth_date_absent_reason_round_trips(sekmet_server: Any, tmp_path: Path) -> None:
    sekmet_server.reset()
    target = {"type": "fhir-server", "url": sekmet_server.base_url}
    report = run_pipeline(make_settings(EXAMPLE / "input", target, tmp_path / "load",
                                        mappings=EXAMPLE / "pack", max_quarantine_rate=1.0))
    assert report.load["written"] == {"Patient": 3}
    assert report.load["failed"] == 0
    run_pipeline(make_settings(EXAMPLE / "input", f"ndjson:{tmp_path / 'nd'}", tmp_path / "nd",
                               mappings=EXAMPLE / "pack", max_quarantine_rate=1.0))
    sent = [orjson.loads(x) for x in (tmp_path / "nd" / "Patient.ndjson").read_bytes().splitlines()]
    masked = [p for p in sent if "birthDate" not in p]
    assert len(masked) == 2
    assert all(p["_birthDate"] == _absent("masked") for p in masked)
    for patient in masked:
        stored = sekmet_server.read("Patient", patient["id"])
        assert stored is not None
        assert "birthDate" not in stored
        assert stored["_birthDate"] == _absent("masked")
        assert stored.get("_gender") == patient.get("_gender")
    declined = next(p for p in masked if "gender" not in p)
    assert sekmet_server.read("Patient", declined["id"])["_gender"] == _absent("asked-declined")
