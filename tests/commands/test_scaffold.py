"""``emr-migrate scaffold``: the command's help and errors, and that its pack passes `check`
as written and `run` accounts for every row, on the bundled Synthea and OpenEMR samples, the
real Synthea export in ../shared, a MIMIC-like CSV export (its look-ups uncommented too) and
the same export in a real PostgreSQL, and the Riverside sample with its planted defects (a
repeated key, orphans). On the Synthea sources every row is emitted: the starter templates
are valid FHIR."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.scaffold.mimic import MARKERS, write_mimic

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "4f2c9d7e-0a51-4c3e-9a63-2b8f5d1c7e90"
OPENEMR = f"sqlite:///{REPO / 'sample_data' / 'openemr' / 'openemr.sqlite'}"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def scaffold_check_run(source: str, tmp_path: Path,
                       edit: Callable[[Path], object] | None = None,
                       target: str | None = None) -> tuple[Path, dict]:
    """Scaffold ``source``, check the pack as written (after ``edit``), run it (into NDJSON
    files, or ``target``); the pack and run.json."""
    pack = tmp_path / "pack"
    code, out = invoke("scaffold", "--source", source, "--out", str(pack), "--no-progress")
    assert code == 0, out
    if edit:
        edit(pack)
    code, out = invoke("check", str(pack), "--source", source)
    assert code == 0, out
    assert "all good" in out
    code, out = invoke("run", "--mappings", str(pack), "--source", source, "--namespace",
                       NAMESPACE, "--target", target or f"ndjson:{tmp_path / 'ndjson'}", "--out",
                       str(tmp_path / "out"), "--no-progress")
    assert code in (0, 1), out  # 1: over the quarantine threshold, still accounted
    report = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    for t in report["tables"]:
        assert t["balanced"], t
        assert t["read"] == t["emitted"] + t["filtered"] + t["quarantined"], t
    return pack, report


def test_help_has_an_example() -> None:
    code, out = invoke("scaffold", "--help")
    assert code == 0
    assert "Example:\n    emr-migrate scaffold --source ./export --out mappings/acme" in out
    assert "emr-migrate --help" not in out
    code, out = invoke("--help")
    assert "scaffold" in out


SYNTHEA_RESOURCES = {"AllergyIntolerance", "Basic", "CarePlan", "Condition", "Device",
                     "Encounter", "ImagingStudy", "Immunization", "MedicationRequest",
                     "Observation", "Organization", "Patient", "Practitioner", "Procedure"}


def read_ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def every_row_emitted(report: dict) -> None:
    """No row filtered or quarantined (FHIR validation included), no warning."""
    assert report["status"] == "ok"
    assert [t["table"] for t in report["tables"] if t["emitted"] != t["read"]] == []
    assert report["warnings"] == {}


def test_synthea_sample(tmp_path: Path) -> None:
    pack, report = scaffold_check_run(str(REPO / "sample_data" / "synthea"), tmp_path)
    every_row_emitted(report)
    assert len(report["tables"]) == 18
    assert set(report["resources"]) == SYNTHEA_RESOURCES
    assert report["resources"]["Patient"] == 25
    assert report["resources"]["Condition"] == 361
    ndjson = tmp_path / "ndjson"
    conditions = read_ndjson(ndjson / "Condition.ndjson")
    assert all(c["code"]["text"] and c["onsetDateTime"] for c in conditions)
    patients = read_ndjson(ndjson / "Patient.ndjson")
    assert all(p["birthDate"] and p["name"][0]["family"] for p in patients)
    immunization = (pack / "immunizations.yaml").read_text(encoding="utf-8")
    assert "status: completed   # TODO: choose" in immunization


@pytest.mark.integration
def test_synthea_sample_loads_into_a_strict_fhir_server(sekmet_server: Any,
                                                        tmp_path: Path) -> None:
    """sekmet-fhir, validating strictly, accepts every resource of the starter pack."""
    sekmet_server.reset()
    _pack, report = scaffold_check_run(str(REPO / "sample_data" / "synthea"), tmp_path,
                                       target=sekmet_server.base_url)
    every_row_emitted(report)
    assert sekmet_server.counts(SYNTHEA_RESOURCES) == report["resources"]


def test_synthea_10pt_export(synthea_10pt: Path, tmp_path: Path) -> None:
    """The real Synthea export: every row of its 18 tables emitted, as valid FHIR."""
    _pack, report = scaffold_check_run(str(synthea_10pt), tmp_path)
    every_row_emitted(report)
    assert set(report["resources"]) == SYNTHEA_RESOURCES
    assert report["resources"]["Immunization"] == 129
    assert report["resources"]["ImagingStudy"] == 11


def test_openemr_sample_database(tmp_path: Path) -> None:
    pack, report = scaffold_check_run(OPENEMR, tmp_path)
    every_row_emitted(report)
    assert report["resources"]["Patient"] == 40
    assert "subject: $patient" in (pack / "form_encounter.yaml").read_text(encoding="utf-8")


def test_mimic_like_export(tmp_path: Path) -> None:
    export = write_mimic(tmp_path / "export")
    pack, report = scaffold_check_run(str(export), tmp_path)
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["labevents"]["quarantined_by_cause"] == {"unparseable-row": 1}
    assert sorted(by_table) == ["admissions", "diagnoses_icd", "labevents", "patients"]
    assert report["resources"] == {"Condition": 180, "Encounter": 60, "Observation": 210,
                                   "Patient": 30}
    text = "\n".join(p.read_text(encoding="utf-8") for p in pack.iterdir())
    assert not [m for m in MARKERS if m in text]
    assert {stat.S_IMODE(p.stat().st_mode) for p in pack.iterdir()} == {0o600}


def write_gappy(folder: Path) -> Path:
    """A small export whose required elements often lack a value: codes and dates with gaps,
    dates in mixed formats, a patient column sometimes empty."""
    folder.mkdir()
    rows = range(40)

    def write(name: str, header: str, line: Callable[[int], str]) -> None:
        text = header + "\n" + "".join(line(i) + "\n" for i in rows)
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")

    write("patients", "id,first_name,last_name,dob,sex",
          lambda i: f"P{i},{'' if i % 2 else 'Ann'},{'' if i % 4 else 'Doe'},"
                    f"{'' if i % 3 else f'19{i + 10}-02-0{1 + i % 8}'},{'MF'[i % 2]}")
    write("immunizations", "id,patient_id,vaccine_code,vaccine_description,administered_date",
          lambda i: f"{i},P{i % 20},{'' if i % 5 == 0 else 100 + i % 7},"
                    f"{'' if i % 5 < 2 else 'vaccine ' + str(i % 7)},"
                    f"{'' if i % 6 == 0 else f'2020-01-{10 + i % 9}'}")
    write("vitals", "id,patient_id,code,description,taken",
          lambda i: f"{i},P{i % 20},{'' if i % 5 == 0 else 8000 + i % 9},"
                    f"{'' if i % 3 == 0 else 'item ' + str(i % 9)},"
                    f"{'2020-01-02' if i % 10 else '02.01.2020'}")
    write("allergies", "id,patient_id,code,description",
          lambda i: f"{i},{'' if i % 7 == 0 else f'P{i % 20}'},A{i % 3},allergy {i % 3}")
    return folder


def test_gaps_in_required_elements_never_quarantine(tmp_path: Path) -> None:
    """What FHIR requires is never left to a column that may be empty: a required code falls
    back to a literal text, a date that is sometimes missing or in two formats stays a
    comment, a resource whose patient column has gaps is Basic."""
    pack, report = scaffold_check_run(str(write_gappy(tmp_path / "export")), tmp_path)
    every_row_emitted(report)
    assert report["resources"] == {"Basic": 40, "Immunization": 40, "Observation": 40,
                                   "Patient": 40}
    immunizations = (pack / "immunizations.yaml").read_text(encoding="utf-8")
    assert ('vaccineCode: {text: {first_of: ["$vaccine_description", "$vaccine_code", '
            'unknown]}}') in immunizations
    assert "occurrenceString: unknown   # TODO: the date column" in immunizations
    vitals = (pack / "vitals.yaml").read_text(encoding="utf-8")
    assert "effectiveDateTime" not in vitals  # two formats: a comment only
    patients = (pack / "patients.yaml").read_text(encoding="utf-8")
    assert 'name: [{family: "$last_name", given: ["$first_name"]}]' in patients
    assert 'birthDate: {date: "$dob"}' in patients
    assert "# Resource: Basic (looks like AllergyIntolerance" in (
        pack / "allergies.yaml").read_text(encoding="utf-8")


def test_resources_without_any_column_to_fill_them(tmp_path: Path) -> None:
    """Tables that are only an id still give valid resources: each template holds its
    required elements as literals (and is never empty)."""
    export = tmp_path / "export"
    export.mkdir()
    names = ["devices", "encounters", "lab_results", "organizations", "providers",
             "patients", "allergies", "misc"]
    for name in names:
        (export / f"{name}.csv").write_text("id\n" + "".join(f"{name[0]}{i}\n"
                                                             for i in range(5)),
                                            encoding="utf-8")
    _pack, report = scaffold_check_run(str(export), tmp_path)
    every_row_emitted(report)
    assert report["resources"] == {"Basic": 10, "Device": 5, "Encounter": 5,
                                   "Observation": 5, "Organization": 5, "Patient": 5,
                                   "Practitioner": 5}  # allergies: no patient, Basic


def uncomment_lookups(pack: Path) -> list[str]:
    """Uncomment each mapping's `lookup:` block and the template lines that read it, as a
    user would; the files changed."""
    changed = []
    for path in sorted(pack.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        block = re.search(r"^# lookup:\n(#   .*\n)+", text, re.MULTILINE)
        if not block:
            continue
        text = text.replace(block.group(), re.sub(r"^# ", "", block.group(), flags=re.M))
        text = re.sub(r"^( +)# (.*# TODO: uncomment with the lookup: block above)", r"\1\2",
                      text, flags=re.MULTILINE)
        path.write_text(text, encoding="utf-8")
        changed.append(path.name)
    return changed


def test_mimic_like_export_with_its_lookups_uncommented(tmp_path: Path) -> None:
    """The look-ups offered in comments work once uncommented: `check` passes, every row is
    emitted with its code's label read from the dictionary, and a diagnosis with the date of
    its admission (a related row)."""
    export = write_mimic(tmp_path / "export")
    changed: list[str] = []
    _pack, report = scaffold_check_run(str(export), tmp_path,
                                       lambda pack: changed.extend(uncomment_lookups(pack)))
    assert changed == ["diagnoses_icd.yaml", "labevents.yaml"]
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["labevents"]["quarantined_by_cause"] == {"unparseable-row": 1}
    assert [t for t in by_table.values()
            if t["emitted"] != t["read"] - t["quarantined_by_cause"].get("unparseable-row", 0)
            ] == []
    assert report["warnings"] == {}
    assert sorted((lk["table"], lk["used_by"][0]) for lk in report["lookups"]) == [
        ("admissions", "pack.diagnoses_icd.admissions"), ("d_icd", "pack.diagnoses_icd.d_icd"),
        ("d_labitems", "pack.labevents.d_labitems")]
    ndjson = tmp_path / "ndjson"
    labs = read_ndjson(ndjson / "Observation.ndjson")
    labels = {"50912": "Creatinine", "50971": "Potassium", "51222": "Hemoglobin",
              "51301": "White Blood Cells", "50931": "Glucose"}
    assert {(o["code"]["coding"][0]["code"], o["code"]["text"]) for o in labs} == set(
        labels.items())
    conditions = read_ndjson(ndjson / "Condition.ndjson")
    assert {c["code"]["text"] for c in conditions} == {
        "ZZMARKTITLE", "Disease number 1 of the list", "Disease number 2 of the list"}
    assert {c["recordedDate"][:7] for c in conditions} == {"2150-01", "2150-02", "2150-03"}


RIVERSIDE = str(REPO / "sample_data" / "riverside")


def test_riverside_sample(tmp_path: Path) -> None:
    """The WardBook export (planted defects: a repeated ROW_ID, orphans): its starter pack
    passes `check` as written, and `run` maps every row but the repeated one, quarantined
    `duplicate-key` as the key's note said."""
    pack, report = scaffold_check_run(RIVERSIDE, tmp_path)
    assert {t["table"]: t["quarantined_by_cause"] for t in report["tables"]
            if t["quarantined"]} == {"DIAGNOSES_ICD": {"duplicate-key": 1}}
    assert sum(t["read"] for t in report["tables"]) == 3976
    assert report["resources"] == {"Basic": 249, "Condition": 575, "Encounter": 127,
                                   "MedicationRequest": 416, "Observation": 2367,
                                   "Patient": 60, "Procedure": 181}
    assert sorted(p.name for p in pack.glob("*.yaml")) == [  # no mapping of a dictionary
        "admissions.yaml", "diagnoses_icd.yaml", "labevents.yaml", "noteevents.yaml",
        "pack.yaml", "patients.yaml", "prescriptions.yaml", "procedures.yaml"]


