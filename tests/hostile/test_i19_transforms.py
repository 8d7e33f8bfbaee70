"""Issue 19 review: the new transforms and pack keys, written wrong or fed hostile values.

Each test is a finding of the adversarial review (the behaviour before its fix in brackets):
``replace``'s ``new`` is text as written [RE2's wrapper ran it through Python's
``unicode_escape`` codec: ``ö`` became ``Ã¶``, ``\\0`` a NUL character, and a trailing
backslash or an unknown group name crashed the run].
"""

from __future__ import annotations

import pytest

from migrate.mappers.units import UnitResolver
from tests.mappers.test_conditions import COND_LINE
from tests.mappers.test_conditions import MAPPING as CONDITIONS
from tests.mappers.test_transforms import T, body


def test_replace_new_keeps_non_ascii_text_as_written(emit):
    units = emit("valueString: {replace: {value: $V, pattern: 'oe', new: 'ö'}}",
                 {"V": "Schroeder"}, {"V": "5 oe"})
    assert [body(u) for u in units] == [{"valueString": "Schröder"}, {"valueString": "5 ö"}]
    units = emit("valueString: {replace: {value: $V, pattern: '(\\d+) ?EUR', new: '\\1 €'}}",
                 {"V": "total 5EUR"})
    assert body(units[0]) == {"valueString": "total 5 €"}


@pytest.mark.parametrize(("new", "result"), [
    ("\\g<0>!", "xa!y"),            # the whole match
    ("\\g<n>\\1", "xaay"),          # a named group, and by number
    ("\\\\", "x\\y"),               # an escaped backslash is one backslash
    ("\\d\\n", "x\\d\\ny"),         # any other backslash is text (no escape processing)
    ("<\\g<1>>", "x<a>y"),
])
def test_replace_new_group_references_and_plain_text(emit, new, result):
    units = emit(f"valueString: {{replace: {{value: $V, pattern: '(?P<n>a)', new: '{new}'}}}}",
                 {"V": "xay"})
    assert body(units[0]) == {"valueString": result}


def test_replace_new_that_names_no_group_is_a_problem(problems):
    template = """\
        valueString: {replace: {value: $V, pattern: '(a)', new: '\\0'}}
        note: [{text: {replace: {value: $V, pattern: '(a)', new: '\\g<x>'}}}]
        code: {text: {replace: {value: $V, pattern: '(a)', new: '\\2'}}}
    """
    assert problems(template) == [
        f"m.yaml:{T}: emit[0].template.valueString.replace.new: \\0 names no group (groups "
        "count from 1; \\g<0> is the whole match)",
        f"m.yaml:{T + 1}: emit[0].template.note[0].text.replace.new: names group 'x', but "
        "the pattern has no group of that name",
        f"m.yaml:{T + 2}: emit[0].template.code.text.replace.new: names group 2, but the "
        "pattern has 1 group(s)",
    ]


def test_replace_new_ending_in_a_backslash_maps_the_row(emit):
    units = emit("valueString: {replace: {value: $V, pattern: 'a', new: 'b\\'}}", {"V": "xay"})
    assert body(units[0]) == {"valueString": "xb\\y"}


def test_primitive_extension_given_a_plain_value_is_a_problem(problems):
    # `_status: masked` passed check, then every row was quarantined invalid-resource
    template = """\
        status: final
        _status: masked
        _valueString: 5
        _issued: $V
        _effectiveDateTime: {data_absent_reason: masked}
    """
    assert problems(template) == [
        f"m.yaml:{T + 1}: emit[0].template._status: Observation._status takes an Element "
        "({data_absent_reason: CODE} or {extension: [...]}), not a value; the value itself "
        "goes in status",
        f"m.yaml:{T + 2}: emit[0].template._valueString: Observation._valueString takes an "
        "Element ({data_absent_reason: CODE} or {extension: [...]}), not a value; the value "
        "itself goes in valueString",
    ]


@pytest.mark.parametrize(("side", "problem"), [
    # each passed check: null made a rule that never fires, the others quarantined every row
    ("null", "lt with a null side never holds; test a column for null with absent or present"),
    ("[1, 2]", "a list is no number, ISO date or date-time; lt compares those"),
    ("{a: 1}", "an object that is no transform is no number, ISO date or date-time; lt "
               "compares those"),
])
def test_comparison_with_a_side_that_can_never_compare_is_a_problem(problems_of, side,
                                                                    problem):
    root, found = problems_of({"m.yaml": CONDITIONS.format(cond=f"{{lt: [$A, {side}]}}")})
    assert found == [f"{root}/m.yaml:{COND_LINE}: emit[0].template.valueString.choose[0]"
                     f".when.lt: {problem}"]


def test_comparison_with_a_transform_side_is_no_problem(check):
    assert check("{lt: [$A, {decimal: {value: $B, thousands: ','}}]}",
                 {"A": "999", "B": "1,000"}, {"A": "1001", "B": "1,000"}) == ["hit", "miss"]


@pytest.mark.parametrize("unit", ["Mg", "Ml", "Mcg", "Mmol/L", "Mg/dL"])
def test_a_title_case_unit_is_never_read_as_a_mega_unit(unit):
    # "Mg" (a source's milligram in title case) got system UCUM and code Mg: a megagram
    assert UnitResolver().resolve(unit) is None
    assert UnitResolver({unit: "mg"}).resolve(unit) == ("mg", "mg")  # the pack says what it is


@pytest.mark.parametrize("unit", ["MBq", "MHz", "mg", "mL", "kPa", "mm[Hg]"])
def test_units_with_a_capital_m_that_are_meant_stay_valid(unit):
    assert UnitResolver().resolve(unit) is not None


@pytest.mark.parametrize("unit", ["17", "0", "100", "17.5", "007"])
def test_a_bare_number_is_no_unit(unit):
    # a legacy unit id "17" got system UCUM and code 17 (17 times unity); "17.5" is 17 x 5
    assert UnitResolver().resolve(unit) is None
    assert UnitResolver({unit: "mg"}).resolve(unit) == ("mg", "mg")


@pytest.mark.parametrize("unit", ["1", "10*3/uL", "10^3", "/100", "2/d", "1/d"])
def test_numbers_within_units_stay_valid(unit):
    assert UnitResolver().resolve(unit) is not None
