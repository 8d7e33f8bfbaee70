"""The OpenEMR pack end to end from a real MariaDB: NDJSON, counts, values, accounting, sekmet.

The expected counts come from SQL over the same database, so they follow the generator; the
same practice in ``sample_data/openemr/openemr.sqlite`` must give byte-identical output.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from migrate.extractors.sql import SqlExtractor
from migrate.pipeline import run_pipeline
from migrate.validation.fhir import FhirValidator
from tests.conftest import REPO, make_settings
from tests.harness.mariadb import OpenEMRDatabase, openemr_database

pytestmark = pytest.mark.integration
PACK = REPO / "mappings" / "openemr"
SQLITE = REPO / "sample_data" / "openemr" / "openemr.sqlite"
LIVE = "(activity IS NULL OR activity <> 0)"


@pytest.fixture(scope="module")
def openemr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenEMRDatabase]:
    with openemr_database(tmp_path_factory) as db:
        yield db


def settings(source: str, out: Path, target: str | dict[str, Any] | None = None) -> Any:
    return make_settings({"type": "sql", "url": source}, target or f"ndjson:{out / 'nd'}", out,
                         mappings=PACK, timezone="America/New_York")


def read_output(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
            for p in sorted(folder.glob("*.ndjson"))}


@pytest.fixture(scope="module")
def migrated(openemr: OpenEMRDatabase, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("openemr-out")
    report = run_pipeline(settings(openemr.readonly_url, out))
    return {"report": report, "out": out, "resources": read_output(out / "nd")}


def count(db: OpenEMRDatabase, sql: str) -> int:
    engine = sa.create_engine(db.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


def expected_counts(db: OpenEMRDatabase) -> dict[str, int]:
    """What the database says the pack should make."""
    live_vitals = ("FROM form_vitals v LEFT JOIN forms f ON f.form_id = v.id AND "
                   "f.formdir = 'vitals' WHERE v.activity <> 0 AND "
                   "(f.deleted IS NULL OR f.deleted = 0)")

    def measured(col: str) -> int:
        return count(db, f"SELECT COUNT(*) {live_vitals} AND v.{col} IS NOT NULL "
                         f"AND v.{col} <> 0")

    bp = count(db, f"SELECT COUNT(*) {live_vitals} AND ((v.bps <> '' AND v.bps <> '0') OR "
                   "(v.bpd <> '' AND v.bpd <> '0'))")
    vitals = bp + sum(measured(c) for c in ("weight", "height", "temperature", "pulse",
                                            "respiration", "oxygen_saturation", "BMI"))
    lists = {t: count(db, f"SELECT COUNT(*) FROM lists WHERE type = '{t}' AND {LIVE}")
             for t in ("medical_problem", "allergy", "medication")}
    return {
        "Patient": count(db, "SELECT COUNT(*) FROM patient_data"),
        "Practitioner": count(db, "SELECT COUNT(*) FROM users WHERE authorized = 1"),
        "Organization": count(db, "SELECT COUNT(*) FROM facility")
        + count(db, "SELECT COUNT(*) FROM insurance_companies"),
        "Location": count(db, "SELECT COUNT(*) FROM facility"),
        "Encounter": count(db, "SELECT COUNT(*) FROM form_encounter fe LEFT JOIN forms f ON "
                               "f.encounter = fe.encounter AND f.pid = fe.pid AND "
                               "f.formdir = 'newpatient' WHERE f.deleted IS NULL OR "
                               "f.deleted = 0"),
        "Condition": lists["medical_problem"], "AllergyIntolerance": lists["allergy"],
        "MedicationStatement": lists["medication"],
        "MedicationRequest": count(db, "SELECT COUNT(*) FROM prescriptions"),
        "Immunization": count(db, "SELECT COUNT(*) FROM immunizations WHERE "
                                  "added_erroneously IS NULL OR added_erroneously = 0"),
        "ServiceRequest": count(db, "SELECT COUNT(*) FROM procedure_order_code poc JOIN "
                                    "procedure_order po ON po.procedure_order_id = "
                                    "poc.procedure_order_id WHERE po.activity <> 0"),
        "DiagnosticReport": count(db, "SELECT COUNT(*) FROM procedure_report"),
        "Observation": vitals + count(db, "SELECT COUNT(*) FROM procedure_result"),
        "Coverage": count(db, "SELECT COUNT(*) FROM insurance_data"),
    }


def test_counts_per_type_match_the_database(migrated: dict[str, Any],
                                            openemr: OpenEMRDatabase) -> None:
    got = {k: len(v) for k, v in migrated["resources"].items()}
    assert got == expected_counts(openemr)
    assert migrated["report"].quarantined == 0


def test_row_accounting_and_declared_filters(migrated: dict[str, Any],
                                             openemr: OpenEMRDatabase) -> None:
    run = orjson.loads((migrated["out"] / "run.json").read_bytes())
    tables = {t["table"]: t for t in run["tables"]}
    assert all(t["balanced"] for t in tables.values())
    assert tables["patient_data"]["read"] == count(openemr, "SELECT COUNT(*) FROM patient_data")
    assert tables["lists"]["filtered_by_rule"].get("soft-deleted") == count(
        openemr, "SELECT COUNT(*) FROM lists WHERE activity = 0")
    assert tables["users"]["filtered_by_rule"] == {"not-a-provider": count(
        openemr, "SELECT COUNT(*) FROM users WHERE authorized <> 1")}
    assert tables["form_vitals"]["filtered_by_rule"].get("deleted-form", 0) == count(
        openemr, "SELECT COUNT(*) FROM form_vitals v JOIN forms f ON f.form_id = v.id AND "
                 "f.formdir = 'vitals' WHERE f.deleted = 1 AND "
                 "(v.activity IS NULL OR v.activity <> 0)")


def test_every_resource_validates_and_references_resolve(migrated: dict[str, Any]) -> None:
    validator = FhirValidator()
    known = {f"{r['resourceType']}/{r['id']}" for v in migrated["resources"].values() for r in v}
    errors, dangling = [], []

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                yield node["reference"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for items in migrated["resources"].values():
        for res in items:
            errors += [str(i) for i in validator.validate(res) if i.severity == "error"]
            dangling += [r for r in refs(res) if r not in known]
    assert errors == []
    assert dangling == []


def test_sample_values(migrated: dict[str, Any], openemr: OpenEMRDatabase) -> None:
    engine = sa.create_engine(openemr.url)
    with engine.connect() as conn:
        pat = conn.execute(sa.text("SELECT pubpid, sex, DOB FROM patient_data ORDER BY pid "
                                   "LIMIT 1")).one()
        vit = conn.execute(sa.text(
            "SELECT v.weight, v.temperature, v.bps, v.bpd FROM form_vitals v JOIN forms f ON "
            "f.form_id = v.id AND f.formdir = 'vitals' WHERE v.activity = 1 AND f.deleted = 0 "
            "AND v.weight > 0 AND v.temperature > 0 AND v.bps <> '' ORDER BY v.id LIMIT 1"
        )).one()
    engine.dispose()
    patient = next(p for p in migrated["resources"]["Patient"]
                   if p["identifier"][0]["value"] == pat.pubpid)
    assert patient["gender"] == pat.sex.lower()
    assert patient["birthDate"] == pat.DOB.isoformat()
    obs = migrated["resources"]["Observation"]
    weights = {o["valueQuantity"]["value"] for o in obs if o["code"]["coding"][0]["code"]
               == "29463-7"}
    assert round(float(vit.weight) * 0.45359237, 2) in weights
    temps = {o["valueQuantity"]["value"] for o in obs if o["code"]["coding"][0]["code"]
             == "8310-5"}
    assert round((float(vit.temperature) - 32) * 5 / 9, 1) in temps
    assert all(o["valueQuantity"]["code"] == "kg" for o in obs
               if o["code"]["coding"][0]["code"] == "29463-7")
    panels = [o for o in obs if o["code"]["coding"][0]["code"] == "85354-9"]
    assert any(p["component"][0]["valueQuantity"]["value"] == float(vit.bps) for p in panels)
    assert all(p["effectiveDateTime"][-6:] in ("-05:00", "-04:00") for p in panels)
    multi = [c for c in migrated["resources"]["Condition"] if len(c["code"]["coding"]) > 1]
    assert multi, "some problems carry ICD-10 and SNOMED CT codes"
    assert {x["system"] for x in multi[0]["code"]["coding"]} <= {
        "http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct",
        "http://hl7.org/fhir/sid/icd-9-cm"}


def test_sqlite_sample_gives_identical_output(migrated: dict[str, Any], tmp_path: Path) -> None:
    run_pipeline(settings(f"sqlite:///{SQLITE}", tmp_path))
    assert read_output(tmp_path / "nd") == migrated["resources"]


def test_load_into_sekmet(openemr: OpenEMRDatabase, sekmet_server: Any, tmp_path: Path) -> None:
    sekmet_server.reset()
    target = {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 250}
    report = run_pipeline(settings(openemr.readonly_url, tmp_path, target))
    assert report.load["failed"] == 0
    expected = expected_counts(openemr)
    assert sekmet_server.counts(sorted(expected)) == expected


def test_large_tables_stream_with_bounded_memory(openemr: OpenEMRDatabase) -> None:
    engine = sa.create_engine(openemr.url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE big (id INT PRIMARY KEY, note VARCHAR(200))"))
        conn.execute(sa.text(
            "INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_200000"))
    engine.dispose()
    ext = SqlExtractor(openemr.readonly_url)
    tracemalloc.start()
    rows = 0
    for batch in ext.iter_batches("big", chunk_size=1000):
        rows += len(batch.rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ext.close()
    assert rows == 200_000
    assert peak < 25 * 2**20, f"peak {peak / 2**20:.1f} MB for 200k rows of 200 bytes"


def test_the_session_is_read_only(openemr: OpenEMRDatabase) -> None:
    ext = SqlExtractor(openemr.url)  # even as root, the extractor cannot write
    with ext.engine.connect() as conn, pytest.raises(sa.exc.OperationalError,
                                                     match="READ ONLY"):
        conn.execute(sa.text("UPDATE patient_data SET fname = 'x'"))
    ext.close()