def test_riverside_sample_with_its_lookups_uncommented(tmp_path: Path) -> None:
    """The four dictionaries are offered as look-ups in the mappings using them, and the
    admission's start to diagnoses and procedures; uncommented, `check` passes and `run`
    accounts every orphan: a code or drug the dictionary lacks is kept with a warning
    (on_missing: keep), a procedure of a purged admission is quarantined `lookup-miss`."""
    changed: list[str] = []
    _pack, report = scaffold_check_run(RIVERSIDE, tmp_path,
                                       lambda pack: changed.extend(uncomment_lookups(pack)))
    assert changed == ["diagnoses_icd.yaml", "labevents.yaml", "prescriptions.yaml",
                       "procedures.yaml"]
    assert sorted((lk["table"], u) for lk in report["lookups"] for u in lk["used_by"]) == [
        ("D_ITEMS", "pack.labevents.d_items"), ("admissions", "pack.diagnoses_icd.admissions"),
        ("admissions", "pack.procedures.admissions"),
        ("d_diagnosis", "pack.diagnoses_icd.d_diagnosis"),
        ("d_drugs", "pack.prescriptions.d_drugs"),
        ("d_procedure", "pack.procedures.d_procedure")]
    assert {t["table"]: t["quarantined_by_cause"] for t in report["tables"]
            if t["quarantined"]} == {"DIAGNOSES_ICD": {"duplicate-key": 1},
                                     "procedures": {"lookup-miss": 1}}
    assert report["warnings"] == {"pack.diagnoses_icd:lookup-miss": 1,
                                  "pack.prescriptions:lookup-miss": 1}
    ndjson = tmp_path / "ndjson"
    labs = read_ndjson(ndjson / "Observation.ndjson")
    assert {o["code"]["text"] for o in labs if o["code"]["coding"][0]["code"] == "50912"} == {
        "Creatinine"}
    drugs = read_ndjson(ndjson / "MedicationRequest.ndjson")
    assert len([m for m in drugs if "text" not in m["medicationCodeableConcept"]]) == 1
    procedures = read_ndjson(ndjson / "Procedure.ndjson")
    assert len(procedures) == 180
    assert all("performedDateTime" in p for p in procedures)


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = invoke("scaffold", "--source", str(tmp_path / "empty"), "--out",
                       str(tmp_path / "p"))
    assert (code, out.strip()) == (2, f"Error: no tables found in {tmp_path / 'empty'}: a CSV "
                                      "source needs *.csv files, a database at least one table")
    code, out = invoke("scaffold", "--source",
                       "postgresql+psycopg://u:s3cret@127.0.0.1:1/db", "--out",
                       str(tmp_path / "p"))
    assert code == 2
    assert out.startswith("Error: cannot open database postgresql+psycopg://u:***@127.0.0.1:1")
    assert "s3cret" not in out
    assert "Traceback" not in out
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.yaml").write_text("x", encoding="utf-8")
    code, out = invoke("scaffold", "--source", str(REPO / "sample_data" / "synthea"), "--out",
                       str(tmp_path / "full"))
    assert code == 2
    assert "the folder is not empty; choose a new folder, or pass --force" in out
    assert not (tmp_path / "p").exists()


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.harness.postgres import postgres_or_skip

    yield from postgres_or_skip(tmp_path_factory.mktemp("pg"))


