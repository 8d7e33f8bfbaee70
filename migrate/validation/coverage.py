"""Coverage of a dry run: data no mapping reads, and mapping rules that never fired.

* Unused columns: columns of a table the pack reads that no mapping of that table reads (nor
  any look-up), with their non-null counts (data that would be left behind).
* Unused tables: tables (CSV files, database tables) of the source that no mapping reads, as
  its table or as a look-up.
* Rules never fired: emits that produced no resource (counted by the stage loop, see
  :class:`EmitCounter`), declared filters that filtered no row and ``rules:`` that no row
  broke.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from migrate.mappers.pack import Pack

if TYPE_CHECKING:
    from migrate.extractors.base import Extractor
    from migrate.report.model import RunReport
    from migrate.validation.frames import TableScan


class EmitCounter:
    """Counts, per (mapping, emit), how often the emit's template ran (a resource was built).

    The stage loop counts into ``counts`` (`run_pipeline` ``emit_counts``) on both mapping
    paths, the column-wise one included, so a dry run maps exactly as a run does; no template
    is wrapped.
    """

    def __init__(self, pack: Pack | None = None) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()


def rules_never_fired(pack: Pack, emits: EmitCounter, report: RunReport) -> list[dict[str, Any]]:
    """Emits that built nothing, filters that filtered nothing and rules no row broke, in
    load order."""
    filtered: dict[str, Counter[str]] = {}
    for t in report.tables:  # filters and rules: a rule counts its rows under its name
        filtered.setdefault(t.mapping, Counter()).update(t.filtered)
        filtered[t.mapping].update(t.quarantined)
    out: list[dict[str, Any]] = []
    for m in pack.ordered_mappings():
        for e in m.emits:
            if not emits.counts[(m.name, e.name)]:
                out.append({"mapping": m.name, "kind": "emit", "name": e.name,
                            "resource_type": e.resource, "rule": f"{m.file}:{e.line}"})
        screens = [("filter", name, line) for name, _cond, line in m.filters] + [
            ("rule", name, line) for name, _cond, line, _action in m.rules]
        for kind, name, line in screens:
            if not filtered.get(m.name, Counter())[name]:
                out.append({"mapping": m.name, "kind": kind, "name": name,
                            "resource_type": None, "rule": f"{m.file}:{line}"})
    return out


def unused_columns(pack: Pack, scans: dict[str, TableScan]) -> list[dict[str, Any]]:
    """Columns of tables the pack reads that no mapping reads, with their non-null counts.

    Tables read only through a declared SQL ``query`` are skipped (their columns are the
    query's). Columns that hold no value at all are listed with ``non_null: 0``.
    """
    out: list[dict[str, Any]] = []
    lookups = pack.lookup_reads()
    for table in dict.fromkeys([*_direct_tables(pack), *lookups]):
        scan = scans.get(table)
        if scan is None or scan.error:
            continue
        read = set(pack.columns_for(table)) | set(lookups.get(table, ()))
        for col in scan.columns:
            if col not in read:
                out.append({"table": table, "column": col, "non_null": scan.non_null[col],
                            "rows": scan.rows})
    return out


def _direct_tables(pack: Pack) -> list[str]:
    return [t for t in pack.tables()
            if any(m.table == t and not m.spec.query for m in pack.mappings)]


def unused_tables(pack: Pack, source_tables: list[str],
                  scans: dict[str, TableScan]) -> list[dict[str, Any]]:
    """Source tables no mapping reads (a table named in a declared query, or read by a
    look-up, counts as read)."""
    queries = " ".join(m.spec.query or "" for m in pack.mappings)
    read = set(pack.tables()) | set(pack.lookup_reads())  # a dictionary table is read too
    out = []
    for table in source_tables:
        if table in read or re.search(rf"\b{re.escape(table)}\b", queries):
            continue
        scan = scans.get(table)
        out.append({"table": table, "rows": scan.rows if scan else None,
                    "columns": len(scan.columns) if scan else None})
    return out


def source_tables(ext: Extractor, files: dict[str, str] | None = None) -> list[str]:
    """The tables a source holds (CSV files of the folder, the database's tables), as the
    extractor lists them (capability ``lists_tables``); none when it cannot list them.

    ``files`` is kept for callers that pass a pack's file names: the extractor was opened
    with them and names its tables by them already.
    """
    return list(ext.tables()) if ext.capabilities.lists_tables else []
