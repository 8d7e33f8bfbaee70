"""One streaming pass over source tables: non-null counts of every column, and pandas frames of
the few columns the source expectations need.

The frames hold whole tables (only the needed columns, as text), so great-expectations sees
every row: memory grows with rows x needed columns. That is fine for a practice-sized EMR
(a few million rows); for larger sources, split the expectations or run them on an extract.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.errors import MigrateError

if TYPE_CHECKING:
    import pandas as pd

    from migrate.extractors.base import Extractor

ROW = "__row__"  # 1-based number of the row in its table, kept in every frame


@dataclass
class TableScan:
    """What one pass over a table found."""

    table: str
    columns: list[str]
    rows: int = 0
    rejected: int = 0
    non_null: Counter[str] = field(default_factory=Counter)
    frame: pd.DataFrame | None = None
    error: str | None = None


def scan_table(ext: Extractor, table: str, keep: list[str], nulls: frozenset[str],
               chunk_size: int = 5000) -> TableScan:
    """Read ``table`` once: count non-null values per column, keep ``keep`` columns as a frame.

    Values are stripped and null tokens become None, as the mapping engine sees them. A table
    that cannot be read gives a scan with ``error`` set (the report shows it).
    """
    try:
        columns = ext.columns(table)
    except MigrateError as exc:
        return TableScan(table, [], error=str(exc))
    scan = TableScan(table, columns)
    wanted = [c for c in dict.fromkeys(keep) if c in columns]
    kept: dict[str, list[Any]] = {c: [] for c in wanted}
    try:
        for batch in ext.iter_batches(table, chunk_size):
            scan.rejected += len(batch.rejects)
            for raw in batch.rows:
                _count_row(raw, nulls, scan.non_null, kept)
            scan.rows += len(batch.rows)
    except MigrateError as exc:
        scan.error = str(exc)
        return scan
    if keep:
        scan.frame = _frame(kept, scan.rows)
    return scan


def _count_row(raw: dict[str, Any], nulls: frozenset[str], non_null: Counter[str],
               kept: dict[str, list[Any]]) -> None:
    for col, value in raw.items():
        if isinstance(value, str):
            value = value.strip()
            if value in nulls:
                value = None
        if value is not None:
            non_null[col] += 1
        if col in kept:
            kept[col].append(value)


def _frame(kept: dict[str, list[Any]], rows: int) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, Any] = {c: pd.Series(v, dtype="object") for c, v in kept.items()}
    data[ROW] = pd.RangeIndex(1, rows + 1)
    return pd.DataFrame(data)
