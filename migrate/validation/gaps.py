"""Terminology gaps and the quarantine grouped by cause, from a finished dry run.

Terminology gaps are the source codes that fell to an ``on_unmapped`` policy: kept or replaced
by a fixed code (the run's notes, counted in ``RunReport.unmapped``), or quarantined (reasons
with code ``unmapped-code`` in ``quarantine.ndjson``). Each gap names the concept map that
missed it, found by reading the mapping's ``translate`` options.

:func:`write_gap_files` writes ``terminology_gaps.csv`` (every gap, with counts) and, per
concept map, a fill-in copy of the map (``terminology_gaps/<map>.csv``): the map's entries plus
one row per missing code with empty targets and a ``comment`` naming mapping, column and count.
Filled in, it replaces ``concept_maps/<map>.csv`` in the pack as is.

PHI: an unmapped "code" may be a patient's name typed into a code column. Without
``--show-values`` the ``source_code`` of ``terminology_gaps.csv`` is masked (keyed hash, length
and shape, `migrate.phi.mask`) and no fill-in maps are written; ``validate --show-values``
writes the real codes and the fill-in maps.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from migrate.files import open_private, private_dir
from migrate.mappers.pack import Pack
from migrate.mappers.terminology import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from migrate.report.model import RunReport
from migrate.report.validate_model import Redactor

GAP_COLUMNS = ("source_code", "target_system", "target_code", "target_display", "mapping",
               "column", "count", "concept_map", "policy")
INLINE = "inline values"
MAX_EXAMPLES = 5


@dataclass
class Gap:
    """One source code no concept map knew, where it was met and how often."""

    mapping: str
    column: str
    code: str
    concept_map: str
    policies: set[str] = field(default_factory=set)
    count: int = 0


@dataclass
class QuarantineGroup:
    """Quarantined rows sharing one cause: code x mapping x column (or FHIR element)."""

    code: str
    mapping: str
    table: str
    column: str | None
    element: str | None
    message: str
    rules: set[str] = field(default_factory=set)
    rows: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)  # raw row keys
    values: list[Any] = field(default_factory=list)  # raw values


def translate_maps(pack: Pack) -> dict[tuple[str, str], tuple[str, str]]:
    """``(mapping, column) -> (concept map, policy)`` for every ``translate`` in the pack."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for m in pack.mappings:
        nodes = [m.spec.let, *(e.template for e in m.spec.emit)]
        for opts in _translates(nodes):
            src = opts.get("from")
            if isinstance(src, str) and src.startswith("$"):
                name = str(opts["map"]) if "map" in opts else INLINE
                out.setdefault((m.name, src[1:]), (name, _policy(opts.get("on_unmapped"))))
    return out


def _translates(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("translate"), dict):
            yield node["translate"]
        for value in node.values():
            yield from _translates(value)
    elif isinstance(node, list):
        for item in node:
            yield from _translates(item)


def _policy(policy: Any) -> str:
    return policy if isinstance(policy, str) else "fixed-code"


def collect_gaps(pack: Pack, report: RunReport, quarantine: Path) -> list[Gap]:
    """Every code that fell to an unmapped-code policy, most frequent first."""
    maps = translate_maps(pack)
    gaps: dict[tuple[str, str, str], Gap] = {}

    def gap(mapping: str, column: str, code: str) -> Gap:
        key = (mapping, column, code)
        if key not in gaps:
            cmap = maps.get((mapping, column), (INLINE, "?"))[0]
            gaps[key] = Gap(mapping, column, code, cmap)
        return gaps[key]

    for (mapping, column, code), n in report.unmapped.items():
        g = gap(mapping, column, code)
        g.count += n
        g.policies.add(maps.get((mapping, column), ("", "keep or fixed-code"))[1])
    for record in read_quarantine(quarantine):
        for reason in record.get("reasons", []):
            if reason.get("code") == "unmapped-code":
                g = gap(record["mapping"], reason.get("column") or "", str(reason.get("value")))
                g.count += len(record.get("rows", [])) or 1
                g.policies.add("quarantine")
    return sorted(gaps.values(), key=lambda g: (-g.count, g.mapping, g.column, g.code))


def read_quarantine(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a ``quarantine.ndjson`` (none when the file does not exist)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                yield orjson.loads(line)


def group_quarantine(path: Path) -> list[QuarantineGroup]:
    """Quarantined rows grouped by cause, largest group first.

    A row quarantined for two reasons counts in both groups.
    """
    groups: dict[tuple[str, str, str | None, str | None], QuarantineGroup] = {}
    for record in read_quarantine(path):
        rows = record.get("rows") or [{}]
        for reason in record.get("reasons", []):
            code, column = reason.get("code") or "error", reason.get("column")
            message = str(reason.get("message") or "")
            element = message.split(":", 1)[0] if code == "invalid-resource" else None
            key = (code, record.get("mapping", ""), column, element)
            group = groups.get(key)
            if group is None:
                group = groups[key] = QuarantineGroup(
                    code, record.get("mapping", ""), record.get("table", ""), column, element,
                    message if element is None else message.split(":", 1)[-1].strip())
            group.rows += len(rows)
            if reason.get("rule"):
                group.rules.add(str(reason["rule"]))
            for row in rows[:MAX_EXAMPLES - len(group.examples)]:
                group.examples.append(row)
                group.values.append(reason.get("value"))
    return sorted(groups.values(), key=lambda g: (-g.rows, g.code, g.mapping))


def write_gap_files(gaps: list[Gap], pack: Pack, folder: Path,
                    redactor: Redactor) -> dict[str, str]:
    """Write ``terminology_gaps.csv`` (codes as the redactor shows them) and, with
    ``show_values`` only, the fill-in concept maps; return their paths."""
    out: dict[str, str] = {}
    path = folder / "terminology_gaps.csv"
    with open_private(path, "w") as fh:
        writer = csv.writer(fh)
        writer.writerow(GAP_COLUMNS)
        for g in gaps:
            writer.writerow([redactor.code(g.code), "", "", "", g.mapping, g.column, g.count,
                             g.concept_map, "+".join(sorted(g.policies))])
    out["terminology_gaps"] = str(path)
    if not redactor.show_values:
        return out
    by_map: dict[str, list[Gap]] = {}
    for g in gaps:
        by_map.setdefault(g.concept_map, []).append(g)
    if by_map:
        private_dir(folder / "terminology_gaps")
    for name, members in sorted(by_map.items()):
        file = name if name != INLINE else f"{members[0].mapping}.{members[0].column}"
        fill = folder / "terminology_gaps" / f"{file}.csv"
        _write_fill_in(fill, pack.root / "concept_maps" / f"{name}.csv", members)
        out[f"fill_in:{file}"] = str(fill)
    return out


def _write_fill_in(path: Path, existing: Path, gaps: list[Gap]) -> None:
    """The existing map's rows, then one empty-target row per missing code (once per code)."""
    rows: list[dict[str, str]] = []
    if existing.exists():
        with existing.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    known = {r.get("source_code", "") for r in rows}
    counts: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for g in gaps:
        counts[g.code] += g.count
        where.setdefault(g.code, []).append(f"{g.mapping} column {g.column}")
    for code in sorted(counts, key=lambda c: (-counts[c], c)):
        if code not in known:
            comment = f"TO MAP: {counts[code]} row(s); {'; '.join(where[code])}"
            rows.append({"source_code": code, "comment": comment})
    header = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    used = {k for r in rows for k, v in r.items() if v} | set(REQUIRED_COLUMNS) | {"comment"}
    header = [c for c in header if c in used]
    with open_private(path, "w") as fh:
        writer = csv.DictWriter(fh, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
