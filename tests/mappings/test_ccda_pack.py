"""The C-CDA pack (``mappings/ccda``) end to end on the fixture tables of ``ccda_source``:
it checks clean, every row is emitted, filtered by a named filter or quarantined with its
reason, and the FHIR shapes follow the pack's rules (HL7 dates, OIDs to system URIs,
nullFlavors to data-absent reasons, one resource per entry)."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import migrate.mappers.installed as installed
from migrate.cli import cli
from migrate.mappers.pack import load_pack
from migrate.pipeline import run_pipeline
from tests.conftest import REPO, make_settings
from tests.mappings.ccda_source import build_source

PACK = REPO / "mappings" / "ccda"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# table -> (read, emitted, filtered by name, quarantined by cause)
COUNTS = {
    "documents": (1, 1, {}, {}), "patients": (3, 3, {}, {}), "organizations": (1, 1, {}, {}),
    "practitioners": (1, 1, {}, {}), "encounters": (1, 1, {}, {}),
    "encounter_diagnoses": (1, 1, {}, {}),
    "problems": (3, 1, {"no-information": 1}, {"bad-datetime": 1}),
    "allergies": (1, 1, {}, {}), "medications": (2, 2, {}, {}),
    "immunizations": (1, 1, {}, {}), "results": (1, 1, {}, {}),
    "result_observations": (4, 3, {}, {"observation-without-code": 1}),
    "vital_signs": (1, 1, {}, {}),
    "vital_observations": (3, 3, {}, {}), "procedures": (1, 1, {}, {}),
    "social_history": (1, 1, {}, {}), "plan_of_care": (1, 1, {}, {}),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the pack over the fixture source: report, resources by type, run.json."""
    out = tmp_path_factory.mktemp("ccda")
    source = build_source(out / "source")
    report = run_pipeline(make_settings(source, f"ndjson:{out / 'nd'}", out, PACK))
    resources = {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
                 for p in (out / "nd").glob("*.ndjson")}
    return {"report": report, "resources": resources,
            "run_json": orjson.loads((out / "run.json").read_bytes())}


def _one(run: dict, kind: str, code: str | None = None) -> dict:
    found = [r for r in run["resources"][kind] if code is None or code in orjson.dumps(r).decode()]
    assert len(found) == 1, (kind, code, len(found))
    return found[0]


def test_the_pack_checks_clean_and_loads_by_folder() -> None:
    result = CliRunner().invoke(cli, ["check", str(PACK)])
    assert result.exit_code == 0, result.output
    assert "all good" in result.output
    pack = load_pack(PACK)
    assert (pack.spec.name, pack.spec.version) == ("ccda", "1.0.0")
    assert all(m.name.startswith("ccda.") for m in pack.mappings)


def test_the_pack_is_found_by_name_through_its_entry_point(tmp_path: Path) -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    target = declared["project"]["entry-points"]["migrate.packs"]["ccda"]
    assert target == "migrate_packs:ccda"
    # the installed metadata may predate the entry point: resolve it from the source folder
    eps = [EntryPoint("ccda", "mappings:ccda", "migrate.packs")]
    assert installed.resolve_mappings("ccda", tmp_path, eps) == PACK.resolve()


def test_every_row_is_emitted_filtered_by_name_or_quarantined(run: dict) -> None:
    got = {t.table: (t.read, t.emitted, dict(t.filtered), dict(t.quarantined))
           for t in run["report"].tables}
    assert got == COUNTS
    assert all(t.balanced for t in run["report"].tables)


def test_hl7_dates_keep_their_precision_and_zone(run: dict) -> None:
    assert _one(run, "Patient", "Jones")["birthDate"] == "1975-05-01"
    assert _one(run, "Condition", "195967001")["onsetDateTime"] == "1998-03"
    assert _one(run, "Encounter")["period"] == {"start": "2012-08-06T00:28:00+05:00"}
    assert _one(run, "Immunization")["occurrenceDateTime"] == "2010-11"
    hemoglobin = _one(run, "Observation", "718-7")
    assert hemoglobin["effectiveDateTime"] == "2008-03-19T08:30:00-08:00"
    document = _one(run, "DocumentReference")
    assert document["context"]["period"]["start"] == "2013-07-17T11:44:46-05:00"


