"""Run a compiled mapping over source rows: each row (or group of rows) becomes one *unit*.

A unit ends as exactly one of: emitted (with its resources), filtered (by a declared rule) or
quarantined (with every reason). A unit is all or nothing: if one resource of a row fails, none
of that row's resources are emitted (invariant 2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, Protocol

from migrate.mappers.chunked import ChunkPlan, screen
from migrate.mappers.compiler import Scope
from migrate.mappers.keyset import SeenKeys
from migrate.mappers.lookups import LookupAttacher
from migrate.mappers.pack import CompiledEmit, CompiledMapping, Pack
from migrate.outcomes import (  # noqa: F401 - the outcome types, as the engine's users knew them
    EMITTED,
    FILTERED,
    QUARANTINED,
    UNCHANGED,
    RowError,
    Unit,
)

_GROUPED = "grouped"  # a row that joins a group (see `MappingRunner.feed`)
CHUNK_MIN = 1  # rows mapped on their own in a chunk below this: row at a time
COLUMN_WISE: Counter[str] = Counter()
"""Chunks mapped column-wise (`migrate.mappers.chunked`) per mapping, in this process: a
diagnostic that shows `validate` and `run` take the same mapping path."""
Row = dict[str, Any]
Prepared = list[tuple[Row, tuple[Any, ...], Unit | None]]


class ChangeDetection(Protocol):
    """What the engine asks of a change-detection stage (sync; `migrate.stages.RowChanges`)."""

    def chunk(self, mapping: str, prepared: Prepared,
              key_dict: Callable[[tuple[Any, ...]], dict[str, Any]]) -> set[int]:
        """Hash the chunk's rows that have no unit yet; the positions of the unchanged ones."""

    def unchanged(self, unit: Unit, n: int) -> Unit:
        """The unit of unchanged row ``n`` of the chunk, with its hash."""

    def hashed(self, unit: Unit, row: Row, n: int) -> None:
        """Give the unit of row ``n`` of the chunk its source row and hash."""

    def rows(self, unit: Unit, rows: list[Row]) -> None:
        """Give a unit its source rows and their hash."""

    def group_unchanged(self, unit: Unit) -> bool:
        """True when a group's rows were delivered exactly like this before."""


class UnitOrder(Protocol):
    """What the engine tells an executor that orders units by source position (`dask`)."""

    def row(self, i: int, produced: int) -> None:
        """Row ``i`` of the chunk comes next (``len(chunk)``: the chunk is done); ``produced``
        units were returned before it."""

    def group_opened(self, group: tuple[Any, ...]) -> None:
        """The current row opens a group."""

    def group_closed(self, group: tuple[Any, ...]) -> None:
        """A group became a unit before the end of the table."""

    def flushed(self, groups: list[tuple[Any, ...]]) -> None:
        """`finish` returns the units of these groups, in this order."""


def _quoted_keys(keys: list[tuple[Any, ...]]) -> set[int]:
    """The position of each key with a double quote in a text part (a stray quote that ended up in
    an id column, which would give the row a new resource id). One join and one search in
    the common case of no quote at all."""
    parts = [p for k in keys for p in k if type(p) is str]
    if '"' not in "".join(parts):
        return set()
    return {i for i, k in enumerate(keys) if any(type(p) is str and '"' in p for p in k)}


