"""The pipeline over a small source with injected defects: every row accounted for."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.errors import ExtractError
from migrate.pipeline import run_pipeline
from tests.conftest import make_settings

NOT_A_DATE = "not a valid date (formats tried: ISO 8601 (YYYY-MM-DD))"

PATIENT_YAML = """\
mapping: mini.patient
source: people
key: [pid]
emit:
  - resource: Patient
    template:
      identifier: [{identifier: {system: urn:mini, value: $pid}}]
      name: [{family: $last}]
      gender:
        translate: {values: {M: male, F: female}, from: $sex, on_unmapped: quarantine, as: code}
      birthDate: {date: $dob}
"""
VITALS_YAML = """\
mapping: mini.vitals
source: vitals
key: [vid]
filter:
  - name: soft-deleted
    when: {equals: [$active, "0"]}
emit:
  - resource: Observation
    template:
      status: $status
      code: {coding: [{system: http://loinc.org, code: 29463-7}]}
      subject: {ref: {mapping: mini.patient, key: [$pid]}}
      valueQuantity: {quantity: {value: $kg, unit: kg}}
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def mini(tmp_path: Path) -> dict[str, Path]:
    pack = write(tmp_path / "pack", {"patient.yaml": PATIENT_YAML, "vitals.yaml": VITALS_YAML})
    src = write(tmp_path / "src", {
        "people.csv": "pid,last,sex,dob\n1,Smith,F,1970-01-02\n2,Jones,M,1970-13-40\n"
                      "3,Brown,X,1980-05-06\n4,Green,M,1990-01-01,extra\n",
        "vitals.csv": "vid,pid,status,kg,active\n10,1,final,70.5,1\n11,1,final,12O,1\n"
                      "12,1,done,71,1\n13,1,final,72,0\n",
    })
    return {"pack": pack, "src": src, "out": tmp_path / "out"}


def run(mini: dict[str, Path], **extra: Any) -> Any:
    settings = make_settings(mini["src"], f"ndjson:{mini['out'] / 'nd'}", mini["out"],
                             mappings=mini["pack"], **extra)
    return run_pipeline(settings)


def quarantine(mini: dict[str, Path]) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in (mini["out"] / "quarantine.ndjson").read_bytes().splitlines()]


def test_every_row_ends_emitted_filtered_or_quarantined(mini: dict[str, Path]) -> None:
    report = run(mini, max_quarantine_rate=1.0)
    stats = {t.table: t.as_dict() for t in report.tables}
    assert stats["people"] == {
        "table": "people", "mapping": "mini.patient", "source": str(mini["src"] / "people.csv"),
        "read": 4, "emitted": 1, "unchanged": 0, "filtered": 0, "quarantined": 3,
        "filtered_by_rule": {},
        "quarantined_by_cause": {"bad-date": 1, "unmapped-code": 1, "unparseable-row": 1},
        "balanced": True, "complete": True,
        "lines": {"total": 5, "header": 1, "records": 3, "blank": 0, "in_quarantined": 1}}
    assert stats["vitals"]["read"] == 4
    assert stats["vitals"]["emitted"] == 1
    assert stats["vitals"]["filtered_by_rule"] == {"soft-deleted": 1}
    assert stats["vitals"]["quarantined_by_cause"] == {"invalid-resource": 1, "not-a-number": 1}
    assert dict(report.resources) == {"Patient": 1, "Observation": 1}


def test_quarantine_names_table_row_key_column_and_problem(mini: dict[str, Path]) -> None:
    run(mini, max_quarantine_rate=1.0)
    records = {(q["table"], str(q["rows"][0])): q for q in quarantine(mini)}
    bad_date = records[("people", "{'pid': '2'}")]
    assert bad_date["reasons"] == [{
        "code": "bad-date", "message": NOT_A_DATE, "column": "dob",
        "value": "1970-13-40", "rule": f"{mini['pack'] / 'patient.yaml'}:11"}]
    unknown = records[("people", "{'pid': '3'}")]["reasons"][0]
    assert (unknown["code"], unknown["column"], unknown["value"]) == ("unmapped-code", "sex", "X")
    assert unknown["message"] == "code not in inline values"
    ragged = records[("people", "{'line': 5}")]["reasons"][0]
    assert ragged["code"] == "unparseable-row"
    assert ragged["message"] == f"{mini['src'] / 'people.csv'}: line 5: expected 4 fields, found 5"
    nan = records[("vitals", "{'vid': '11'}")]["reasons"][0]
    assert (nan["code"], nan["column"], nan["value"]) == ("not-a-number", "kg", "12O")
    invalid = records[("vitals", "{'vid': '12'}")]["reasons"][0]
    assert invalid["code"] == "invalid-resource"
    assert invalid["message"].startswith("Observation.status: 'done' is not in the required "
                                         "value set")
    assert invalid["rule"] == f"{mini['pack'] / 'vitals.yaml'}:10"  # the line of `status:`


def test_threshold_turns_quarantine_into_a_data_error(mini: dict[str, Path]) -> None:
    assert run(mini, max_quarantine_rate=1.0).status == "ok"
    assert run(mini, max_quarantine_rate=0.1).status == "data-errors"


def test_a_missing_column_stops_before_any_data_is_read(mini: dict[str, Path]) -> None:
    (mini["src"] / "people.csv").write_text("pid,last,sex\n1,Smith,F\n", encoding="utf-8")
    with pytest.raises(ExtractError) as err:
        run(mini)
    assert str(err.value) == (
        "the source does not fit the mapping pack (1 problem(s)):\n"
        f"  {mini['pack'] / 'patient.yaml'}:11: column 'dob' is not in "
        f"{mini['src'] / 'people.csv'} (it has: last, pid, sex)")
    assert not (mini["out"] / "nd").exists()


def test_a_missing_file_is_named(mini: dict[str, Path]) -> None:
    (mini["src"] / "vitals.csv").unlink()
    with pytest.raises(ExtractError, match=r"table 'vitals': file '.*vitals.csv' not found"):
        run(mini)


def test_wrong_encoding_is_reported_with_the_file(mini: dict[str, Path]) -> None:
    (mini["src"] / "people.csv").write_bytes("pid,last,sex,dob\n1,Mü\xefller,F,1970-01-02\n"
                                             .encode("latin-1"))
    report = run(mini, max_quarantine_rate=1.0)  # the row is quarantined, not the run
    assert (report.tables[0].read, report.tables[0].quarantined["unparseable-row"]) == (1, 1)
    message = quarantine(mini)[0]["reasons"][0]["message"]
    assert message == (f"{mini['src'] / 'people.csv'}: line 2: not valid utf-8 at byte 20 "
                       "(in column 2 'last'); set the source encoding, e.g. cp1252")
    settings = make_settings({"type": "csv", "path": str(mini["src"]), "encoding": "latin-1"},
                             f"ndjson:{mini['out'] / 'nd'}", mini["out"], mappings=mini["pack"],
                             max_quarantine_rate=1.0)
    report = run_pipeline(settings)
    assert report.tables[0].emitted == 1


def test_run_json_names_the_pack_its_version_and_source(mini: dict[str, Path]) -> None:
    run(mini)
    got = orjson.loads((mini["out"] / "run.json").read_bytes())
    assert (got["pack"], got["pack_version"], got["pack_source"]) == (
        "pack", "unversioned", f"folder {mini['pack']}")
    (mini["pack"] / "pack.yaml").write_text("name: mini\nversion: 0.3.0\n", encoding="utf-8")
    report = run(mini)
    got = orjson.loads((mini["out"] / "run.json").read_bytes())
    assert (got["pack"], got["pack_version"]) == ("mini", "0.3.0") == (report.pack,
                                                                      report.pack_version)
