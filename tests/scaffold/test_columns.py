"""migrate/scaffold/columns.py: the column types the scaffold recognises beyond the
profiler's, from a small CSV read by the real profiler."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from migrate.extractors.csv import CsvExtractor
from migrate.report.profile import profile_table
from migrate.scaffold.columns import ColumnInfo, describe_column

ROWS = 20


def columns_of(tmp_path: Path, **values: list[str]) -> dict[str, ColumnInfo]:
    names = list(values)
    with (tmp_path / "t.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows([values[n][i % len(values[n])] for n in names] for i in range(ROWS))
    prof = profile_table(CsvExtractor(tmp_path), "t")
    return {c.name: describe_column(c, prof.rows) for c in prof.columns}


@pytest.mark.parametrize(("tokens", "flag"), [
    (["0", "1"], ("1", "0")), (["Y", "N"], ("Y", "N")), (["t", "f"], ("t", "f")),
    (["True", "False"], ("True", "False")), (["yes"], ("yes", "no"))])
def test_flags_keep_the_case_the_column_writes(tmp_path: Path, tokens: list[str],
                                               flag: tuple[str, str]) -> None:
    col = columns_of(tmp_path, f=tokens)["f"]
    assert (col.kind, col.flag) == ("flag", flag)


def test_numbers_with_thousands_separators(tmp_path: Path) -> None:
    cols = columns_of(tmp_path, n=["25,000", "1,200.5", "7", "12"], plain=["1,2", "3,4"])
    assert cols["n"].kind == "number"
    assert cols["plain"].kind != "number"  # "1,2" is no group of three digits


def test_date_formats_beyond_the_profilers(tmp_path: Path) -> None:
    cols = columns_of(tmp_path, a=["2150-01-02 10:00", "2150-03-04 11:30"],
                      b=["02.01.1990", "31.12.1989"], c=["2020-01-02"],
                      d=["01/02/2020 10:00"])
    assert (cols["a"].kind, cols["a"].fmt) == ("datetime", None)  # ISO: read as is
    assert (cols["b"].kind, cols["b"].fmt) == ("date", "%d.%m.%Y")
    assert (cols["c"].kind, cols["c"].fmt) == ("date", "%Y-%m-%d")
    assert (cols["d"].kind, cols["d"].fmt) == ("datetime", "%m/%d/%Y %H:%M")
    assert cols["a"].notes == ["some years lie in the future: dates look shifted "
                               "(de-identified?)"]
    assert cols["b"].notes == []


def test_masked_years_are_a_note_without_the_year(tmp_path: Path) -> None:
    col = columns_of(tmp_path, dob=["1850-01-01", "1960-05-05"])["dob"]
    assert col.notes == ["some years are before 1900: masked or shifted dates?"]
    assert "1850" not in " ".join(col.notes)


def test_codes_are_low_cardinality_and_repeated(tmp_path: Path) -> None:
    cols = columns_of(tmp_path, code=["A", "B", "C"], text=[f"w{i}" for i in range(ROWS)])
    assert cols["code"].kind == "code"
    assert cols["text"].kind == "text"


def test_null_share(tmp_path: Path) -> None:
    col = columns_of(tmp_path, x=["", "", "", "1"])["x"]
    assert col.null_share == 0.75


def test_exact_dates_have_one_format_and_no_zero_year(tmp_path: Path) -> None:
    cols = columns_of(tmp_path, one=["2020-01-02", ""], mixed=["2020-01-02"] * 19 + ["x"],
                      two=["2020-01-02"] * 19 + ["01/02/2020"],
                      zero=["2020-01-02"] * 19 + ["0000-00-00"],
                      dotted=["02.01.1990", "31.12.1989"])
    assert {n: (c.kind, c.exact) for n, c in cols.items()} == {
        "one": ("date", True), "mixed": ("date", False), "two": ("date", False),
        "zero": ("date", False), "dotted": ("date", True)}


def test_unit_spellings_kept_only_when_short_and_frequent(tmp_path: Path) -> None:
    units = ["mg"] * 6 + ["taken with food"] * 6 + ["ml"] * 4 + ["mg"] * 4
    cols = columns_of(tmp_path, dose_unit=units, route=units)
    assert cols["dose_unit"].units == [("mg", 10)]  # no text with spaces, none seen < 5 times
    assert cols["route"].units == []  # not a unit column: no spellings kept


def test_flags_beyond_the_boolean_defaults(tmp_path: Path) -> None:
    cols = columns_of(tmp_path, a=["On", "Off"], b=["Y", "N"])
    assert (cols["a"].flag, cols["a"].default_flag) == (("On", "Off"), False)
    assert (cols["b"].flag, cols["b"].default_flag) == (("Y", "N"), True)
