"""Numbers written with a locale's separators: ``25,000`` or ``1.234,5`` (docs/mapping-spec.md,
``decimal``). Used by ``decimal``, ``integer`` and ``quantity``; a transform whose separators
are the plain ones (no thousands separator, ``.`` as the decimal mark) gets no reader, so it
does no extra work per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migrate.mappers.spec import separator_problem

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler


def locale_reader(thousands: str | None, mark: str) -> Callable[[Any], Any] | None:
    """A function that rewrites a number written with these separators as plain text
    (``"1.234,5"`` -> ``"1234.5"``), raising ValueError on wrong grouping (``"2,50"`` with
    thousands ``,``); None for the plain separators, which need no rewriting."""
    if thousands is None and mark == ".":
        return None
    whole = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+" if thousands else r"\d+"
    rx = re.compile(rf"([+-]?)({whole})?(?:{re.escape(mark)}(\d+))?([eE][+-]?\d+)?")

    def read(v: Any) -> Any:
        if not isinstance(v, str):
            return v  # a number from an SQL source
        m = rx.fullmatch(v.strip())
        if m is None or (m.group(2) is None and m.group(3) is None):
            raise ValueError(v)
        sign, digits, fraction, exponent = m.groups()
        digits = (digits or "0").replace(thousands, "") if thousands else digits or "0"
        return f"{sign}{digits}{'.' + fraction if fraction else ''}{exponent or ''}"

    return read


def separators(c: Compiler, o: dict[str, Any], where: str, line: int
                ) -> Callable[[Any], Any] | None:
    """The number reader of a transform's ``thousands``/``decimal_mark`` options, each
    defaulting to pack.yaml's ``numbers:``; None when numbers are plain."""
    pack = c.context.numbers
    thousands = o["thousands"] if "thousands" in o else pack.thousands if pack else None
    mark = o["decimal_mark"] if "decimal_mark" in o else pack.decimal_mark if pack else "."
    problem = separator_problem(thousands, mark)
    if problem:
        c.problem(line, where, problem)
        return None
    return locale_reader(thousands, mark)