@pytest.mark.integration
def test_mimic_like_database_on_postgresql(postgres: object, tmp_path: Path) -> None:
    import pandas as pd
    import sqlalchemy as sa

    export = write_mimic(tmp_path / "export")
    url = postgres.fresh_database("mimic")  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    for csv_file in sorted(export.glob("*.csv")):
        frame = pd.read_csv(csv_file, on_bad_lines="skip").convert_dtypes()
        frame.to_sql(csv_file.stem, engine, index=False)
    engine.dispose()
    pack, report = scaffold_check_run(url, tmp_path, uncomment_lookups)  # look-ups too
    assert sorted(t["table"] for t in report["tables"]) == [
        "admissions", "diagnoses_icd", "labevents", "patients"]
    assert report["resources"]["Observation"] == 210
    labs = read_ndjson(tmp_path / "ndjson" / "Observation.ndjson")
    assert {o["code"]["coding"][0]["code"] for o in labs} >= {"50912", "50971"}  # as text
    assert all(o["code"]["text"] for o in labs)  # the label, read from d_labitems
    assert "{concat: [\"$itemid\"]}" in (pack / "labevents.yaml").read_text(encoding="utf-8")
    conditions = read_ndjson(tmp_path / "ndjson" / "Condition.ndjson")
    assert all(c["recordedDate"].startswith("2150-") for c in conditions)  # a timestamp
    readme = (pack / "README.md").read_text(encoding="utf-8")
    assert "- `labevents.itemid` -> `d_labitems.itemid`" in readme
    assert "- `d_icd`: code `icd_code`, label `long_title`, used by `diagnoses_icd.icd_code`" \
        in readme
    assert "source_format: sql" in (pack / "pack.yaml").read_text(encoding="utf-8")


