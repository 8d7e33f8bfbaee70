"""Named, typed transforms: the only logic a mapping file can ask for (invariant 3).

A transform is written as a one-key YAML object, ``{date: $BIRTHDATE}`` or
``{quantity: {value: $VALUE, unit: $UNITS}}``. Each is compiled once per pack; failures at run
time raise :class:`RowError` so the row is quarantined with its column, value and rule line.
The full reference is in ``docs/mapping-spec.md``.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

# Text, structure and code transforms live in their own modules; importing them registers them.
from migrate.mappers import codes as _codes  # noqa: F401 - translate, ref, identifier
from migrate.mappers import extensions as _extensions  # noqa: F401 - data_absent_reason
from migrate.mappers import hl7 as _hl7  # noqa: F401 - hl7_datetime, code_system
from migrate.mappers import textual as _textual  # noqa: F401 - concat, format, clean, ...
from migrate.mappers.compiler import Compiler, Const, Fn, RowError, Scope
from migrate.mappers.numbers import separators
from migrate.mappers.spec import token_texts
from migrate.mappers.transform_base import (
    TRANSFORMS,
    Builder,
    column_of,
    option_value,
    options,
)
from migrate.mappers.ucum import ucum_problem
from migrate.mappers.units import UCUM_SYSTEM, UCUM_UNITS, convert

# -- dates ---------------------------------------------------------------------------------

def _parse_date(text: str, formats: list[str] | None) -> date:
    if formats:
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date only
            except ValueError:
                continue
        raise ValueError(text)
    return date.fromisoformat(text[:10]) if len(text) >= 10 and text[4] == "-" else \
        date.fromisoformat(text)


def _not_a_date(formats: list[str] | None) -> str:
    tried = " or ".join(repr(f) for f in formats) if formats else "ISO 8601 (YYYY-MM-DD)"
    return f"not a valid date (formats tried: {tried})"


@TRANSFORMS.register("date")
def t_date(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{date: $COL}`` or ``{date: {value, formats, min, max}}``: a FHIR ``date``."""
    o = options(c, arg, where, line, {"value", "formats", "min", "max"}, {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    formats = _formats(c, o.get("formats"), where, line)
    lo = _bound(c, o.get("min"), where, line)
    hi = _bound(c, o.get("max"), where, line)

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        try:
            d = _parse_date(str(v), formats)
        except ValueError:
            raise RowError("bad-date", _not_a_date(formats), column=col, value=v,
                           line=line) from None
        if (lo and d < lo) or (hi and d > hi):
            raise RowError("implausible-date", f"date outside {lo or '...'} to {hi or '...'}",
                           column=col, value=v, line=line)
        return d.isoformat()

    return run


def _bound(c: Compiler, value: Any, where: str, line: int) -> date | None:
    if value is None:
        return None
    if value == "today":
        return date.today() + timedelta(days=1)  # noqa: DTZ011 - a plausibility bound
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        c.problem(line, where, f"bound {value!r} is not a date (YYYY-MM-DD or 'today')")
        return None


@TRANSFORMS.register("datetime")
def t_datetime(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{datetime: {value, tz, formats}}``: a FHIR ``dateTime`` with a time zone.

    Values with an offset or ``Z`` keep their instant; naive values are read in ``tz`` (default:
    the project's time zone). Date-only values stay dates: no time is invented.
    """
    o = options(c, arg, where, line, {"value", "tz", "formats"}, {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    tz = c.context.zone(o.get("tz", "default"), c, where, line)
    formats = _formats(c, o.get("formats"), where, line)

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        try:
            return _format_datetime(str(v), tz, formats)
        except ValueError:
            raise RowError("bad-datetime", "not a valid date-time", column=col, value=v,
                           line=line) from None

    return run


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_DIRECTIVES = re.compile(r"%[HIMSfpXcTRrz]")


# Second-precision ISO date-times, the commonest shape (Synthea, SQL DATETIME read as text): for
# these the result is the text itself (with ``Z`` for UTC), once Python has checked the calendar
# and the clock. tests/mappers/test_transforms.py compares this path with the general one.
_ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z?)")


def _format_datetime(text: str, tz: Any, formats: list[str] | None) -> str:
    if not formats and (m := _ISO_SECONDS.fullmatch(text)) is not None and (
            m.group(1) or getattr(tz, "key", None) == "UTC"):
        datetime.fromisoformat(text[:19])  # a ValueError for Feb 30 or 25:00
        return text if m.group(1) else text + "Z"
    return _format_datetime_general(text, tz, formats)


def _format_datetime_general(text: str, tz: Any, formats: list[str] | None) -> str:
    if formats:
        dt, used = None, ""
        for fmt in formats:
            try:
                dt, used = datetime.strptime(text, fmt), fmt  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
        if dt is None:
            raise ValueError(text)
        if not _TIME_DIRECTIVES.search(used):
            return dt.date().isoformat()  # a date-only format: no time is invented
    elif _DATE_ONLY.match(text):
        return date.fromisoformat(text).isoformat()
    else:
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    out = dt.isoformat()
    return out[:-6] + "Z" if out.endswith("+00:00") else out


# -- numbers -------------------------------------------------------------------------------

def _number(v: Any, integer: bool) -> int | float:
    if isinstance(v, bool):
        raise ValueError(v)  # noqa: TRY004 - callers turn ValueError into a RowError
    if isinstance(v, int | float):
        num: int | float = v
    else:
        d = Decimal(str(v).strip())
        if not d.is_finite():
            raise ValueError(v)
        if integer:
            if d != d.to_integral_value():
                raise ValueError(v)
            return int(d)
        num = int(d) if d == d.to_integral_value() and "." not in str(v) else float(d)
    if integer and num != int(num):
        raise ValueError(v)
    return int(num) if integer else num


def _writable(num: int | float) -> bool:
    """False for numbers JSON writers cannot carry: integers past 64 bits, infinite floats."""
    if type(num) is int:
        return -(2**63) <= num < 2**63
    return math.isfinite(num)


def _numeric(kind: str) -> Builder:
    integer = kind == "integer"

    def build(c: Compiler, arg: Any, where: str, line: int) -> Fn:
        o = options(c, arg, where, line, {"value", "min", "max", "thousands", "decimal_mark"},
                    {"value"})
        if o is None:
            return Const(None)
        val, col = option_value(c, o, "value", where, line), column_of(o["value"])
        local = separators(c, o, where, line)
        lo, hi = o.get("min"), o.get("max")
        for name, bound in (("min", lo), ("max", hi)):
            if bound is not None and not isinstance(bound, int | float):
                c.problem(line, f"{where}.{name}", "must be a number")
                lo, hi = None, None
        span = f"{'at least ' + str(lo) if lo is not None else ''}" \
               f"{' and ' if lo is not None and hi is not None else ''}" \
               f"{'at most ' + str(hi) if hi is not None else ''}"

        def run(s: Scope) -> int | float | None:
            v = val(s)
            if v is None:
                return None
            try:
                num = _number(v if local is None else local(v), integer)
            except (ValueError, InvalidOperation, ArithmeticError):
                raise RowError(f"not-{'an-integer' if integer else 'a-number'}",
                               f"not {'an integer' if integer else 'a number'}",
                               column=col, value=v, line=line) from None
            if not _writable(num):
                raise RowError("number-too-large", "too large for a JSON number (at most 18 "
                               "digits before the point)", column=col, value=v, line=line)
            if (lo is not None and num < lo) or (hi is not None and num > hi):
                raise RowError("out-of-range", f"must be {span}", column=col, value=v,
                               line=line)
            return num

        return run

    build.__doc__ = (f"``{{{kind}: $COL}}`` or ``{{{kind}: {{value, min, max, thousands, "
                     "decimal_mark}}}``.")
    return build


TRANSFORMS.register("decimal", _numeric("decimal"))
TRANSFORMS.register("integer", _numeric("integer"))


@TRANSFORMS.register("boolean")
def t_boolean(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{boolean: {value, true: [...], false: [...]}}``; other values quarantine the row."""
    o = options(c, arg, where, line, {"value", "true", "false"}, {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    pack = c.context.booleans
    yes = _words(c, o, "true", pack.true if pack else _TRUE, where, line)
    no = _words(c, o, "false", pack.false if pack else _FALSE, where, line)
    if yes & no:
        c.problem(line, where, f"{sorted(yes & no)} are both true and false")

    def run(s: Scope) -> bool | None:
        v = val(s)
        if v is None:
            return None
        t = str(v).strip().lower()
        if t in yes:
            return True
        if t in no:
            return False
        raise RowError("not-a-boolean", "not a yes/no value", column=col, value=v, line=line)

    return run


_TRUE = ["true", "1", "yes", "y", "t"]
_FALSE = ["false", "0", "no", "n", "f"]


def _words(c: Compiler, o: dict[str, Any], key: str, default: list[str], where: str,
           line: int) -> set[str]:
    """The spellings of a boolean option: one value (``true: YES``, ``true: 1``) or a list,
    compared in lower case; numbers are their text. Else the default (pack.yaml's or ours)."""
    if key not in o:
        return set(default)
    value = o[key]
    try:
        words = token_texts(value if isinstance(value, list) else [value], words=True)
    except ValueError as exc:
        c.problem(line, f"{where}.{key}", str(exc))
        return set()
    if not words:
        c.problem(line, f"{where}.{key}", "must list at least one text")
    return {w.lower() for w in words}


def _formats(c: Compiler, value: Any, where: str, line: int) -> list[str] | None:
    """``formats:`` as a list of strptime patterns (one pattern may be given alone)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(x, str) and "%" in x for x in items):
        c.problem(line, f"{where}.formats", "takes strptime patterns such as '%d/%m/%Y'")
        return None
    return items


@TRANSFORMS.register("quantity")
def t_quantity(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{quantity: {value, unit, convert_to, round, on_unknown_unit}}``: a UCUM Quantity."""
    o = options(c, arg, where, line,
                {"value", "unit", "convert_to", "round", "on_unknown_unit", "thousands",
                 "decimal_mark"}, {"value", "unit"}, shorthand=None)
    if o is None:
        return Const(None)
    num = t_decimal_like(c, o, where, line)
    unit, ucol = option_value(c, o, "unit", where, line), column_of(o["unit"])
    target, digits, policy = _quantity_settings(c, o, where, line)
    units = c.context.units
    if isinstance(unit, Const) and policy == "quarantine" and unit.value is not None \
            and units.resolve(str(unit.value)) is None:
        c.problem(line, f"{where}.unit", f"{unit.value!r} is not a UCUM unit: "
                  f"{ucum_problem(str(unit.value))} (or map it in pack.yaml units:)")

    def run(s: Scope) -> dict[str, Any] | None:
        v, u = num(s), unit(s)
        if v is None:
            return None
        if u is None:
            return {"value": v}
        u = str(u)
        found = units.resolve(u)
        if target is not None and (found is None or found[0] != target):
            v, found = _convert(v, found[0] if found else u, target, ucol, u, line)
        if digits is not None:
            v = round(v, digits)
        if found is None:
            if policy == "quarantine":
                raise RowError("unknown-unit", "not a UCUM unit", column=ucol, value=u, line=line)
            s.notes.append(RowError("unknown-unit", "unit kept as text", column=ucol, value=u,
                                    line=line))
            return {"value": v, "unit": u}
        return {"value": v, "unit": found[1], "system": UCUM_SYSTEM, "code": found[0]}

    return run


def _quantity_settings(c: Compiler, o: dict[str, Any], where: str,
                       line: int) -> tuple[str | None, int | None, str]:
    """``convert_to``, ``round`` and ``on_unknown_unit`` of a quantity, checked."""
    target, digits = o.get("convert_to"), o.get("round")
    if digits is not None and (not isinstance(digits, int) or isinstance(digits, bool)):
        c.problem(line, f"{where}.round", "must be a whole number of decimal places")
        digits = None
    policy = o.get("on_unknown_unit", "quarantine")
    if policy not in ("quarantine", "keep"):
        c.problem(line, f"{where}.on_unknown_unit", "must be 'quarantine' or 'keep'")
    if target is not None and target not in UCUM_UNITS:
        c.problem(line, f"{where}.convert_to", f"{target!r} is not a UCUM unit emr-migrate knows")
    return target, digits, policy


def _convert(v: float, code: str, target: str, col: str | None, raw: str,
             line: int) -> tuple[float, tuple[str, str]]:
    """``v`` in ``code`` converted to ``target`` (a known unit); ``raw`` is the text read."""
    try:
        return convert(v, code, target), (target, UCUM_UNITS[target])
    except KeyError:
        raise RowError("unknown-unit", f"cannot convert this unit to {target}", column=col,
                       value=raw, line=line) from None


def t_decimal_like(c: Compiler, o: dict[str, Any], where: str, line: int) -> Fn:
    """The numeric value of a quantity (shared so error codes match ``decimal``)."""
    number = {k: o[k] for k in ("value", "thousands", "decimal_mark") if k in o}
    return TRANSFORMS.get("decimal")(c, number, f"{where}.value", line)
