"""Runs LinuxForHealth csvtofhir 1.2.0 on a Synthea CSV folder; used by bench/peer_csvtofhir.py.

Runs inside csvtofhir's own virtualenv (.tools/csvtofhir-venv, Python 3.10: csvtofhir pins
pandas<1.5, pydantic 1 and fhir.resources 6, which clash with ours), so it imports nothing from
this repository. It writes csvtofhir's data contract (below) to a temporary config folder, converts
each mapped CSV with the library's ``convert()`` generator (the same call its CLI makes) and
writes the JSON strings it yields as NDJSON, one file per source table (its CLI would write one
pretty-printed file per resource instead). It times itself from the first conversion to the last
write, after imports, with CPU seconds (``time.process_time``) and wall time, and prints JSON:
resources per source table and type, totals, rows that raised, CPU and wall. After the clock
stops it re-reads a sample of its output (the first SAMPLE resources of each type per table)
with fhir.resources' full model validation, to show what csvtofhir's own building leaves
unchecked (it builds resources with pydantic ``construct()``, which skips validation).

    python bench/_csvtofhir_runner.py SOURCE_DIR OUT_DIR
"""

import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
GENDER = {"F": "female", "M": "male", "default": "unknown"}


def _task(task, **params):
    return {"name": task, "params": params}


def _status_by_stop(column, when_stop, otherwise):
    """``column`` = ``otherwise``, or ``when_stop`` on rows whose STOP is filled."""
    return [_task("add_constant", name=column, value=otherwise),
            _task("conditional_column_with_prerequisite", source_column=column,
                  condition_map={otherwise: when_stop}, target_column=column,
                  prerequisite_column="STOP", prerequisite_match=".")]


# One file definition per Synthea table csvtofhir has a converter for. The file's own type is its
# "primary" resource; csvtofhir adds a skeleton Encounter to a Condition or Procedure row that
# names its encounter (encounterInternalId), which is how it links the two.
FILE_DEFINITIONS = {
    "patients": {
        "resourceType": "Patient", "groupByKey": "Id",
        "tasks": [
            _task("map_codes", code_map={
                "GENDER": GENDER,
                "RACE": {"white": "2106-3", "black": "2054-5", "asian": "2028-9",
                         "native": "1002-5", "hawaiian": "2076-8", "default": "2131-1"},
                "ETHNICITY": {"hispanic": "2135-2", "nonhispanic": "2186-5"}}),
            _task("add_constant", name="ssnSystem", value="http://hl7.org/fhir/sid/us-ssn"),
            _task("add_constant", name="country", value="US"),
            _task("rename_columns", column_map={
                "Id": "patientInternalId", "BIRTHDATE": "birthDate",
                "DEATHDATE": "deceasedDateTime", "SSN": "ssn", "DRIVERS": "driversLicense",
                "PREFIX": "prefix", "FIRST": "nameFirst", "LAST": "nameLast", "SUFFIX": "suffix",
                "RACE": "race", "ETHNICITY": "ethnicity", "GENDER": "gender",
                "ADDRESS": "address1", "CITY": "city", "STATE": "state", "ZIP": "postalCode"}),
        ]},
    "providers": {
        "resourceType": "Practitioner", "groupByKey": "Id",
        "tasks": [
            _task("map_codes", code_map={"GENDER": GENDER}),
            _task("rename_columns", column_map={
                "Id": "resourceInternalId", "NAME": "practitionerNameText",
                "GENDER": "practitionerGender"}),
        ]},
    "encounters": {
        "resourceType": "Encounter", "groupByKey": "PATIENT",
        "tasks": [
            _task("map_codes", code_map={"ENCOUNTERCLASS": {
                "ambulatory": "AMB", "wellness": "AMB", "outpatient": "AMB", "urgentcare": "AMB",
                "emergency": "EMER", "inpatient": "IMP", "snf": "IMP", "hospice": "HH",
                "home": "HH", "virtual": "VR"}}),
            *_status_by_stop("encounterStatus", "finished", "in-progress"),
            _task("add_constant", name="encounterReasonCodeSystem", value=SNOMED),
            _task("rename_columns", column_map={
                "Id": "resourceInternalId", "PATIENT": "patientInternalId",
                "START": "encounterStartDateTime", "STOP": "encounterEndDateTime",
                "ENCOUNTERCLASS": "encounterClassCode", "REASONCODE": "encounterReasonCode",
                "REASONDESCRIPTION": "encounterReasonCodeText"}),
        ]},
    "allergies": {
        "resourceType": "AllergyIntolerance", "groupByKey": "PATIENT",
        "tasks": [
            _task("map_codes", code_map={"SYSTEM": {"SNOMED-CT": SNOMED, "RxNorm": RXNORM}}),
            *_status_by_stop("allergyClinicalStatusCode", "inactive", "active"),
            _task("add_constant", name="allergyVerificationStatusCode", value="confirmed"),
            _task("copy_columns", columns=["START"], target_column="allergyRecordedDateTime"),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "START": "allergyOnsetStartDateTime", "STOP": "allergyOnsetEndDateTime",
                "CODE": "allergyCode", "SYSTEM": "allergyCodeSystem",
                "DESCRIPTION": "allergyCodeText", "TYPE": "allergyType",
                "CATEGORY": "allergyCategory", "REACTION1": "allergyManifestationCode",
                "DESCRIPTION1": "allergyManifestationText"}),
        ]},
    "conditions": {
        "resourceType": "Condition", "groupByKey": "PATIENT",
        "tasks": [
            *_status_by_stop("conditionClinicalStatus", "resolved", "active"),
            _task("add_constant", name="conditionVerificationStatus", value="confirmed"),
            _task("add_constant", name="conditionCategory", value="encounter-diagnosis"),
            _task("add_constant", name="conditionCodeSystem", value=SNOMED),
            _task("copy_columns", columns=["START"], target_column="conditionRecordedDateTime"),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "START": "conditionOnsetDateTime", "STOP": "conditionAbatementDateTime",
                "CODE": "conditionCode", "DESCRIPTION": "conditionCodeText"}),
        ]},
    "immunizations": {
        "resourceType": "Immunization", "groupByKey": "PATIENT",
        "tasks": [
            _task("add_constant", name="immunizationStatus", value="completed"),
            _task("add_constant", name="immunizationVaccineSystem", value=CVX),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "DATE": "immunizationDate", "CODE": "immunizationVaccineCode",
                "DESCRIPTION": "immunizationVaccineText"}),
        ]},
    "medications": {
        "resourceType": "MedicationRequest", "groupByKey": "PATIENT",
        "tasks": [
            *_status_by_stop("medicationUseStatus", "completed", "active"),
            _task("add_constant", name="medicationCodeSystem", value=RXNORM),
            _task("copy_columns", columns=["START"], target_column="medicationValidityStart"),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "START": "medicationAuthoredOn", "STOP": "medicationValidityEnd",
                "CODE": "medicationCode", "DESCRIPTION": "medicationCodeText"}),
        ]},
    "observations": {
        "resourceType": "Observation", "groupByKey": "PATIENT",
        "tasks": [
            _task("map_codes", code_map={"TYPE": {"numeric": "valueQuantity",
                                                  "text": "valueString"}}),
            _task("add_constant", name="observationStatus", value="final"),
            _task("add_constant", name="observationCodeSystem", value=LOINC),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "DATE": "observationDateTime", "CATEGORY": "observationCategory",
                "CODE": "observationCode", "DESCRIPTION": "observationCodeText",
                "VALUE": "observationValue", "UNITS": "observationValueUnits",
                "TYPE": "observationValueDataType"}),
        ]},
    "procedures": {
        "resourceType": "Procedure", "groupByKey": "PATIENT",
        "tasks": [
            _task("add_constant", name="procedureStatus", value="completed"),
            _task("add_constant", name="procedureCodeSystem", value=SNOMED),
            _task("rename_columns", column_map={
                "PATIENT": "patientInternalId", "ENCOUNTER": "encounterInternalId",
                "START": "procedurePerformedDateTime", "CODE": "procedureCode",
                "DESCRIPTION": "procedureCodeText"}),
        ]},
}

