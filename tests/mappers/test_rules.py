"""Cross-column rules (mapping ``rules:``): after the filters, before mapping, a row meeting a
rule's condition is quarantined under the rule's name or filtered under it; the same outcome
whether the chunk is screened column-wise (`migrate.mappers.chunked.screen`) or row by row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.mappers import engine
from migrate.outcomes import Unit
from tests.mappers.test_engine import GROUPED

MAPPING = """\
mapping: rx
source: prescriptions
key: [ID]
filter:
  - name: cancelled
    when: {equals: [$STATUS, X]}
rules:
  - name: end-before-start
    when: {lt: [$END, $START]}
  - name: zero-dose
    when: {le: [$DOSE, 0]}
    action: filter
emit:
  - resource: MedicationRequest
    template:
      status: active
      intent: order
      subject: {reference: Patient/1}
      medicationCodeableConcept: {text: x}
      dispenseRequest: {validityPeriod: {start: {date: $START}, end: {date: $END}}}
"""
RULE_LINE, FILTER_RULE_LINE = 8, 10
ROWS = [
    {"ID": "1", "STATUS": "A", "START": "2020-01-05", "END": "2020-02-01", "DOSE": "5"},
    {"ID": "2", "STATUS": "A", "START": "2020-01-05", "END": "2020-01-01", "DOSE": "5"},
    {"ID": "3", "STATUS": "X", "START": "2020-01-05", "END": "2020-01-01", "DOSE": "5"},
    {"ID": "4", "STATUS": "A", "START": "2020-01-05", "END": "2020-01-09", "DOSE": "0"},
    {"ID": "5", "STATUS": "A", "START": "2020-01-05", "END": "", "DOSE": "5"},
    {"ID": "6", "STATUS": "A", "START": "2020-01-05", "END": "2020-01-01", "DOSE": "0"},
    {"ID": "7", "STATUS": "A", "START": "2020-01-05", "END": "soon", "DOSE": "5"},
]


def outcomes(units: list[Unit]) -> list[tuple[Any, ...]]:
    return [(u.keys[0]["ID"], u.outcome, u.rule, [(e.code, e.column, e.value, e.line)
                                                  for e in u.errors]) for u in units]


EXPECTED = [
    ("1", "emitted", None, []),
    ("2", "quarantined", None, [("end-before-start", None, None, RULE_LINE)]),
    ("3", "filtered", "cancelled", []),  # filters run first
    ("4", "filtered", "zero-dose", []),
    ("5", "emitted", None, []),  # a null side: the rule does not hold
    ("6", "quarantined", None, [("end-before-start", None, None, RULE_LINE)]),  # first rule
    ("7", "quarantined", None, [("not-comparable", "END", "soon", RULE_LINE + 1)]),  # when:
]


@pytest.mark.parametrize("column_wise", [True, False])
def test_rules_quarantine_or_filter_under_their_name(run_one: Callable[..., list[Unit]],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     column_wise: bool) -> None:
    if not column_wise:  # no chunk is screened column-wise: every row takes the row path
        monkeypatch.setattr(engine, "CHUNK_MIN", 10**9)
    units = run_one(MAPPING, [dict(r) for r in ROWS])
    assert outcomes(units) == EXPECTED
    assert units[1].errors[0].message == "the row breaks rule 'end-before-start'"


def test_rules_see_columns_not_lets(problems_of: Callable[..., Any]) -> None:
    text = MAPPING.replace("rules:\n", "let:\n  END: {date: $START}\nrules:\n")
    root, found = problems_of({"m.yaml": text})
    assert found == [f"{root}/m.yaml:10: rules[0].when: $END names a let value, but filters "
                     "and group conditions run before let values exist and read columns only; "
                     "write the condition on the columns the let reads"]


def test_rule_problems_are_reported_with_their_line(problems_of: Callable[..., Any]) -> None:
    text = MAPPING.replace("  - name: zero-dose\n    when: {le: [$DOSE, 0]}\n    action: filter",
                           "  - name: cancelled\n    when: {lt: [$DOSE]}\n    action: drop")
    root, found = problems_of({"m.yaml": text})
    assert found == [f"{root}/m.yaml:12: rules.1.action: Input should be 'quarantine' or "
                     "'filter'"]
    text = text.replace("action: drop", "action: filter")
    root, found = problems_of({"m.yaml": text})
    assert found == [
        f"{root}/m.yaml:{FILTER_RULE_LINE + 1}: rules[1].when.lt: takes a list of two items, e.g. "
        "[$COL, value]",
        f"{root}/m.yaml:{FILTER_RULE_LINE}: rules[1].name: 'cancelled' also names another "
        "filter or rule of this mapping; the counts would mix them"]


def test_rules_run_before_grouping(run_one: Callable[..., list[Unit]]) -> None:
    text = GROUPED.replace("emit:\n", "rules:\n  - {name: negative, when: {lt: [$V, 0]}}\nemit:\n")
    rows = [{"ID": "1", "P": "e", "CODE": "a", "V": "5"},
            {"ID": "2", "P": "e", "CODE": "b", "V": "-1"},
            {"ID": "3", "P": "e", "CODE": "c", "V": "7"}]
    units = run_one(text, rows)
    assert [(u.outcome, [k["ID"] for k in u.keys]) for u in units] == [
        ("quarantined", ["2"]), ("emitted", ["1", "3"])]
