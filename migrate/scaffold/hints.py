"""Suggestions the starter pack writes as comments: a number column with its unit column (a
`quantity`), and pack.yaml's commented ``numbers:``, ``booleans:`` and ``units:`` blocks.

pack.yaml gets ``# numbers: {thousands: ","}`` when a column writes numbers with thousands
separators; ``# booleans:`` only when a flag column's tokens are not among the `boolean`
transform's defaults (the lists written are the defaults plus those tokens, so that the other
flags still read); ``# units:`` for the unit columns of quantities: how many distinct
spellings each has, and the spellings seen at least `UNIT_MIN_COUNT` times that the
`quantity` transform does not accept as written (not UCUM, or UCUM written in capitals only),
each as an entry to complete. Unit spellings are the only source texts written (no patient
data); every other line holds names and counts only.
"""

from __future__ import annotations

import json
import re

from migrate.mappers.units import FALSE_FRIEND, UnitResolver
from migrate.scaffold.analyse import Schema, TableInfo
from migrate.scaffold.columns import (
    DEFAULT_FALSE,
    DEFAULT_TRUE,
    UNIT_MIN_COUNT,
    UNIT_NAME,
    ColumnInfo,
)
from migrate.scaffold.yamltext import comment_text, readable

NUMBERS = ("integer", "decimal", "number")
# Common unit words that are not UCUM, and their code (a guess to check, written as such).
ALIASES = {"mcg": "ug", "gm": "g", "gms": "g", "iu": "[iU]", "unit": "[iU]", "units": "[iU]",
           "cc": "mL", "hr": "h", "hrs": "h", "sec": "s"}
_UNIT_PART = re.compile(r"_?(units?|uom)_?", re.IGNORECASE)
_ID = re.compile(r"id$|_id|key$", re.IGNORECASE)  # an identifier is no measured value


def _numeric(col: ColumnInfo) -> bool:
    return col.kind in NUMBERS or col.base_kind in ("integer", "decimal")


def quantity_pairs(t: TableInfo) -> dict[str, ColumnInfo]:
    """``{value column: its unit column}``: a unit column (``DOSE_UNIT_RX``, ``VALUEUOM``) with
    a number column next to it (before, then after) or named like it (``DOSE_VAL_RX``)."""
    out: dict[str, ColumnInfo] = {}
    links = set(t.key) | {fk.column for fk in t.foreign_keys}
    for i, unit in enumerate(t.columns):
        if unit.kind != "code" or not UNIT_NAME.search(unit.name):
            continue
        stem = _UNIT_PART.split(unit.name, maxsplit=1)[0].lower()
        near = [t.columns[j] for j in (i - 1, i + 1) if 0 <= j < len(t.columns)]
        named = [c for c in t.columns if stem and c.name.lower().startswith(stem)]
        value = next((c for c in [*near, *named] if c is not unit and _numeric(c)
                      and c.name not in links and not _ID.search(c.name) and readable(c.name)
                      and c.name not in out), None)
        if value is not None and readable(unit.name):
            out[value.name] = unit
    return out


def pack_hints(schema: Schema) -> list[str]:
    """The commented suggestions appended to pack.yaml (none when nothing was seen)."""
    tables = [t for t in schema.tables if not t.error]
    lines = _numbers(tables) + _booleans(tables)
    return lines + _units([(t, u) for t in tables if t.resource
                           for u in quantity_pairs(t).values()])


def _where(pairs: list[tuple[TableInfo, ColumnInfo]]) -> str:
    return comment_text(", ".join(f"{t.name}.{c.name}" for t, c in pairs))


def _numbers(tables: list[TableInfo]) -> list[str]:
    seen = [(t, c) for t in tables for c in t.columns if c.kind == "number"]
    if not seen:
        return []
    return ['# numbers: {thousands: ","}   # TODO: uncomment: numbers with thousands '
            f"separators seen in {_where(seen)}"]


def _booleans(tables: list[TableInfo]) -> list[str]:
    seen = [(t, c) for t in tables for c in t.columns if c.flag and not c.default_flag]
    if not seen:
        return []
    true, false = sorted(DEFAULT_TRUE), sorted(DEFAULT_FALSE)
    for yes, no in (c.flag for _t, c in seen if c.flag):
        true += [yes.lower()] if yes.lower() not in true else []
        false += [no.lower()] if no.lower() not in false else []
    return [f"# booleans: {{true: {json.dumps(true)}, false: {json.dumps(false)}}}   # TODO: "
            f"uncomment: flags with other tokens seen in {_where(seen)} (the defaults kept)"]


def _units(pairs: list[tuple[TableInfo, ColumnInfo]]) -> list[str]:
    if not pairs:
        return []
    counts = "; ".join(f"{comment_text(f'{t.name}.{u.name}')}: {u.distinct} distinct "
                       f"spelling(s)" for t, u in pairs)
    lines = [f"# units:   # quantity units seen ({counts}). Valid UCUM needs no entry; the "
             f"spellings below (seen {UNIT_MIN_COUNT}+ times) do: check each code (TODO: none "
             "guessed), then uncomment. Rarer spellings are not listed."]
    resolver, done, valid = UnitResolver(), set[str](), set[str]()
    for t, u in pairs:
        for text, n in u.units:
            if text in done:
                continue
            done.add(text)
            if resolver.resolve(text) is not None:
                valid.add(text)
                continue
            guess = next((g for g in (_alias(text), text.lower()) if resolver.resolve(g)), None)
            lines.append(f"#   {json.dumps(text)}: {json.dumps(guess or 'TODO')}   # not "
                         f"accepted as written ({n} rows of {comment_text(t.name)}."
                         f"{comment_text(u.name)})" + (f"; {guess}? check it" if guess else ""))
    if valid:
        lines.append("# accepted as written (valid UCUM: check each means what the source "
                     f"meant): {comment_text(', '.join(sorted(valid)))}")
    return lines


def _alias(text: str) -> str:
    """A common spelling's UCUM code, word by word (``mcg/kg/min`` -> ``ug/kg/min``; a lab's
    lone ``K`` and ``G`` are thousand and giga: ``K/uL`` -> ``10*3/uL``)."""
    text = FALSE_FRIEND.sub(lambda m: "10*3" if m.group() == "K" else "10*9", text)
    return re.sub(r"[A-Za-z]+", lambda m: ALIASES.get(m.group().lower(), m.group()),
                  text.rstrip("."))
