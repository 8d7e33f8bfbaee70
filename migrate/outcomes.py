"""The outcome types every stage shares: what a row becomes, and what a chunk carries.

Extractors yield `Batch` objects (rows, and `RejectedRow` for lines that could not be parsed);
the mapping engine turns rows into `Unit` objects, each ending as exactly one outcome
(`EMITTED`, `FILTERED`, `QUARANTINED`, or `UNCHANGED` in a sync) with its `RowError` reasons;
validators, executors, the pipeline and the loaders read them. Every stage imports them from
here, none from another stage's module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

EMITTED, FILTERED, QUARANTINED = "emitted", "filtered", "quarantined"
# A row identical to the one an earlier sync already delivered (sync only): it counts as
# emitted, and nothing is mapped or sent for it.
UNCHANGED = "unchanged"


class RowError(Exception):
    """A row that cannot be mapped: quarantined with code, column, raw value and rule line."""

    def __init__(
        self, code: str, message: str, *, column: str | None = None, value: Any = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.column = code, message, column
        self.value, self.line = value, line


@dataclass(frozen=True)
class RejectedRow:
    """A source row that could not even be parsed (ragged CSV line, undecodable bytes)."""

    line: int | None
    message: str
    raw: str | None = None


@dataclass
class Batch:
    """One chunk of a table: parsed rows, and rows rejected while parsing."""

    rows: list[dict[str, Any]]
    rejects: list[RejectedRow] = field(default_factory=list)
    start: int = 0  # index in the table of the batch's first row (where the extractor knows it)
    clean: bool = False  # the rows' values went through the ``clean`` function already


@dataclass(slots=True)
class Unit:
    """The outcome of one row, or of one group of rows."""

    mapping: str
    keys: list[dict[str, Any]]
    outcome: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)
    rule: str | None = None
    row_hash: str | None = None
    source_rows: list[dict[str, Any]] | None = None  # kept only when row hashes are asked for
    # Resources already serialized (a partitioned run's workers did it): (type, JSON) pairs
    # standing in for ``resources`` until someone needs the dicts (see `materialize`).
    raw: list[tuple[str, bytes]] | None = None

    @property
    def rows(self) -> int:
        """How many source rows the unit accounts for."""
        return len(self.keys)

    def materialize(self) -> None:
        """Parse serialized resources back into ``resources``."""
        if self.raw is not None:
            self.resources = [orjson.loads(data) for _, data in self.raw]
            self.raw = None

    def quarantine(self, errors: list[RowError]) -> None:
        """Turn this unit into a quarantined one (its resources are dropped).

        The same problem met twice (one column read by two elements) is reported once.
        """
        seen: set[tuple[str, str | None, str]] = set()
        unique = []
        for e in errors:
            sig = (e.code, e.column, str(e.value))
            if sig not in seen:
                seen.add(sig)
                unique.append(e)
        self.outcome, self.resources, self.errors = QUARANTINED, [], unique
