"""The Riverside pack (``mappings/riverside``) over the bundled WardBook export
(``sample_data/riverside``): every row accounted for, the planted defects quarantined or
filtered with their named reasons and nothing else, and what the new language features make
of a few rows (look-ups, thousands separators, unit spellings, masked birth dates)."""

from __future__ import annotations

import csv
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from click.testing import CliRunner

import migrate.mappers.installed as installed
from migrate.cli import cli
from migrate.pipeline import run_pipeline
from migrate.sample import write_sample
from tests.conftest import REPO, TEST_NAMESPACE, make_settings

PACK = REPO / "mappings" / "riverside"
EXPORT = REPO / "sample_data" / "riverside"
ZONE = ZoneInfo("America/Chicago")  # pack.yaml timezone: WardBook's naive local times

# table -> (read, emitted, filtered by rule, quarantined by cause): the README's defects only
COUNTS = {
    "PATIENTS": (60, 59, {"test-patient": 1}, {}),
    "admissions": (127, 126, {}, {"discharge-before-admission": 1}),
    "DIAGNOSES_ICD": (576, 574, {}, {"duplicate-key": 1, "lookup-miss": 1}),
    "procedures": (181, 180, {}, {"lookup-miss": 1}),
    "PRESCRIPTIONS": (416, 412, {}, {"end-before-start": 3, "lookup-miss": 1}),
    "labevents": (2367, 2364, {"redacted-value": 2}, {"not-a-number": 1}),
    "noteevents": (249, 247, {"note-marked-error": 2}, {}),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the pack over the bundled export: report, resources by type, quarantine."""
    out = tmp_path_factory.mktemp("riverside")
    report = run_pipeline(make_settings(EXPORT, f"ndjson:{out / 'nd'}", out, PACK))
    resources = {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
                 for p in (out / "nd").glob("*.ndjson")}
    quarantine = [orjson.loads(x) for x in (out / "quarantine.ndjson").read_bytes().splitlines()]
    return {"report": report, "resources": resources, "quarantine": quarantine}


def _rows(table: str) -> list[dict[str, str]]:
    with (EXPORT / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _local(text: str) -> str:
    """A WardBook naive local datetime as the pack writes it."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).isoformat()


def _by_identifier(resources: list[dict], value: str) -> dict:
    return next(r for r in resources if r["identifier"][0]["value"] == value)


def test_every_row_is_accounted_for_and_only_the_planted_defects_are_set_aside(
        run: dict) -> None:
    got = {t.table: (t.read, t.emitted, dict(t.filtered), dict(t.quarantined))
           for t in run["report"].tables}
    assert got == COUNTS
    assert all(t.balanced for t in run["report"].tables)
    assert run["report"].status == "ok"


def test_the_quarantined_rows_carry_their_named_reasons(run: dict) -> None:
    reasons = sorted((q["table"], r["code"], r["column"], r["value"])
                     for q in run["quarantine"] for r in q["reasons"])
    assert reasons == sorted([
        ("DIAGNOSES_ICD", "duplicate-key", None, None),
        ("DIAGNOSES_ICD", "lookup-miss", "ICD_CODE", "4019"),
        ("procedures", "lookup-miss", "hadm_id", "99999999"),
        ("PRESCRIPTIONS", "lookup-miss", "DRUG_ID", "XDRUG99"),
        ("labevents", "not-a-number", "VALUE", "12,50"),
        *[("PRESCRIPTIONS", "end-before-start", None, None)] * 3,
        ("admissions", "discharge-before-admission", None, None),
    ])
    ends = {q["rows"][0]["ROW_ID"] for q in run["quarantine"]
            if q["reasons"][0]["code"] == "end-before-start"}
    assert ends == {r["ROW_ID"] for r in _rows("PRESCRIPTIONS") if r["ENDDATE"] < r["STARTDATE"]}


def test_a_masked_birth_date_becomes_a_data_absent_reason(run: dict) -> None:
    patients = run["resources"]["Patient"]
    masked = _by_identifier(patients, "RGH0193478")  # SUBJECT_ID 10003, DOB_MASKED 1
    assert "birthDate" not in masked
    assert masked["_birthDate"] == {"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
        "valueCode": "masked"}]}
    known = _by_identifier(patients, "RGH0193464")  # 10001: Yamamoto, CORDELIA
    assert (known["birthDate"], known["name"][0]["given"]) == ("2059-09-01", ["Cordelia"])
    assert "_birthDate" not in known
    assert sum("_birthDate" in p for p in patients) == 3


