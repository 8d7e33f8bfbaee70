"""Issue 19's FHIR values against a real sekmet-fhir server: a Patient with ``_birthDate`` and
no ``birthDate`` (masked birth dates) reads back with its data-absent-reason extension, and
quantities with UCUM codes emr-migrate has no display for load as sent."""

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


def test_units_unknown_to_emr_migrate_load(sekmet_server: Any, tmp_path: Path) -> None:
    """Valid UCUM codes outside emr-migrate's table (and a pack's spellings) load as sent."""
    sekmet_server.reset()
    example = EXAMPLE.parent / "ucum-units"
    target = {"type": "fhir-server", "url": sekmet_server.base_url}
    report = run_pipeline(make_settings(example / "input", target, tmp_path / "load",
                                        mappings=example / "pack", max_quarantine_rate=1.0))
    assert report.load["written"] == {"Observation": 6}
    assert report.load["failed"] == 0
    codes = set()
    for rid in sekmet_server.ids("Observation"):
        stored = sekmet_server.read("Observation", rid)
        assert stored is not None
        codes.add(stored["valueQuantity"]["code"])
    assert codes == {"mL/min/{1.73_m2}", "10*3/uL", "mg/kg/h", "ug", "mg", "ug/(kg.min)"}