def test_oids_become_system_uris_and_unknown_ones_urns_counted(run: dict) -> None:
    systems = {c["system"] for kind in ("Condition", "MedicationRequest", "Immunization",
                                        "Procedure", "Observation")
               for r in run["resources"][kind] for c in r.get("code", r.get(
                   "medicationCodeableConcept", r.get("vaccineCode", {}))).get("coding", [])}
    assert {"http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm",
            "http://hl7.org/fhir/sid/cvx", "http://loinc.org", "urn:oid:1.2.3.4.5"} <= systems
    assert not any(s.startswith("2.16.") for s in systems)
    unmapped = run["run_json"]["unmapped_codes"]
    assert [(u["mapping"], u["column"], u["count"]) for u in unmapped] == [
        ("ccda.procedure", "code_system", 1)]


def test_null_flavors_become_data_absent_reasons(run: dict) -> None:
    platelets = _one(run, "Observation", "26515-7")
    assert "valueQuantity" not in platelets
    assert platelets["dataAbsentReason"]["coding"][0]["code"] == "not-applicable"
    untyped = _one(run, "Observation", "6690-2")  # a value without xsi:type is a quantity
    assert untyped["valueQuantity"]["value"] == 7.2
    doe = _one(run, "Patient", "Doe")
    assert doe["gender"] == "unknown"
    assert doe["_birthDate"] == {"extension": [{"url": DAR, "valueCode": "asked-unknown"}]}


def test_patient_race_and_ethnicity_are_us_core_extensions(run: dict) -> None:
    urls = {e["url"].rsplit("/", 1)[1]: e["extension"][0]["valueCoding"]["code"]
            for e in _one(run, "Patient", "Jones")["extension"]}
    assert urls == {"us-core-race": "2106-3", "us-core-ethnicity": "2186-5"}
    kidd = _one(run, "Patient", "Kidd")  # 2131-1 is no OMB category: its words only
    assert kidd["extension"] == [{
        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
        "extension": [{"url": "text", "valueString": "Other Race"}]}]
    assert kidd["identifier"] == [{"system": "http://hl7.org/fhir/sid/us-ssn",
                                   "value": "111-00-1234"}]


def test_allergy_reactions_are_read_into_reaction(run: dict) -> None:
    allergy = _one(run, "AllergyIntolerance")
    assert (allergy["type"], allergy["category"]) == ("allergy", ["medication"])
    (reaction,) = allergy["reaction"]
    assert reaction["manifestation"][0]["coding"][0]["code"] == "247472004"
    assert reaction["severity"] == "moderate"


def test_medications_are_requests_taken_ones_reported(run: dict) -> None:
    by_code = {r["medicationCodeableConcept"]["coding"][0]["code"]: r
               for r in run["resources"]["MedicationRequest"]}
    assert {r["intent"] for r in by_code.values()} == {"order"}
    assert by_code["573621"]["reportedBoolean"] is True
    assert "reportedBoolean" not in by_code["197361"]


def test_a_refused_immunization_is_not_done_with_its_reason(run: dict) -> None:
    shot = _one(run, "Immunization")
    assert shot["status"] == "not-done"
    assert shot["statusReason"]["coding"][0]["code"] == "PATOBJ"


def test_vital_signs_panel_and_blood_pressure(run: dict) -> None:
    panel = _one(run, "Observation", "85354-9")
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [120, 80]
    height = _one(run, "Observation", "8302-2")
    vitals = _one(run, "Observation", "85353-1")
    assert vitals["hasMember"] == [{"reference": f"Observation/{height['id']}"},
                                   {"reference": f"Observation/{panel['id']}"}]
    report = _one(run, "DiagnosticReport")
    labs = {o["id"] for o in run["resources"]["Observation"]
            if o["category"][0]["coding"][0]["code"] == "laboratory"}
    assert {r["reference"].split("/")[1] for r in report["result"]} == labs


def test_document_reference_carries_the_original_document(run: dict) -> None:
    attachment = _one(run, "DocumentReference")["content"][0]["attachment"]
    assert attachment == {"contentType": "text/xml", "data": "PENsaW5pY2FsRG9jdW1lbnQvPg==",
                          "size": 19, "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                          "title": "Continuity of Care Document",
                          "creation": "2013-07-17T11:44:46-05:00"}


def test_smoking_status_and_plan_of_care(run: dict) -> None:
    smoking = _one(run, "Observation", "72166-2")
    assert smoking["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus"]
    assert smoking["valueCodeableConcept"]["coding"][0]["code"] == "8517006"
    plan = _one(run, "ServiceRequest")
    assert (plan["intent"], plan["status"]) == ("plan", "active")


def test_the_fixture_writes_the_contract_columns(tmp_path: Path) -> None:
    from migrate.extractors.ccda.tables import TABLES
    folder = Path(build_source(tmp_path / "src"))
    header = (folder / "problems.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == TABLES["problems"]
