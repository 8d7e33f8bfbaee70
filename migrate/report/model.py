"""What a run did, as data: the pipeline fills it, renderers only read it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from migrate.phi import mask


@dataclass
class TableStats:
    """Row accounting for one mapping over its source table (invariant 2)."""

    table: str
    mapping: str
    source: str
    read: int = 0
    emitted: int = 0
    unchanged: int = 0  # emitted rows a sync found already delivered (counted in emitted)
    filtered: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    lines: dict[str, int] | None = None  # physical lines of a file by kind (`ReadAccount`)
    expected_rows: int | None = None  # rows the source counted before the read (databases)
    complete: bool = True  # False when the extractor could not prove every row was read
    read_problem: str | None = None  # why the read is not complete
    incremental: bool = False  # only rows changed since a watermark were read (a sync)

    @property
    def balanced(self) -> bool:
        """read = emitted + filtered + quarantined."""
        return self.read == self.emitted + sum(self.filtered.values()) + \
            sum(self.quarantined.values())

    @property
    def quarantine_rate(self) -> float:
        """Share of this table's rows quarantined."""
        return sum(self.quarantined.values()) / self.read if self.read else 0.0

    @property
    def all_filtered(self) -> bool:
        """Every row read was filtered by a named filter or rule: the pack's declared choice
        (a document whose only allergy entry says "no information"), counted by name in
        ``filtered_by_rule``, not a failure."""
        return self.read > 0 and sum(self.filtered.values()) == self.read

    def problems(self, max_quarantine_rate: float) -> list[str]:
        """Why this table fails the run (empty when it passes), each naming the table."""
        where = f"table {self.table!r} (mapping {self.mapping})"
        found = []
        if not self.complete:
            found.append(f"{where}: read incomplete: {self.read_problem or 'rows may be missing'}")
        if not self.balanced:
            found.append(f"{where}: rows unaccounted for (read {self.read}, emitted, filtered "
                         "and quarantined do not add up)")
        if self.read and not self.emitted and not self.all_filtered:
            found.append(f"{where}: had {self.read} rows and emitted none "
                         f"({sum(self.quarantined.values())} quarantined, "
                         f"{sum(self.filtered.values())} filtered)")
        elif self.quarantine_rate > max_quarantine_rate:
            found.append(f"{where}: {sum(self.quarantined.values())} of {self.read} rows "
                         f"quarantined ({self.quarantine_rate:.2%}; the table may have "
                         f"{max_quarantine_rate:.2%})")
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {"table": self.table, "mapping": self.mapping, "source": self.source,
                "read": self.read, "emitted": self.emitted, "unchanged": self.unchanged,
                "filtered": sum(self.filtered.values()),
                "quarantined": sum(self.quarantined.values()),
                "filtered_by_rule": dict(sorted(self.filtered.items())),
                "quarantined_by_cause": dict(sorted(self.quarantined.items())),
                "balanced": self.balanced, "complete": self.complete,
                **({"lines": self.lines} if self.lines is not None else {}),
                **({"expected_rows": self.expected_rows}
                   if self.expected_rows is not None else {}),
                **({"read_problem": self.read_problem} if self.read_problem else {})}


