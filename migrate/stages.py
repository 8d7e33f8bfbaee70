"""The stage loop: extract -> map -> validate (-> serialize), one chunk at a time.

Every executor runs this one loop; it decides only *where* (in this process, or on Dask
workers over key ranges of a table that are merged back in source order), never *how*. What
the loop makes of a chunk is a `ChunkResult`; the pipeline consumes those, whichever executor
made them, and keeps the accounting, the quarantine file, dead letters, dangling references and
the loader's hooks to itself.
"""

from __future__ import annotations

import gc
import inspect
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from migrate.errors import ConfigError, ExtractError, MigrateError
from migrate.mappers.engine import MappingRunner, Prepared, Row, UnitOrder
from migrate.mappers.ids import digest
from migrate.mappers.pack import MappingSettings
from migrate.outcomes import EMITTED, Batch, RejectedRow, RowError, Unit

if TYPE_CHECKING:
    from migrate.config import RunSettings
    from migrate.extractors.base import Extractor
    from migrate.mappers.lookups import LookupAttacher
    from migrate.mappers.pack import CompiledMapping, Pack
    from migrate.validation.base import Validator

SkipCheck = Callable[[str, list[tuple[str, str]]], set[str]]
"""``(mapping, [(key hash, row hash)]) -> key hashes`` of rows delivered exactly like this
before (`Loader.unchanged_rows`)."""


@dataclass
class ChunkResult:
    """What the stage loop made of one chunk of a table: the one kind of result every
    executor hands the pipeline.

    ``read`` counts the source rows the chunk accounts for (parsed and rejected); a merged
    partitioned table reports all of them with its first result. ``units`` are mapped and
    validated, in source order; ``warnings`` counts the validators' warnings.
    """

    read: int
    rejects: list[RejectedRow] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)


class StageLoop:
    """Map and validate the chunks of one mapping's table (the map and validate stages)."""

    def __init__(self, pack: Pack, m: CompiledMapping, validator: Validator, *,
                 hash_rows: bool = False, skip_unchanged: SkipCheck | None = None,
                 emit_counts: Counter[tuple[str, str]] | None = None,
                 order: UnitOrder | None = None, lookups: LookupAttacher | None = None) -> None:
        self.m, self.validator = m, validator
        changes = (RowChanges(pack, skip_unchanged)
                   if hash_rows or skip_unchanged is not None else None)
        self.runner = MappingRunner(pack, m, changes=changes, order=order,
                                    emit_counts=emit_counts, lookups=lookups)

    def chunk(self, batch: Batch, warnings: Counter[str]) -> list[Unit]:
        """Map and validate the rows of one batch; the units that are finished, in order.
        Look-up misses kept with nulls (``on_missing: keep``) count as ``<mapping>:lookup-miss``
        warnings, unreadable lines of look-up tables as
        ``<mapping>:lookup-table-unreadable-lines``."""
        units = self.runner.feed(batch.rows, clean=batch.clean)
        if self.runner.lookups is not None:
            for code, n in self.runner.lookups.take_warnings().items():
                warnings[f"{self.m.name}:{code}"] += n
        validate_units(self.validator, units, warnings, self.m)
        return units

    def finish(self, warnings: Counter[str]) -> list[Unit]:
        """The units of the groups still open at the end of the table, validated."""
        units = self.runner.finish()
        validate_units(self.validator, units, warnings, self.m)
        return units

    def run(self, batches: Iterator[Batch]) -> Iterator[ChunkResult]:
        """The loop itself: a result per batch, then one for the groups left open."""
        for batch in batches:
            warnings: Counter[str] = Counter()
            units = self.chunk(batch, warnings)
            yield ChunkResult(len(batch.rows) + len(batch.rejects), batch.rejects, units,
                              warnings)
        warnings = Counter()
        yield ChunkResult(0, [], self.finish(warnings), warnings)


class RowChanges:
    """Change detection, the stage a loader that declares ``row_hashes`` switches on (sync).

    Between keying and mapping: each row (or group) gets a hash of its source values under
    this version of the pack, kept on its unit with the rows (the loader records them); rows
    the loader knows were delivered exactly like this (``skip_unchanged``) become `UNCHANGED`
    units and are not mapped. The engine calls it through `ChangeDetection`.
    """

    def __init__(self, pack: Pack, skip_unchanged: SkipCheck | None = None) -> None:
        self.fingerprint = (pack.fingerprint or "").encode()
        self.skip = skip_unchanged
        self._hashes: dict[int, tuple[str, str]] = {}  # chunk position -> (key, row hash)

    def row_hash(self, rows: list[Row]) -> str:
        """Fingerprint of source rows under this version of the pack."""
        return digest(self.fingerprint + orjson.dumps(rows, default=str,
                                                      option=orjson.OPT_SORT_KEYS))

    def chunk(self, mapping: str, prepared: Prepared,
              key_dict: Callable[[tuple[Any, ...]], dict[str, Any]]) -> set[int]:
        """Hash the rows of a chunk that have no unit yet; the positions of those an earlier
        sync delivered exactly like this."""
        self._hashes = {n: (key_hash(key_dict(key)), self.row_hash([row]))
                        for n, (row, key, unit) in enumerate(prepared) if unit is None}
        if self.skip is None or not self._hashes:
            return set()
        found = self.skip(mapping, list(self._hashes.values()))
        if not found:
            return set()
        return {n for n, (khash, _) in self._hashes.items() if khash in found}

    def unchanged(self, unit: Unit, n: int) -> Unit:
        """The `UNCHANGED` unit of row ``n`` of the chunk, with its hash."""
        unit.row_hash = self._hashes[n][1]
        return unit

    def hashed(self, unit: Unit, row: Row, n: int) -> None:
        """Row ``n`` of the chunk, mapped on its own: its row and hash on its unit."""
        unit.source_rows, unit.row_hash = [row], self._hashes[n][1]

    def rows(self, unit: Unit, rows: list[Row]) -> None:
        """A unit's source rows and their hash."""
        unit.source_rows = rows
        unit.row_hash = self.row_hash(rows)

    def group_unchanged(self, unit: Unit) -> bool:
        """A group delivered exactly like this before (its hash is recorded under its first
        row's key)."""
        return self.skip is not None and bool(
            self.skip(unit.mapping, [(key_hash(unit.keys[0]), unit.row_hash or "")]))


