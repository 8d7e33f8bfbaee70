"""``report.json`` of a dry run: every figure of a :class:`ValidationReport`, PHI redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.report.validate_model import Redactor, ValidationReport
    from migrate.validation.gaps import QuarantineGroup
    from migrate.validation.gx import ExpectationResult

SCHEMA_VERSION = 1


def report_dict(r: ValidationReport) -> dict[str, Any]:
    """The JSON-ready report; keys and values follow the report's redactor."""
    run = r.run
    checks = r.checks()
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": r.verdict,
        "reasons": r.reasons(),
        "checks": [{"name": c.name, "passed": c.passed, "value": c.value,
                    "threshold": c.threshold, "message": c.message} for c in checks],
        "pack": run.pack, "source": run.source, "generated_at": r.generated_at,
        "seconds": round(r.seconds, 3), "show_values": r.redactor.show_values,
        "rows": {"read": run.read, "emitted": sum(t.emitted for t in run.tables),
                 "filtered": sum(sum(t.filtered.values()) for t in run.tables),
                 "quarantined": run.quarantined,
                 "quarantine_rate": round(run.quarantine_rate, 6)},
        "tables": _tables(r),
        "resources": dict(sorted(run.resources.items())),
        "resources_total": sum(run.resources.values()),
        "expectations": _expectations(r),
        "output": _output(r),
        "terminology_gaps": [
            {"code": r.redactor.code(g.code), "mapping": g.mapping, "column": g.column,
             "concept_map": g.concept_map, "policy": "+".join(sorted(g.policies)),
             "count": g.count} for g in r.gaps],
        "coverage": {"unused_columns": r.unused_columns, "unused_tables": r.unused_tables,
                     "rules_never_fired": r.rules_never_fired},
        "quarantine": [_group(g, r.redactor) for g in r.quarantine],
        "outputs": r.outputs,
    }


def _tables(r: ValidationReport) -> list[dict[str, Any]]:
    """Row accounting per mapping, plus the table totals of the source scan."""
    return [t.as_dict() for t in r.run.tables]


def _expectations(r: ValidationReport) -> dict[str, Any]:
    results = [_expectation(x, r.redactor) for x in r.expectations]
    failed = r.failed_expectations()
    return {
        "suite": r.suite,
        "summary": {"evaluated": len(results), "passed": len(results) - len(failed),
                    "failed": len(failed),
                    "failed_critical": len(r.failed_expectations("critical")),
                    "failed_warning": len(r.failed_expectations("warning"))},
        "results": results,
    }


def _expectation(x: ExpectationResult, red: Redactor) -> dict[str, Any]:
    return {
        "table": x.table, "columns": x.columns, "check": x.check, "kind": x.kind,
        "severity": x.severity, "mostly": x.mostly, "success": x.success,
        "element_count": x.element_count, "unexpected_count": x.unexpected_count,
        "unexpected_percent": round(x.unexpected_percent, 4),
        "examples": red.keys(x.examples), "values": red.values(x.values),
        "engine": x.engine, "expectation": x.expectation, "error": x.error,
    }


def _output(r: ValidationReport) -> dict[str, Any]:
    mappings = {t.mapping for t in r.run.tables}
    structure = {k: v for k, v in sorted(r.run.warnings.items())
                 if k.split(":", 1)[0] not in mappings}
    notes = {k: v for k, v in sorted(r.run.warnings.items()) if k.split(":", 1)[0] in mappings}
    invalid = [_group(g, r.redactor) for g in r.quarantine if g.code == "invalid-resource"]
    return {
        "invalid_resources": invalid,
        "structure_warnings": structure,
        "mapping_notes": notes,
        "references": r.references,
        "dangling_references": r.dangling,
        "us_core_must_have": r.must_have,
    }


def _group(g: QuarantineGroup, red: Redactor) -> dict[str, Any]:
    return {"code": g.code, "mapping": g.mapping, "table": g.table, "column": g.column,
            "element": g.element, "message": g.message, "rows": g.rows,
            "rules": sorted(g.rules), "examples": red.keys(g.examples),
            "values": red.values(g.values)}
