"""Condition operators: each one's truth table, and the problems of badly written conditions.

A condition is exercised through ``choose``: the value is "hit" when it holds, else "miss".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.mappers.conditions import OPERATORS
from migrate.outcomes import Unit

MAPPING = """\
mapping: m
source: t
key: [ID]
emit:
  - resource: Observation
    template:
      valueString:
        choose:
          - {{when: {cond}, value: hit}}
          - {{value: miss}}
"""
COND_LINE = 9

CODES = """\
source_code,target_system,target_code,target_display
M,http://hl7.org/fhir/administrative-gender,male,Male
F,http://hl7.org/fhir/administrative-gender,female,Female
"""

OPERATOR_LIST = ", ".join(OPERATORS)


@pytest.fixture
def check(run_one: Callable[..., list[Unit]]) -> Callable[..., list[str]]:
    """``check(cond, *rows)``: "hit" or "miss" for each row."""

    def do(cond: str, *rows: dict[str, Any]) -> list[str]:
        keyed = [{"ID": str(i), **r} for i, r in enumerate(rows, start=1)]
        units = run_one(MAPPING.format(cond=cond), keyed, {"sex": CODES})
        assert all(u.outcome == "emitted" for u in units)
        return [u.resources[0]["valueString"] for u in units]

    return do


def test_operators_are_the_documented_closed_set():
    assert OPERATORS == ("present", "absent", "equals", "not_equals", "in", "not_in", "matches",
                         "in_map", "lt", "le", "gt", "ge", "all", "any", "not")


def test_present(check):
    assert check("{present: $A}", {"A": "x"}, {"A": ""}, {"A": "  "}, {}, {"A": 0}) == [
        "hit", "miss", "miss", "miss", "hit"]


def test_present_with_a_list_needs_every_value(check):
    assert check("{present: [$A, $B]}", {"A": "x", "B": "y"}, {"A": "x", "B": ""},
                 {"A": "", "B": "y"}) == ["hit", "miss", "miss"]


def test_present_of_a_transform(check):
    assert check("{present: {clean: {value: $A, strip_digits: true}}}", {"A": "a1"},
                 {"A": "123"}) == ["hit", "miss"]


def test_absent(check):
    assert check("{absent: $A}", {"A": "x"}, {"A": ""}, {}) == ["miss", "hit", "hit"]


def test_absent_with_a_list_holds_when_any_value_is_missing(check):
    assert check("{absent: [$A, $B]}", {"A": "x", "B": "y"}, {"A": "x", "B": ""}) == [
        "miss", "hit"]


def test_equals_compares_as_text(check):
    assert check("{equals: [$A, 5]}", {"A": "5"}, {"A": 5}, {"A": "5.0"}, {"A": ""}) == [
        "hit", "hit", "miss", "miss"]


def test_equals_two_columns(check):
    assert check("{equals: [$A, $B]}", {"A": "x", "B": "x"}, {"A": "x", "B": "y"},
                 {"A": "x", "B": ""}) == ["hit", "miss", "miss"]


def test_equals_is_case_sensitive(check):
    assert check("{equals: [$A, final]}", {"A": "final"}, {"A": "Final"}) == ["hit", "miss"]


def test_equals_the_text_the_author_wrote(check):
    # yamlio keeps YAML 1.1 sexagesimals (10:30) and dates as the text the author wrote.
    assert check("{equals: [$A, 10:30]}", {"A": "10:30"}, {"A": "630"}) == ["hit", "miss"]
    assert check("{equals: [$A, 2021-01-01]}", {"A": "2021-01-01"}) == ["hit"]


def test_not_equals(check):
    assert check("{not_equals: [$A, x]}", {"A": "x"}, {"A": "y"}, {"A": ""}) == [
        "miss", "hit", "hit"]


def test_in(check):
    assert check("{in: [$A, [8480-6, 8462-4, 7]]}", {"A": "8480-6"}, {"A": "8462-4"},
                 {"A": "7"}, {"A": "8480"}, {"A": ""}) == ["hit", "hit", "hit", "miss", "miss"]


def test_not_in(check):
    assert check("{not_in: [$A, [a, b]]}", {"A": "a"}, {"A": "c"}, {"A": ""}) == [
        "miss", "hit", "hit"]


def test_matches_searches_anywhere_unless_anchored(check):
    assert check("{matches: [$A, 'b+']}", {"A": "abbc"}, {"A": "ac"}, {"A": ""}) == [
        "hit", "miss", "miss"]
    assert check("{matches: [$A, '^TEST']}", {"A": "TEST patient"}, {"A": "a TEST"}) == [
        "hit", "miss"]


def test_matches_non_text_values_as_text(check):
    assert check(r"{matches: [$A, '^\d+$']}", {"A": 42}, {"A": "4x"}) == ["hit", "miss"]


def test_in_map(check):
    assert check("{in_map: [$A, sex]}", {"A": "M"}, {"A": "F"}, {"A": "U"}, {"A": "m"},
                 {"A": ""}) == ["hit", "hit", "miss", "miss", "miss"]


@pytest.mark.parametrize(("op", "expected"), [
    ("lt", ["hit", "miss", "miss"]), ("le", ["hit", "hit", "miss"]),
    ("gt", ["miss", "miss", "hit"]), ("ge", ["miss", "hit", "hit"])])
def test_comparisons_of_numbers_are_numeric(check, op, expected):
    rows = [{"A": "9", "B": "10"}, {"A": "10.0", "B": "10"}, {"A": "1e2", "B": 10}]
    assert check(f"{{{op}: [$A, $B]}}", *rows) == expected


def test_comparisons_of_dates_and_datetimes_are_chronological(check):
    rows = [{"A": "2020-01-02", "B": "2020-01-10"},  # text order would say otherwise: no
            {"A": "2020-03-01T10:00:00", "B": "2020-03-01T09:00:00"},
            {"A": "2020-03-01T10:00:00+02:00", "B": "2020-03-01T09:00:00Z"},  # 08:00Z < 09:00Z
            {"A": "2020-03-01", "B": "2020-03-01T23:00:00"},  # a date against a date-time
            {"A": "2020-03-02", "B": "2020-03-01T23:30:00-05:00"},  # 04:30Z on the 2nd (UTC)
            {"A": "2020-03-01 10:00", "B": "2020-03-01T10:00:00Z"}]  # naive: the pack's zone
    assert check("{lt: [$A, $B]}", *rows) == ["hit", "miss", "hit", "miss", "miss", "miss"]
    assert check("{le: [$A, $B]}", *rows) == ["hit", "miss", "hit", "hit", "hit", "hit"]


def test_comparisons_with_a_literal_and_nulls(check):
    assert check("{ge: [$A, 18]}", {"A": "18"}, {"A": "7"}, {"A": ""}, {}) == [
        "hit", "miss", "miss", "miss"]
    # a YAML float is the number as written: "0.1" is not below 0.1 (its binary value is not)
    assert check("{lt: [$A, 0.1]}", {"A": "0.1"}, {"A": 0.1}, {"A": "0.09"}) == [
        "miss", "miss", "hit"]
    assert check("{lt: [$A, 2000-01-01]}", {"A": "1999-12-31"}, {"A": "2000-01-01"}) == [
        "hit", "miss"]


def test_values_that_cannot_be_compared_quarantine_the_row(run_one):
    rows = [{"ID": "1", "A": "abc", "B": "5"}, {"ID": "2", "A": "5", "B": "2020-01-01"},
            {"ID": "3", "A": "2020-02-30", "B": "2020-01-01"}]
    units = run_one(MAPPING.format(cond="{lt: [$A, $B]}"), rows)
    assert [[(e.code, e.column, e.value, e.line) for e in u.errors] for u in units] == [
        [("not-comparable", "A", "abc", COND_LINE)], [("not-comparable", "A", "5", COND_LINE)],
        [("not-comparable", "A", "2020-02-30", COND_LINE)]]
    assert units[1].errors[0].message == ("lt compares numbers, dates and date-times; here a "
                                          "number and a date")
    units = run_one(MAPPING.format(cond="{gt: [$A, $B]}"), [{"ID": "1", "A": "5", "B": "x"}])
    assert [(e.code, e.column, e.value) for e in units[0].errors] == [
        ("not-comparable", "B", "x")]


def test_a_literal_that_is_no_number_or_date_is_a_problem(problems_of):
    root, found = problems_of({"m.yaml": MAPPING.format(cond="{lt: [$A, soon]}")})
    assert found == [f"{root}/m.yaml:{COND_LINE}: emit[0].template.valueString.choose[0].when"
                     ".lt: 'soon' is no number, ISO date or date-time; lt compares those"]


def test_a_yaml_boolean_compared_with_a_column_is_a_problem(problems_of):
    root, found = problems_of({"m.yaml": MAPPING.format(cond="{equals: [$A, true]}")})
    assert found == [f"{root}/m.yaml:{COND_LINE}: emit[0].template.valueString.choose[0].when"
                     ".equals: true is a YAML boolean, compared as the text 'True'; quote it "
                     "('true') for the word"]


def test_all(check):
    assert check("{all: [{present: $A}, {equals: [$B, y]}]}", {"A": "x", "B": "y"},
                 {"A": "", "B": "y"}, {"A": "x", "B": "z"}) == ["hit", "miss", "miss"]


def test_any(check):
    assert check("{any: [{present: $A}, {equals: [$B, y]}]}", {"A": "x", "B": "z"},
                 {"A": "", "B": "y"}, {"A": "", "B": "z"}) == ["hit", "hit", "miss"]


def test_not(check):
    assert check("{not: {in_map: [$A, sex]}}", {"A": "M"}, {"A": "U"}) == ["miss", "hit"]


def test_nested_conditions(check):
    cond = "{any: [{all: [{equals: [$K, a]}, {not: {absent: $A}}]}, {matches: [$K, '^z']}]}"
    assert check(cond, {"K": "a", "A": "1"}, {"K": "a", "A": ""}, {"K": "zz", "A": ""},
                 {"K": "b", "A": "1"}) == ["hit", "miss", "hit", "miss"]


def test_badly_written_conditions_are_all_reported(problems_of):
    text = """\
        mapping: m
        source: t
        key: [ID]
        filter:
          - name: bad-operator
            when: {equal: [$A, x]}
        group:
          by: [P]
          when: {present: $A, absent: $B}
        emit:
          - resource: Observation
            when: not-a-condition
            template:
              valueString:
                choose:
                  - {when: {equals: [$A, x, y]}, value: a}
                  - {when: {in: [$A, x]}, value: b}
                  - {when: {all: []}, value: c}
                  - {when: {in_map: [$A, nope]}, value: d}
                  - {when: {matches: [$A, "(x"]}, value: e}
                  - {when: {not: {any: [{present: $A}, {eq: 1}]}}, value: f}
        """
    root, found = problems_of({"m.yaml": text}, {"sex": CODES})
    file = f"{root}/m.yaml"
    one_of = f"a condition is one of {OPERATOR_LIST} (e.g. {{present: $COL}})"
    assert found == [
        f"{file}:6: filter[0].when: {one_of}",
        f"{file}:9: group.when: {one_of}",
        f"{file}:11: emit[0].when: {one_of}",
        f"{file}:16: emit[0].template.valueString.choose[0].when.equals: "
        "takes a list of two items, e.g. [$COL, value]",
        f"{file}:17: emit[0].template.valueString.choose[1].when.in: "
        "the second item must be a list of values",
        f"{file}:18: emit[0].template.valueString.choose[2].when.all: "
        "takes a non-empty list of conditions",
        f"{file}:19: emit[0].template.valueString.choose[3].when.in_map: "
        "no concept map 'nope' in the pack's concept_maps/",
        f"{file}:20: emit[0].template.valueString.choose[4].when.matches: "
        "bad regular expression: missing ): (x",
        f"{file}:21: emit[0].template.valueString.choose[5].when.not.any[1]: {one_of}",
    ]
