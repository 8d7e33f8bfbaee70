"""Render a RunReport as a text table (for people) or JSON (for machines)."""

from __future__ import annotations

import orjson

from migrate.report.model import RunReport


def render_json(report: RunReport) -> str:
    """The run.json content."""
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode()


def render_table(report: RunReport) -> str:
    """A summary table: rows per table (in load order), resources per type, outcome and
    where output went."""
    lines = [f"{'table':<22} {'mapping':<26} {'read':>8} {'emitted':>8} {'filtered':>8} "
             f"{'quarant.':>8}  ok"]
    failing = {id(t) for t in report.tables if t.problems(report.table_rate(t))}
    for t in report.tables:  # in load order; a failing table is marked NO, its problems below
        lines.append(f"{t.table:<22.22} {t.mapping:<26.26} {t.read:>8} {t.emitted:>8} "
                     f"{sum(t.filtered.values()):>8} {sum(t.quarantined.values()):>8}  "
                     f"{'NO' if id(t) in failing else 'yes'}")
    lines.append("")
    lines.append("resources: " + ", ".join(f"{k} {v}" for k, v in sorted(report.resources.items()))
                 + f" (total {sum(report.resources.values())})")
    load = report.load
    lines.append(f"written to {report.target}: {sum(load.get('written', {}).values())}"
                 + (f", refused {load['failed']}" if load.get("failed") else ""))
    for reason, n in load.get("not_acknowledged", {}).items():
        lines.append(f"  {n} not acknowledged: {reason}")
    if report.unmapped:
        lines.append(f"unmapped codes: {len(report.unmapped)} distinct, "
                     f"{sum(report.unmapped.values())} uses (see run.json)")
    rate = report.quarantine_rate
    lines.append(f"quarantined rows: {report.quarantined} of {report.read} ({rate:.2%}; "
                 f"threshold {report.max_quarantine_rate:.2%})")
    for name, path in report.outputs.items():
        lines.append(f"{name}: {path}")
    problems = report.problems()
    if problems:
        lines.append("problems:")
        lines.extend(f"  {p}" for p in problems)
    lines.append(f"status: {report.status} in {report.seconds:.1f}s")
    return "\n".join(lines)
