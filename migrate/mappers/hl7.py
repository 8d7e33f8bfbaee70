"""Transforms for HL7 v3 sources (C-CDA): ``hl7_datetime`` and ``code_system``.

``hl7_datetime`` reads an HL7 TS (``YYYY[MM[DD[HH[MM[SS[.F]]]]]][+|-ZZZZ]``) into a FHIR
``date`` or ``dateTime`` without inventing precision or a time zone. ``code_system`` turns the
OID (or literal) naming a code system into a FHIR system URI through a pack concept map;
an OID missing from the map becomes ``urn:oid:<oid>`` (a UUID ``urn:uuid:<uuid>``) and is
counted as an unmapped code. Importing this module registers both (``transforms`` does).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from migrate.mappers.compiler import Const, RowError, Scope
from migrate.mappers.transform_base import (
    TRANSFORMS,
    column_of,
    option_choice,
    option_value,
    options,
)

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler, Fn

# YYYY then optional MM DD HH MM SS (each needs the one before), a fraction after seconds
# only, and an optional +HHMM/-HHMM offset.
_TS = re.compile(r"(\d{4})(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(\.\d{1,6})?)?)?)?)?)?"
                 r"([+-]\d{4})?")
_OID = re.compile(r"[0-2](\.(0|[1-9]\d*))+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_AS = ("datetime", "date")  # the first is the default
_ON_INVALID = ("quarantine", "drop")


def hl7_ts(text: str, as_date: bool = False, tz: Any = None) -> str:
    """The FHIR ``date``/``dateTime`` of an HL7 TS; a ValueError when it is not one.

    A time with an offset keeps it (seconds added when the source stops at minutes or hours,
    as FHIR requires them); a time without an offset gives the date only, unless ``tz`` (a
    tzinfo) names the zone of such times. ``as_date`` keeps the date part only.
    """
    m = _TS.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not an HL7 TS: {text!r}")
    year, month, day, hour, minute, sec, frac, offset = m.groups()
    parts = [int(p) for p in (year, month or 1, day or 1, hour or 0, minute or 0, sec or 0)]
    moment = datetime(*parts)  # noqa: DTZ001 - a ValueError for month 13, Feb 30, hour 24
    zone = _offset(offset) if offset else None
    date_text = "-".join(p for p in (year, month, day) if p)
    if as_date or hour is None or (zone is None and tz is None):
        return date_text
    if zone is None:
        zone = moment.replace(tzinfo=tz).utcoffset()
    clock = f"{moment:%H:%M:%S}{frac or ''}"
    return f"{date_text}T{clock}{_offset_text(zone)}"


def _offset(text: str) -> timedelta:
    hours, minutes = int(text[1:3]), int(text[3:5])
    if hours > 14 or minutes > 59:
        raise ValueError(f"not a time zone offset: {text!r}")
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if text[0] == "-" else delta


def _offset_text(delta: timedelta | None) -> str:
    if not delta:
        return "Z"
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@TRANSFORMS.register("hl7_datetime")
def t_hl7_datetime(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{hl7_datetime: $T}`` or ``{hl7_datetime: {value, as, tz, on_invalid}}``: an HL7 TS
    as a FHIR date or dateTime, never with more precision than written nor an invented zone.
    Invalid text is ``bad-datetime``: the row is quarantined, or with ``on_invalid: drop``
    the element is left out and a warning counted."""
    o = options(c, arg, where, line, {"value", "as", "tz", "on_invalid"}, {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    as_date = option_choice(c, o, "as", _AS, where, line) == "date"
    drop = option_choice(c, o, "on_invalid", _ON_INVALID, where, line) == "drop"
    tz = c.context.zone(o["tz"], c, where, line) if "tz" in o else None

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        try:
            return hl7_ts(str(v), as_date, tz)
        except ValueError:
            error = RowError("bad-datetime", "not an HL7 date-time (YYYYMMDDHHMMSS.FFFF+ZZZZ, "
                             "any trailing part left out)", column=col, value=v, line=line)
            if not drop:
                raise error from None
            s.notes.append(error)
            return None

    return run


@TRANSFORMS.register("code_system")
def t_code_system(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{code_system: {value: $code_system, map: code-systems}}``: the FHIR system URI of
    an OID or literal through a concept map (``target_code`` holds the URI). Not in the map:
    an OID gives ``urn:oid:<oid>``, a UUID ``urn:uuid:<uuid>``, anything else is kept; each
    is counted as an unmapped code."""
    o = options(c, arg, where, line, {"value", "map"}, {"value", "map"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    cmap = c.context.concept_map(str(o["map"]))
    if cmap is None:
        known = ", ".join(c.context.concept_map_names()) or "none"
        return c.problem(line, f"{where}.map", f"no concept map {o['map']!r} in the pack's "
                         f"concept_maps/ (known: {known})")

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        text = str(v).strip()
        hit = cmap.get(text)
        if hit is not None:
            return hit.coding()["code"]
        s.notes.append(RowError("unmapped-code", f"code system not in {o['map']}; written as "
                                "a URN", column=col, value=text, line=line))
        return system_urn(text)

    return run


def system_urn(text: str) -> str:
    """``urn:oid:`` for an OID, ``urn:uuid:`` (lower case) for a UUID, else the text."""
    if _OID.fullmatch(text):
        return f"urn:oid:{text}"
    if _UUID.fullmatch(text):
        return f"urn:uuid:{text.lower()}"
    return text

