"""Transforms that build FHIR extensions: ``data_absent_reason``.

``{data_absent_reason: masked}`` gives the Element that says why a value is missing, written
beside a primitive element (``_birthDate``) or as a complex element::

    {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "masked"}]}

Importing this module registers the transform (``migrate.mappers.transforms`` does).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from migrate.mappers.compiler import Const, RowError, Scope
from migrate.mappers.transform_base import TRANSFORMS, column_of, option_value, options

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler, Fn

DATA_ABSENT_REASON_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# The R4 value set http://hl7.org/fhir/ValueSet/data-absent-reason (all its codes).
DATA_ABSENT_REASONS = frozenset((
    "unknown", "asked-unknown", "temp-unknown", "not-asked", "asked-declined", "masked",
    "not-applicable", "unsupported", "as-text", "error", "not-a-number", "negative-infinity",
    "positive-infinity", "not-performed", "not-permitted",
))


def absent_element(code: str) -> dict[str, Any]:
    """The Element whose one extension gives ``code`` as the data-absent reason."""
    return {"extension": [{"url": DATA_ABSENT_REASON_URL, "valueCode": code}]}


def _hint(code: str) -> str:
    close = difflib.get_close_matches(code, sorted(DATA_ABSENT_REASONS), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@TRANSFORMS.register("data_absent_reason")
def t_data_absent_reason(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{data_absent_reason: masked}`` or ``{data_absent_reason: $COL}``: the Element with a
    data-absent-reason extension. A literal code is checked when the pack is loaded, a
    column's value when the row is mapped (``bad-absent-reason``)."""
    o = options(c, arg, where, line, {"value"}, {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    if isinstance(val, Const):
        code = val.value
        if code is None:
            return Const(None)
        if not isinstance(code, str) or code not in DATA_ABSENT_REASONS:
            return c.problem(line, f"{where}.value", f"{code!r} is not a data-absent reason"
                             f"{_hint(str(code))}; valid: {', '.join(sorted(DATA_ABSENT_REASONS))}")
        return Const(absent_element(code))

    def run(s: Scope) -> dict[str, Any] | None:
        v = val(s)
        if v is None:
            return None
        if not isinstance(v, str) or v not in DATA_ABSENT_REASONS:
            raise RowError("bad-absent-reason", "not a data-absent reason (see "
                           "http://hl7.org/fhir/ValueSet/data-absent-reason)", column=col,
                           value=v, line=line)
        return absent_element(v)

    return run
