"""What a dry run found, as data, and the GO / NO-GO verdict; renderers only read it.

PHI: row keys (which may be MRNs) are shown as keyed hashes and raw values are left out
unless the report is made with ``show_values=True``. Codes of terminology gaps are masked the
same way (`migrate.phi.mask`: keyed hash, length and shape), since a code column can hold a
patient's name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from migrate.phi import mask
from migrate.report.model import RunReport
from migrate.report.validate_json import report_dict

if TYPE_CHECKING:
    from migrate.validation.gaps import Gap, QuarantineGroup
    from migrate.validation.gx import ExpectationResult

GO, NO_GO = "GO", "NO-GO"


def _some(items: Iterable[str], most: int = 3) -> str:
    """``: a, b, c and 2 more`` (distinct items in order), or '' when there are none."""
    seen = list(dict.fromkeys(items))
    if not seen:
        return ""
    more = f" and {len(seen) - most} more" if len(seen) > most else ""
    return ": " + ", ".join(seen[:most]) + more


@dataclass(frozen=True)
class Thresholds:
    """When the verdict is NO-GO (from the project file's ``validate:`` section)."""

    max_quarantine_rate: float = 0.01
    max_unmapped_code_rate: float = 0.01
    max_dangling_references: int = 0
    fail_on_critical_expectations: bool = True


@dataclass(frozen=True)
class Check:
    """One verdict criterion: its measured value against its threshold."""

    name: str
    passed: bool
    value: float | int
    threshold: float | int | bool
    message: str


@dataclass
class Redactor:
    """Hides row keys and raw values unless ``show_values``; keys become keyed hashes."""

    secret: bytes
    show_values: bool = False

    def key(self, key: dict[str, Any]) -> Any:
        """A row key as shown: the key itself, or ``#`` and 10 hex digits of its HMAC."""
        if self.show_values:
            return key
        text = orjson.dumps(key, option=orjson.OPT_SORT_KEYS, default=str)
        return "#" + hmac.new(self.secret, text, hashlib.sha256).hexdigest()[:10]

    def keys(self, keys: list[dict[str, Any]]) -> list[Any]:
        """Several keys."""
        return [self.key(k) for k in keys]

    def values(self, values: list[Any]) -> list[Any] | None:
        """Raw values, or None (hidden)."""
        return [None if v is None else str(v) for v in values] if self.show_values else None

    def code(self, code: str) -> str:
        """A source code as shown: as is with ``show_values``, else masked (keyed hash, length
        and shape: a name typed into a code column looks like a code too)."""
        return code if self.show_values else mask(self.secret, code)


@dataclass
class ValidationReport:
    """The result of :func:`migrate.validation.dryrun.validate_migration`."""

    run: RunReport
    thresholds: Thresholds
    redactor: Redactor
    expectations: list[ExpectationResult] = field(default_factory=list)
    suite: str | None = None
    references: list[dict[str, Any]] = field(default_factory=list)
    must_have: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    quarantine: list[QuarantineGroup] = field(default_factory=list)
    unused_columns: list[dict[str, Any]] = field(default_factory=list)
    unused_tables: list[dict[str, Any]] = field(default_factory=list)
    rules_never_fired: list[dict[str, Any]] = field(default_factory=list)
    generated_at: str = ""
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)

    # -- figures ---------------------------------------------------------------------------
    @property
    def dangling(self) -> int:
        """References to resources that are not in the output."""
        return sum(r["dangling"] for r in self.references)

    @property
    def unmapped_uses(self) -> int:
        """Rows (uses) whose code fell to an unmapped-code policy."""
        return sum(g.count for g in self.gaps)

    @property
    def unmapped_rate(self) -> float:
        """Unmapped-code uses per row read."""
        return self.unmapped_uses / self.run.read if self.run.read else 0.0

    def failed_expectations(self, severity: str | None = None) -> list[ExpectationResult]:
        """Failed expectations, of one severity or all."""
        return [r for r in self.expectations
                if not r.success and (severity is None or r.severity == severity)]

    def checks(self) -> list[Check]:
        """Every verdict criterion, passed or not."""
        t, run = self.thresholds, self.run
        failed = self.failed_expectations("critical")
        critical = len(failed)
        unbalanced = [s.table for s in run.tables if not s.balanced]
        tables = run.table_problems(t.max_quarantine_rate)
        return [
            Check("quarantine_rate", run.quarantine_rate <= t.max_quarantine_rate,
                  round(run.quarantine_rate, 6), t.max_quarantine_rate,
                  f"{run.quarantined} of {run.read} rows quarantined "
                  f"({run.quarantine_rate:.2%}; allowed {t.max_quarantine_rate:.2%})"
                  + _some(f"{g.code} in {g.mapping}" for g in self.quarantine)),
            Check("unmapped_code_rate", self.unmapped_rate <= t.max_unmapped_code_rate,
                  round(self.unmapped_rate, 6), t.max_unmapped_code_rate,
                  f"{self.unmapped_uses} code use(s) fell to an unmapped-code policy, "
                  f"{len(self.gaps)} distinct ({self.unmapped_rate:.2%} of rows; allowed "
                  f"{t.max_unmapped_code_rate:.2%})"
                  + _some(f"{g.mapping} {g.column}" for g in self.gaps)),
            Check("dangling_references", self.dangling <= t.max_dangling_references,
                  self.dangling, t.max_dangling_references,
                  f"{self.dangling} reference(s) point to resources not in the output "
                  f"(allowed {t.max_dangling_references})" + _some(
                      f"{r['path']} ({r['dangling']})" for r in self.references
                      if r["dangling"])),
            Check("critical_expectations",
                  critical == 0 or not t.fail_on_critical_expectations, critical,
                  t.fail_on_critical_expectations,
                  f"{critical} critical source expectation(s) failed"
                  + ("" if t.fail_on_critical_expectations else " (not blocking)")
                  + _some(f"{x.table}: {x.check}" for x in failed)),
            Check("row_accounting", not unbalanced, len(unbalanced), 0,
                  "every row is emitted, filtered or quarantined" if not unbalanced else
                  f"rows unaccounted for in {', '.join(unbalanced)}"),
            Check("tables", not tables, len(tables), 0,
                  "every table within its quarantine threshold, read completely and "
                  "emitting" if not tables else "; ".join(tables)),
        ]

    @property
    def verdict(self) -> str:
        """GO when every check passed, else NO-GO."""
        return GO if all(c.passed for c in self.checks()) else NO_GO

    def reasons(self) -> list[str]:
        """Why NO-GO: the message of every failed check (empty for GO)."""
        return [c.message for c in self.checks() if not c.passed]

    # -- JSON ------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """The content of ``report.json``."""
        return report_dict(self)