DATA_CONTRACT = {
    "general": {"timeZone": "UTC", "tenantId": "emr-migrate-bench",
                "assigningAuthority": "urn:emr-migrate:bench", "regexFilenames": True},
    "fileDefinitions": {f"^{table}$": spec for table, spec in FILE_DEFINITIONS.items()},
}

_TYPE = re.compile(r'"resourceType":\s*"(\w+)"')
SAMPLE = 200


def _validate_sample(samples):
    """Full fhir.resources validation of the sampled output: checked and failed per type."""
    from fhir.resources import get_fhir_model_class

    result = {}
    for (_table, rtype), texts in samples.items():
        entry = result.setdefault(rtype, {"checked": 0, "failed": 0, "first_error": None})
        for text in texts:
            entry["checked"] += 1
            try:
                get_fhir_model_class(rtype).parse_raw(text)
            except Exception as exc:  # any failure counts; the first one is shown
                entry["failed"] += 1
                if entry["first_error"] is None:
                    entry["first_error"] = " ".join(str(exc).split())[:300]
    return result


def main():
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="csvtofhir-config-") as config_dir:
        (Path(config_dir) / "data-contract.json").write_text(json.dumps(DATA_CONTRACT, indent=2))
        os.environ["MAPPING_CONFIG_DIRECTORY"] = config_dir  # read by its cached settings
        result = convert_all(source, out)
    print(json.dumps(result))


def convert_all(source, out):
    """Every mapped table through csvtofhir's ``convert()``; the timed part and its counts."""
    from linuxforhealth.csvtofhir.converter import convert

    per_table, rows, errors, samples = {}, Counter(), Counter(), {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for table in FILE_DEFINITIONS:
        counts = per_table[table] = Counter()
        with (out / f"{table}.ndjson").open("w") as fh:
            for error, _key, resources in convert(str(source / f"{table}.csv")):
                rows[table] += 1
                if error is not None:
                    errors[table] += 1
                    continue
                for text in resources:
                    rtype = _TYPE.search(text).group(1)
                    counts[rtype] += 1
                    if counts[rtype] <= SAMPLE:
                        samples.setdefault((table, rtype), []).append(text)
                    fh.write(text)
                    fh.write("\n")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    by_type = Counter()
    for counts in per_table.values():
        by_type.update(counts)
    primary = {table: per_table[table][spec["resourceType"]]
               for table, spec in FILE_DEFINITIONS.items()}
    return {
        "tool": "linuxforhealth-csvtofhir", "version": version("linuxforhealth-csvtofhir"),
        "python": sys.version.split()[0], "rows": dict(rows), "row_errors": dict(errors),
        "per_table": {t: dict(c) for t, c in per_table.items()}, "by_type": dict(by_type),
        "primary": primary, "resources": sum(by_type.values()),
        "primary_resources": sum(primary.values()), "cpu_s": cpu, "wall_s": wall,
        "sample_validation": _validate_sample(samples),
    }


if __name__ == "__main__":
    main()
