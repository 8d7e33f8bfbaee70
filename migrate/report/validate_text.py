"""The short text summary `emr-migrate validate` prints on stdout."""

from __future__ import annotations

from migrate.report.validate_model import ValidationReport


def render_validate_text(report: ValidationReport) -> str:
    """Verdict, reasons, main figures and where the reports are."""
    run = report.run
    exp = report.expectations
    lines = [f"verdict: {report.verdict}"]
    lines += [f"  - {reason}" for reason in report.reasons()]
    lines.append(f"rows: {run.read} read, {sum(t.emitted for t in run.tables)} emitted, "
                 f"{sum(sum(t.filtered.values()) for t in run.tables)} filtered, "
                 f"{run.quarantined} quarantined")
    lines.append(f"resources: {sum(run.resources.values())} in {len(run.resources)} types")
    lines.append(f"source expectations: {len(exp)} checked, "
                 f"{len(report.failed_expectations())} failed "
                 f"({len(report.failed_expectations('critical'))} critical)")
    lines.append(f"dangling references: {report.dangling}; terminology gaps: "
                 f"{len(report.gaps)} codes; unused columns with data: "
                 f"{sum(1 for c in report.unused_columns if c['non_null'])}; unused tables: "
                 f"{len(report.unused_tables)}")
    for name in ("report_html", "report_json", "terminology_gaps", "quarantine"):
        if name in report.outputs:
            lines.append(f"{name}: {report.outputs[name]}")
    lines.append(f"done in {report.seconds:.1f}s")
    return "\n".join(lines)
