"""Walk the sections of a structured body once and dispatch every top-level entry by the
templateId of its statement (never by element name or section).

Every top-level ``entry`` is counted exactly once: read (it gave rows), no information (its
statement has a nullFlavor), failed (it could not be read; table, line and reason kept), or
unread (a template this source does not read; counted per template root as written).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from migrate.extractors.ccda import templates as T
from migrate.extractors.ccda.coded import HL7, Malformed
from migrate.extractors.ccda.context import Context, Pending
from migrate.extractors.ccda.entries import Section, reader

_COMPONENT, _SECTION, _ENTRY = HL7 + "component", HL7 + "section", HL7 + "entry"
_CODE, _TEMPLATE_ID = HL7 + "code", HL7 + "templateId"
# What an <entry> may hold before its statement (CDA R2 InfrastructureRoot): not statements.
# What a section code may look like to be counted by it in run.json (LOINC: 29545-1).
_CODE_TEXT = re.compile(r"[A-Za-z0-9.-]{1,32}")
_NOT_STATEMENTS = frozenset({HL7 + "realmCode", HL7 + "typeId", _TEMPLATE_ID})


@dataclass
class Tally:
    """What the sections of one document held, entry by entry."""

    sections: int = 0
    found: int = 0
    read: int = 0
    no_information: int = 0
    failed: list[tuple[str, int | None, str]] = field(default_factory=list)
    unread: Counter[str] = field(default_factory=Counter)
    narrative_only: Counter[str] = field(default_factory=Counter)
    rows: list[Pending] = field(default_factory=list)


def read_sections(ctx: Context, root: etree._Element) -> Tally:
    """Read every section of ``root``'s structuredBody (none for a nonXMLBody)."""
    tally = Tally()
    body = root.find(f"{_COMPONENT}/{HL7}structuredBody")
    if body is not None:
        for comp in body.iterchildren(_COMPONENT):
            for section in comp.iterchildren(_SECTION):
                _section(ctx, section, tally)
    return tally


def _section(ctx: Context, el: etree._Element, tally: Tally) -> None:
    code = el.find(_CODE)
    tpl = el.find(_TEMPLATE_ID)
    sec = Section(code.get("code") if code is not None else None,
                  tpl.get("root") if tpl is not None else None)
    tally.sections += 1
    entries = 0
    for entry in el.iterchildren(_ENTRY):
        entries += 1
        stmts = [c for c in entry.iterchildren(etree.Element) if c.tag not in _NOT_STATEMENTS]
        if not stmts:
            tally.unread["(no statement)"] += 1
        # The schema allows one statement per entry; a second one is counted (and read)
        # as an entry of its own rather than dropped unseen.
        tally.found += max(len(stmts), 1)
        for stmt in stmts:
            _entry(ctx, stmt, sec, tally)
    if not entries:
        code = sec.code if sec.code is None or _CODE_TEXT.fullmatch(sec.code) else "(not a code)"
        tally.narrative_only[code or "(no code)"] += 1
    for comp in el.iterchildren(_COMPONENT):
        for sub in comp.iterchildren(_SECTION):
            _section(ctx, sub, tally)


def _entry(ctx: Context, stmt: etree._Element, sec: Section, tally: Tally) -> None:
    if stmt.get("nullFlavor") is not None:
        tally.no_information += 1
        return
    found = T.first_of(stmt, T.TOP_LEVEL, ctx.aliases)
    if found is None:
        tally.unread[T.raw_first(stmt)] += 1
        return
    table = T.TOP_LEVEL[found[0]]
    try:
        rows = reader(found[0], table)(ctx, stmt, sec, found)
    except Malformed as exc:
        tally.failed.append((table, exc.line, str(exc)))
        return
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        tally.failed.append((table, stmt.sourceline,
                             f"could not be read ({type(exc).__name__})"))
        return
    if not rows:
        tally.failed.append((table, stmt.sourceline,
                             f"template {found[0]} holds none of the statements read from it"))
        return
    tally.read += 1
    tally.rows.extend(rows)