def key_hash(keys: dict[str, Any]) -> str:
    """Stable hash of a row key (as the state store records it)."""
    return digest(orjson.dumps(keys, option=orjson.OPT_SORT_KEYS, default=str))


def extract(ext: Extractor, m: CompiledMapping, chunk_size: int,
            since: tuple[str, str] | None, clean: Any = None) -> Iterator[Batch]:
    """The extract stage: the table's (or the declared query's) batches; only the rows
    changed since a watermark with ``since``; cleaned a column at a time by ``clean`` when the
    extractor declares ``clean_columns``. An unforeseen failure of the source (a database gone
    mid-read, a file removed) becomes an `ExtractError` naming the table and how far it got.
    """
    if since is not None:
        extra, capability = {"since": since}, "incremental"
    elif clean is not None and ext.capabilities.clean_columns:
        extra, capability = {"clean": clean}, "clean_columns"
    else:
        extra, capability = {}, ""
    try:
        batches = ext.iter_batches(m.table, chunk_size, m.spec.query, **extra)
    except TypeError as exc:
        if not extra or not inspect.isgeneratorfunction(type(ext).iter_batches):
            raise
        raise ConfigError(f"extractor {ext.name!r} ({type(ext).__module__}) declares the "
                          f"capability {capability} but its iter_batches does not take "
                          f"{next(iter(extra))}= ({exc}); fix or update that plugin") from None
    return _guarded(ext, m, batches)


def _guarded(ext: Extractor, m: CompiledMapping, batches: Iterator[Batch]) -> Iterator[Batch]:
    read = 0
    it = iter(batches)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except MigrateError:
            raise
        except Exception as exc:  # a driver's or reader's own error
            raise ExtractError(
                f"lost the source while reading {ext.describe(m.table)} (mapping "
                f"{m.name}) after {read} rows: {_cause(exc)}; the run is not "
                "finished: run it again once the source is back") from None
        read += len(batch.rows) + len(batch.rejects)
        yield batch


def _cause(exc: BaseException) -> str:
    """An error's kind and driver code (``OperationalError 2013``), never its text (it may
    quote source values)."""
    orig = getattr(exc, "orig", None) or exc
    code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
    return f"{type(orig).__name__}{f' {code}' if code is not None else ''}"


def validate_units(validator: Validator, units: list[Unit], warnings: Counter[str],
                   m: CompiledMapping | None = None) -> None:
    """Validate the resources of the emitted units; an error quarantines its whole unit
    (invariant 2). Resources are validated a chunk at a time (`Validator.validate_many`).
    With the mapping ``m``, each error gives the line of the template element at fault (else
    of the emit), so the quarantine record's ``rule`` names ``file:line``."""
    emitted = [u for u in units if u.outcome == EMITTED and u.resources]
    resources = [res for u in emitted for res in u.resources]
    if not resources:
        return
    found = validator.validate_many(resources)
    if not any(found):  # the common chunk: no issue at all
        return
    verdicts = iter(found)
    for unit in emitted:
        errors: list[RowError] = []
        for res in unit.resources:
            for issue in next(verdicts):
                if issue.severity == "error":
                    errors.append(RowError("invalid-resource", f"{issue.path}: {issue.message}",
                                           column=None, value=None,
                                           line=issue_line(m, res["resourceType"], issue.path)))
                else:
                    warnings[f"{res['resourceType']}:{issue.code}"] += 1
        if errors:
            unit.quarantine(errors)


def issue_line(m: CompiledMapping | None, rtype: str, path: str) -> int | None:
    """The line of the template element an issue at ``path`` (``Patient.gender``,
    ``Observation.value[x]``) comes from, else of the first emit of ``rtype``; None without
    the mapping. Two emits of one type: the first whose template has the element."""
    emits = [e for e in (m.emits if m is not None else ()) if e.resource == rtype]
    if not emits:
        return None
    head = path.split(".")[1] if "." in path else ""
    name = head.split("[")[0]
    for e in emits:
        found = e.element_lines.get(name)
        if found is None and head.endswith("[x]"):  # a choice: valueQuantity, deceasedBoolean
            found = next((n for k, n in e.element_lines.items()
                          if k.startswith(name) and k[len(name):][:1].isupper()), None)
        if found is not None:
            return found
    return emits[0].line


@contextmanager
def gc_tuned() -> Iterator[None]:
    """Cheaper garbage collection while rows stream through.

    The run allocates millions of short-lived dicts, which are freed by reference counting;
    the cyclic collector, run every 700 allocations by default, mostly re-scans the long-lived
    objects (pack, fhir.resources models). Those are frozen out of its view and it runs less
    often; both are restored afterwards. Worth about 20% of the transform's CPU time.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def pack_settings(settings: RunSettings) -> MappingSettings:
    """The identity and time zone a run compiles its pack with."""
    return MappingSettings(settings.namespace, settings.source_system, settings.timezone)

