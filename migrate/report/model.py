"""What a run did, as data: the pipeline fills it, renderers only read it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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

    @property
    def balanced(self) -> bool:
        """read = emitted + filtered + quarantined."""
        return self.read == self.emitted + sum(self.filtered.values()) + \
            sum(self.quarantined.values())

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

    @property
    def status(self) -> str:
        """``ok``, ``data-errors`` (quarantine over the threshold) or ``load-errors``."""
        if self.load.get("failed"):
            return "load-errors"
        if self.quarantine_rate > self.max_quarantine_rate:
            return "data-errors"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """The content of ``run.json``."""
        return {
            "status": self.status, "pack": self.pack, "source": self.source,
            "target": self.target,
            "executor": {"name": self.executor, "partitions": self.partitions},
            "seconds": round(self.seconds, 3),
            "rows": {"read": self.read, "quarantined": self.quarantined,
                     "quarantine_rate": round(self.quarantine_rate, 6),
                     "max_quarantine_rate": self.max_quarantine_rate},
            "tables": [t.as_dict() for t in self.tables],
            "resources": dict(sorted(self.resources.items())),
            "resources_total": sum(self.resources.values()),
            "warnings": dict(sorted(self.warnings.items())),
            "unmapped_codes": [
                {"mapping": m, "column": c, "code": v, "count": n}
                for (m, c, v), n in sorted(self.unmapped.items())],
            "load": self.load, "outputs": self.outputs,
        }