@pytest.mark.integration
def test_openemr_on_mariadb(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The OpenEMR practice in a real MariaDB (zero dates, MySQL types), read by the
    read-only user a migration uses."""
    from tests.harness.mariadb import mariadb_available, openemr_database

    if not mariadb_available():
        pytest.skip("MariaDB is not installed")
    with openemr_database(tmp_path_factory) as db:
        pack, report = scaffold_check_run(db.readonly_url, tmp_path)
    every_row_emitted(report)  # zero dates never reach a template
    assert report["resources"]["Patient"] == 40
    assert "source_format: sql" in (pack / "pack.yaml").read_text(encoding="utf-8")
    readme = (pack / "README.md").read_text(encoding="utf-8")
    assert "- `form_encounter.pid` -> `patient_data.id`" in readme
    assert "read-only-pw" not in "\n".join(p.read_text(encoding="utf-8")
                                           for p in pack.iterdir())


def use_pack_hints(pack: Path) -> None:
    """Uncomment pack.yaml's `numbers:` and `units:` suggestions and the labs' valueQuantity
    line, and put the dose's quantity its column comment suggests into the prescriptions."""
    path = pack / "pack.yaml"
    text = re.sub(r"^# (numbers: .*|units: .*|  \".*)$", r"\1", path.read_text("utf-8"),
                  flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    labs = pack / "labevents.yaml"
    labs.write_text(labs.read_text("utf-8").replace("# valueQuantity:", "valueQuantity:"),
                    encoding="utf-8")
    rx = pack / "prescriptions.yaml"
    text = rx.read_text("utf-8")
    dose = re.search(r"DOSE_VAL_RX: .* e\.g\. (\{quantity: .*\}\})$", text, re.M)
    assert dose is not None, text
    text = text.replace("      subject: $patient\n", "      subject: $patient\n      dosage"
                        f"Instruction: [{{doseAndRate: [{{doseQuantity: {dose.group(1)}}}]}}]\n")
    rx.write_text(text, encoding="utf-8")


def test_riverside_sample_with_its_pack_hints_used(tmp_path: Path) -> None:
    """pack.yaml's commented suggestions work once uncommented: thousands separators as the
    pack's default, the unit spellings UCUM lacks mapped to the codes guessed; every dose and
    lab value written as a number is then a quantity with its UCUM code."""
    pack, report = scaffold_check_run(RIVERSIDE, tmp_path, use_pack_hints)
    assert {t["table"]: t["quarantined_by_cause"] for t in report["tables"]
            if t["quarantined"]} == {"DIAGNOSES_ICD": {"duplicate-key": 1},
                                     "labevents": {"not-a-number": 3}}  # text results
    hints = (pack / "pack.yaml").read_text("utf-8")
    assert '  "MCG": "ug"   # not accepted as written (12 rows of PRESCRIPTIONS.DOSE_UNIT_RX)' \
        in hints
    assert "# booleans:" not in hints  # 0/1, Y/N, T/F: the boolean transform's defaults
    ndjson = tmp_path / "ndjson"
    doses = [m["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
             for m in read_ndjson(ndjson / "MedicationRequest.ndjson")]
    assert len(doses) == 416
    assert all(d["system"] == "http://unitsofmeasure.org" and d["code"] for d in doses)
    assert 25000 in {d["value"] for d in doses}  # "25,000"
    values = [o["valueQuantity"] for o in read_ndjson(ndjson / "Observation.ndjson")]
    assert len(values) == 2364
    assert all(v["system"] == "http://unitsofmeasure.org" for v in values)


def test_the_commented_translate_lines_pass_check_once_uncommented(tmp_path: Path) -> None:
    """The starter's commented `translate` lines (a patient's gender, an encounter's class)
    are complete: uncommented, with their concept maps written, the pack passes check."""
    out = tmp_path / "pack"
    source = REPO / "sample_data" / "riverside"
    assert CliRunner().invoke(cli, ["scaffold", "--source", str(source), "--out", str(out),
                                    "--no-progress"]).exit_code == 0
    for name, line in (("patients.yaml", "# gender: "), ("admissions.yaml", "# class: ")):
        text = (out / name).read_text("utf-8")
        assert line in text
        if name == "admissions.yaml":  # the line replaces the fixed class above it
            text = "\n".join(x for x in text.splitlines() if not x.strip().startswith("class:"))
        (out / name).write_text(text.replace(line, line[2:]), "utf-8")
    (out / "concept_maps").mkdir()
    (out / "concept_maps" / "patients-sex.csv").write_text(
        "source_code,target_system,target_code,target_display\nM,,male,\nF,,female,\n")
    (out / "concept_maps" / "admissions-admission_type.csv").write_text(
        "source_code,target_system,target_code,target_display\n"
        "ELECTIVE,http://terminology.hl7.org/CodeSystem/v3-ActCode,IMP,inpatient encounter\n")
    result = CliRunner().invoke(cli, ["check", str(out), "--source", str(source)])
    assert result.exit_code == 0, result.output
