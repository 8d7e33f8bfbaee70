"""The Synthea pack over the real 11-patient Synthea export in ../shared.

Counts per resource type are derived from the source rows, every resource validates, every
reference points at an emitted resource, and row accounting balances.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.pipeline import run_pipeline
from migrate.validation.fhir import FhirValidator
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
BP = {"8480-6", "8462-4"}


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def migrated(synthea_10pt: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("synthea10")
    report = run_pipeline(make_settings(synthea_10pt, f"ndjson:{out / 'ndjson'}", out))
    resources: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((out / "ndjson").glob("*.ndjson")):
        resources[path.stem] = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return {"report": report, "out": out, "resources": resources}


def expected_counts(folder: Path) -> dict[str, int]:
    """What the source says should exist, computed from the CSV rows."""
    obs = _rows(folder, "observations")
    bp_groups = Counter((r["PATIENT"], r["ENCOUNTER"], r["DATE"]) for r in obs if r["CODE"] in BP)
    simple = {"Organization": "organizations", "Practitioner": "providers",
              "Patient": "patients", "Encounter": "encounters", "Condition": "conditions",
              "MedicationRequest": "medications", "Immunization": "immunizations",
              "Procedure": "procedures", "AllergyIntolerance": "allergies",
              "CarePlan": "careplans", "Device": "devices", "SupplyDelivery": "supplies"}
    counts = {rtype: len(_rows(folder, table)) for rtype, table in simple.items()}
    counts["Observation"] = sum(1 for r in obs if r["CODE"] not in BP) + len(bp_groups)
    counts["ImagingStudy"] = len({r["Id"] for r in _rows(folder, "imaging_studies")})
    return counts


def test_counts_per_type_match_the_source(migrated: dict[str, Any], synthea_10pt: Path) -> None:
    got = {k: len(v) for k, v in migrated["resources"].items()}
    assert got == expected_counts(synthea_10pt)
    assert got["Condition"] == 273
    assert got["Patient"] == 11
    assert dict(migrated["report"].resources) == got


def test_one_panel_per_systolic_diastolic_pair(migrated: dict[str, Any],
                                               synthea_10pt: Path) -> None:
    obs = _rows(synthea_10pt, "observations")
    pairs = Counter((r["PATIENT"], r["ENCOUNTER"], r["DATE"]) for r in obs if r["CODE"] in BP)
    assert set(pairs.values()) == {2}
    panels = [o for o in migrated["resources"]["Observation"]
              if o["code"]["coding"][0]["code"] == "85354-9"]
    assert len(panels) == len(pairs) == 88
    for panel in panels:
        codes = [c["code"]["coding"][0]["code"] for c in panel["component"]]
        assert codes == ["8480-6", "8462-4"]
        assert all(c["valueQuantity"]["code"] == "mm[Hg]" for c in panel["component"])
    leftovers = [o for o in migrated["resources"]["Observation"]
                 if o["code"]["coding"][0]["code"] in BP]
    assert leftovers == []


def test_every_resource_validates(migrated: dict[str, Any]) -> None:
    validator = FhirValidator()
    errors = [(r["resourceType"], r["id"], str(i))
              for items in migrated["resources"].values() for r in items
              for i in validator.validate(r) if i.severity == "error"]
    assert errors == []


def test_every_reference_resolves_and_ids_are_unique(migrated: dict[str, Any]) -> None:
    ids = [f"{r['resourceType']}/{r['id']}" for v in migrated["resources"].values() for r in v]
    assert len(ids) == len(set(ids))
    known = set(ids)
    dangling = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref not in known:
                dangling.append(ref)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(migrated["resources"])
    assert dangling == []


def test_row_accounting_balances(migrated: dict[str, Any], synthea_10pt: Path) -> None:
    run = orjson.loads((migrated["out"] / "run.json").read_bytes())
    assert run["status"] == "ok"
    for table in run["tables"]:
        assert table["balanced"], table
        assert table["read"] == len(_rows(synthea_10pt, table["table"]))
        assert table["read"] == table["emitted"] + table["filtered"] + table["quarantined"]
    assert (migrated["out"] / "quarantine.ndjson").read_bytes() == b""


def test_patient_shape(migrated: dict[str, Any], synthea_10pt: Path) -> None:
    source = {r["Id"]: r for r in _rows(synthea_10pt, "patients")}
    married = next(r for r in source.values() if r["MAIDEN"])
    patient = next(p for p in migrated["resources"]["Patient"]
                   if p["identifier"][0]["value"] == married["Id"])
    systems = {i["system"] for i in patient["identifier"]}
    assert {"https://github.com/synthetichealth/synthea", "http://hl7.org/fhir/sid/us-ssn",
            "urn:oid:2.16.840.1.113883.4.3.25"} <= systems
    assert [n["use"] for n in patient["name"]] == ["official", "maiden"]
    assert patient["name"][1]["family"] == married["MAIDEN"]
    assert patient["address"][0]["state"] == "MA"
    assert patient["address"][0]["postalCode"] == married["ZIP"]
    urls = [e["url"] for e in patient["extension"]]
    assert "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race" in urls
    deceased = [p for p in migrated["resources"]["Patient"] if "deceasedDateTime" in p]
    assert len(deceased) == sum(1 for r in source.values() if r["DEATHDATE"])


def test_same_input_gives_byte_identical_output(migrated: dict[str, Any], synthea_10pt: Path,
                                                tmp_path: Path) -> None:
    run_pipeline(make_settings(synthea_10pt, f"ndjson:{tmp_path / 'ndjson'}", tmp_path))
    first = migrated["out"] / "ndjson"
    for path in sorted(first.glob("*.ndjson")):
        assert (tmp_path / "ndjson" / path.name).read_bytes() == path.read_bytes(), path.name
