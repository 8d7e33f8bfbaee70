"""UCUM's grammar (migrate.mappers.ucum) and its data table (migrate.mappers.ucum_data)."""

from __future__ import annotations

import time

import pytest

from migrate.mappers import ucum, ucum_data
from migrate.mappers.ucum import MAX_DEPTH, MAX_LENGTH, is_ucum, ucum_problem
from migrate.mappers.units import UCUM_UNITS, UnitResolver

VALID = [
    "mg/kg/h", "mL/min/{1.73_m2}", "10*3/uL", "10^-3", "mm[Hg]", "[iU]/L", "ug/(kg.min)",
    "/min", "%", "{tbl}", "kg.m-2", "kg.m+2", "s{clot}", "1", "kg/m2", "B[10.nV]", "cal_[15]",
    "dam", "Kibit", "[arb'U]/mL", "k[IU]", "mmol/l", "((mg))", "10.L", "''", "4.h",
    "{copies}/mL", "g/(24.h)", "[in_i'H2O]", "m[H2O]", "meq/L",
]

INVALID = {
    "mgg": "unknown unit 'mgg'",
    "kg//m": "expected a unit before '/'",
    "(mg": "'(' is not closed",
    "mg)": "')' without '('",
    "10*": "'10*' needs an exponent (10*3 is a thousand)",
    "10^": "'10^' needs an exponent (10^3 is a thousand)",
    "[foo]": "unknown unit '[foo]'",
    "mg/": "ends with an operator",
    "/": "ends with an operator",
    "": "empty unit",
    "{a": "'{' is not closed by '}'",
    "a}": "'}' without '{'",
    "[in_i": "'[' is not closed by ']'",
    "kmin": "'min' takes no prefix ('kmin')",
    "m{a}{b}": "expected '.' or '/' before '{b}'",
    "3{x}": "a number (3) takes no annotation",
    "(mg)2": "expected '.' or '/' before '2'",
    "mg kg": "character ' ' is not allowed (UCUM codes are printable ASCII, no spaces)",
    "µg": "character 'µ' is not allowed (UCUM codes are printable ASCII, no spaces)",
    "m-": "'m-' is not a unit",
    "MCG": "unknown unit 'MCG'",  # MG is valid: a megagram
}


@pytest.mark.parametrize("text", VALID)
def test_valid_expressions(text: str) -> None:
    assert ucum_problem(text) is None
    assert is_ucum(text)


@pytest.mark.parametrize(("text", "why"), INVALID.items())
def test_invalid_expressions_say_why(text: str, why: str) -> None:
    assert ucum_problem(text) == why
    assert not is_ucum(text)


def test_every_code_emr_migrate_knows_is_valid_ucum() -> None:
    assert [code for code in UCUM_UNITS if not is_ucum(code)] == []


def test_prefixes_only_on_metric_atoms() -> None:
    assert all(map(is_ucum, ["kg", "mL", "daL", "ucal"]))
    assert ucum_problem("k[in_i]") == "'[in_i]' takes no prefix ('k[in_i]')"
    assert ucum_problem("mh") == "'h' takes no prefix ('mh')"


def test_data_is_ucum_essence() -> None:
    assert ucum_data.VERSION.startswith("2.2")
    assert {"k", "m", "u", "da", "Ki"} <= ucum_data.PREFIXES
    assert {"g", "m", "L", "[iU]", "m[Hg]"} <= ucum_data.METRIC
    assert {"10*", "%", "[in_i]", "h", "min"} <= ucum_data.NON_METRIC
    assert not ucum_data.METRIC & ucum_data.NON_METRIC


def test_bounds_length_and_nesting() -> None:
    assert ucum_problem("m" * 10_000) == f"longer than {MAX_LENGTH} characters"
    deep = "(" * (MAX_DEPTH + 1) + "mg" + ")" * (MAX_DEPTH + 1)
    assert ucum_problem(deep) == f"parentheses nested deeper than {MAX_DEPTH}"
    assert is_ucum("(" * MAX_DEPTH + "mg" + ")" * MAX_DEPTH)


def test_linear_time_on_long_hostile_texts() -> None:
    texts = ["m." * (MAX_LENGTH // 2 - 1) + "g", "{" + "a" * (MAX_LENGTH - 2) + "}",
             "[" * MAX_LENGTH, "1" * MAX_LENGTH, "(" * MAX_LENGTH, "m-" * (MAX_LENGTH // 2)]
    uncached = ucum._problem.__wrapped__  # the check itself, not its cache
    start = time.perf_counter()
    for _ in range(200):
        for text in texts:
            uncached(text)
    assert time.perf_counter() - start < 2.0  # about 0.1 s: linear, no backtracking


def test_not_text() -> None:
    assert ucum_problem(5) == "a unit code is text"  # type: ignore[arg-type]


def test_resolver_order_and_display() -> None:
    units = UnitResolver({"MCG": "ug", "mcg/kg/min": "ug/(kg.min)", "s{clot}": "s"})
    assert units.resolve("MCG") == ("ug", "ug")  # a local spelling of a known unit
    assert units.resolve("mcg/kg/min") == ("ug/(kg.min)", "mcg/kg/min")  # display: as written
    assert units.resolve("s{clot}") == ("s", "s")  # the pack's spelling wins over the table
    assert units.resolve("mm[Hg]") == ("mm[Hg]", "mm[Hg]")
    assert units.resolve("mg/kg/h") == ("mg/kg/h", "mg/kg/h")  # valid, unknown to the table
    assert units.resolve("mgg") is None
    assert UnitResolver().resolve("MCG") is None


def test_a_unit_in_capitals_is_never_read_as_a_megagram() -> None:
    """``MG`` is valid case-sensitive UCUM (a megagram) but a source writing capitals means the
    milligram: it resolves only through the pack's spellings or the known units."""
    units = UnitResolver({"MG": "mg"})
    assert UnitResolver().resolve("MG") is None
    assert UnitResolver().resolve("ML") is None
    assert UnitResolver().resolve("MEQ/L") is None
    assert units.resolve("MG") == ("mg", "mg")
    assert UnitResolver().resolve("U/L") == ("U/L", "U/L")
    assert UnitResolver().resolve("[IU]/L") == ("[IU]/L", "[IU]/L")
    assert UnitResolver().resolve("kPa") == ("kPa", "kPa")  # mixed case: taken as written


def test_kelvin_and_gauss_are_never_read_from_a_labs_thousand_or_giga() -> None:
    """``K/uL`` is valid UCUM (kelvin per microlitre) but a lab means 10*3/uL by it; ``G/L``
    (gauss per litre) means 10*9/L. They need the pack's map; units with k, g, Gy, kg are fine."""
    assert UnitResolver().resolve("K/uL") is None
    assert UnitResolver().resolve("G/L") is None
    assert UnitResolver().resolve("K") is None
    assert UnitResolver({"K/uL": "10*3/uL"}).resolve("K/uL") == ("10*3/uL", "10*3/uL")
    for fine in ("kg/m2", "g/dL", "Gy", "mg/kg/h", "[iU]/L", "kPa", "10*9/L"):
        assert UnitResolver().resolve(fine) is not None, fine
