"""migrate/scaffold/elements.py: which columns a starter template reads, told by names and
types: code columns and their descriptions (sibling columns or a dictionary's label), the
main code of a resource, the main dates, a person's name and dates."""

from __future__ import annotations

from migrate.scaffold.analyse import ForeignKey, TableInfo
from migrate.scaffold.columns import ColumnInfo
from migrate.scaffold.elements import Lookup, codes, main_code, person, start_date


def table(*columns: tuple[str, str], key: str = "id", exact: bool = True) -> TableInfo:
    """A table of ``(name, kind)`` columns, dates exact unless told."""
    return TableInfo("t", 10, 0, None, [ColumnInfo(name, kind, 0.0, 5, False, exact=exact)
                                        for name, kind in columns], key=[key])


def pairs(t: TableInfo, looked: list[Lookup] | None = None) -> dict[str, str | None]:
    return {c.column.name: c.text.name if c.text else (c.lookup.label if c.lookup else None)
            for c in codes(t, looked or [])}


def test_code_and_description_siblings_by_prefix() -> None:
    t = table(("id", "text"), ("CODE", "integer"), ("DESCRIPTION", "text"),
              ("REASONCODE", "integer"), ("REASONDESCRIPTION", "text"),
              ("BODYSITE_CODE", "text"), ("BODYSITE_DESCRIPTION", "text"),
              ("PROCEDURE_CODE", "text"), ("START", "datetime"), ("ZIPCODE", "text"),
              ("country_code", "code"))
    assert pairs(t) == {"CODE": "DESCRIPTION", "REASONCODE": "REASONDESCRIPTION",
                        "BODYSITE_CODE": "BODYSITE_DESCRIPTION", "PROCEDURE_CODE": None}
    assert main_code("Procedure", codes(t, [])).column.name == "CODE"  # type: ignore[union-attr]


def test_a_lone_code_takes_the_one_generic_label() -> None:
    assert pairs(table(("icd_code", "text"), ("long_title", "text"), key="icd_code")) == {}
    t = table(("id", "integer"), ("icd_code", "text"), ("long_title", "text"))
    assert pairs(t) == {"icd_code": "long_title"}
    assert pairs(table(("id", "integer"), ("itemid", "integer"), ("label", "text"))) == {
        "itemid": "label"}


def test_references_are_no_codes_but_a_dictionary_is() -> None:
    t = table(("id", "integer"), ("patient_code", "text"), ("itemid", "integer"))
    t.foreign_keys = [ForeignKey("t", "patient_code", "patients", "code"),
                      ForeignKey("t", "itemid", "d_items", "itemid")]
    lookup = Lookup("d_items", "itemid", "d_items", "itemid", "label")
    assert pairs(t, [lookup]) == {"itemid": "label"}  # the patient's reference is no code


def test_main_code_fits_the_resource() -> None:
    t = table(("id", "integer"), ("cvx_code", "text"), ("route_code", "text"))
    assert main_code("Immunization", codes(t, [])).column.name == "cvx_code"  # type: ignore
    assert main_code("Condition", codes(t, [])) is None  # two codes, neither fits: none
    assert main_code("Condition", codes(table(("id", "integer"), ("dx_cd", "text")), [])
                     ).column.name == "dx_cd"  # type: ignore[union-attr]


def test_start_date_by_name_then_any_date_not_another_one() -> None:
    t = table(("id", "integer"), ("updated_at", "datetime"), ("STOP", "datetime"),
              ("DATE", "datetime"), ("admittime", "datetime"))
    assert start_date(t).name == "admittime"  # type: ignore[union-attr]
    t = table(("id", "integer"), ("updated_at", "datetime"), ("STOP", "datetime"),
              ("DATE", "datetime"))
    assert start_date(t).name == "DATE"  # type: ignore[union-attr]
    assert start_date(table(("id", "integer"), ("START", "datetime"), exact=False)) is None


def test_person_columns() -> None:
    t = table(("Id", "text"), ("BIRTHDATE", "date"), ("DEATHDATE", "date"), ("FIRST", "text"),
              ("LAST", "text"), ("GENDER", "code"), ("MAIDEN", "text"))
    assert {role: c.name for role, c in person(t).items()} == {
        "birth": "BIRTHDATE", "death": "DEATHDATE", "family": "LAST", "given": "FIRST",
        "gender": "GENDER"}
    t = table(("id", "integer"), ("dob", "text"), ("fname", "text"), ("lname", "text"),
              ("mname", "text"))
    assert {role: c.name for role, c in person(t).items()} == {
        "family": "lname", "given": "fname", "middle": "mname"}  # dob: no date, not read