class MappingRunner:
    """Feeds rows of one table through one compiled mapping, in chunks.

    Holds the duplicate-key memory and open groups between chunks; call :meth:`finish` after
    the last chunk to flush groups that never reached their size.
    """

    def __init__(self, pack: Pack, mapping: CompiledMapping, *,
                 changes: ChangeDetection | None = None, order: UnitOrder | None = None,
                 emit_counts: Counter[tuple[str, str]] | None = None,
                 lookups: LookupAttacher | None = None) -> None:
        self.m = mapping
        # Look-up values (`migrate.mappers.lookups`), attached before anything reads the rows.
        self.lookups = lookups
        # Sync's change detection (a stage of its own, `migrate.stages.RowChanges`): row
        # hashes on the units, and rows delivered unchanged before left unmapped.
        self.changes = changes
        self.key_cols = list(mapping.spec.key)
        self.required_key = [c for c in self.key_cols if c not in mapping.spec.nullable_key]
        self.nulls = mapping.null_tokens
        self.make_id = pack.make_id
        self.seen = SeenKeys()
        self.group = mapping.spec.group
        self.groups: dict[tuple[Any, ...], list[tuple[Row, tuple[Any, ...]]]] = {}
        self.last_group: tuple[Any, ...] | None = None
        self.done_groups = SeenKeys()
        self.row_emits = [e for e in mapping.emits if e.per == "row"]
        # Partitioned runs: told which row finished each unit (`migrate.executors.partitioned`).
        self.order = order
        # Column-wise mapping of the rows mapped on their own.
        self.chunk_plan = ChunkPlan.build(mapping, self.row_emits) if self.row_emits else None
        # `validate`: template runs per (mapping, emit), counted on both paths alike (the
        # column-wise path once per emit and chunk), without wrapping any template.
        self.emit_counts = emit_counts

    # -- public ----------------------------------------------------------------------------
    def feed(self, rows: Iterable[Row], clean: bool = False) -> list[Unit]:
        """Map a chunk of rows; returns the units that are finished.

        ``clean`` says the rows went through `clean_column` already (see `Batch.clean`).
        """
        out: list[Unit] = []
        prepared = (self._keys(rows if isinstance(rows, list) else list(rows), text_only=True)
                    if clean else self._keys([self._normalize(row) for row in rows]))
        if self.lookups is not None:
            prepared = self.lookups.attach(prepared, self._key_dict)
        skip = (self.changes.chunk(self.m.name, prepared, self._key_dict)
                if self.changes is not None else set())
        screen = bool(self.m.filters) or bool(self.m.rules) or self.group is not None
        # What happens to each row: a finished unit, a filter rule, "group", or None (mapped
        # on its own). Screening first lets the rows mapped on their own go as one chunk.
        fates: list[Unit | str | None] = (
            self._fates(prepared, skip, screen) if skip or screen
            else [unit for _, _, unit in prepared])  # nothing to decide
        mapped = self._run_chunk(prepared, fates)
        order = self.order
        for i, ((row, key, _), fate) in enumerate(zip(prepared, fates, strict=True)):
            if order is not None:
                order.row(i, len(out))
            if fate is None:
                unit = mapped.get(i)
                out.append(unit if unit is not None else self._run_one(row, key))
            elif fate is _GROUPED:
                out.extend(self._add_to_group(row, key))
            else:
                out.append(fate)  # type: ignore[arg-type]
        if order is not None:
            order.row(len(prepared), len(out))
        return out

    def _fates(self, prepared: list[tuple[Row, tuple[Any, ...], Unit | None]],
               skip: set[int], screen: bool) -> list[Unit | str | None]:
        """What happens to each row of a chunk (see `feed`): filters and group conditions
        (with ``screen``) and the unchanged rows of a re-sync (``skip``: their positions)."""
        fates: list[Unit | str | None] = []
        screened = self._screen(prepared) if screen else None
        for n, (row, key, unit) in enumerate(prepared):
            if unit is not None:
                fates.append(unit)
                continue
            errors: list[RowError] = []
            if screened is not None and n not in screened[2]:  # screened column-wise
                rule, grouped = screened[0][n], screened[1][n]
            elif screen:  # filters and group conditions (a table with neither skips this)
                scope = Scope(row, {}, None, errors=errors)
                rule = self._filtered(scope)
                grouped = rule is None and self.group is not None and self._grouped(scope)
            else:
                rule, grouped = None, False
            if errors:  # a condition over a transform that failed
                fates.append(Unit(self.m.name, [self._key_dict(key)], QUARANTINED,
                                  errors=errors))
            elif rule is not None:
                fates.append(Unit(self.m.name, [self._key_dict(key)], FILTERED, rule=rule))
            elif grouped:
                fates.append(_GROUPED)
            elif n in skip:
                fates.append(self.changes.unchanged(  # type: ignore[union-attr]
                    Unit(self.m.name, [self._key_dict(key)], UNCHANGED), n))
            else:
                fates.append(None)
        return fates

    def _screen(self, prepared: list[tuple[Row, tuple[Any, ...], Unit | None]]
                ) -> tuple[list[str | None], list[bool], set[int]] | None:
        """`chunked.screen` over the rows of a chunk, by index in ``prepared`` (rows with a
        unit already count as screened one by one; they are never looked at)."""
        if len(prepared) < CHUNK_MIN:
            return None
        rows = [row for row, _, _ in prepared]
        return screen(self.m, rows, self.group is not None)

    def _run_chunk(self, prepared: list[tuple[Row, tuple[Any, ...], Unit | None]],
                   fates: list[Unit | str | None]) -> dict[int, Unit]:
        """Units of the rows mapped on their own, by position, computed column-wise where the
        mapping allows it (`migrate.mappers.chunked`); rows missing here take `_run_one`."""
        if self.chunk_plan is None:
            return {}
        idx = [i for i, fate in enumerate(fates) if fate is None]
        if len(idx) < CHUNK_MIN:
            return {}
        rows = [prepared[i][0] for i in idx]
        keys = [prepared[i][1] for i in idx]
        make_ids = getattr(self.make_id, "many", None) or (
            lambda rtype, entity, ks: [self.make_id(rtype, entity, k) for k in ks])
        results = self.chunk_plan.run(rows, keys, len(self.key_cols), self._resource, make_ids,
                                      self.emit_counts)
        COLUMN_WISE[self.m.name] += 1
        name, key_cols, changes = self.m.name, self.key_cols, self.changes
        units: dict[int, Unit] = {}
        for i, key, resources in zip(idx, keys, results, strict=True):
            if resources is None:
                continue
            unit = Unit(name, [dict(zip(key_cols, key, strict=False))], EMITTED, resources)
            if not resources:
                unit.outcome, unit.rule = FILTERED, "no-emit-matched"
            if changes is not None:  # sync: what `_run_one` records of the row
                changes.hashed(unit, prepared[i][0], i)
            units[i] = unit
        return units

    def finish(self) -> list[Unit]:
        """Flush the groups still open at the end of the table.

        ``firsts``, when given, receives for each unit the position tag its group's first row
        had when it was fed (see `group_tag`), in the order of the units.
        """
        pending, self.groups = self.groups, {}
        if self.order is not None:
            self.order.flushed(list(pending))
        return [self._run_rows(members) for members in pending.values()]

    # -- rows ------------------------------------------------------------------------------
    def _normalize(self, raw: Row) -> Row:
        nulls, per_column = self.nulls, self.m.column_nulls
        if not per_column:
            return {k: (None if (t := v.strip()) in nulls else t) if type(v) is str else v
                    for k, v in raw.items()}
        out: Row = {}
        for k, v in raw.items():
            if isinstance(v, str):
                v = v.strip()
                out[k] = None if v in (per_column.get(k, nulls) if per_column else nulls) else v
            else:
                out[k] = v
        return out

    def clean_column(self, name: str, values: list[Any]) -> list[Any]:
        """One column of raw rows cleaned as `_normalize` cleans rows: text trimmed, the
        mapping's null tokens (for that column) read as null."""
        per_column = self.m.column_nulls
        nulls = per_column.get(name, self.nulls) if per_column else self.nulls
        return [(None if (t := v.strip()) in nulls else t) if isinstance(v, str) else v
                for v in values]

    def _key_dict(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(self.key_cols, key, strict=False))

    def _keys(self, rows: list[Row], text_only: bool = False
              ) -> list[tuple[Row, tuple[Any, ...], Unit | None]]:
        """Each row with its key, and a quarantined unit for an empty or repeated key.

        ``text_only``: every value is text or None (a clean CSV batch)."""
        cols, required = self.key_cols, self.required_key
        keys: list[tuple[Any, ...]] = []
        if text_only and cols:
            try:  # every row of a clean CSV batch has every column
                get = itemgetter(*cols)
                keys = ([(v,) for v in map(get, rows)] if len(cols) == 1
                        else list(map(get, rows)))
            except KeyError:
                text_only = False
        if not keys and rows:
            keys = [tuple([row.get(c) for c in cols]) for row in rows]
        # Hashed as text: hash(-1) == hash(-2) for ints. Keys that are text already hash alike.
        counts = self.seen.add_many(
            [hash(k) if None not in k else hash(tuple(map(str, k))) for k in keys] if text_only
            else [hash(tuple(map(str, k))) for k in keys])
        out: list[tuple[Row, tuple[Any, ...], Unit | None]] = []
        quoted = _quoted_keys(keys)
        for i, (row, key, n) in enumerate(zip(rows, keys, counts, strict=True)):
            missing = [c for c in required if row.get(c) is None] if None in key else None
            if quoted and i in quoted:
                col = next(c for c, v in zip(cols, key, strict=True) if '"' in str(v))
                err = RowError("suspect-key", "the key holds a double quote: a damaged line "
                               "(a stray quote)? Fix the export; the row is not guessed at",
                               column=col, value=row.get(col), line=self.m.key_line)
                out.append((row, key, Unit(self.m.name, [self._key_dict(key)], QUARANTINED,
                                           errors=[err])))
            elif missing:
                err = RowError("missing-key", "key column is empty", column=missing[0],
                               value=None, line=self.m.key_line)
                out.append((row, key, Unit(self.m.name, [self._key_dict(key)], QUARANTINED,
                                           errors=[err])))
            elif n == 1:
                out.append((row, key, None))
            elif self.m.spec.duplicate_keys == "number":
                out.append((row, (*key, n), None))
            else:
                err = RowError("duplicate-key", f"key seen {n} times in this table", column=None,
                               value=None, line=self.m.key_line)
                out.append((row, key, Unit(self.m.name, [self._key_dict(key)], QUARANTINED,
                                           errors=[err])))
        return out

    def _filtered(self, scope: Scope) -> str | None:
        """The filter (or filter rule) the row meets; a quarantine rule it breaks adds its
        error to the scope (the row is quarantined) and gives None."""
        for name, cond, _line in self.m.filters:
            if cond(scope):
                return name
        for name, cond, line, action in self.m.rules:
            if cond(scope):
                if action == "filter":
                    return name
                scope.errors.append(RowError(name, f"the row breaks rule {name!r}", line=line))
                return None
        return None

    def _grouped(self, scope: Scope) -> bool:
        return self.m.group_when is None or bool(self.m.group_when(scope))

    def _add_to_group(self, row: Row, key: tuple[Any, ...]) -> list[Unit]:
        assert self.group is not None
        gkey = tuple(row.get(c) for c in self.group.by)
        out: list[Unit] = []
        if self.group.sorted and self.last_group is not None and gkey != self.last_group:
            members = self.groups.pop(self.last_group, None)
            if self.order is not None:
                self.order.group_closed(self.last_group)
            if members:
                out.append(self._run_rows(members))
        self.last_group = gkey
        if self.order is not None and gkey not in self.groups:
            self.order.group_opened(gkey)
        members = self.groups.setdefault(gkey, [])
        members.append((row, key))
        if self.group.size and len(members) >= self.group.size:
            if self.order is not None:
                self.order.group_closed(gkey)
            out.append(self._run_rows(self.groups.pop(gkey)))
        return out

    # -- mapping ---------------------------------------------------------------------------
    def _run_one(self, row: Row, key: tuple[Any, ...]) -> Unit:
        """`_run_rows` for one row outside any group: the common case, kept lean."""
        m = self.m
        unit = Unit(m.name, [dict(zip(self.key_cols, key, strict=False))], EMITTED)
        if self.changes is not None:
            self.changes.rows(unit, [row])
        notes: list[RowError] = []
        errors: list[RowError] = []
        scope = Scope(row, {}, None, notes, errors)
        bound = scope.vars
        out = unit.resources
        try:
            for name, fn in m.lets:
                bound[name] = fn(scope)
            for emit in self.row_emits:
                self._emit(emit, scope, key, out)
        except RowError as exc:
            errors.append(exc)
        if errors:
            unit.quarantine(errors)
        elif not out:
            unit.outcome, unit.rule = FILTERED, "no-emit-matched"
        else:
            unit.notes = notes
        return unit

    def _run_rows(self, members: list[tuple[Row, tuple[Any, ...]]], grouped: bool = True) -> Unit:
        keys = [self._key_dict(k[: len(self.key_cols)]) for _, k in members]
        unit = Unit(self.m.name, keys, EMITTED)
        if self.changes is not None:
            self.changes.rows(unit, [r for r, _ in members])
            # Sync: a group whose rows an earlier sync delivered exactly like this is not
            # mapped again (its hash is recorded under its first row's key).
            if grouped and self.changes.group_unchanged(unit):
                unit.outcome = UNCHANGED
                return unit
        notes: list[RowError] = []
        errors: list[RowError] = []
        try:
            for row, key in members:
                scope = self._scope(row, None, notes, errors)
                for emit in self.m.emits:
                    if emit.per == "row":
                        self._emit(emit, scope, key, unit.resources)
            if grouped:
                group_rows = [r for r, _ in members]
                scope = self._scope(members[0][0], group_rows, notes, errors)
                for emit in self.m.emits:
                    if emit.per == "group":
                        self._emit(emit, scope, members[0][1], unit.resources)
        except RowError as exc:
            errors.append(exc)
        if grouped and not errors and self._group_seen(members):
            errors.append(RowError(
                "split-group", "rows of this group were not together in the source (it would "
                "become two resources with one id); remove 'sorted' or sort the source",
                line=self.m.key_line))
        if errors:
            unit.quarantine(errors)
            return unit
        unit.notes = notes
        if not unit.resources:
            unit.outcome, unit.rule = FILTERED, "no-emit-matched"
        return unit

    def _group_seen(self, members: list[tuple[Row, tuple[Any, ...]]]) -> bool:
        """True when a group with these group values was already mapped earlier."""
        assert self.group is not None
        h = hash(tuple(str(members[0][0].get(c)) for c in self.group.by))
        return self.done_groups.add(h) > 1

    def _scope(self, row: Row, rows: list[Row] | None, notes: list[RowError],
               errors: list[RowError]) -> Scope:
        scope = Scope(row, {}, rows, notes, errors)
        for name, fn in self.m.lets:
            scope.vars[name] = fn(scope)
        return scope

    def _emit(self, emit: CompiledEmit, scope: Scope, key: tuple[Any, ...],
              out: list[dict[str, Any]]) -> None:
        if emit.when is not None and not emit.when(scope):
            return
        if emit.key is not None:
            # A numbered duplicate (duplicate_keys: number) keeps its number in every emit.
            id_key = (*(f(scope) for f in emit.key), *key[len(self.key_cols):])
        else:
            id_key = key
        if emit.key is not None and any(k is None for k in id_key[:len(emit.key)]):
            raise RowError("missing-key", f"a key part of emit {emit.name!r} is empty",
                           line=emit.line)
        if self.emit_counts is not None:  # `validate`: the template runs (it may still fail)
            self.emit_counts[(self.m.name, emit.name)] += 1
        out.append(self._resource(emit, self.make_id(emit.resource, emit.entity, id_key),
                                  emit.template(scope) or {}))

    def _resource(self, emit: CompiledEmit, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        """The resource of one emit: type, id, the emit's profiles, then the template's body."""
        res: dict[str, Any] = {"resourceType": emit.resource, "id": rid}
        if emit.profile:
            res["meta"] = {"profile": emit.profile}
            if "meta" in body:  # the template's meta adds to the emit's profile
                meta = dict(body["meta"])
                meta["profile"] = [*emit.profile, *meta.get("profile", ())]
                body = {**body, "meta": meta}
        res.update(body)
        return res
