"""Partitions of a table by key range, the work one partition does, and the merge back.

A mapping's table is cut into key ranges on one *partition column*: the first key column that
also groups rows (so a group, and every repeat of a key, falls in one partition), else the first
key column. Boundaries are chosen from the column's values so that partitions hold about as
many rows each. A worker runs `run_partition`: it reads the table, keeps the rows of its range,
maps, validates and serializes the units into a part file, each tagged with the global position
of the row that finished it. `merge_parts` reads the part files of a table back in position
order, which is the order in which the in-process executor makes its units, so the output
files of both executors are identical.
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from migrate.extractors.base import Clean, Extractor
from migrate.files import open_private, private_dir
from migrate.mappers.pack import CompiledMapping, Pack
from migrate.outcomes import Batch, RejectedRow, RowError, Unit
from migrate.stages import StageLoop
from migrate.validation.base import Validator

MIN_ROWS_PER_PARTITION = 20_000
SAMPLE_CAP = 400_000  # partition-column values kept to choose boundaries (then decimated)
REJECT, UNIT, LAST = 0, 1, 2  # record kinds, in the order they sort at one position


@dataclass(frozen=True)
class PartitionTask:
    """One key range of one mapping's table."""

    mapping: str
    index: int  # 0 .. count - 1
    count: int
    column: str | None  # None: the whole table is one partition
    boundaries: tuple[str, ...]  # count - 1 sorted values; partition i holds [b[i-1], b[i])
    part_file: str
    hash_rows: bool = False
    since: tuple[str, str] | None = None


@dataclass
class PartResult:
    """What a worker reports about its partition (the units are in the part file)."""

    task: PartitionTask
    read: int = 0
    units: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def partition_column(m: CompiledMapping) -> str | None:
    """The column a mapping's table is cut on, or None when it must stay whole."""
    key = list(m.spec.key)
    group = m.spec.group
    if group is not None:
        if group.sorted:
            return None  # sorted groups close when the group value changes: keep the order whole
        common = [c for c in key if c in group.by]
        return common[0] if common else None
    nullable = set(m.spec.nullable_key)
    firm = [c for c in key if c not in nullable]
    return (firm or key or [None])[0]


def partition_value(raw: Any, nulls: frozenset[str]) -> str | None:
    """The partition column's value as the mapper will see it (trimmed; null tokens: None)."""
    if raw is None:
        return None
    text = raw.strip() if isinstance(raw, str) else str(raw)
    return None if text in nulls else text


