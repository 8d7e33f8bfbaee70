"""Reconciliation: prove the target holds what the source says it should.

Three levels per resource type: the count (``_summary=count``), the exact id set (ids listed
page by page with ``_elements=id``) and a sampled read-back compared field by field with what
the mappings produce (server-set ``meta`` ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from migrate.config import RunSettings
from migrate.errors import ConfigError
from migrate.files import private_dir, write_atomic
from migrate.reconcile.compare import compare
from migrate.reconcile.expected import Expected, expected_from_ndjson, expected_from_source
from migrate.reconcile.target import TargetReader

MAX_LISTED = 1000
"""Most missing or extra ids listed per type in reconcile.json."""


@dataclass
class TypeResult:
    """The comparison of one resource type."""

    resource_type: str
    expected: int
    target_count: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    sampled: int = 0
    mismatched: dict[str, list[str]] = field(default_factory=dict)
    ignore_extra: bool = False

    @property
    def ok(self) -> bool:
        """No difference (extras allowed when asked)."""
        count_ok = self.target_count == self.expected or (
            self.ignore_extra and self.target_count >= self.expected)
        return count_ok and not self.missing and not self.mismatched and (
            self.ignore_extra or not self.extra)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, id lists capped at :data:`MAX_LISTED`."""
        return {"resourceType": self.resource_type, "ok": self.ok, "expected": self.expected,
                "target": self.target_count, "missing": len(self.missing),
                "extra": len(self.extra), "sampled": self.sampled,
                "mismatched": len(self.mismatched),
                "missing_ids": sorted(self.missing)[:MAX_LISTED],
                "extra_ids": sorted(self.extra)[:MAX_LISTED],
                "mismatches": [{"id": k, "paths": v} for k, v in sorted(self.mismatched.items())]}


@dataclass
class ReconcileReport:
    """What `emr-migrate reconcile` found."""

    target: str
    types: list[TypeResult] = field(default_factory=list)
    path: Path | None = None  # where reconcile.json was written (not part of it)

    @property
    def ok(self) -> bool:
        """True when every type matches."""
        return all(t.ok for t in self.types)

    def as_dict(self) -> dict[str, Any]:
        """The content of reconcile.json."""
        return {"status": "ok" if self.ok else "mismatch", "target": self.target,
                "types": [t.as_dict() for t in self.types]}


def reconcile(settings: RunSettings, *, sample: int = 20, from_ndjson: Path | None = None,
              ignore_extra: bool = False, seed: int = 0,
              reader: TargetReader | None = None) -> ReconcileReport:
    """Compare the source (through the pack) with the FHIR server of ``settings.target``.

    Writes ``reconcile.json`` to the output folder and returns the report.
    """
    if settings.target.get("type") != "fhir-server" and reader is None:
        raise ConfigError(f"reconcile needs a FHIR server target, not {settings.target['type']}"
                          "; give --target https://host/fhir")
    expected = (expected_from_ndjson(from_ndjson, sample, seed) if from_ndjson
                else expected_from_source(settings, sample, seed))
    target = reader or TargetReader(settings.target)
    try:
        report = ReconcileReport(target.url)
        for rtype in sorted(expected.ids):
            report.types.append(_check_type(target, expected, rtype, ignore_extra))
    finally:
        if reader is None:
            target.close()
    private_dir(settings.output)
    report.path = settings.output / "reconcile.json"
    write_atomic(report.path, orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
    return report


def _check_type(target: TargetReader, expected: Expected, rtype: str,
                ignore_extra: bool) -> TypeResult:
    want = expected.ids[rtype]
    have = set(target.iter_keys(rtype))
    missing = want - have
    result = TypeResult(rtype, len(want), target.count(rtype), sorted(missing),
                        sorted(have - want), ignore_extra=ignore_extra)
    for res in expected.samples.get(rtype, []):
        if res["id"] in missing:
            continue
        stored = target.read(rtype, res["id"])
        result.sampled += 1
        if stored is None:
            result.mismatched[res["id"]] = ["(not readable on the server)"]
            continue
        diffs = compare(res, stored, conditional=target.by_identifier,
                        identifier_system=target.cfg.identifier_system)
        if diffs:
            result.mismatched[res["id"]] = diffs
    return result


def render_reconcile(report: ReconcileReport, show: int = 5) -> str:
    """A table per type, the first differences of each kind, where reconcile.json is."""
    head = (f"{'resource type':<22}{'expected':>9}{'target':>9}{'missing':>9}{'extra':>8}"
            f"{'sampled':>9}{'differ':>8}  ok")
    lines = [f"reconcile {report.target}", head]
    for t in report.types:
        lines.append(f"{t.resource_type:<22}{t.expected:>9}{t.target_count:>9}"
                     f"{len(t.missing):>9}{len(t.extra):>8}{t.sampled:>9}"
                     f"{len(t.mismatched):>8}  {'yes' if t.ok else 'NO'}")
    for t in report.types:
        for rid in t.missing[:show]:
            lines.append(f"missing  {t.resource_type}/{rid}")
        for rid in t.extra[:show] if not t.ignore_extra else []:
            lines.append(f"extra    {t.resource_type}/{rid}")
        for rid, paths in list(t.mismatched.items())[:show]:
            lines.append(f"differs  {t.resource_type}/{rid}: {', '.join(paths[:5])}")
    if report.path is not None:
        lines.append(f"reconcile_json: {report.path}")
    lines.append("status: " + ("ok: the target holds exactly what the source says"
                               if report.ok else "MISMATCH (exit code 3)"))
    return "\n".join(lines)