def test_language_and_marital_status_come_from_the_latest_admission(run: dict) -> None:
    patient = _by_identifier(run["resources"]["Patient"], "RGH0193471")  # 10002
    latest = max((r for r in _rows("admissions") if r["subject_id"] == "10002"),
                 key=lambda r: r["admittime"])
    assert latest["marital_status"].upper() == "WIDOWED"
    assert patient["maritalStatus"]["coding"][0]["code"] == "W"
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "en"


def test_a_procedure_is_performed_at_its_admission_time(run: dict) -> None:
    admit = {r["hadm_id"]: r["admittime"] for r in _rows("admissions")}
    encounters = {e["identifier"][0]["value"]: e["id"] for e in run["resources"]["Encounter"]}
    by_encounter = {v: k for k, v in encounters.items()}
    procedures = run["resources"]["Procedure"]
    assert len(procedures) == 180
    for proc in procedures:
        hadm = by_encounter[proc["encounter"]["reference"].split("/")[1]]
        assert proc["performedDateTime"] == _local(admit[hadm])
    assert procedures[0]["performedDateTime"] == "2113-07-31T10:20:00-05:00"


def test_a_diagnosis_is_dated_by_its_admission_and_titled_by_the_dictionary(run: dict) -> None:
    condition = run["resources"]["Condition"][0]
    assert condition["recordedDate"] == "2132-12-07T22:26:00-06:00"  # admission 100446
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "A41.9",
        "display": "Sepsis, unspecified organism"}  # A419 in the export, dot by `replace`


def test_doses_with_thousands_separators_and_local_units(run: dict) -> None:
    requests = run["resources"]["MedicationRequest"]
    row = next(r for r in _rows("PRESCRIPTIONS") if r["SUBJECT_ID"] == "10007")
    assert (row["DOSE_VAL_RX"], row["DOSE_UNIT_RX"]) == ("25,000", "UNITS")
    heparin = _by_identifier(requests, row["ROW_ID"])
    assert heparin["medicationCodeableConcept"]["coding"][0]["code"] == "5224"  # d_drugs
    dose = heparin["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["system"], dose["code"]) == (
        25000, "http://unitsofmeasure.org", "[IU]")
    codes = {r["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].get("code")
             for r in requests}
    assert {"ug", "mg", "mL/h", "meq", "ug/kg/min"} <= codes
    assert None not in codes  # every spelling reached UCUM
    labs = run["resources"]["Observation"]
    assert all(o["valueQuantity"].get("system") == "http://unitsofmeasure.org" for o in labs)
    assert any(o["valueQuantity"]["value"] >= 1000 for o in labs)


def test_the_pack_checks_and_the_dry_run_says_go(tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["check", str(PACK), "--source", str(EXPORT)])
    assert checked.exit_code == 0, checked.output
    assert "7 mappings, 5 concept maps, all good" in checked.output
    dry = runner.invoke(cli, ["validate", "--mappings", str(PACK), "--source", str(EXPORT),
                              "--namespace", str(TEST_NAMESPACE), "--out", str(tmp_path),
                              "--no-progress"])
    assert dry.exit_code == 0, dry.output
    assert "verdict: GO" in dry.output


def test_the_riverside_sample_runs_with_the_pack_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the entry point pyproject.toml declares (not in an install made before it was added)
    eps = [EntryPoint("riverside", "mappings:riverside", "migrate.packs")]
    monkeypatch.setattr(installed, "entry_points", lambda group: eps)
    project = write_sample(tmp_path / "hospital", EXPORT.parent, name="riverside")
    assert sorted(p.name for p in (tmp_path / "hospital" / "export").iterdir()) == sorted(
        p.name for p in EXPORT.glob("*.csv"))
    assert "mappings: riverside" in project.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "-c", str(project), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = orjson.loads((tmp_path / "hospital" / "out" / "run.json").read_bytes())
    assert (report["pack"], report["rows"]["read"], report["rows"]["quarantined"]) == (
        "riverside", 3976, 9)
