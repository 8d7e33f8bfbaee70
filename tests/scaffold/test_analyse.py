"""migrate/scaffold/analyse.py on a MIMIC-like export and on the bundled samples: keys by
uniqueness, foreign keys by containment (with the guards against coincidences), dictionary
tables and suggested resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.config import parse_source
from migrate.scaffold.analyse import Schema, TableInfo, _resource, analyse, similarity
from migrate.scaffold.profile import profile_source_tables
from tests.scaffold.mimic import write_mimic

REPO = Path(__file__).resolve().parents[2]


def schema_of(source: str) -> Schema:
    return analyse(profile_source_tables(parse_source(source, REPO)))


@pytest.fixture(scope="module")
def mimic(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    return schema_of(str(write_mimic(tmp_path_factory.mktemp("mimic") / "export")))


def fks(schema: Schema) -> set[tuple[str, str, str, str]]:
    return {(fk.table, fk.column, fk.ref_table, fk.ref_column)
            for t in schema.tables for fk in t.foreign_keys}


def test_keys_single_columns_first_then_pairs(mimic: Schema) -> None:
    assert {t.name: t.key for t in mimic.tables} == {
        "patients": ["subject_id"], "admissions": ["hadm_id"], "d_icd": ["icd_code"],
        "diagnoses_icd": ["hadm_id", "seq_num"], "d_labitems": ["itemid"],
        "labevents": ["labevent_id"]}
    assert mimic.table("diagnoses_icd").key_note == "unique pair"


def test_foreign_keys_by_containment(mimic: Schema) -> None:
    assert fks(mimic) == {
        ("admissions", "subject_id", "patients", "subject_id"),
        ("diagnoses_icd", "subject_id", "patients", "subject_id"),
        ("diagnoses_icd", "hadm_id", "admissions", "hadm_id"),
        ("diagnoses_icd", "icd_code", "d_icd", "icd_code"),
        ("labevents", "subject_id", "patients", "subject_id"),
        ("labevents", "hadm_id", "admissions", "hadm_id"),  # nulls do not count against it
        ("labevents", "itemid", "d_labitems", "itemid"),
    }  # seq_num (1..5) fits in no key: a counter is never a foreign key


def test_dictionaries_and_resources(mimic: Schema) -> None:
    assert {t.name: t.label for t in mimic.tables if t.is_dictionary} == {
        "d_icd": "long_title", "d_labitems": "label"}
    assert {t.name: t.resource for t in mimic.tables} == {
        "patients": "Patient", "admissions": "Encounter", "diagnoses_icd": "Condition",
        "labevents": "Observation", "d_icd": None, "d_labitems": None}


def test_column_types_of_the_export(mimic: Schema) -> None:
    kinds = {(t.name, c.name): (c.kind, c.fmt) for t in mimic.tables for c in t.columns}
    assert kinds["admissions", "admittime"] == ("datetime", "%Y-%m-%d %H:%M:%S")
    assert kinds["admissions", "hospital_expire_flag"] == ("flag", None)
    assert kinds["labevents", "abnormal"] == ("flag", None)
    assert kinds["labevents", "value"] == ("number", None)
    assert kinds["admissions", "admission_type"] == ("code", None)
    assert kinds["labevents", "itemid"] == ("integer", None)  # a reference, not a code
    assert kinds["patients", "dod"][0] == "date"
    notes = mimic.table("admissions").columns[2].notes
    assert notes == ["some years lie in the future: dates look shifted (de-identified?)"]
    assert mimic.table("labevents").rejected == 1


def test_synthea_sample() -> None:
    schema = schema_of("sample_data/synthea")
    resources = {t.name: t.resource for t in schema.tables}
    assert resources["patients"] == "Patient"
    assert resources["encounters"] == "Encounter"
    assert resources["conditions"] == "Condition"
    assert resources["medications"] == "MedicationRequest"
    assert resources["observations"] == "Observation"
    assert resources["procedures"] == "Procedure"
    assert resources["claims"] == "Basic"  # administrative, whatever its DIAGNOSIS columns
    assert {t: resources[t] for t in ("allergies", "careplans", "devices", "imaging_studies",
                                      "immunizations", "organizations", "providers")} == {
        "allergies": "AllergyIntolerance", "careplans": "CarePlan", "devices": "Device",
        "imaging_studies": "ImagingStudy", "immunizations": "Immunization",
        "organizations": "Organization", "providers": "Practitioner"}
    assert resources["payer_transitions"] == "Basic"  # no Coverage: payor needs a payer
    assert schema.table("patients").key == ["Id"]
    assert schema.table("procedures").key != ["START"]  # a unique date is a weak key
    assert ("conditions", "PATIENT", "patients", "Id") in fks(schema)
    assert ("observations", "ENCOUNTER", "encounters", "Id") in fks(schema)


@pytest.mark.parametrize(("name", "resource"), [
    ("patient_allergies", "AllergyIntolerance"), ("patient_data", "Patient"),
    ("vaccinations", "Immunization"), ("staff", "Practitioner"), ("users", "Practitioner"),
    ("facilities", "Organization"), ("clinical_notes", "Basic"), ("encounter_notes", "Basic"),
    ("plan_of_care", "CarePlan"), ("radiology_studies", "ImagingStudy")])
def test_resource_by_table_name(name: str, resource: str) -> None:
    t = TableInfo(name, 1, 0, None, [])
    assert _resource(t)[0] == resource
    if name.endswith("notes"):
        assert "DocumentReference" in _resource(t)[1]


def test_a_patient_column_with_gaps_gives_no_subject() -> None:
    """A Condition's subject is required: a patient column with gaps makes it Basic."""
    profiled = profile_source_tables(parse_source(str(REPO / "sample_data" / "synthea"), REPO),
                                     ["patients", "conditions"])
    for prof in profiled.tables:
        if prof.table == "conditions":
            prof.column("PATIENT").nulls = 1  # type: ignore[union-attr]
    schema = analyse(profiled)
    assert schema.table("conditions").resource == "Basic"
    assert "always filled" in schema.table("conditions").resource_note


def test_openemr_sqlite_sample_guards_against_counter_coincidences() -> None:
    schema = schema_of("sqlite:///sample_data/openemr/openemr.sqlite")
    found = fks(schema)
    assert ("form_encounter", "pid", "patient_data", "id") in found
    assert ("issue_encounter", "list_id", "lists", "id") in found
    # a table's own `id` is no foreign key, and neither are measurements that happen to fit
    # in a 1..n counter nor sequence numbers
    assert not [fk for fk in found if fk[1] in ("id", "bps", "bpd", "pulse")]
    assert not [fk for fk in found if fk[1].endswith("_seq")]
    assert schema.table("patient_data").resource == "Patient"
    assert schema.table("form_encounter").resource == "Encounter"


def test_similarity_is_a_tie_break_of_names() -> None:
    assert similarity("hadm_id", "admissions", "hadm_id") == 1.0
    assert similarity("PATIENT", "patients", "Id") == 1.0
    assert similarity("bps", "procedure_report", "procedure_report_id") == 0.0
