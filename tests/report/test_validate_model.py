"""The dry run on a small pack (no source expectations, so no great-expectations): verdict,
thresholds, terminology gaps and their fill-in map, coverage, quarantine groups, redaction,
and the self-contained HTML page."""

from __future__ import annotations

import csv
import re
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.errors import Problem
from migrate.mappers.terminology import read_concept_map
from migrate.report.validate_model import Redactor, Thresholds
from migrate.validation.dryrun import ValidateOptions, validate_migration
from tests.conftest import make_settings

PATIENT_YAML = """\
mapping: mini.patient
source: people
key: [pid]
emit:
  - resource: Patient
    template:
      identifier: [{identifier: {system: urn:mini, value: $pid}}]
      name: [{family: $last}]
      gender: {translate: {map: sex, from: $sex, on_unmapped: {code: unknown}, as: code}}
      birthDate: {date: $dob}
"""
VITALS_YAML = """\
mapping: mini.vitals
source: vitals
key: [vid]
filter:
  - name: soft-deleted
    when: {equals: [$active, "0"]}
  - name: never-used
    when: {equals: [$active, "9"]}
emit:
  - resource: Observation
    template:
      status: final
      code: {coding: [{system: http://loinc.org, code: 29463-7}]}
      subject: {ref: {mapping: mini.patient, key: [$pid]}}
      valueQuantity: {quantity: {value: $kg, unit: kg}}
  - name: never
    resource: Observation
    key: [$vid, never]
    when: {equals: [$active, "7"]}
    template:
      status: final
      code: {text: never}
"""
SEX_MAP = "source_code,target_system,target_code,target_display\nM,,male,\nF,,female,\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def mini(tmp_path: Path) -> dict[str, Path]:
    pack = write(tmp_path / "pack", {"patient.yaml": PATIENT_YAML, "vitals.yaml": VITALS_YAML,
                                     "concept_maps/sex.csv": SEX_MAP})
    src = write(tmp_path / "src", {
        "people.csv": "pid,last,sex,dob,ssn\n1,Smith,F,1970-01-02,111\n2,Jones,Q,1970-13-40,"
                      "222\n3,Brown,Q,1980-05-06,\n4,Green,X,1990-01-01,444\n",
        "vitals.csv": "vid,pid,kg,active\n10,1,70.5,1\n11,9,71,1\n13,1,72,0\n",
        "billing.csv": "id,amount\n1,5\n",
    })
    return {"pack": pack, "src": src, "out": tmp_path / "out"}


def dry_run(mini: dict[str, Path], **kw: Any) -> Any:
    settings = make_settings(mini["src"], "ndjson:unused", mini["out"], mappings=mini["pack"])
    return validate_migration(settings, ValidateOptions(mini["out"] / "validate", **kw))


def test_nothing_is_loaded_and_every_figure_is_in_report_json(mini: dict[str, Path]) -> None:
    report = dry_run(mini)
    folder = mini["out"] / "validate"
    assert not (Path.cwd() / "unused").exists()
    data = orjson.loads((folder / "report.json").read_bytes())
    assert data["rows"] == {"read": 7, "emitted": 5, "filtered": 1, "quarantined": 1,
                            "quarantine_rate": round(1 / 7, 6)}
    assert data["resources"] == {"Observation": 2, "Patient": 3}
    assert data["expectations"]["results"] == []
    assert data["output"]["dangling_references"] == 1
    assert data["output"]["references"][0]["examples"][0].startswith("Patient/")
    assert report.run.target.startswith("null")
    assert sorted(p.name for p in folder.iterdir()) == [
        "quarantine.ndjson", "report.html", "report.json", "run.json", "terminology_gaps.csv"]
    # no fill-in concept maps without --show-values: they would carry the unmapped values


def test_verdict_lists_every_failed_threshold(mini: dict[str, Path]) -> None:
    report = dry_run(mini)
    assert report.verdict == "NO-GO"
    assert report.reasons() == [
        "1 of 7 rows quarantined (14.29%; allowed 1.00%): bad-date in mini.patient",
        "2 code use(s) fell to an unmapped-code policy, 2 distinct (28.57% of rows; allowed "
        "1.00%): mini.patient sex",
        "1 reference(s) point to resources not in the output (allowed 0): "
        "Observation.subject (1)",
        "table 'people' (mapping mini.patient): 1 of 4 rows quarantined (25.00%; the table "
        "may have 1.00%)"]
    loose = dry_run(mini, thresholds=Thresholds(0.5, 0.5, 1, True))
    assert (loose.verdict, loose.reasons()) == ("GO", [])