def plan_partitions(ext: Extractor, m: CompiledMapping, wanted: int, chunk_size: int,
                    min_rows: int = MIN_ROWS_PER_PARTITION) -> tuple[str | None, tuple[str, ...]]:
    """The partition column and range boundaries for about ``wanted`` partitions of at least
    ``min_rows`` rows each."""
    column = partition_column(m)
    if column is None or wanted <= 1:
        return None, ()
    if ext.capabilities.value_counts:  # counted by the extractor (Arrow), distinct values only
        counts: Counter[str] = Counter()
        for raw, n in ext.column_counts(m.table, column).items():
            value = partition_value(raw, m.null_tokens)
            if value is not None:
                counts[value] += n
    else:
        counts = Counter(v for v in _column_sample(ext, m, column, chunk_size) if v is not None)
    total = sum(counts.values())
    count = max(1, min(wanted, total // max(1, min_rows)))
    if count <= 1:
        return None, ()
    values = sorted(counts)
    bounds: list[str] = []
    running = 0
    step = total / count
    for v in values:
        if running >= step * (len(bounds) + 1) and len(bounds) < count - 1:
            bounds.append(v)
        running += counts[v]
    return (column, tuple(bounds)) if bounds else (None, ())


def _column_sample(ext: Extractor, m: CompiledMapping, column: str,
                   chunk_size: int) -> Iterator[str | None]:
    """Values of the partition column (every one, or every k-th once there are many)."""
    nulls = m.null_tokens
    source = (ext.column_values(m.table, column, m.spec.query)
              if ext.capabilities.column_values
              else (r.get(column) for b in ext.iter_batches(m.table, chunk_size, m.spec.query)
                    for r in b.rows))
    kept: list[str | None] = []
    stride = 1
    for i, raw in enumerate(source):
        if i % stride:
            continue
        kept.append(partition_value(raw, nulls))
        if len(kept) >= SAMPLE_CAP:
            kept, stride = kept[::2], stride * 2
    return iter(kept)


# -- worker side --------------------------------------------------------------------------
def run_partition(task: PartitionTask, pack: Pack, ext: Extractor, validator: Validator,
                  chunk_size: int) -> PartResult:
    """The stage loop over one partition of one table (`migrate.stages.StageLoop`: map and
    validate), its units serialized into ``task.part_file`` with their source positions."""
    import time

    started = time.perf_counter()
    m = next(x for x in pack.mappings if x.name == task.mapping)
    result = PartResult(task)
    order = SourceOrder()
    loop = StageLoop(pack, m, validator, hash_rows=task.hash_rows, order=order)
    position = 0  # global index past the last row seen
    private_dir(Path(task.part_file).parent)
    with open_private(Path(task.part_file)) as fh:
        for batch, index_of in _partition_rows(ext, m, task, chunk_size,
                                               loop.runner.clean_column):
            if task.index == 0:
                for reject in batch.rejects:
                    fh.write(_record(batch.start, REJECT, _reject_record(reject)))
                result.read += len(batch.rejects)
            rows = batch.rows
            result.read += len(rows)
            position = max(position, (index_of[-1] + 1) if index_of else batch.start)
            if not rows:
                continue
            order.index_of = index_of
            units = loop.chunk(batch, result.warnings)
            for unit, pos in zip(units, order.take(), strict=True):
                fh.write(_unit_lines(pos, UNIT, unit))
            result.units += len(units)
        units = loop.finish(result.warnings)
        for unit, first in zip(units, order.firsts, strict=True):
            fh.write(_unit_lines(first if first is not None else position, LAST, unit))
        result.units += len(units)
    result.seconds = time.perf_counter() - started
    return result


class SourceOrder:
    """Where each unit of a partition goes in the table's source order (`UnitOrder`): the
    table index of the row whose reading finished it, or, for a group still open at the end
    of the table, of the group's first row (None when unknown)."""

    def __init__(self) -> None:
        self.index_of: list[int] = []  # the table index of each row of the chunk being fed
        self.positions: list[int] = []  # per unit returned so far: its row in the chunk
        self.firsts: list[int | None] = []  # per unit of `finish`: its group's first row
        self._row = 0
        self._first: dict[tuple[Any, ...], int] = {}

    def row(self, i: int, produced: int) -> None:
        """Units produced since the previous row belong to row ``i - 1``."""
        self.positions.extend([i - 1] * (produced - len(self.positions)))
        self._row = i

    def take(self) -> list[int]:
        """The table index of each unit of the chunk just fed, in order."""
        index_of, positions = self.index_of, self.positions
        self.positions = []
        return [index_of[p] for p in positions]

    def group_opened(self, group: tuple[Any, ...]) -> None:
        self._first[group] = self.index_of[self._row]

    def group_closed(self, group: tuple[Any, ...]) -> None:
        self._first.pop(group, None)

    def flushed(self, groups: list[tuple[Any, ...]]) -> None:
        self.firsts = [self._first.pop(g, None) for g in groups]


def _partition_rows(ext: Extractor, m: CompiledMapping, task: PartitionTask, chunk_size: int,
                    clean: Clean | None = None) -> Iterator[tuple[Batch, list[int]]]:
    """The partition's rows, in chunks, with the index in the table of each row (cleaned a
    column at a time by ``clean`` where the rows are selected in Arrow)."""
    column, bounds = task.column, list(task.boundaries)
    if column is not None and ext.capabilities.selected_reads and task.since is None:
        # Filtered in Arrow: rows of other partitions never become Python objects.
        yield from ext.iter_selected(m.table, chunk_size, _arrow_range(column, bounds, task.index,
                                                              m.null_tokens), clean=clean)
        return
    position = 0
    for batch in ext.iter_batches(m.table, chunk_size, m.spec.query, since=task.since):
        start, rows = position, batch.rows
        position += len(rows)
        if column is None:
            index = list(range(start, position))
        else:
            mine = [i for i, r in enumerate(rows)
                    if _partition_of(r.get(column), m.null_tokens, bounds) == task.index]
            index = [start + i for i in mine]
            batch = Batch([rows[i] for i in mine], batch.rejects)
        batch.start = start
        yield batch, index


def _arrow_range(column: str, bounds: list[str], index: int, nulls: frozenset[str]) -> Any:
    """A pyarrow mask function for partition ``index``: trimmed values in its key range
    (null tokens fall in partition 0). Every worker cuts with this same function, so each row
    belongs to exactly one partition."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lo = bounds[index - 1] if index > 0 else None
    hi = bounds[index] if index < len(bounds) else None
    null_set = pa.array(sorted(nulls), pa.string())

    def select(record_batch: Any) -> Any:
        values = pc.utf8_trim_whitespace(record_batch.column(column))
        is_null = pc.is_in(values, value_set=null_set)
        mask = pc.invert(is_null)
        if lo is not None:
            mask = pc.and_(mask, pc.greater_equal(values, lo))
        if hi is not None:
            mask = pc.and_(mask, pc.less(values, hi))
        return pc.or_(mask, is_null) if index == 0 else mask

    return select


def _partition_of(raw: Any, nulls: frozenset[str], bounds: list[str]) -> int:
    value = partition_value(raw, nulls)
    return 0 if value is None else bisect.bisect_right(bounds, value)


def _record(position: int, kind: int, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([kind == LAST, position, kind, payload], default=str) + b"\n"


def _unit_lines(position: int, kind: int, unit: Unit) -> bytes:
    """A unit's record line, then one line per resource (serialized here, on the worker)."""
    rec = unit_record(unit)
    resources = rec.pop("r", ())
    if resources:
        rec["t"] = [r["resourceType"] for r in resources]
    head = _record(position, kind, rec)
    if not resources:
        return head
    return head + b"".join(orjson.dumps(r) + b"\n" for r in resources)


def _reject_record(reject: RejectedRow) -> dict[str, Any]:
    return {"line": reject.line, "message": reject.message, "raw": reject.raw}


def unit_record(unit: Unit) -> dict[str, Any]:
    """A unit as plain JSON data."""
    rec: dict[str, Any] = {"m": unit.mapping, "k": unit.keys, "o": unit.outcome}
    if unit.resources:
        rec["r"] = unit.resources
    if unit.errors:
        rec["e"] = [_error(e) for e in unit.errors]
    if unit.notes:
        rec["n"] = [_error(e) for e in unit.notes]
    if unit.rule is not None:
        rec["rule"] = unit.rule
    if unit.row_hash is not None:
        rec["h"] = unit.row_hash
    if unit.source_rows is not None:
        rec["s"] = unit.source_rows
    return rec


def _error(e: RowError) -> list[Any]:
    return [e.code, e.message, e.column, e.value, e.line]


def unit_from_record(rec: dict[str, Any]) -> Unit:
    """The unit a record was made from."""
    return Unit(rec["m"], rec["k"], rec["o"], resources=rec.get("r", []),
                errors=[_row_error(e) for e in rec.get("e", ())],
                notes=[_row_error(e) for e in rec.get("n", ())], rule=rec.get("rule"),
                row_hash=rec.get("h"), source_rows=rec.get("s"))


def _row_error(e: list[Any]) -> RowError:
    return RowError(e[0], e[1], column=e[2], value=e[3], line=e[4])


# -- driver side ----------------------------------------------------------------------------
def merge_parts(paths: list[str], chunk: int = 2000
                ) -> Iterator[tuple[list[RejectedRow], list[Unit]]]:
    """The units (and rejected rows) of a table's part files, in source order, in chunks.

    Resources stay serialized (``Unit.raw``): a loader that takes JSON as it is (NDJSON) never
    parses them.
    """
    files = [Path(p).open("rb") for p in paths]
    try:
        rejects: list[RejectedRow] = []
        units: list[Unit] = []
        streams = [_read_part(fh, n) for n, fh in enumerate(files)]
        # A row belongs to one partition, so no two streams share a (last, position) key; the
        # stream number breaks ties before the payload is ever compared.
        merged = heapq.merge(*streams) if len(streams) > 1 else streams[0]
        for _key, _stream, kind, payload, raw in merged:
            if kind == REJECT:
                rejects.append(RejectedRow(payload["line"], payload["message"], payload["raw"]))
            else:
                unit = unit_from_record(payload)
                if raw:
                    unit.raw = list(zip(payload["t"], raw, strict=True))
                units.append(unit)
            if len(units) >= chunk:
                yield rejects, units
                rejects, units = [], []
        if rejects or units:
            yield rejects, units
    finally:
        for fh in files:
            fh.close()


def _read_part(fh: Any, stream: int
               ) -> Iterator[tuple[tuple[bool, int], int, int, dict[str, Any], list[bytes]]]:
    lines = iter(fh)
    for line in lines:
        last, pos, kind, payload = orjson.loads(line)
        types = payload.get("t")
        raw = [next(lines)[:-1] for _ in types] if types else []
        yield (last, pos), stream, kind, payload, raw
