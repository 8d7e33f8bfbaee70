"""`emr-migrate profile` as a new user reads it: ranges only for number and date columns, whole
numbers as whole numbers, thousands separators read, reference tables and flags shown, date
ranges for every date column (to the month)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.extractors.csv import CsvExtractor
from migrate.report.profile import profile_source, profile_table, render_profile

pytestmark = pytest.mark.filterwarnings(
    "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning")


def _write(folder: Path, name: str, header: str, rows: list[str]) -> None:
    (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _dose(i: int) -> str:
    return '"1,000"' if i % 3 == 0 else '"25,000.5"' if i == 4 else "0.05" if i == 5 else "40"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    _write(tmp_path, "dx", "row_id,subject_id,seq_num,icd_code,dose,charttime,dob,dob_masked",
           [f"{i},{i % 7},{1 + i % 8},{'4019' if i == 0 else 'I10' if i % 2 else 'E785'},"
            f"{_dose(i)},"
            f"2150-0{1 + i % 9}-02 10:00:00,{'' if i % 10 == 0 else f'21{10 + i}-03-04'},"
            f"{1 if i % 10 == 0 else 0}" for i in range(40)])
    _write(tmp_path, "d_diagnosis", "icd_code,long_title",
           ["I10,Essential hypertension", "E785,Hyperlipidemia", "4019,Hypertension NOS"])
    _write(tmp_path, "d_items", "ITEMID,LABEL,FLUID", ["1,Sodium,Blood", "2,Potassium,Blood"])
    _write(tmp_path, "staff", "staff_id,provider_name", ["1,Ann Lee", "2,Bo Chen"])
    return tmp_path


def _cols(source: Path, table: str, min_count: int = 5) -> dict[str, dict]:
    prof = profile_table(CsvExtractor(source), table)
    return {c.name: c.as_dict(min_count) for c in prof.columns}


def test_ranges_only_for_numbers_and_dates_whole_numbers_as_int(source: Path) -> None:
    cols = _cols(source, "dx")
    # one numeric-looking code in a text column: no number range
    assert (cols["icd_code"]["type"], cols["icd_code"]["min"]) == ("text", None)
    assert (cols["seq_num"]["min"], cols["seq_num"]["max"]) == (1, 8)
    assert all(type(cols["seq_num"][k]) is int for k in ("min", "max"))
    # "1,000" and "25,000.5" are numbers with thousands separators, within the range
    dose = cols["dose"]
    assert (dose["type"], dose["thousands"]) == ("decimal", ",")
    assert (dose["min"], dose["max"]) == (0.05, 25000.5)


def test_every_date_column_gets_a_month_range_and_flags_show_values(source: Path) -> None:
    cols = _cols(source, "dx")
    # named like a chart number and a birth date: still a range, no values; an end is cut to
    # the month when 5+ values share it, else to the year (2150-09: 4 rows; each dob: 1 row)
    assert (cols["charttime"]["min"], cols["charttime"]["max"]) == ("2150-01", "2150")
    assert (cols["dob"]["min"], cols["dob"]["max"]) == ("2111", "2149")
    assert cols["dob"]["nulls"] == 4
    assert cols["dob"]["values_withheld"]
    assert cols["dob"]["top_values"] == []
    # a 0/1 flag named after a birth date is not identifying: values seen 5+ times shown
    masked = cols["dob_masked"]
    assert not masked["values_withheld"]
    assert masked["top_values"] == [{"value": "0", "count": 36}]  # "1" is seen 4 times
    assert (cols["row_id"]["values_withheld"], cols["row_id"]["min"]) == (True, None)
    assert cols["subject_id"]["values_withheld"]


def test_reference_tables_are_shown_with_the_min_count_rule(source: Path) -> None:
    profiles = {p.table: p for p in profile_source({"type": "csv", "path": str(source)})}
    assert [t for t, p in profiles.items() if p.reference] == ["d_diagnosis", "d_items"]
    title = profiles["d_diagnosis"].column("long_title")
    assert title is not None
    assert not title.sensitive
    assert title.top(5) == []
    assert ("Essential hypertension", 1) in title.top(1)
    fluid = profiles["d_items"].column("FLUID")
    assert fluid is not None
    assert fluid.top(2) == [("Blood", 2)]
    # a table of people (a name column) or of events (a person link, a date) is not one
    assert not profiles["staff"].reference
    assert not profiles["dx"].reference
    name = profiles["staff"].column("provider_name")
    assert name is not None
    assert name.sensitive
    assert name.top(1) == []


def test_rendered_lines(source: Path) -> None:
    text = render_profile(profile_source({"type": "csv", "path": str(source)}), 5)
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "range" not in lines["icd_code"]
    assert " range 1 .. 8 " in lines["seq_num"]
    assert "range 0.05 .. 25000.5  (numbers with ',' thousands separators)" in lines["dose"]
    assert "range 2111 .. 2149" in lines["dob"]
    assert "withheld" not in lines["dob"]
    assert "withheld" in lines["row_id"]
    assert "range" not in lines["row_id"]
    assert "d_diagnosis: 3 rows  (reference table: no column links to a person)" in text
    assert lines["long_title"].endswith("(no value seen 5+ times)")
