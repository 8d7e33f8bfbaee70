"""`emr-migrate profile`: column profiles with the minimum cell count, and starter suites that
read back and pass on the data they came from."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.extractors.csv import CsvExtractor
from migrate.report.profile import profile_source, profile_table
from migrate.validation.expectations import read_suite
from migrate.validation.starter import render_suite
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings(
    "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning")

ROWS = ["id,kind,dob,when,weight,note"]
ROWS += [f"{i},{'a' if i % 2 else 'b'},19{50 + i}-01-0{1 + i % 9},2020-01-01T10:00:00Z,"
         f"{60 + i}.5,{'' if i % 3 else 'n' + str(i)}" for i in range(12)]
ROWS += ["12,rare,1999-12-31,,7,"]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "people.csv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    (tmp_path / "visits.csv").write_text("vid,people_id\n1,3\n2,4\n", encoding="utf-8")
    return tmp_path


def test_column_profiles(source: Path) -> None:
    prof = profile_table(CsvExtractor(source), "people")
    cols = {c.name: c.as_dict(5) for c in prof.columns}
    assert prof.rows == 13
    assert cols["id"] | {"top_values": []} == {
        "name": "id", "type": "integer", "format": None, "nulls": 0, "null_share": 0.0,
        "distinct": 13, "distinct_is_floor": False, "top_values": [], "min": None, "max": None,
        "values_withheld": True, "thousands": None}  # an identifier: never shown by value
    assert cols["kind"]["top_values"] == [{"value": "a", "count": 6}, {"value": "b", "count": 6}]
    assert (cols["dob"]["type"], cols["dob"]["format"]) == ("date", "%Y-%m-%d")
    # birth dates: no values, a range like any date, its end to the year (one person's month)
    assert (cols["dob"]["min"], cols["dob"]["values_withheld"]) == ("1950", True)
    assert (cols["when"]["min"], cols["when"]["max"]) == ("2020-01", "2020-01")  # to the month
    assert (cols["when"]["type"], cols["when"]["nulls"]) == ("datetime", 1)
    assert cols["when"]["format"] == "%Y-%m-%dT%H:%M:%SZ"
    assert (cols["weight"]["type"], cols["weight"]["max"]) == ("decimal", 71.5)
    assert (cols["note"]["type"], cols["note"]["null_share"]) == ("text", round(9 / 13, 4))


def test_rare_values_are_never_listed(source: Path) -> None:
    prof = profile_table(CsvExtractor(source), "people")
    kind = prof.column("kind")
    assert kind is not None
    assert [v for v, _ in kind.top(5)] == ["a", "b"]
    assert [v for v, _ in kind.top(1)] == ["a", "b", "rare"]


def test_starter_suite_guesses_keys_foreign_keys_dates(source: Path) -> None:
    profiles = profile_source({"type": "csv", "path": str(source)})
    text = render_suite(profiles, 5, str(source))
    assert "  people:\n    # weight: numbers from 7.0 to 71.5" in text
    assert "      - {not_null: id, severity: critical}\n" in text
    assert "      - {unique: id, severity: critical}\n" in text
    assert "      - {date: dob, format: '%Y-%m-%d', min: '1900-01-01', max: today}\n" in text
    assert "      - {foreign_key: people_id, references: people.id}\n" in text
    assert "in_set: kind" not in text  # 'rare' was seen once: no value set is written


def test_cli_profile_json_and_write_suite(source: Path, tmp_path: Path) -> None:
    suite = tmp_path / "out" / "suite.yaml"
    result = CliRunner().invoke(cli, ["profile", "--source", str(source), "--format", "json",
                                      "--table", "people", "--write-suite", str(suite)])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.output)
    assert [t["table"] for t in data] == ["people"]
    assert read_suite(suite).tables["people"].expect[0].not_null == "id"


def test_starter_suite_of_the_sample_passes_on_the_sample(tmp_path: Path) -> None:
    from migrate.validation.frames import scan_table
    from migrate.validation.gx import run_expectations

    src = REPO / "sample_data" / "synthea"
    tables = ["organizations", "providers", "patients", "encounters", "allergies"]
    profiles = profile_source({"type": "csv", "path": str(src)}, tables)
    path = tmp_path / "starter.yaml"
    path.write_text(render_suite(profiles, 5, "sample"), encoding="utf-8")
    suite = read_suite(path)
    ext = CsvExtractor(src)
    scans = {p.table: scan_table(ext, p.table, [c.name for c in p.columns], frozenset({""}))
             for p in profiles}
    results = run_expectations(suite, scans, {}, {})
    assert len(results) > 60
    assert [r.check for r in results if not r.success] == []
    fks = {r.check for r in results if r.kind == "foreign_key"}
    assert "PATIENT exists in patients.Id" in fks


def test_a_date_shifted_export_gets_no_max_today_and_its_suite_passes(tmp_path: Path) -> None:
    """Dates after today (a date-shifted export): the starter suite writes the end of the year
    of the latest date, never `max: today` (its suite failed 100%), and passes on its data."""
    from migrate.validation.frames import scan_table
    from migrate.validation.gx import run_expectations

    rows = ["id,dob,seen,old"] + [f"{i},2090-0{1 + i % 9}-1{i % 9},2091-12-{21 + i % 9}T10:00:00,"
                                  f"1890-05-0{1 + i % 9}" for i in range(12)]
    (tmp_path / "shifted.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    profiles = profile_source({"type": "csv", "path": str(tmp_path)})
    text = render_suite(profiles, 5, "shifted")
    assert "{date: dob, format: '%Y-%m-%d', min: '1900-01-01', max: '2090-12-31'}" in text
    assert "{date: seen, format: '%Y-%m-%dT%H:%M:%S', min: '1900-01-01', max: '2092-01-01'}" \
        in text
    assert "{date: old, format: '%Y-%m-%d', min: '1890-01-01', max: today}" in text
    assert "2090-09-18" not in text  # the year's end, not the latest row's own date
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    scans = {p.table: scan_table(CsvExtractor(tmp_path), p.table, [c.name for c in p.columns],
                                 frozenset({""})) for p in profiles}
    results = run_expectations(read_suite(path), scans, {}, {})
    assert len([r for r in results if r.kind == "date"]) == 6  # format and range, 3 columns
    assert [r.check for r in results if not r.success] == []
