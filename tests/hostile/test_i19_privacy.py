"""Issue 19 privacy review: `emr-migrate profile` and `scaffold` on exports built so that the
exceptions to the PHI rule (flags, short codes, reference tables, month ranges of every date
column, unit spellings) would print a value that identifies a person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from migrate.extractors.csv import CsvExtractor
from migrate.report.profile import TableProfile, profile_table, render_profile
from migrate.scaffold import scaffold

pytestmark = pytest.mark.filterwarnings(
    "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning")


def _table(folder: Path, name: str, header: str, rows: list[str]) -> TableProfile:
    (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return profile_table(CsvExtractor(folder), name)


def _shown(prof: TableProfile, min_count: int = 5) -> str:
    return render_profile([prof], min_count)


def test_birth_date_range_ends_of_one_person_are_cut_to_the_year(tmp_path: Path) -> None:
    # the oldest and youngest patients' birth months were printed (1951-07 .. 2019-11): the
    # month of one person's birth is PHI; a month 5+ rows share is not one person's
    rows = [f"{i},1951-07-02" if i == 0 else f"{i},2019-11-30" if i == 1
            else f"{i},1980-05-0{i % 9 + 1}" for i in range(12)]
    prof = _table(tmp_path, "people", "pid,dob", rows)
    dob = prof.column("dob")
    assert dob is not None
    assert dob.bounds(5) == ("1951", "2019")
    assert "1951-07" not in _shown(prof)
    assert "2019-11" not in _shown(prof)
    visits = _table(tmp_path, "visits", "vid,seen", [f"{i},2020-0{1 + i % 2}-1{i % 9}"
                                                     for i in range(12)])
    seen = visits.column("seen")
    assert seen is not None
    assert seen.bounds(5) == ("2020-01", "2020-02")  # 6 rows in each end month


@pytest.mark.parametrize("column", ["note", "acct_no", "city", "tel", "policy_number"])
def test_a_dateless_table_does_not_show_person_columns_as_a_reference_table(
        tmp_path: Path, column: str) -> None:
    # no date, no column named for a person in PERSON_NAME: it was a "reference table" and
    # its notes, account numbers, cities and phone numbers were listed by value
    prof = _table(tmp_path, "t", f"k,{column}", [f"{i},Val{i % 2}" for i in range(20)])
    assert not prof.reference
    col = prof.column(column)
    assert col is not None
    assert col.sensitive
    assert col.top(1) == []
    assert "Val0" not in _shown(prof)


@pytest.mark.parametrize("value", ["555-010{}", "(617) 555-010{}", "a{}@mail.org",
                                   "123-45-678{}", "02110-123{}"])
def test_contact_shaped_values_are_withheld_whatever_the_column_name(
        tmp_path: Path, value: str) -> None:
    # a phone, email, SSN or ZIP+4 column named oddly (`tl`) with <= 20 distinct values was
    # shown as a short code or in a reference table
    prof = _table(tmp_path, "t", "k,tl", [f"{i},{value.format(i % 3)}" for i in range(10)])
    col = prof.column("tl")
    assert col is not None
    assert col.sensitive
    assert value.format(0) not in _shown(prof, 1)


def test_reference_tables_still_show_dictionary_labels(tmp_path: Path) -> None:
    # what the exception is for: a lab dictionary's labels and categories (min-count applies)
    serum = '"Creatinine, serum"'
    prof = _table(tmp_path, "d_labitems", "itemid,label,category,long_title",
                  [f"{50900 + i},{'Creatinine' if i < 6 else f'Lab{i}'},Chemistry,"
                   f"{serum if i < 6 else f'Lab {i}'}" for i in range(12)])
    assert prof.reference
    text = _shown(prof)
    assert "Creatinine (6)" in text
    assert "Chemistry (12)" in text
    assert "Creatinine, serum (6)" in text


@pytest.mark.parametrize("text", ["call_J.Smith", "Dr.Jones", "5550100", "555-0100", "a@b.org"])
def test_scaffold_writes_no_free_text_of_a_unit_column(tmp_path: Path, text: str) -> None:
    # a unit column holding free text 10 times (a name, a phone number): the scaffold wrote
    # it in pack.yaml's units: note as a spelling to map
    src = tmp_path / "src"
    src.mkdir()
    (src / "labs.csv").write_text("row_id,valuenum,valueuom\n" + "".join(
        f"{i},{i},{'mg' if i < 20 else text}\n" for i in range(30)), encoding="utf-8")
    scaffold({"type": "csv", "path": str(src)}, tmp_path / "p")
    written = "\n".join(p.read_text("utf-8") for p in (tmp_path / "p").iterdir())
    assert "valueuom: 2 distinct spelling(s)" in written  # the unit note is there
    assert text not in written


def test_a_dateless_table_of_people_is_no_reference_table(tmp_path: Path) -> None:
    # a clients table without dates whose name column no PERSON_NAME pattern knows
    # (client_name) passed for a reference table: the surnames, seen 6 times each (families),
    # were listed; a table not named as a dictionary is not taken for one
    prof = _table(tmp_path, "clients", "code,client_name,nm",
                  [f"C{i},{'Okuneva' if i < 6 else f'Name{i}'},x" for i in range(12)])
    assert not prof.reference
    assert "Okuneva" not in _shown(prof)
    lookup = _table(tmp_path, "lu_route", "code,route_name", [f"R{i},Oral" for i in range(6)])
    assert lookup.reference
    assert "Oral (6)" in _shown(lookup)


def test_repeated_free_text_naming_someone_is_withheld(tmp_path: Path) -> None:
    # a notes table without dates, its text in a column named `body` (no note/text word):
    # the same sentence, naming the patient, 6 times was a top value
    prof = _table(tmp_path, "msgs", "n,body,kind",
                  [f"{i},Pt Ann Smith called re pain,Discharge summary" for i in range(6)])
    body = prof.column("body")
    assert body is not None
    assert body.sensitive
    text = _shown(prof)
    assert "Ann Smith" not in text
    assert "Discharge summary (6)" in text  # a category of two words stays shown


def test_a_zip_code_column_named_oddly_is_withheld(tmp_path: Path) -> None:
    # 5-digit ZIP codes (a geographic subdivision smaller than a state) in a column named `zp`,
    # 3 distinct values: shown as top values and a number range
    prof = _table(tmp_path, "t", "k,zp", [f"{i},0211{i % 3}" for i in range(30)])
    zp = prof.column("zp")
    assert zp is not None
    assert zp.sensitive
    assert "0211" not in _shown(prof)
    assert "2110" not in _shown(prof)


def test_a_birth_year_telling_an_age_over_89_is_not_shown(tmp_path: Path) -> None:
    # HIPAA: ages over 89 and the years of birth that tell them are identifiers
    old = date.today().year - 95
    prof = _table(tmp_path, "people", "pid,dob", [f"{i},{old if i == 0 else 1980}-05-0{i % 9 + 1}"
                                                  for i in range(12)])
    dob = prof.column("dob")
    assert dob is not None
    assert dob.bounds(5) == (f"before {date.today().year - 89}", "1980-05")
    assert str(old) not in _shown(prof)
