"""The comparison conditions ``lt``, ``le``, ``gt`` and ``ge`` (docs/mapping-spec.md, section 6).

Each side is read as a number, an ISO date or an ISO date-time (text, or the value an SQL
source gives). Two numbers compare numerically; two dates or date-times chronologically: a
naive date-time is in the pack's time zone, and a date against a date-time compares the
date-time's date (in that zone). A null on either side: the condition does not hold. Anything
else (text, a number against a date) records the error ``not-comparable`` on the row, naming
the column, so the row is quarantined, never silently compared as text.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from migrate.mappers.transform_base import column_of, is_transform
from migrate.outcomes import RowError

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler, Cond, Scope

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
NUMBER, DATE, DATETIME = "number", "date", "date-time"
Operand = tuple[str, Any]


def operand(v: Any) -> Operand | None:
    """``v`` as (kind, comparable value), or None when it is no number, date or date-time."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | Decimal):
        return NUMBER, v
    if isinstance(v, float):  # as written (0.1, not its binary value), so "0.1" equals 0.1
        return (NUMBER, Decimal(repr(v))) if math.isfinite(v) else None
    if isinstance(v, datetime):
        return DATETIME, v
    if isinstance(v, date):
        return DATE, v
    if not isinstance(v, str):
        return None
    t = v.strip()
    try:
        if _NUMBER.fullmatch(t):
            return NUMBER, Decimal(t)
        if _DATE.fullmatch(t):
            return DATE, date.fromisoformat(t)
        if _DATETIME.fullmatch(t):
            return DATETIME, datetime.fromisoformat(t)
    except ValueError:  # 2021-02-30
        return None
    return None


def comparable(a: Operand, b: Operand, zone: tzinfo) -> tuple[Any, Any] | None:
    """The two values to compare, or None when their kinds cannot be compared."""
    (ka, va), (kb, vb) = a, b
    if ka == kb == NUMBER or ka == kb == DATE:
        return va, vb
    if NUMBER in (ka, kb):
        return None
    if ka == kb:  # two date-times: a naive one is in the pack's zone
        return _zoned(va, zone), _zoned(vb, zone)
    return (_day(va, zone) if ka == DATETIME else va), (_day(vb, zone) if kb == DATETIME else vb)


def _zoned(v: datetime, zone: tzinfo) -> datetime:
    return v if v.tzinfo is not None else v.replace(tzinfo=zone)


def _day(v: datetime, zone: tzinfo) -> date:
    return v.astimezone(zone).date() if v.tzinfo is not None else v.date()


def compile_comparison(c: Compiler, op: str, pair: tuple[Any, Any], where: str,
                       line: int) -> Cond:
    """``{op: [X, Y]}``: X op Y for numbers, dates and date-times (see the module docstring)."""
    for node in pair:
        literal = not isinstance(node, dict | list) and not (
            isinstance(node, str) and node.startswith("$") and not node.startswith("$$"))
        if node is None:  # a null side never compares: the condition could never hold
            c.problem(line, where, f"{op} with a null side never holds; test a column for "
                      "null with absent or present")
            return lambda s: False
        if (literal and operand(node) is None) or isinstance(node, list) or (
                isinstance(node, dict) and not is_transform(node)):
            shown = (repr(node) if literal else "a list" if isinstance(node, list)
                     else "an object that is no transform")
            c.problem(line, where, f"{shown} is no number, ISO date or date-time; "
                      f"{op} compares those")
            return lambda s: False
    sides = [c.value(node, where, line) for node in pair]
    zone = c.context.zone("default", c, where, line)
    test, (fa, fb) = _OPS[op], sides
    columns = [column_of(node) for node in pair]

    def run(s: Scope) -> bool:
        va, vb = fa(s), fb(s)
        if va is None or vb is None:
            return False
        a, b = operand(va), operand(vb)
        pair_ = comparable(a, b, zone) if a is not None and b is not None else None
        if pair_ is None:
            bad = 1 if a is not None and b is None else 0
            s.errors.append(RowError(
                "not-comparable", f"{op} compares numbers, dates and date-times; here a "
                f"{_kind(a)} and a {_kind(b)}", column=columns[bad], value=(va, vb)[bad],
                line=line))
            return False
        return test(*pair_)

    return run


def _kind(o: Operand | None) -> str:
    return "text" if o is None else o[0]