def test_terminology_gaps_are_masked_without_show_values(mini: dict[str, Path]) -> None:
    dry_run(mini)
    folder = mini["out"] / "validate"
    with (folder / "terminology_gaps.csv").open(newline="") as fh:
        codes = [r["source_code"] for r in csv.DictReader(fh)]
    assert len(codes) == 2
    assert all(re.fullmatch(r"#[0-9a-f]{10} \(1 chars, shape A\)", c) for c in codes)
    data = orjson.loads((folder / "report.json").read_bytes())
    assert sorted(g["code"] for g in data["terminology_gaps"]) == sorted(codes)
    run = orjson.loads((folder / "run.json").read_bytes())
    assert sorted(u["code"] for u in run["unmapped_codes"]) == sorted(codes)


def test_terminology_gaps_and_a_fill_in_map_that_reads_back(mini: dict[str, Path]) -> None:
    report = dry_run(mini, show_values=True)
    assert [(g.code, g.count, g.concept_map, g.column, sorted(g.policies))
            for g in report.gaps] == [("Q", 1, "sex", "sex", ["fixed-code"]),
                                      ("X", 1, "sex", "sex", ["fixed-code"])]
    folder = mini["out"] / "validate"
    with (folder / "terminology_gaps.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:7] == ["source_code", "target_system", "target_code",
                                 "target_display", "mapping", "column", "count"]
    assert rows[0]["source_code"] == "Q"
    assert rows[0]["count"] == "1"
    fill = folder / "terminology_gaps" / "sex.csv"
    lines = fill.read_text().splitlines()
    assert lines[0] == "source_code,target_system,target_code,target_display,comment"
    assert lines[3] == "Q,,,,TO MAP: 1 row(s); mini.patient column sex"
    filled = fill.read_text().replace("Q,,,,", "Q,,unknown,,").replace("X,,,,", "X,,other,,")
    fill.write_text(filled)
    problems: list[Problem] = []
    cmap = read_concept_map(fill, problems)
    assert problems == []
    assert cmap is not None
    assert cmap.get("Q") is not None
    assert cmap.get("M") is not None


def test_coverage_unused_columns_tables_and_rules(mini: dict[str, Path]) -> None:
    report = dry_run(mini)
    assert report.unused_columns == [
        {"table": "people", "column": "ssn", "non_null": 3, "rows": 4}]
    assert report.unused_tables == [{"table": "billing", "rows": 1, "columns": 2}]
    assert [(r["kind"], r["name"]) for r in report.rules_never_fired] == [
        ("emit", "never"), ("filter", "never-used")]


def test_quarantine_grouped_by_cause_with_hashed_keys(mini: dict[str, Path]) -> None:
    report = dry_run(mini)
    data = report.as_dict()
    [group] = data["quarantine"]
    assert {k: group[k] for k in ("code", "mapping", "column", "rows", "values")} == {
        "code": "bad-date", "mapping": "mini.patient", "column": "dob", "rows": 1,
        "values": None}
    assert re.fullmatch(r"#[0-9a-f]{10}", group["examples"][0])
    shown = dry_run(mini, show_values=True).as_dict()["quarantine"][0]
    assert (shown["examples"], shown["values"]) == ([{"pid": "2"}], ["1970-13-40"])


def test_html_is_self_contained_and_hides_values(mini: dict[str, Path]) -> None:
    dry_run(mini)
    html = (mini["out"] / "validate" / "report.html").read_text()
    assert 'data-verdict="NO-GO"' in html
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert not re.search(r"(src|href)=\"?https?:", html)
    assert "url(" not in html
    assert "@media print" in html
    assert "<svg" in html
    assert "1970-13-40" not in html
    assert "Jones" not in html
    assert 'data-figure="rows-read">7<' in html


def test_redactor_hashes_with_the_project_key() -> None:
    a, b = Redactor(b"k1"), Redactor(b"k2")
    assert a.key({"Id": "123"}) == a.key({"Id": "123"}) != b.key({"Id": "123"})
    assert Redactor(b"k", show_values=True).key({"Id": "123"}) == {"Id": "123"}
    assert a.code("John Smith") == a.code("John Smith") != b.code("John Smith")
    assert a.code("John Smith").endswith(" (10 chars, shape Aaaa Aaaaa)")
    assert "Smith" not in a.code("Smith")
    assert "8480" not in a.code("8480-6")
    assert Redactor(b"k", show_values=True).code("John Smith") == "John Smith"
    assert a.values(["x"]) is None
