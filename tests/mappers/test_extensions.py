"""Primitive extensions (``_birthDate``) in templates, and the ``data_absent_reason`` transform."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.mappers.extensions import DATA_ABSENT_REASON_URL, DATA_ABSENT_REASONS
from migrate.outcomes import Unit
from tests.mappers.test_transforms import T, body, error, mapping

MASKED = {"extension": [{"url": DATA_ABSENT_REASON_URL, "valueCode": "masked"}]}


@pytest.fixture
def patients(run_one: Callable[..., list[Unit]]) -> Callable[..., list[Unit]]:
    """``patients(template, *rows)``: rows (IDs added) through a one-emit Patient mapping."""

    def do(template: str, *rows: dict[str, Any], resource: str = "Patient") -> list[Unit]:
        keyed = [{"ID": str(i), **r} for i, r in enumerate(rows, start=1)]
        return run_one(mapping(template, resource), keyed)

    return do


@pytest.fixture
def problems(problems_of: Callable[..., Any]) -> Callable[..., list[str]]:
    """``problems(template)``: the problems of a one-emit mapping, ``m.yaml:`` prefixed."""

    def do(template: str, resource: str = "Patient") -> list[str]:
        root, found = problems_of({"m.yaml": mapping(template, resource)})
        return [p.replace(f"{root}/", "") for p in found]

    return do


def test_masked_birth_date_gives_the_element_instead_of_the_value(patients):
    template = """\
        birthDate: {date: $DOB}
        _birthDate: {data_absent_reason: masked, $when: {absent: $DOB}}
    """
    units = patients(template, {"DOB": "1921-04-02"}, {"DOB": ""})
    assert body(units[0]) == {"birthDate": "1921-04-02"}
    assert body(units[1]) == {"_birthDate": MASKED}


def test_reason_read_from_a_column_is_checked_per_row(patients):
    template = "_gender: {data_absent_reason: $WHY}"
    units = patients(template, {"WHY": "asked-declined"}, {"WHY": ""}, {"WHY": "refused"})
    assert body(units[0]) == {"_gender": {"extension": [
        {"url": DATA_ABSENT_REASON_URL, "valueCode": "asked-declined"}]}}
    assert body(units[1]) == {}
    assert error(units[2]) == (
        "bad-absent-reason",
        "not a data-absent reason (see http://hl7.org/fhir/ValueSet/data-absent-reason)",
        "WHY", "refused", T)


def test_every_reason_of_the_r4_value_set_is_accepted(patients):
    rows = [{"WHY": code} for code in sorted(DATA_ABSENT_REASONS)]
    units = patients("_birthDate: {data_absent_reason: $WHY}", *rows)
    assert len(DATA_ABSENT_REASONS) == 15
    assert [body(u)["_birthDate"]["extension"][0]["valueCode"] for u in units] == \
        sorted(DATA_ABSENT_REASONS)


def test_element_written_out_with_id_and_extensions(patients):
    template = """\
        _birthDate:
          id: dob
          extension:
            - {url: "http://example.org/precision", valueString: $PRECISION,
               $when: {present: $PRECISION}}
    """
    units = patients(template, {"PRECISION": "year"}, {"PRECISION": ""})
    assert body(units[0]) == {"_birthDate": {"id": "dob", "extension": [
        {"url": "http://example.org/precision", "valueString": "year"}]}}
    assert body(units[1]) == {"_birthDate": {"id": "dob"}}


def test_choice_elements_take_their_typed_name(patients):
    template = """\
        status: final
        code: {text: $TEST}
        effectiveDateTime: {datetime: $WHEN}
        _effectiveDateTime: {data_absent_reason: not-performed, $when: {absent: $WHEN}}
    """
    (unit,) = patients(template, {"TEST": "HbA1c", "WHEN": ""}, resource="Observation")
    assert body(unit) == {"status": "final", "code": {"text": "HbA1c"},
                          "_effectiveDateTime": {"extension": [
                              {"url": DATA_ABSENT_REASON_URL, "valueCode": "not-performed"}]}}


def test_a_literal_reason_is_checked_when_the_pack_loads(problems):
    assert problems("_birthDate: {data_absent_reason: maskd}") == [
        f"m.yaml:{T}: emit[0].template._birthDate.data_absent_reason.value: 'maskd' is not a "
        "data-absent reason (did you mean 'masked'?); valid: " + ", ".join(
            sorted(DATA_ABSENT_REASONS)),
    ]


def test_underscore_elements_are_checked_against_the_primitives(problems):
    template = """\
        _birthdate: {data_absent_reason: masked}
        _name: {data_absent_reason: masked}
        _birthDate: [{data_absent_reason: masked}]
        name:
          - family: $LAST
            _given: [{data_absent_reason: masked}]
            _family: {data_absent_reason: masked}
        _deceasedBoolean: {data_absent_reason: unknown}
        _active: {extension: [{url: "http://example.org/x", valueString: $X}], unknown: 1}
    """
    assert problems(template) == [
        f"m.yaml:{T}: emit[0].template._birthdate: Patient has no primitive element "
        "'birthdate' for '_birthdate' (did you mean '_birthDate'?)",
        f"m.yaml:{T + 1}: emit[0].template._name: Patient.name is not a primitive: write its "
        "extensions in name.extension, not '_name'",
        f"m.yaml:{T + 2}: emit[0].template._birthDate: Patient._birthDate does not repeat; "
        "give one value, not a list",
        f"m.yaml:{T + 5}: emit[0].template.name[0]._given: HumanName.given repeats: extensions "
        "of its items ('_given') are not supported (the list would have to stay aligned with "
        "the items, nulls included)",
        f"m.yaml:{T + 8}: emit[0].template._active.unknown: Element has no element 'unknown'",
    ]