@dataclass
class RunReport:
    """The result of :func:`migrate.run_pipeline`."""

    pack: str
    source: str
    target: str
    pack_version: str = "unversioned"  # pack.yaml's version
    pack_source: str = ""  # "<distribution> <version>" of an installed pack, or "folder <path>"
    tables: list[TableStats] = field(default_factory=list)
    resources: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    load: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    max_quarantine_rate: float = 0.01
    outputs: dict[str, str] = field(default_factory=dict)
    executor: str = "local"
    partitions: dict[str, int] = field(default_factory=dict)  # dask: key ranges per mapping
    # Per table (or mapping) name: its own quarantine threshold, else max_quarantine_rate.
    table_quarantine_rates: dict[str, float] = field(default_factory=dict)
    max_dangling_references: int = 0
    # (referring mapping, referenced mapping) -> references to rows that were quarantined.
    dangling: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Problems of references the pipeline found (a referenced table that emitted nothing).
    reference_problems: list[str] = field(default_factory=list)
    # The look-up tables the run loaded (`migrate.lookups.LookupStore.report`).
    lookups: list[dict[str, Any]] = field(default_factory=list)
    # What the extractor read beyond rows (`Extractor.source_report`, capability
    # `reports_source`): documents, entries left unread per template.
    source_report: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # why a run that stopped failed (status "failed")
    exit_code: int | None = None  # the exit code of a failed run
    state: str = "finished"  # "running" while the run goes on (run.json written at start)
    show_values: bool = False  # unmapped codes as they are (else masked: `migrate.phi.mask`)
    value_key: bytes = field(default=b"", repr=False)  # the key of masked values

    def shown(self, value: str) -> str:
        """A source value as run.json shows it: as is with ``show_values``, else masked."""
        return value if self.show_values else mask(self.value_key, value)

    @property
    def read(self) -> int:
        """Rows read over all tables."""
        return sum(t.read for t in self.tables)

    @property
    def quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(sum(t.quarantined.values()) for t in self.tables)

    @property
    def quarantine_rate(self) -> float:
        """Share of rows quarantined."""
        return self.quarantined / self.read if self.read else 0.0

    def table_rate(self, t: TableStats, default: float | None = None) -> float:
        """The quarantine threshold of one table: its own (by mapping or table name), else
        ``default``, else the run's."""
        rates = self.table_quarantine_rates
        fallback = self.max_quarantine_rate if default is None else default
        return rates.get(t.mapping, rates.get(t.table, fallback))

    def table_problems(self, default_rate: float | None = None) -> list[str]:
        """Why tables fail the run: each over its own threshold (``default_rate`` for
        tables without one, else the run's), emitting nothing, or read incompletely."""
        return [p for t in self.tables for p in t.problems(self.table_rate(t, default_rate))]

    def problems(self) -> list[str]:
        """Every reason the data fails the run: failing tables first, then the run-wide
        quarantine rate and dangling references."""
        found = self.table_problems()
        if self.quarantine_rate > self.max_quarantine_rate:
            found.append(f"{self.quarantined} of {self.read} rows quarantined "
                         f"({self.quarantine_rate:.2%}; the run may have "
                         f"{self.max_quarantine_rate:.2%})")
        found += self.reference_problems
        dangling = sum(self.dangling.values())
        if dangling > self.max_dangling_references:
            found.append(f"{dangling} reference(s) point to quarantined rows (the run may have "
                         f"{self.max_dangling_references}): " + ", ".join(
                             f"{a} -> {b} {n}" for (a, b), n in sorted(self.dangling.items())))
        return found

    @property
    def status(self) -> str:
        """``running``, ``failed`` (stopped by an error), ``load-errors`` (the target refused
        resources), ``data-errors`` (see `problems`) or ``ok``."""
        if self.state == "running":
            return "running"
        if self.error is not None:
            return "failed"
        if self.load.get("failed"):
            return "load-errors"
        if self.problems():
            return "data-errors"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """The content of ``run.json``."""
        problems = self.problems()
        return {
            "status": self.status,
            **({"error": self.error, "exit_code": self.exit_code}
               if self.error is not None else {}),
            "problems": problems, "pack": self.pack, "pack_version": self.pack_version,
            "pack_source": self.pack_source, "source": self.source,
            "target": self.target,
            "executor": {"name": self.executor, "partitions": self.partitions},
            "seconds": round(self.seconds, 3),
            "rows": {"read": self.read, "quarantined": self.quarantined,
                     "quarantine_rate": round(self.quarantine_rate, 6),
                     "max_quarantine_rate": self.max_quarantine_rate,
                     "table_quarantine_rates": dict(sorted(
                         self.table_quarantine_rates.items()))},
            "dangling_references": {
                "total": sum(self.dangling.values()), "max": self.max_dangling_references,
                "by_mapping": [{"mapping": a, "references": b, "count": n}
                               for (a, b), n in sorted(self.dangling.items())]},
            "tables": [t.as_dict() for t in self.tables],
            **({"lookups": self.lookups} if self.lookups else {}),
            **({"source_report": self.source_report} if self.source_report else {}),
            "resources": dict(sorted(self.resources.items())),
            "resources_total": sum(self.resources.values()),
            "warnings": dict(sorted(self.warnings.items())),
            "unmapped_codes": [
                {"mapping": m, "column": c, "code": self.shown(v), "count": n}
                for (m, c, v), n in sorted(self.unmapped.items())],
            "load": self.load, "outputs": self.outputs,
        }
