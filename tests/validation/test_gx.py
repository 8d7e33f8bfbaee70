"""Source expectations: the YAML format, and running it with great-expectations on a small
CSV source with known defects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from migrate.errors import ConfigError
from migrate.extractors.csv import CsvExtractor
from migrate.mappers.terminology import ConceptMap, Target
from migrate.validation.expectations import read_suite
from migrate.validation.frames import ROW, scan_table
from migrate.validation.gx import ExpectationResult, run_expectations

# GX 1.x imports the deprecated sre_constants / sre_parse modules. pyproject ignores
# deprecations raised from great_expectations; this keeps the module green under `-W error`.
pytestmark = pytest.mark.filterwarnings(
    "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning")

SUITE = """\
version: 1
tables:
  people:
    expect:
      - {not_null: pid, severity: critical}
      - {unique: pid, severity: critical}
      - {date: dob, format: "%Y-%m-%d", min: 1900-01-01, max: today, severity: critical}
      - {in_set: sex, concept_map: sex}
      - {regex: zip, pattern: '^\\d{5}(-\\d{4})?$', mostly: 0.5}  # groups: pandas warns
      - {unique: [last, dob]}
  vitals:
    key: [vid]
    expect:
      - {foreign_key: pid, references: people.pid, severity: critical}
      - {between: kg, where: {code: 29463-7}, min: 0.5, max: 400, name: weight}
      - {not_null: nothere}
