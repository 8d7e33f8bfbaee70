"""Numbers written with a locale's separators (``migrate.mappers.numbers``): the
``thousands`` and ``decimal_mark`` options of ``decimal``, ``integer`` and ``quantity``, and
pack.yaml's ``numbers:`` default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.mappers.numbers import locale_reader
from migrate.outcomes import Unit
from tests.mappers.conftest import run_rows
from tests.mappers.test_transforms import T, body, error, mapping

UCUM = "http://unitsofmeasure.org"


@pytest.fixture
def emit_in(load: Callable[..., Any]) -> Callable[..., list[Unit]]:
    """``emit_in(pack_yaml, template, *rows)``: rows through a one-emit mapping of a pack."""

    def do(pack_yaml: str, template: str, *rows: dict[str, Any]) -> list[Unit]:
        files = {"m.yaml": mapping(template)}
        if pack_yaml:
            files["pack.yaml"] = pack_yaml
        pack = load(files)
        return run_rows(pack, "m", [{"ID": str(i), **r} for i, r in enumerate(rows, start=1)])

    return do


def value(unit: Unit) -> Any:
    return body(unit).get("valueQuantity", {}).get("value")


def test_thousands_separator_with_groups_of_three(emit_in):
    units = emit_in("", "valueQuantity: {value: {decimal: {value: $V, thousands: ','}}}",
                    {"V": "25,000"}, {"V": "1,234,567.5"}, {"V": "1234"}, {"V": "-2,000"},
                    {"V": 3000})
    assert [value(u) for u in units] == [25000, 1234567.5, 1234, -2000, 3000]
    assert isinstance(value(units[0]), int)


@pytest.mark.parametrize("raw", ["2,50", "1,2345", "25,00,0", ",500", "1,000,", "1.000,5"])
def test_wrong_grouping_is_not_a_number(emit_in, raw):
    (unit,) = emit_in("", "valueQuantity: {value: {decimal: {value: $V, thousands: ','}}}",
                      {"V": raw})
    assert error(unit) == ("not-a-number", "not a number", "V", raw, T)


def test_decimal_comma_with_dot_thousands(emit_in):
    units = emit_in("", "valueQuantity: {value: {decimal: {value: $V, thousands: '.', "
                    "decimal_mark: ','}}}", {"V": "1.234,5"}, {"V": "0,25"}, {"V": "12"},
                    {"V": "1.5"})
    assert [value(u) for u in units[:3]] == [1234.5, 0.25, 12]
    # "1.5" with thousands "." is a wrong group, not one and a half
    assert error(units[3]) == ("not-a-number", "not a number", "V", "1.5", T)


def test_decimal_comma_alone_refuses_a_dot(emit_in):
    units = emit_in("", "valueQuantity: {value: {decimal: {value: $V, decimal_mark: ','}}}",
                    {"V": "7,5"}, {"V": "7.5"})
    assert value(units[0]) == 7.5
    assert error(units[1]) == ("not-a-number", "not a number", "V", "7.5", T)


def test_integer_with_thousands_and_its_range_names_the_raw_value(emit_in):
    units = emit_in("", "valueInteger: {integer: {value: $V, thousands: ',', max: 9999}}",
                    {"V": "2,500"}, {"V": "25,000"}, {"V": "2,500.5"})
    assert body(units[0]) == {"valueInteger": 2500}
    assert error(units[1]) == ("out-of-range", "must be at most 9999", "V", "25,000", T)
    assert error(units[2]) == ("not-an-integer", "not an integer", "V", "2,500.5", T)


def test_pack_numbers_is_the_default_and_an_option_overrides_it(emit_in):
    pack = "name: p\nnumbers: {thousands: '.', decimal_mark: ','}\n"
    units = emit_in(pack, "valueQuantity: {value: {decimal: $V}}", {"V": "1.234,5"})
    assert value(units[0]) == 1234.5
    units = emit_in(pack, "valueQuantity: {value: {decimal: {value: $V, thousands: null, "
                    "decimal_mark: '.'}}}", {"V": "1234.5"}, {"V": "1.234,5"})
    assert value(units[0]) == 1234.5
    assert error(units[1])[0] == "not-a-number"


def test_quantity_reads_its_value_with_separators(emit_in):
    pack = "name: p\nnumbers: {thousands: ','}\n"
    (unit,) = emit_in(pack, "valueQuantity: {quantity: {value: $V, unit: mg}}",
                      {"V": "25,000"})
    assert body(unit)["valueQuantity"] == {"value": 25000, "unit": "mg", "system": UCUM,
                                           "code": "mg"}
    (unit,) = emit_in("", "valueQuantity: {quantity: {value: $V, unit: mg, decimal_mark: ','}}",
                      {"V": "2,5"})
    assert body(unit)["valueQuantity"]["value"] == 2.5


def test_same_separator_twice_is_a_check_problem(problems_of):
    template = """\
        valueQuantity: {value: {decimal: {value: $V, thousands: ',', decimal_mark: ','}}}
        component: [{code: {text: x}, valueInteger: {integer: {value: $V, decimal_mark: ';'}}}]
    """
    root, found = problems_of({"m.yaml": mapping(template)})
    assert [p.replace(f"{root}/", "") for p in found] == [
        f"m.yaml:{T}: emit[0].template.valueQuantity.value.decimal: thousands and "
        "decimal_mark are both ','",
        f"m.yaml:{T + 1}: emit[0].template.component[0].valueInteger.integer: decimal_mark "
        "must be '.' or ',', not ';'"]


def test_pack_numbers_with_the_same_separator_twice_is_a_problem(problems_of):
    root, found = problems_of({"pack.yaml": "name: p\nnumbers: {thousands: ',', "
                               "decimal_mark: ','}\n", "m.yaml": mapping("status: final")})
    assert [p.replace(f"{root}/", "") for p in found] == [
        "pack.yaml:2: numbers: thousands and decimal_mark are both ','"]


def test_plain_separators_need_no_reader():
    assert locale_reader(None, ".") is None  # no per-value work for packs without the options
    read = locale_reader(" ", ",")
    assert read is not None
    assert read("1 234 567,25") == "1234567.25"
    assert read(" -3,5e2 ") == "-3.5e2"
    with pytest.raises(ValueError, match="12 34"):
        read("12 34")
