"""migrate/scaffold/analyse.py on a MIMIC-like export and on the bundled samples: keys by
uniqueness, foreign keys by containment (with the guards against coincidences), dictionary
tables and suggested resources; and on imperfect data (the Riverside sample and small
exports): a key with a repeated value, foreign keys with orphans, wider dictionaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.config import parse_source
from migrate.scaffold.analyse import (
    Schema,
    TableInfo,
    _resource,
    analyse,
    near_contained,
    similarity,
)
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


@pytest.fixture(scope="module")
def riverside() -> Schema:
    return schema_of("sample_data/riverside")


def test_riverside_a_key_repeated_once_is_still_the_key(riverside: Schema) -> None:
    """DIAGNOSES_ICD exports one row twice (same ROW_ID): ROW_ID is its key all the same, and
    the note says how many values repeat (never which)."""
    assert {t.name: t.key for t in riverside.tables} == {
        "DIAGNOSES_ICD": ["ROW_ID"], "D_ITEMS": ["ITEMID"], "PATIENTS": ["SUBJECT_ID"],
        "PRESCRIPTIONS": ["ROW_ID"], "admissions": ["hadm_id"], "d_diagnosis": ["icd_code"],
        "d_drugs": ["drug_id"], "d_procedure": ["icd_code"], "labevents": ["ROW_ID"],
        "noteevents": ["row_id"], "procedures": ["row_id"]}
    assert riverside.table("DIAGNOSES_ICD").key_note == (
        "unique but for 1 repeated value(s): those rows will be quarantined duplicate-key "
        "(the first of each kept)")
    assert riverside.table("PRESCRIPTIONS").key_note == "unique"


def test_riverside_foreign_keys_tolerate_orphans(riverside: Schema) -> None:
    """A retired code, a deleted drug and a purged admission are orphans, counted: the
    foreign keys are found all the same."""
    found = {(fk.table, fk.column, fk.ref_table, fk.ref_column): (fk.missing, fk.missing_rows)
             for t in riverside.tables for fk in t.foreign_keys}
    orphans = {k: v for k, v in found.items() if v != (0, 0)}
    assert orphans == {("DIAGNOSES_ICD", "ICD_CODE", "d_diagnosis", "icd_code"): (1, 1),
                       ("PRESCRIPTIONS", "DRUG_ID", "d_drugs", "drug_id"): (1, 1),
                       ("procedures", "hadm_id", "admissions", "hadm_id"): (1, 1)}
    assert set(found) - set(orphans) == {
        (table, column, "PATIENTS", "SUBJECT_ID") for table, column in [
            ("DIAGNOSES_ICD", "SUBJECT_ID"), ("PRESCRIPTIONS", "SUBJECT_ID"),
            ("admissions", "subject_id"), ("labevents", "SUBJECT_ID"),
            ("noteevents", "subject_id"), ("procedures", "subject_id")]} | {
        (table, column, "admissions", "hadm_id") for table, column in [
            ("DIAGNOSES_ICD", "HADM_ID"), ("PRESCRIPTIONS", "HADM_ID"),
            ("labevents", "HADM_ID"), ("noteevents", "hadm_id")]} | {
        ("labevents", "ITEMID", "D_ITEMS", "ITEMID"),
        ("procedures", "icd_code", "d_procedure", "icd_code")}
    fk = riverside.table("procedures").foreign_keys[1]
    assert fk.orphans(False) == ("1 value(s) not found in admissions (1 row(s)): those rows "
                                 "will be dangling references")
    assert riverside.table("procedures").foreign_keys[2].orphans(True) == ""


def test_riverside_dictionaries(riverside: Schema) -> None:
    """Four dictionaries, D_ITEMS with five columns among them; PATIENTS and admissions,
    also small and referenced by bigger tables, stay entities."""
    assert {t.name: t.label for t in riverside.tables if t.is_dictionary} == {
        "D_ITEMS": "LABEL", "d_diagnosis": "long_title", "d_drugs": "drug",
        "d_procedure": "long_title"}
    assert {t.name: t.resource for t in riverside.tables if t.resource} == {
        "DIAGNOSES_ICD": "Condition", "PATIENTS": "Patient",
        "PRESCRIPTIONS": "MedicationRequest", "admissions": "Encounter",
        "labevents": "Observation", "noteevents": "Basic", "procedures": "Procedure"}


@pytest.mark.parametrize(("counts", "ref", "sim", "expected"), [
    ({"a": 10, "b": 10, "c": 10, "x": 1}, {"a", "b", "c"}, 1.0, (1, 1)),  # one orphan
    ({"a": 10, "b": 10, "c": 10}, {"a", "b", "c", "d"}, 0.0, (0, 0)),  # contained
    ({"a": 10, "b": 10, "c": 10, "x": 1}, {"a", "b", "c"}, 0.0, None),  # unlike names: 1%
    ({"a": 10, "b": 10, "c": 10, "x": 5}, {"a", "b", "c"}, 1.0, None),  # 5 of 35 rows
    ({"a": 100, "b": 100, "x": 1}, {"a", "b"}, 1.0, None),  # two values found: too few
    ({"a": 9, "b": 9, "c": 9, "d": 9, "x": 1, "y": 1}, {"a", "b", "c", "d"}, 1.0,
     None),  # two of six values missing
    ({str(i): 1 for i in range(200)}, {str(i) for i in range(1, 200)}, 0.0, (1, 1)),
])
def test_near_containment(counts: dict[str, int], ref: set[str], sim: float,
                          expected: tuple[int, int] | None) -> None:
    assert near_contained(counts, ref, sim) == expected


def write_csv(folder: Path, name: str, header: str, lines: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("rows", "key"), [(200, ["event_id"]), (50, ["event_id", "value"])])
def test_a_key_may_repeat_on_one_percent_of_rows(tmp_path: Path, rows: int,
                                                 key: list[str]) -> None:
    """A row exported twice in 200 is quarantined by the key; in 50 (2%) it is no key."""
    lines = [f"{100 + i},{i % 3}" for i in range(rows - 1)] + ["100,0"]
    write_csv(tmp_path / "x", "events", "event_id,value", lines)
    table = schema_of(str(tmp_path / "x")).table("events")
    assert table.key == key
    assert ("1 repeated value(s)" in table.key_note) is (len(key) == 1)


@pytest.mark.parametrize(("events", "extra", "dictionary"), [
    (100, "note", True), (50, "note", False), (100, "dob", False), (100, "first_name", False)])
def test_a_dictionary_with_more_columns(tmp_path: Path, events: int, extra: str,
                                        dictionary: bool) -> None:
    """Up to 8 columns when a referencing table has ten times its rows, and no date nor a
    person's name: item id, label, fluid, category, LOINC code."""
    folder = tmp_path / "x"
    write_csv(folder, "lab_items", f"itemid,label,fluid,category,loinc,{extra}", [
        f"{50901 + 7 * i},Item {i},{'BU'[i % 2]},{'CHM'[i % 3]},{1000 + i}-{i % 10},"
        f"{f'19{40 + i}-01-02' if extra == 'dob' else f'x{i}'}" for i in range(10)])
    write_csv(folder, "results", "result_id,itemid,val", [
        f"{i},{50901 + 7 * (i % 10)},{i % 7}.5" for i in range(events)])
    schema = schema_of(str(folder))
    assert schema.table("results").foreign_keys[0].ref_table == "lab_items"
    assert schema.table("lab_items").is_dictionary is dictionary
    assert (schema.table("lab_items").label == "label") is dictionary
