"""Every transform of the mapping language: results, failures (RowError) and option checks.

Most tests use one mapping file laid out by :func:`mapping`, whose template starts at line 7,
so the line a RowError or a Problem names is plain to see.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from migrate.mappers.ids import resource_id
from migrate.outcomes import Unit

NOT_A_DATE = "not a valid date (formats tried: ISO 8601 (YYYY-MM-DD))"

HEAD = """\
mapping: m
source: t
key: [ID]
emit:
  - resource: {resource}
    template:
"""
T = 7  # line of the first template line
UCUM = "http://unitsofmeasure.org"
GENDER = "http://hl7.org/fhir/administrative-gender"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"

GENDER_MAP = """\
source_code,target_system,target_code,target_display,source_system
M,http://hl7.org/fhir/administrative-gender,male,Male,urn:legacy:sex
F,http://hl7.org/fhir/administrative-gender,female,,urn:legacy:sex
"""


def mapping(template: str, resource: str = "Observation", tail: str = "") -> str:
    """A one-emit mapping whose template (dedented) starts at line 7; ``tail`` follows it."""
    body = textwrap.indent(textwrap.dedent(template).rstrip("\n") + "\n", " " * 6)
    return HEAD.format(resource=resource) + body + textwrap.dedent(tail)


def body(unit: Unit) -> dict[str, Any]:
    """The emitted resource without resourceType and id."""
    assert unit.outcome == "emitted", (unit.outcome, [e.message for e in unit.errors])
    (res,) = unit.resources
    return {k: v for k, v in res.items() if k not in ("resourceType", "id")}


def error(unit: Unit) -> tuple[Any, ...]:
    """The one RowError of a quarantined unit, as (code, message, column, value, line)."""
    assert unit.outcome == "quarantined"
    assert unit.resources == []
    (err,) = unit.errors
    return err.code, err.message, err.column, err.value, err.line


def notes(unit: Unit) -> list[tuple[Any, ...]]:
    """The warnings of a unit, as (code, message, column, value, line)."""
    return [(n.code, n.message, n.column, n.value, n.line) for n in unit.notes]


@pytest.fixture
def emit(run_one: Callable[..., list[Unit]]) -> Callable[..., list[Unit]]:
    """``emit(template, *rows)``: run rows (IDs added) through a one-emit mapping."""

    def do(template: str, *rows: dict[str, Any], resource: str = "Observation", tail: str = "",
           concept_maps: dict[str, str] | None = None, timezone: str = "UTC") -> list[Unit]:
        keyed = [{"ID": str(i), **r} for i, r in enumerate(rows, start=1)]
        return run_one(mapping(template, resource, tail), keyed, concept_maps, timezone)

    return do


@pytest.fixture
def problems(problems_of: Callable[..., Any]) -> Callable[..., list[str]]:
    """``problems(template)``: the problems of a one-emit mapping, with ``m.yaml:`` prefixes."""

    def do(template: str, resource: str = "Observation", tail: str = "",
           concept_maps: dict[str, str] | None = None) -> list[str]:
        root, found = problems_of({"m.yaml": mapping(template, resource, tail)}, concept_maps)
        return [p.replace(f"{root}/", "") for p in found]

    return do


# -- date ----------------------------------------------------------------------------------

def test_date_reads_iso_dates_and_the_date_of_iso_datetimes(emit):
    units = emit("birthDate: {date: $D}", {"D": "2020-01-05"},
                 {"D": "2020-01-05T23:59:59-05:00"}, {"D": ""}, resource="Patient")
    assert [body(u) for u in units] == [{"birthDate": "2020-01-05"},
                                        {"birthDate": "2020-01-05"}, {}]


def test_date_custom_formats_are_tried_in_order(emit):
    units = emit('birthDate: {date: {value: $D, formats: ["%m/%d/%Y", "%Y%m%d"]}}',
                 {"D": "01/05/2020"}, {"D": "20200105"}, {"D": "2020-01-05"}, resource="Patient")
    assert [body(u) for u in units[:2]] == [{"birthDate": "2020-01-05"}] * 2
    # With formats given, only those formats are accepted.
    assert error(units[2]) == ("bad-date", "not a valid date (formats tried: '%m/%d/%Y' or "
                               "'%Y%m%d')", "D", "2020-01-05", T)


def test_date_that_does_not_exist_is_quarantined(emit):
    units = emit("birthDate: {date: $D}", {"D": "2020-02-30"}, {"D": "yesterday"},
                 resource="Patient")
    assert error(units[0]) == ("bad-date", NOT_A_DATE, "D", "2020-02-30", T)
    assert error(units[1]) == ("bad-date", NOT_A_DATE, "D", "yesterday", T)


def test_date_outside_its_bounds_is_implausible(emit):
    template = """\
        birthDate:
          date: {value: $D, min: 1900-01-01, max: 2030-12-31}
    """
    units = emit(template, {"D": "1899-12-31"}, {"D": "2031-01-01"}, {"D": "1900-01-01"},
                 {"D": "2030-12-31"}, resource="Patient")
    message = "date outside 1900-01-01 to 2030-12-31"
    assert error(units[0]) == ("implausible-date", message, "D", "1899-12-31", T + 1)
    assert error(units[1]) == ("implausible-date", message, "D", "2031-01-01", T + 1)
    assert [body(u) for u in units[2:]] == [{"birthDate": "1900-01-01"},
                                            {"birthDate": "2030-12-31"}]


def test_date_max_today_allows_today_but_not_the_day_after_tomorrow(emit):
    today = date.today()  # noqa: DTZ011 - the transform uses the local date too
    late = today + timedelta(days=2)
    units = emit("birthDate: {date: {value: $D, max: today}}", {"D": today.isoformat()},
                 {"D": late.isoformat()}, resource="Patient")
    assert body(units[0]) == {"birthDate": today.isoformat()}
    assert error(units[1]) == ("implausible-date", f"date outside ... to {today + timedelta(1)}",
                               "D", late.isoformat(), T)


def test_date_bound_that_is_not_a_date_is_a_problem(problems):
    assert problems("birthDate: {date: {value: $D, min: yesterday}}", resource="Patient") == [
        f"m.yaml:{T}: emit[0].template.birthDate.date: bound 'yesterday' is not a date "
        "(YYYY-MM-DD or 'today')",
    ]


# -- datetime ------------------------------------------------------------------------------

DATETIMES = ["2020-01-05T10:11:12Z", "2020-01-05T10:11:12+02:00", "2020-01-05T10:11:12",
             "2020-07-05T10:11:12", "2020-01-05"]


def test_datetime_in_a_utc_project(emit):
    units = emit("effectiveDateTime: {datetime: $D}", *({"D": d} for d in DATETIMES))
    assert [body(u)["effectiveDateTime"] for u in units] == [
        "2020-01-05T10:11:12Z",       # Z kept
        "2020-01-05T10:11:12+02:00",  # offset kept: same instant
        "2020-01-05T10:11:12Z",       # naive: read in the project zone (UTC)
        "2020-07-05T10:11:12Z",
        "2020-01-05",                 # a date stays a date: no time invented
    ]


def test_datetime_naive_values_are_read_in_the_project_time_zone(emit):
    units = emit("effectiveDateTime: {datetime: $D}", *({"D": d} for d in DATETIMES),
                 timezone="America/Chicago")
    assert [body(u)["effectiveDateTime"] for u in units] == [
        "2020-01-05T10:11:12Z",
        "2020-01-05T10:11:12+02:00",
        "2020-01-05T10:11:12-06:00",  # winter: CST
        "2020-07-05T10:11:12-05:00",  # summer: CDT
        "2020-01-05",
    ]


def test_datetime_tz_option_overrides_the_project_zone(emit):
    units = emit("effectiveDateTime: {datetime: {value: $D, tz: Europe/Berlin}}",
                 {"D": "2020-01-05T10:11:12"}, {"D": "2020-01-05T10:11:12Z"},
                 timezone="America/Chicago")
    assert [body(u)["effectiveDateTime"] for u in units] == [
        "2020-01-05T10:11:12+01:00", "2020-01-05T10:11:12Z"]


def test_datetime_tz_default_means_the_project_zone(emit):
    units = emit("effectiveDateTime: {datetime: {value: $D, tz: default}}",
                 {"D": "2020-01-05T10:11:12"}, timezone="America/Chicago")
    assert body(units[0]) == {"effectiveDateTime": "2020-01-05T10:11:12-06:00"}


def test_datetime_custom_formats(emit):
    template = """\
        effectiveDateTime:
          datetime: {value: $D, formats: ["%m/%d/%Y %H:%M", "%Y%m%d%H%M%S%z"]}
    """
    units = emit(template, {"D": "01/05/2020 10:11"}, {"D": "20200105101112+0000"},
                 {"D": "2020-01-05T10:11:12"}, timezone="America/Chicago")
    assert body(units[0]) == {"effectiveDateTime": "2020-01-05T10:11:00-06:00"}
    assert body(units[1]) == {"effectiveDateTime": "2020-01-05T10:11:12Z"}
    assert error(units[2]) == ("bad-datetime", "not a valid date-time", "D",
                               "2020-01-05T10:11:12", T + 1)


def test_datetime_custom_date_only_format_stays_a_date(emit):
    # The docstring: "Date-only values stay dates: no time is invented."
    units = emit('effectiveDateTime: {datetime: {value: $D, formats: ["%m/%d/%Y"]}}',
                 {"D": "01/05/2020"}, timezone="America/Chicago")
    assert body(units[0]) == {"effectiveDateTime": "2020-01-05"}


def test_datetime_that_cannot_be_read_is_quarantined(emit):
    units = emit("effectiveDateTime: {datetime: $D}", {"D": "05/01/2020 10:00"},
                 {"D": "2020-01-05T25:00:00"})
    assert error(units[0]) == ("bad-datetime", "not a valid date-time", "D", "05/01/2020 10:00",
                               T)
    assert error(units[1]) == ("bad-datetime", "not a valid date-time", "D",
                               "2020-01-05T25:00:00", T)


def test_datetime_unknown_time_zone_is_a_problem(problems):
    assert problems("effectiveDateTime: {datetime: {value: $D, tz: Mars/Olympus}}") == [
        f"m.yaml:{T}: emit[0].template.effectiveDateTime.datetime: unknown time zone "
        "'Mars/Olympus' (use an IANA name such as America/Chicago)",
    ]


# -- decimal and integer -------------------------------------------------------------------

def test_decimal_values(emit):
    units = emit("valueQuantity: {value: {decimal: $V}}", {"V": "70.5"}, {"V": "70"},
                 {"V": "-0.25"}, {"V": "1e2"}, {"V": 7.5}, {"V": ""})
    assert [body(u).get("valueQuantity") for u in units] == [
        {"value": 70.5}, {"value": 70}, {"value": -0.25}, {"value": 100}, {"value": 7.5}, None]
    assert isinstance(body(units[1])["valueQuantity"]["value"], int)


def test_decimal_that_is_not_a_number_is_quarantined(emit):
    units = emit("valueQuantity: {value: {decimal: $V}}", {"V": "7,5"}, {"V": "NaN"},
                 {"V": "Infinity"}, {"V": "abc"})
    assert [error(u) for u in units] == [
        ("not-a-number", "not a number", "V", v, T) for v in ("7,5", "NaN", "Infinity", "abc")]


def test_decimal_outside_its_range_is_quarantined(emit):
    units = emit("valueQuantity: {value: {decimal: {value: $V, min: 0, max: 300}}}",
                 {"V": "-0.1"}, {"V": "300.5"}, {"V": "0"}, {"V": "300"})
    span = "must be at least 0 and at most 300"
    assert error(units[0]) == ("out-of-range", span, "V", "-0.1", T)
    assert error(units[1]) == ("out-of-range", span, "V", "300.5", T)
    assert [body(u) for u in units[2:]] == [{"valueQuantity": {"value": 0}},
                                            {"valueQuantity": {"value": 300}}]


def test_integer_values(emit):
    units = emit("valueInteger: {integer: $V}", {"V": "42"}, {"V": "-3"}, {"V": 12}, {"V": ""})
    assert [body(u) for u in units] == [{"valueInteger": 42}, {"valueInteger": -3},
                                        {"valueInteger": 12}, {}]


def test_integer_that_is_not_whole_is_quarantined(emit):
    units = emit("valueInteger: {integer: $V}", {"V": "4.5"}, {"V": "four"}, {"V": 4.5},
                 {"V": True})
    assert error(units[0]) == ("not-an-integer", "not an integer", "V", "4.5", T)
    assert error(units[1]) == ("not-an-integer", "not an integer", "V", "four", T)
    assert error(units[2]) == ("not-an-integer", "not an integer", "V", 4.5, T)
    assert error(units[3]) == ("not-an-integer", "not an integer", "V", True, T)


def test_integer_outside_its_range_is_quarantined(emit):
    units = emit("valueInteger: {integer: {value: $V, min: 1, max: 9}}", {"V": "0"},
                 {"V": "10"}, {"V": "9"})
    assert error(units[0]) == ("out-of-range", "must be at least 1 and at most 9", "V", "0", T)
    assert error(units[1]) == ("out-of-range", "must be at least 1 and at most 9", "V", "10", T)
    assert body(units[2]) == {"valueInteger": 9}


# -- boolean -------------------------------------------------------------------------------

def test_boolean_default_words(emit):
    words = ["true", "Yes", "Y", "1", "t", "FALSE", "no", "n", "0", "F"]
    units = emit("valueBoolean: {boolean: $B}", *({"B": w} for w in words), {"B": ""})
    assert [body(u).get("valueBoolean") for u in units] == [True] * 5 + [False] * 5 + [None]


def test_boolean_other_values_are_quarantined(emit):
    units = emit("valueBoolean: {boolean: $B}", {"B": "maybe"})
    assert error(units[0]) == ("not-a-boolean", "not a yes/no value", "B", "maybe", T)


def test_boolean_own_words_replace_the_defaults(emit):
    template = 'valueBoolean: {boolean: {value: $B, "true": [J, Ja], "false": [N, nein]}}'
    units = emit(template, {"B": "j"}, {"B": "JA"}, {"B": "N"}, {"B": "Nein"}, {"B": "yes"})
    assert [body(u) for u in units[:4]] == [{"valueBoolean": True}] * 2 + [
        {"valueBoolean": False}] * 2
    assert error(units[4]) == ("not-a-boolean", "not a yes/no value", "B", "yes", T)


def test_boolean_numbers_and_yaml_booleans_in_the_lists_are_their_text(emit):
    template = "valueBoolean: {boolean: {value: $B, true: [1, true, Y], false: [0, false]}}"
    units = emit(template, {"B": "1"}, {"B": "TRUE"}, {"B": "y"}, {"B": "0"}, {"B": "False"})
    assert [body(u)["valueBoolean"] for u in units] == [True, True, True, False, False]


def test_boolean_list_items_that_are_no_text_are_problems(problems):
    template = """\
        valueBoolean: {boolean: {value: $B, true: [Y, ~], false: [{n: 1}]}}
        status: {boolean: {value: $B, true: [], false: [1.0]}}
    """
    assert problems(template) == [
        f"m.yaml:{T}: emit[0].template.valueBoolean.boolean.true: an item is null (YAML reads "
        "an empty item, null, NULL and ~ as nothing); quote the token as the source writes it "
        "('NULL')",
        f"m.yaml:{T}: emit[0].template.valueBoolean.boolean.false: an item is a YAML object or "
        "list; give texts ([Y, 1, yes])",
        f"m.yaml:{T + 1}: emit[0].template.status.boolean.true: must list at least one text",
        f"m.yaml:{T + 1}: emit[0].template.status.boolean.false: 1.0 is a YAML number whose "
        "text is not kept (0.00 is read as 0.0); quote it as the source writes it ('0.00')",
    ]


def test_pack_booleans_are_the_default_lists(load, run_rows):
    pack = load({"pack.yaml": "name: p\nbooleans: {true: [J, 1], false: [N, 0]}\n",
                 "m.yaml": mapping("valueBoolean: {boolean: $B}\nstatus: final\n")})
    units = run_rows(pack, "m", [{"ID": "1", "B": "j"}, {"ID": "2", "B": "0"},
                                 {"ID": "3", "B": "yes"}])
    assert [u.resources[0].get("valueBoolean") for u in units[:2]] == [True, False]
    assert error(units[2]) == ("not-a-boolean", "not a yes/no value", "B", "yes", T)


def test_pack_booleans_problems(problems_of):
    root, found = problems_of({"pack.yaml": "name: p\nbooleans: {true: [Y, 1], false: [y]}\n",
                               "m.yaml": mapping("status: final")})
    assert [p.replace(f"{root}/", "") for p in found] == [
        "pack.yaml:2: booleans: ['y'] are both true and false"]


# -- quantity ------------------------------------------------------------------------------

def test_quantity_with_a_ucum_unit(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U}}",
                 {"V": "120", "U": "mm[Hg]"}, {"V": "12.5", "U": "s{clot}"},
                 {"V": "120", "U": ""}, {"V": "", "U": "kg"})
    assert [body(u).get("valueQuantity") for u in units] == [
        {"value": 120, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        {"value": 12.5, "unit": "s", "system": UCUM, "code": "s{clot}"},  # display text
        {"value": 120},  # no unit: a bare value
        None,            # no value: no quantity
    ]


def test_quantity_converts_pounds_to_kilograms_and_rounds(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U, convert_to: kg, round: 2}}",
                 {"V": "150", "U": "[lb_av]"}, {"V": "70.123", "U": "kg"},
                 {"V": "500", "U": "g"})
    assert [body(u)["valueQuantity"] for u in units] == [
        {"value": 68.04, "unit": "kg", "system": UCUM, "code": "kg"},
        {"value": 70.12, "unit": "kg", "system": UCUM, "code": "kg"},
        {"value": 0.5, "unit": "kg", "system": UCUM, "code": "kg"},
    ]


def test_quantity_converts_fahrenheit_to_celsius(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U, convert_to: Cel, round: 1}}",
                 {"V": "98.6", "U": "[degF]"}, {"V": "212", "U": "[degF]"},
                 {"V": "36.6", "U": "Cel"})
    assert [body(u)["valueQuantity"]["value"] for u in units] == [37.0, 100.0, 36.6]
    assert {body(u)["valueQuantity"]["code"] for u in units} == {"Cel"}


def test_quantity_round_without_conversion(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: mg, round: 0}}", {"V": "2.6"})
    assert body(units[0]) == {"valueQuantity": {"value": 3, "unit": "mg", "system": UCUM,
                                                "code": "mg"}}


def test_quantity_that_cannot_be_converted_is_quarantined(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U, convert_to: kg}}",
                 {"V": "170", "U": "cm"})
    assert error(units[0]) == ("unknown-unit", "cannot convert this unit to kg", "U", "cm", T)


def test_quantity_unknown_unit_is_quarantined_by_default(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U}}", {"V": "120", "U": "mmHg"})
    assert error(units[0]) == ("unknown-unit", "not a UCUM unit", "U", "mmHg", T)


def test_quantity_unknown_unit_kept_as_text_with_a_note(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U, on_unknown_unit: keep}}",
                 {"V": "120", "U": "mmHg"})
    assert body(units[0]) == {"valueQuantity": {"value": 120, "unit": "mmHg"}}
    assert notes(units[0]) == [("unknown-unit", "unit kept as text", "U", "mmHg", T)]


def test_quantity_value_that_is_not_a_number_is_quarantined(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: kg}}", {"V": "heavy"})
    assert error(units[0]) == ("not-a-number", "not a number", "V", "heavy", T)


def test_quantity_option_problems(problems):
    template = """\
        valueQuantity:
          quantity: {value: $V, unit: $U, convert_to: stone, on_unknown_unit: drop}
        valueRange:
          low: {quantity: $V}
          high: {quantity: {value: $V}}
    """
    assert problems(template) == [
        f"m.yaml:{T + 2}: emit[0].template.valueRange: Observation.value[x] takes one type: "
        "'valueQuantity' and 'valueRange' are both given (guard them with $when or choose)",
        f"m.yaml:{T + 1}: emit[0].template.valueQuantity.quantity.on_unknown_unit: "
        "must be 'quarantine' or 'keep'",
        f"m.yaml:{T + 1}: emit[0].template.valueQuantity.quantity.convert_to: "
        "'stone' is not a UCUM unit emr-migrate knows",
        f"m.yaml:{T + 3}: emit[0].template.valueRange.low.quantity: "
        "takes options ['convert_to', 'decimal_mark', 'on_unknown_unit', 'round', "
        "'thousands', 'unit', 'value']",
        f"m.yaml:{T + 4}: emit[0].template.valueRange.high.quantity: option 'unit' is required",
    ]



def test_quantity_accepts_any_valid_ucum_expression(emit):
    units = emit("valueQuantity: {quantity: {value: $V, unit: $U}}",
                 {"V": "2", "U": "ug/(kg.min)"}, {"V": "5", "U": "mg/kg/h"},
                 {"V": "3", "U": "mmol/l"}, {"V": "1", "U": "s{clot}"})
    assert [body(u)["valueQuantity"] for u in units] == [
        {"value": 2, "unit": "ug/(kg.min)", "system": UCUM, "code": "ug/(kg.min)"},
        {"value": 5, "unit": "mg/kg/h", "system": UCUM, "code": "mg/kg/h"},
        {"value": 3, "unit": "mmol/l", "system": UCUM, "code": "mmol/l"},
        {"value": 1, "unit": "s", "system": UCUM, "code": "s{clot}"},  # known: its display
    ]


PACK_UNITS = 'name: p\nunits:\n  MCG: ug\n  "mg.": mg\n  LBS: "[lb_av]"\n  mcg/h: ug/h\n'


def test_quantity_reads_the_packs_own_unit_spellings_first(load, run_rows):
    template = "valueQuantity: {quantity: {value: $V, unit: $U}}"
    pack = load({"pack.yaml": PACK_UNITS, "m.yaml": mapping(template)})
    rows = [{"ID": "1", "V": "250", "U": "MCG"}, {"ID": "2", "V": "5", "U": "mcg/h"},
            {"ID": "3", "V": "1", "U": "mg."}, {"ID": "4", "V": "1", "U": "mcg"}]
    units = run_rows(pack, "m", rows)
    assert [body(u)["valueQuantity"] for u in units[:3]] == [
        {"value": 250, "unit": "ug", "system": UCUM, "code": "ug"},
        {"value": 5, "unit": "mcg/h", "system": UCUM, "code": "ug/h"},  # display: as written
        {"value": 1, "unit": "mg", "system": UCUM, "code": "mg"},
    ]
    assert error(units[3]) == ("unknown-unit", "not a UCUM unit", "U", "mcg", T)


def test_quantity_converts_from_a_local_spelling(load, run_rows):
    template = "valueQuantity: {quantity: {value: $V, unit: $U, convert_to: kg, round: 1}}"
    pack = load({"pack.yaml": PACK_UNITS, "m.yaml": mapping(template)})
    units = run_rows(pack, "m", [{"ID": "1", "V": "150", "U": "LBS"},
                                 {"ID": "2", "V": "1", "U": "mg/kg"}])
    assert body(units[0])["valueQuantity"] == {"value": 68.0, "unit": "kg", "system": UCUM,
                                               "code": "kg"}
    # valid UCUM, but no conversion known: the conversions stay the fixed list
    assert error(units[1]) == ("unknown-unit", "cannot convert this unit to kg", "U", "mg/kg", T)


def test_pack_units_targets_are_checked_by_the_grammar(problems_of):
    pack_yaml = 'name: p\nunits:\n  MCG: ug\n  MGG: mgg\n  "mm Hg": mm Hg\n'
    template = "valueQuantity: {quantity: {value: $V, unit: $U}}"
    root, found = problems_of({"pack.yaml": pack_yaml, "m.yaml": mapping(template)})
    assert [p.replace(f"{root}/", "") for p in found] == [
        "pack.yaml:4: units.MGG: 'mgg' is not a UCUM code: unknown unit 'mgg'",
        "pack.yaml:5: units.mm Hg: 'mm Hg' is not a UCUM code: character ' ' is "
        "not allowed (UCUM codes are printable ASCII, no spaces)",
    ]


def test_quantity_literal_unit_is_checked_when_the_pack_loads(problems):
    template = """\
        valueQuantity: {quantity: {value: $V, unit: mgg}}
        component:
          - code: {text: a}
            valueQuantity: {quantity: {value: $V, unit: mgg, on_unknown_unit: keep}}
          - code: {text: b}
            valueQuantity: {quantity: {value: $V, unit: "mm[Hg]"}}
    """
    assert problems(template) == [
        f"m.yaml:{T}: emit[0].template.valueQuantity.quantity.unit: 'mgg' is not a UCUM unit: "
        "unknown unit 'mgg' (or map it in pack.yaml units:)",
    ]


def test_quantity_literal_unit_may_be_a_local_spelling(load, run_rows):
    pack = load({"pack.yaml": PACK_UNITS,
                 "m.yaml": mapping("valueQuantity: {quantity: {value: $V, unit: MCG}}")})
    (unit,) = run_rows(pack, "m", [{"ID": "1", "V": "4"}])
    assert body(unit)["valueQuantity"]["code"] == "ug"


# -- translate -----------------------------------------------------------------------------

def test_translate_through_a_concept_map(emit):
    template = """\
        gender: {translate: {map: gender, from: $SEX, on_unmapped: quarantine, as: code}}
        maritalStatus:
          coding: [{translate: {map: gender, from: $SEX, on_unmapped: quarantine}}]
    """
    units = emit(template, {"SEX": "M"}, {"SEX": ""}, resource="Patient",
                 concept_maps={"gender": GENDER_MAP})
    assert body(units[0]) == {
        "gender": "male",
        "maritalStatus": {"coding": [{"system": GENDER, "code": "male", "display": "Male"}]},
    }
    assert body(units[1]) == {}
    assert units[0].notes == []


def test_translate_as_codeable_with_text(emit):
    template = """\
        maritalStatus:
          translate: {map: gender, from: $SEX, on_unmapped: quarantine, as: codeable, text: $T}
    """
    units = emit(template, {"SEX": "M", "T": "man"}, {"SEX": "M"}, resource="Patient",
                 concept_maps={"gender": GENDER_MAP})
    coding = {"system": GENDER, "code": "male", "display": "Male"}
    assert body(units[0]) == {"maritalStatus": {"coding": [coding], "text": "man"}}
    assert body(units[1]) == {"maritalStatus": {"coding": [coding]}}


def test_translate_display_option_fills_a_missing_display_only(emit):
    template = """\
        maritalStatus:
          coding: [{translate: {map: gender, from: $SEX, on_unmapped: quarantine, display: $D}}]
    """
    units = emit(template, {"SEX": "F", "D": "Woman"}, {"SEX": "M", "D": "Man"},
                 resource="Patient", concept_maps={"gender": GENDER_MAP})
    assert body(units[0])["maritalStatus"]["coding"] == [
        {"system": GENDER, "code": "female", "display": "Woman"}]
    assert body(units[1])["maritalStatus"]["coding"] == [
        {"system": GENDER, "code": "male", "display": "Male"}]


def test_translate_inline_values(emit):
    template = """\
        maritalStatus:
          translate:
            from: $MS
            values: {M: M, S: S, W: W}
            target_system: http://terminology.hl7.org/CodeSystem/v3-MaritalStatus
            on_unmapped: quarantine
            as: codeable
    """
    units = emit(template, {"MS": "S"}, {"MS": "X"}, resource="Patient")
    assert body(units[0]) == {"maritalStatus": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "S"}]}}
    assert error(units[1]) == ("unmapped-code", "code not in inline values", "MS", "X", T + 1)


def test_translate_unmapped_quarantine(emit):
    units = emit("gender: {translate: {map: gender, from: $SEX, on_unmapped: quarantine, "
                 "as: code}}", {"SEX": "U"}, resource="Patient",
                 concept_maps={"gender": GENDER_MAP})
    assert error(units[0]) == ("unmapped-code", "code not in gender", "SEX", "U", T)


def test_translate_unmapped_keep_uses_the_maps_source_system_and_notes_it(emit):
    template = """\
        maritalStatus:
          coding: [{translate: {map: gender, from: $SEX, on_unmapped: keep, display: $D}}]
    """
    units = emit(template, {"SEX": "U", "D": "Unknown"}, {"SEX": "X"}, resource="Patient",
                 concept_maps={"gender": GENDER_MAP})
    assert body(units[0]) == {"maritalStatus": {"coding": [
        {"system": "urn:legacy:sex", "code": "U", "display": "Unknown"}]}}
    assert body(units[1]) == {"maritalStatus": {"coding": [
        {"system": "urn:legacy:sex", "code": "X"}]}}
    assert notes(units[0]) == [("unmapped-code", "code not in gender; kept as is", "SEX", "U",
                                T + 1)]
    assert notes(units[1]) == [("unmapped-code", "code not in gender; kept as is", "SEX", "X",
                                T + 1)]


def test_translate_unmapped_keep_with_an_explicit_system_as_code(emit):
    units = emit("gender: {translate: {values: {M: male}, from: $SEX, system: urn:sex, "
                 "on_unmapped: keep, as: code}}", {"SEX": "other"}, resource="Patient")
    assert body(units[0]) == {"gender": "other"}
    assert notes(units[0]) == [("unmapped-code", "code not in inline values; kept as is", "SEX",
                                "other", T)]


def test_translate_unmapped_fixed_code_is_used_and_noted(emit):
    template = """\
        maritalStatus:
          translate:
            map: gender
            from: $SEX
            as: codeable
            on_unmapped: {system: http://terminology.hl7.org/CodeSystem/v3-NullFlavor, code: UNK, display: unknown}
        gender: {translate: {map: gender, from: $SEX, on_unmapped: {code: unknown}, as: code}}
    """  # noqa: E501
    units = emit(template, {"SEX": "?"}, {"SEX": "F"}, resource="Patient",
                 concept_maps={"gender": GENDER_MAP})
    assert body(units[0]) == {
        "maritalStatus": {"coding": [{"system": NULL_FLAVOR, "code": "UNK",
                                      "display": "unknown"}]},
        "gender": "unknown",
    }
    assert notes(units[0]) == [
        ("unmapped-code", "code not in gender; fixed code used", "SEX", "?", T + 1),
        ("unmapped-code", "code not in gender; fixed code used", "SEX", "?", T + 6),
    ]
    assert body(units[1]) == {
        "maritalStatus": {"coding": [{"system": GENDER, "code": "female"}]}, "gender": "female"}
    assert units[1].notes == []


def test_translate_option_problems(problems):
    template = """\
        gender: {translate: {from: $SEX, on_unmapped: keep, as: code}}
        maritalStatus: {translate: {map: gender, values: {M: male}, from: $SEX, on_unmapped: keep}}
        language: {translate: {map: nope, from: $L, on_unmapped: drop, as: text}}
        birthDate: {translate: {values: [M, F], from: $SEX, on_unmapped: keep, as: code}}
    """
    assert problems(template, resource="Patient", concept_maps={"gender": GENDER_MAP}) == [
        f"m.yaml:{T}: emit[0].template.gender.translate: "
        "give either 'map' (a concept map name) or 'values' (inline)",
        f"m.yaml:{T + 1}: emit[0].template.maritalStatus.translate: "
        "give either 'map' (a concept map name) or 'values' (inline)",
        f"m.yaml:{T + 2}: emit[0].template.language.translate.map: "
        "no concept map 'nope' in the pack's concept_maps/ (known: gender)",
        f"m.yaml:{T + 2}: emit[0].template.language.translate.as: "
        "must be one of coding, code, codeable",
        f"m.yaml:{T + 2}: emit[0].template.language.translate.on_unmapped: "
        "must be keep, quarantine, or a fixed {code, system, display}",
        f"m.yaml:{T + 3}: emit[0].template.birthDate.translate.values: "
        "must map source codes to target codes",
    ]


# -- ref and identifier --------------------------------------------------------------------

PATIENTS = """\
mapping: patient
source: patients
key: [PID]
emit:
  - resource: Patient
    template: {gender: male}
"""

PEOPLE = """\
mapping: person
source: people
key: [ID]
emit:
  - name: patient
    resource: Patient
    template: {gender: female}
  - name: contact
    resource: RelatedPerson
    entity: contacts
    key: [$ID, $CONTACT]
    template:
      patient: {ref: {mapping: person, emit: patient, key: [$ID]}}
"""

OBSERVATIONS = """\
mapping: obs
source: observations
key: [OID]
emit:
  - resource: Observation
    template:
      subject: {ref: {mapping: patient, key: [$PID], display: $NAME}}
      performer:
        - {ref: {mapping: person, emit: contact, key: [$PERSON, $CONTACT]}}
        - {ref: {mapping: person, emit: patient, key: [$PERSON]}}
"""


def test_ref_id_is_the_id_the_referenced_mapping_gives(load, run_rows):
    pack = load({"patients.yaml": PATIENTS, "people.yaml": PEOPLE, "obs.yaml": OBSERVATIONS})
    ns, system = pack.settings.namespace, pack.settings.source_system
    (obs,) = run_rows(pack, "obs", [{"OID": "o1", "PID": "p1", "NAME": "Ann Lee",
                                     "PERSON": "x9", "CONTACT": "2"}])
    (patient,) = run_rows(pack, "patient", [{"PID": "p1"}])
    (person,) = run_rows(pack, "person", [{"ID": "x9", "CONTACT": "2"}])
    patient_id = resource_id(ns, system, "Patient", "patients", ("p1",))
    contact_id = resource_id(ns, system, "RelatedPerson", "contacts", ("x9", "2"))
    person_id = resource_id(ns, system, "Patient", "people", ("x9",))
    assert patient.resources[0]["id"] == patient_id
    assert [r["id"] for r in person.resources] == [person_id, contact_id]
    assert person.resources[1]["patient"] == {"reference": f"Patient/{person_id}"}
    assert body(obs) == {
        "subject": {"reference": f"Patient/{patient_id}", "display": "Ann Lee"},
        "performer": [{"reference": f"RelatedPerson/{contact_id}"},
                      {"reference": f"Patient/{person_id}"}],
    }


def test_ref_with_a_null_key_part_is_pruned(load, run_rows):
    pack = load({"patients.yaml": PATIENTS, "people.yaml": PEOPLE, "obs.yaml": OBSERVATIONS})
    (obs,) = run_rows(pack, "obs", [{"OID": "o1", "PID": "", "NAME": "Ann Lee",
                                     "PERSON": "x9", "CONTACT": ""}])
    person_id = resource_id(pack.settings.namespace, pack.settings.source_system, "Patient",
                            "people", ("x9",))
    assert body(obs) == {"performer": [{"reference": f"Patient/{person_id}"}]}


def test_ref_naming_an_emit_that_does_not_exist(problems_of):
    obs = OBSERVATIONS.replace("{mapping: patient, key:", "{mapping: patient, emit: typo, key:")
    root, found = problems_of({"patients.yaml": PATIENTS, "people.yaml": PEOPLE,
                               "obs.yaml": obs})
    (problem,) = found
    where = f"{root}/obs.yaml:7: emit[0].template.subject.ref: "
    assert problem.startswith(where)
    message = problem[len(where):]
    # 'patient' emits one resource: the problem is the unknown emit name, not "several".
    assert "'typo'" in message
    assert "several" not in message


def test_identifier(emit):
    template = """\
        identifier:
          - identifier: {system: "urn:oid:1.2.3", value: $MRN, type: MR, type_text: Medical record number, use: usual}
          - identifier: {system: http://hl7.org/fhir/sid/us-ssn, value: $SSN}
    """  # noqa: E501
    units = emit(template, {"MRN": "123", "SSN": "999-00-1111"}, {"MRN": "7", "SSN": ""},
                 {"MRN": "", "SSN": ""}, resource="Patient")
    mrn = {"use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR"}],
                                    "text": "Medical record number"},
           "system": "urn:oid:1.2.3", "value": "123"}
    assert body(units[0]) == {"identifier": [
        mrn, {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-00-1111"}]}
    assert body(units[1]) == {"identifier": [{**mrn, "value": "7"}]}
    assert body(units[2]) == {}


def test_identifier_with_a_null_system_has_no_system(emit):
    # None means absent everywhere in a template; it must never reach the resource.
    units = emit("identifier: [{identifier: {system: $SYS, value: $MRN}}]", {"MRN": "123"},
                 resource="Patient")
    assert body(units[0]) == {"identifier": [{"value": "123"}]}


# -- text ----------------------------------------------------------------------------------

def test_concat_skips_nulls(emit):
    template = """\
        name:
          - text: {concat: {parts: [$FIRST, $MIDDLE, $LAST], sep: " "}}
            family: {concat: [$LAST, $SUFFIX]}
    """
    units = emit(template, {"FIRST": "Ann", "MIDDLE": "", "LAST": "Lee", "SUFFIX": "123"},
                 {"FIRST": "", "MIDDLE": "", "LAST": "", "SUFFIX": ""}, resource="Patient")
    assert body(units[0]) == {"name": [{"text": "Ann Lee", "family": "Lee123"}]}
    assert body(units[1]) == {}


def test_concat_options_are_checked(problems):
    assert problems("valueString: {concat: {parts: $A, sep: ' '}}\n"
                    "code: {text: {concat: $A}}") == [
        f"m.yaml:{T}: emit[0].template.valueString.concat: parts must be a list",
        f"m.yaml:{T + 1}: emit[0].template.code.text.concat: takes options ['parts', 'sep']",
    ]


def test_format_fills_placeholders_from_columns_and_lets(emit):
    units = emit('valueString: {format: "BP on {DATE} in {unit}"}', {"DATE": "2020-01-05"},
                 {"DATE": ""}, tail="let:\n  unit: mm[Hg]\n")
    assert body(units[0]) == {"valueString": "BP on 2020-01-05 in mm[Hg]"}
    assert body(units[1]) == {}  # a null placeholder: no half-filled text


def test_format_needs_text(problems):
    assert problems("valueString: {format: [a, b]}") == [
        f"m.yaml:{T}: emit[0].template.valueString.format: "
        "takes a text with {COLUMN} placeholders",
    ]


def test_clean_trims_collapses_and_changes_case(emit):
    template = """\
        name:
          - family: {clean: {value: $LAST, strip_digits: true, case: title}}
            given:
              - {clean: $FIRST}
              - {clean: {value: $FIRST, case: upper, collapse_spaces: false}}
              - {clean: {value: $FIRST, case: lower}}
    """
    units = emit(template, {"LAST": "mcDONALD123", "FIRST": "Ann   marie"}, resource="Patient")
    assert body(units[0]) == {"name": [{"family": "Mcdonald",
                                        "given": ["Ann marie", "ANN   MARIE", "ann marie"]}]}


def test_clean_pattern_mismatch_quarantines_or_drops(emit):
    template = """\
        valueString: {clean: {value: $V, pattern: "[0-9]{3}-[0-9]{4}"}}
        code: {text: {clean: {value: $V, pattern: "[0-9]{3}-[0-9]{4}", on_mismatch: drop}}}
    """
    units = emit(template, {"V": "555-1234"}, {"V": "5551234"})
    assert body(units[0]) == {"valueString": "555-1234", "code": {"text": "555-1234"}}
    assert error(units[1]) == ("pattern-mismatch", "value does not match the expected pattern",
                               "V", "5551234", T)
    only_drop = emit("code: {text: {clean: {value: $V, pattern: '[0-9]+', on_mismatch: drop}}}",
                     {"V": "12a"})
    assert body(only_drop[0]) == {}
    assert notes(only_drop[0]) == [("pattern-mismatch", "value does not match the expected "
                                    "pattern", "V", "12a", T)]


def test_clean_option_problems(problems):
    assert problems("valueString: {clean: {value: $V, case: camel, pattern: '(a'}}") == [
        f"m.yaml:{T}: emit[0].template.valueString.clean.case: must be lower, upper or title",
        f"m.yaml:{T}: emit[0].template.valueString.clean.pattern: "
        "bad regular expression: missing ): (a",
    ]


def test_split_gives_trimmed_non_empty_parts(emit):
    template = "name: [{given: {split: {value: $GIVEN, sep: ';'}}}]"
    units = emit(template, {"GIVEN": "Ann; Marie;;  Jo "}, {"GIVEN": " ; ;"}, resource="Patient")
    assert body(units[0]) == {"name": [{"given": ["Ann", "Marie", "Jo"]}]}
    assert body(units[1]) == {}


def test_part_picks_one_piece(emit):
    template = """\
        code:
          coding:
            - system: {part: {value: $CODE, sep: ":", index: 0}}
              code: {part: {value: $CODE, sep: ":", index: -1}}
          text: {part: {value: $CODE, sep: ":", index: 5}}
    """
    units = emit(template, {"CODE": "ICD10: E11.9"}, {"CODE": "E11.9"})
    assert body(units[0]) == {"code": {"coding": [{"system": "ICD10", "code": "E11.9"}]}}
    assert body(units[1]) == {"code": {"coding": [{"system": "E11.9", "code": "E11.9"}]}}


def test_part_index_that_is_not_a_number_is_a_problem(problems_of):
    # load_pack must report a MappingError (with where and line), not crash with ValueError.
    root, found = problems_of({"m.yaml": mapping(
        "valueString: {part: {value: $CODE, sep: ':', index: first}}")})
    assert len(found) == 1
    assert found[0].startswith(f"{root}/m.yaml:{T}: emit[0].template.valueString.part")


def test_first_of_takes_the_first_present_value(emit):
    template = """\
        valueString:
          first_of:
            - $PREFERRED
            - {concat: [$FIRST, $LAST]}
            - unknown
        code: {text: {first_of: [$PREFERRED, $FIRST]}}
    """
    units = emit(template, {"PREFERRED": "Jojo", "FIRST": "Jo", "LAST": "Lee"},
                 {"PREFERRED": "", "FIRST": "Jo", "LAST": "Lee"},
                 {"PREFERRED": "", "FIRST": "", "LAST": ""})
    assert [body(u) for u in units] == [
        {"valueString": "Jojo", "code": {"text": "Jojo"}},
        {"valueString": "JoLee", "code": {"text": "Jo"}},
        {"valueString": "unknown"},
    ]


def test_first_of_with_when_branch(emit):
    template = """\
        valueString:
          first_of:
            - {$when: {equals: [$USE, "Y"]}, clean: {value: $NICK, case: upper}}
            - $FIRST
    """
    units = emit(template, {"USE": "Y", "NICK": "jo", "FIRST": "Jo"},
                 {"USE": "N", "NICK": "jo", "FIRST": "Jo"})
    assert [body(u) for u in units] == [{"valueString": "JO"}, {"valueString": "Jo"}]


def test_choose_takes_the_first_branch_that_holds(emit):
    template = """\
        valueString:
          choose:
            - {when: {equals: [$K, a]}, value: $A}
            - {when: {in: [$K, [b, c]]}, value: {clean: {value: $B, case: upper}}}
            - {value: other}
        code:
          text: {choose: [{when: {present: $A}, value: has-a}]}
    """
    units = emit(template, {"K": "a", "A": "x", "B": "y"}, {"K": "c", "A": "", "B": "y"},
                 {"K": "z", "A": "", "B": "y"})
    assert [body(u) for u in units] == [
        {"valueString": "x", "code": {"text": "has-a"}},
        {"valueString": "Y"},
        {"valueString": "other"},
    ]


def test_choose_and_first_of_shapes_are_checked(problems):
    template = """\
        valueString:
          choose:
            - {when: {present: $A}, then: x}
            - other
        code: {text: {first_of: []}}
        method: {text: {choose: x}}
    """
    assert problems(template) == [
        f"m.yaml:{T + 2}: emit[0].template.valueString.choose[0]: "
        "a branch is {when: condition, value: ...} (when optional)",
        f"m.yaml:{T + 1}: emit[0].template.valueString.choose[1]: "
        "a branch is {when: condition, value: ...} (when optional)",
        f"m.yaml:{T + 4}: emit[0].template.code.text.first_of: takes a non-empty list",
        f"m.yaml:{T + 5}: emit[0].template.method.text.choose: "
        "takes a list of {when, value} branches",
    ]


def test_extract_returns_the_first_capture_group(emit):
    units = emit(r"valueString: {extract: {value: $UDI, pattern: '\(01\)(\d+)'}}",
                 {"UDI": "(01)51022222233336(11)141231"}, {"UDI": "no gtin"})
    assert body(units[0]) == {"valueString": "51022222233336"}
    assert body(units[1]) == {}


def test_extract_pattern_needs_a_capture_group(problems):
    assert problems(r"valueString: {extract: {value: $UDI, pattern: '\(01\)\d+'}}") == [
        f"m.yaml:{T}: emit[0].template.valueString.extract.pattern: "
        r"needs one capture group, e.g. '\(01\)(\d+)'",
    ]


def test_replace_literal_text(emit):
    units = emit("valueString: {replace: {value: $V, old: ',', new: ''}}", {"V": "25,000"},
                 {"V": ",,"}, {"V": "none"}, {"V": ""})
    assert [body(u) for u in units] == [{"valueString": "25000"}, {}, {"valueString": "none"},
                                        {}]
    units = emit("valueString: {replace: {value: $V, old: _, new: ' '}}", {"V": "a_b"},
                 {"V": "__"})
    assert [body(u) for u in units] == [{"valueString": "a b"}, {}]  # blanks only: no value


def test_replace_pattern_with_group_references(emit):
    units = emit(r"valueString: {replace: {value: $V, pattern: '(\d+)/(\d+)', new: '\2-\1'}}",
                 {"V": "dose 5/10 and 7/8"})
    assert body(units[0]) == {"valueString": "dose 10-5 and 8-7"}
    units = emit(r"valueString: {replace: {value: $V, pattern: '\s+', new: ' '}}",
                 {"V": "a  \n b"})
    assert body(units[0]) == {"valueString": "a b"}


def test_replace_new_defaults_to_nothing_and_numbers_are_text(emit):
    units = emit("valueString: {replace: {value: $V, old: 0, new: 1}}", {"V": "1000"})
    assert body(units[0]) == {"valueString": "1111"}
    units = emit("valueString: {replace: {value: $V, pattern: '[^0-9]'}}", {"V": "a1b2"},
                 {"V": "ab"})
    assert [body(u) for u in units] == [{"valueString": "12"}, {}]


def test_replace_problems_are_reported_with_their_line(problems):
    template = """\
        valueString: {replace: {value: $V, old: ',', pattern: ','}}
        note: [{text: {replace: {value: $V}}}]
        code: {text: {replace: {value: $V, pattern: '(a'}}}
        method: {text: {replace: {value: $V, pattern: '(a)', new: '\\2'}}}
        category: [{text: {replace: {value: $V, old: ''}}}]
    """
    assert problems(template) == [
        f"m.yaml:{T}: emit[0].template.valueString.replace: give either 'old' (a text) or "
        "'pattern' (a regular expression), not both",
        f"m.yaml:{T + 1}: emit[0].template.note[0].text.replace: give either 'old' (a text) "
        "or 'pattern' (a regular expression), not both",
        f"m.yaml:{T + 2}: emit[0].template.code.text.replace.pattern: bad regular "
        "expression: missing ): (a",
        f"m.yaml:{T + 3}: emit[0].template.method.text.replace.new: names group 2, but the "
        "pattern has 1 group(s)",
        f"m.yaml:{T + 4}: emit[0].template.category[0].text.replace.old: must not be empty",
    ]


def test_replace_pattern_runs_in_linear_time(emit):
    import time

    start = time.perf_counter()
    units = emit("valueString: {replace: {value: $V, pattern: '^(a+)+$', new: x}}",
                 {"V": "a" * 5000 + "!"})
    assert body(units[0]) == {"valueString": "a" * 5000 + "!"}
    assert time.perf_counter() - start < 5  # Python's re would take years


def test_xhtml_escapes_the_text(emit):
    units = emit("text: {status: generated, div: {xhtml: $NOTE}}",
                 {"NOTE": 'BP < 120 & "ok" > x'})
    assert body(units[0]) == {"text": {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
               "BP &lt; 120 &amp; &quot;ok&quot; &gt; x</div>"}}


def test_literal_is_never_read_as_a_template(emit):
    template = """\
        code: {literal: {text: $NOT_A_COLUMN, coding: [{code: date, display: "$$x"}]}}
        valueString: {literal: "$ALSO_NOT"}
    """
    units = emit(template, {"NOT_A_COLUMN": "read"})
    assert body(units[0]) == {
        "code": {"text": "$NOT_A_COLUMN", "coding": [{"code": "date", "display": "$$x"}]},
        "valueString": "$ALSO_NOT",
    }


def test_literal_keeps_the_text_the_author_wrote(emit):
    # yamlio: "Keep YAML 1.1 sexagesimals and dates as the strings the author wrote."
    units = emit("valueString: {literal: 10:30}\ncode: {text: {literal: 2021-01-01}}", {})
    assert body(units[0]) == {"valueString": "10:30", "code": {"text": "2021-01-01"}}


ROW_MAPPING = """\
mapping: m
source: t
key: [ID]
group: {by: [P], size: 2}
emit:
  - resource: Observation
    per: group
    template:
      valueString: {row: {where: {CODE: b}, value: $V}}
      code: {text: {row: {where: {CODE: a, KIND: "1"}, value: $V}}}
      method: {text: {row: {where: {CODE: zz}, value: $V}}}
"""


def test_row_reads_one_row_of_the_group(run_one):
    units = run_one(ROW_MAPPING, [
        {"ID": "1", "P": "p", "CODE": "a", "KIND": 1, "V": "first"},
        {"ID": "2", "P": "p", "CODE": "b", "KIND": 2, "V": "second"},
    ])
    (unit,) = units
    assert unit.keys == [{"ID": "1"}, {"ID": "2"}]
    assert body(unit) == {"valueString": "second", "code": {"text": "first"}}


def test_row_options_are_checked(problems_of):
    text = ROW_MAPPING.replace("{where: {CODE: zz}, value: $V}", "{where: zz, value: $V}")
    root, found = problems_of({"m.yaml": text})
    assert found == [f"{root}/m.yaml:11: emit[0].template.method.text.row: "
                     "'where' must map columns to values"]


# -- option checking -----------------------------------------------------------------------

def test_unknown_and_missing_options_are_all_reported(problems):
    template = """\
        effectiveDateTime:
          datetime: {vaule: $D, zone: UTC}
        valueInteger: {integer: {value: $V, maximum: 3}}
    """
    assert problems(template) == [
        f"m.yaml:{T + 1}: emit[0].template.effectiveDateTime.datetime.vaule: "
        "unknown option 'vaule'; valid options: formats, tz, value",
        f"m.yaml:{T + 1}: emit[0].template.effectiveDateTime.datetime.zone: "
        "unknown option 'zone'; valid options: formats, tz, value",
        f"m.yaml:{T + 1}: emit[0].template.effectiveDateTime.datetime: "
        "option 'value' is required",
        f"m.yaml:{T + 2}: emit[0].template.valueInteger.integer.maximum: "
        "unknown option 'maximum'; valid options: decimal_mark, max, min, thousands, value",
    ]


def test_a_transform_can_take_another_transform_as_its_value(emit):
    units = emit("birthDate: {date: {clean: {value: $D, strip_digits: false}}}",
                 {"D": "2020-01-05"}, {"D": "junk"}, resource="Patient")
    assert body(units[0]) == {"birthDate": "2020-01-05"}
    # The value is not a column, so no column is named.
    assert error(units[1]) == ("bad-date", NOT_A_DATE, None, "junk", T)


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Asia/Kolkata"])
def test_datetime_fast_path_equals_the_general_path(zone):
    import random
    from zoneinfo import ZoneInfo

    from migrate.mappers.transforms import _format_datetime, _format_datetime_general

    tz = ZoneInfo(zone)
    rng = random.Random(3)

    def field(width: int, hi: int) -> str:
        return str(rng.randint(0, hi)).zfill(width)

    texts = ["2015-04-05T16:30:42Z", "2016-02-29T00:00:00", "2015-02-29T10:00:00Z",
             "2015-04-05T24:00:00", "2015-04-05T23:59:60Z", "2015-13-01T00:00:00Z"]
    for _ in range(4000):
        texts.append(f"{field(4, 2100)}-{field(2, 13)}-{field(2, 32)}T{field(2, 25)}:"
                     f"{field(2, 61)}:{field(2, 61)}{rng.choice(['', 'Z'])}")
    for text in texts:
        try:
            expected = _format_datetime_general(text, tz, None)
        except ValueError:
            with pytest.raises(ValueError, match="."):
                _format_datetime(text, tz, None)
            continue
        assert _format_datetime(text, tz, None) == expected, text


@pytest.mark.parametrize("raw", ["999999999999999999999", "1e400", "-1e400"])
def test_a_number_no_json_writer_can_carry_quarantines_its_row(emit, raw):
    (unit,) = emit("valueQuantity: {quantity: {value: $V, unit: mg}}", {"V": raw})
    assert unit.outcome == "quarantined"
    assert [(e.code, e.column, e.value) for e in unit.errors] == [("number-too-large", "V", raw)]