"""
PEOPLE = ("pid,last,sex,dob,zip\n1,Smith,F,1970-01-02,01970\n2,Jones,M,1970-13-40,1234\n"
          "2,Brown,X,1850-05-06,02139\n4,Green,M,,02139\n,Grey,F,1990-01-01,\n")
VITALS = ("vid,pid,code,kg\n10,1,29463-7,70.5\n11,1,29463-7,12O\n12,9,29463-7,71\n"
          "13,4,8302-2,180\n14,1,29463-7,900\n")


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExpectationResult]:
    root = tmp_path_factory.mktemp("gx")
    src = write(root / "src", {"people.csv": PEOPLE, "vitals.csv": VITALS})
    suite = read_suite(write(root / "exp", {"suite.yaml": SUITE}) / "suite.yaml")
    ext = CsvExtractor(src)
    scans = {
        "people": scan_table(ext, "people", ["pid", "last", "sex", "dob", "zip"],
                             frozenset({""})),
        "vitals": scan_table(ext, "vitals", ["vid", "pid", "code", "kg"], frozenset({""})),
    }
    maps = {"sex": ConceptMap("sex", root, {"F": Target(None, "female", None),
                                             "M": Target(None, "male", None)})}
    out = run_expectations(suite, scans, {"people": ["pid"], "vitals": ["vid"]}, maps)
    return {r.check: r for r in out}


def test_every_expectation_gives_a_result(results: dict[str, ExpectationResult]) -> None:
    assert list(results) == [
        "pid is not empty", "pid is unique", "dob is a date %Y-%m-%d",
        "dob between 1900-01-01 and today", "sex in sex", "zip matches ^\\d{5}(-\\d{4})?$",
        "last + dob is unique", "pid exists in people.pid", "weight", "nothere is not empty"]


def test_keys_not_null_and_unique(results: dict[str, ExpectationResult]) -> None:
    nn, uq = results["pid is not empty"], results["pid is unique"]
    assert (nn.success, nn.element_count, nn.unexpected_count) == (False, 5, 1)
    assert nn.examples == [{"pid": None}]
    assert (uq.success, uq.unexpected_count) == (False, 2)
    assert uq.examples == [{"pid": "2"}, {"pid": "2"}]
    assert uq.engine == "great-expectations"
    assert uq.expectation == "ExpectColumnValuesToBeUnique"


def test_dates_parseable_then_plausible(results: dict[str, ExpectationResult]) -> None:
    fmt, rng = results["dob is a date %Y-%m-%d"], results["dob between 1900-01-01 and today"]
    assert (fmt.success, fmt.element_count, fmt.unexpected_count) == (False, 4, 1)
    assert fmt.values == ["1970-13-40"]
    assert (rng.success, rng.element_count, rng.unexpected_count) == (False, 3, 1)
    assert rng.values == ["1850-05-06"]
    assert rng.severity == "critical"


def test_codes_in_a_concept_map_and_patterns_with_mostly(
        results: dict[str, ExpectationResult]) -> None:
    sex, zipc = results["sex in sex"], results["zip matches ^\\d{5}(-\\d{4})?$"]
    assert (sex.success, sex.unexpected_count, sex.values) == (False, 1, ["X"])
    assert sex.examples == [{"pid": "2"}]
    assert (zipc.success, zipc.element_count, zipc.unexpected_count) == (True, 4, 1)
    assert results["last + dob is unique"].success


def test_foreign_keys_are_checked_on_pandas(results: dict[str, ExpectationResult]) -> None:
    fk = results["pid exists in people.pid"]
    assert (fk.success, fk.element_count, fk.unexpected_count) == (False, 5, 1)
    assert fk.examples == [{"vid": "12"}]
    assert fk.values == ["9"]
    assert fk.engine == "emr-migrate"


def test_ranges_only_on_the_where_rows_and_text_fails(
        results: dict[str, ExpectationResult]) -> None:
    weight = results["weight"]
    # four weight rows: 70.5 ok, "12O" (not a number) and 900 fail; the height row is skipped
    assert (weight.success, weight.element_count, weight.unexpected_count) == (False, 4, 2)
    assert sorted(weight.values) == ["12O", "900"]
    assert {e["vid"] for e in weight.examples} == {"11", "14"}


def test_a_missing_column_is_a_failed_result(results: dict[str, ExpectationResult]) -> None:
    r = results["nothere is not empty"]
    assert not r.success
    assert r.error == "column(s) nothere not in the table"


def test_scan_counts_values_and_numbers_rows(tmp_path: Path) -> None:
    src = write(tmp_path, {"people.csv": PEOPLE})
    scan = scan_table(CsvExtractor(src), "people", ["pid"], frozenset({""}))
    assert (scan.rows, scan.columns) == (5, ["pid", "last", "sex", "dob", "zip"])
    assert scan.non_null == {"pid": 4, "last": 5, "sex": 5, "dob": 4, "zip": 4}
    assert scan.frame is not None
    assert scan.frame[ROW].tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("text", "message"), [
    ("tables: {t: {expect: [{not_null: a, unique: b}]}}", "give exactly one of"),
    ("tables: {t: {expect: [{regex: a}]}}", "regex needs pattern"),
    ("tables: {t: {expect: [{not_null: a, pattern: x}]}}", "not_null does not take pattern"),
    ("tables: {t: {expect: [{foreign_key: a, references: patients}]}}", "table.column"),
    ("tables: {t: {expect: [{in_set: a}]}}", "either 'values' or 'concept_map'"),
    ("tables: {t: {expect: [{not_null: a, severity: fatal}]}}", "'critical' or 'warning'"),
    ("tables: {t: {exepct: []}}", "tables.t.exepct: unknown key"),
])
def test_suite_problems_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, {"s.yaml": "version: 1\n" + text + "\n"}) / "s.yaml"
    with pytest.raises(ConfigError) as err:
        read_suite(path)
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_a_folder_of_suites_is_merged_and_tables_must_not_repeat(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": "tables: {t: {expect: [{not_null: a}]}}\n",
                     "b.yaml": "tables: {u: {expect: [{not_null: b}]}}\n"})
    assert list(read_suite(tmp_path).tables) == ["t", "u"]
    write(tmp_path, {"c.yaml": "tables:\n  t: {expect: []}\n"})
    with pytest.raises(ConfigError, match=r"c\.yaml:2: t: table also declared in .*a\.yaml"):
        read_suite(tmp_path)
    assert read_suite(tmp_path / "absent").tables == {}


def test_the_synthea_suite_checks() -> None:
    suite = read_suite(Path(__file__).resolve().parents[2] / "mappings/synthea/expectations")
    assert len(suite.tables) == 14
    assert sum(len(t.expect) for t in suite.tables.values()) == 75
