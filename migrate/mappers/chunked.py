"""Map a chunk of rows a column at a time: each part of a mapping runs once per distinct value.

The row-at-a-time runner (`MappingRunner._run_one`) calls every compiled node of a template for
every row, even where a memo makes the node itself one lookup. Yet most of a resource is a pure
function of a few columns: ``code`` of ``$CODE`` and ``$DESCRIPTION``, ``subject`` of
``$PATIENT``, ``effectiveDateTime`` of ``$DATE``. The compiler records which columns each part
reads (`migrate.mappers.compiler.Compiler.deps_of`), so for a chunk of rows a `ChunkPlan`:

1. evaluates each ``let``, each emit's ``when`` and ``key`` parts and each top-level member of
   its template once per *distinct* value of the columns it reads (on the first row holding that
   value), and spreads the result over the rows by a list lookup;
2. assembles each resource from those columns (one dict comprehension per resource).

Results are exactly the row-at-a-time results: the same compiled functions run, on a row with
the same values of every column they read. Where evaluating a part adds a warning or an error,
or raises, the rows holding that value are left to the row-at-a-time path (which reports them
with their own notes, as before). A mapping with a part that reads more than columns of the
current row (a loop variable, other rows of a group) is not planned at all.
``tests/mappers/test_chunked.py`` compares both paths, resource for resource.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migrate.mappers.compiler import Scope, _kept, _share

if TYPE_CHECKING:
    from migrate.mappers.pack import CompiledEmit, CompiledMapping

Row = dict[str, Any]
Deps = frozenset[str] | None
# (emit, resource id, body) -> the resource (`MappingRunner._resource`)
BuildResource = Callable[["CompiledEmit", str, dict[str, Any]], dict[str, Any]]
MakeIds = Callable[[str, str, list[tuple[Any, ...]]], list[str]]


class _Unkeyable(Exception):
    """A column value that cannot be a dict key (a list from a JSON column): no plan."""


class ChunkPlan:
    """How to map a chunk of rows of one mapping column-wise (see the module docstring)."""

    def __init__(self, mapping: CompiledMapping, emits: list[CompiledEmit],
                 parts: list[list[tuple[str, Any, frozenset[str]]]]) -> None:
        self.m, self.emits, self.parts = mapping, emits, parts

    @classmethod
    def build(cls, mapping: CompiledMapping, emits: list[CompiledEmit]) -> ChunkPlan | None:
        """The plan for these row emits, or None when some part is not a function of columns."""
        if len(mapping.let_deps) != len(mapping.lets) or None in mapping.let_deps:
            return None
        parts = []
        for e in emits:
            members = getattr(e.template, "parts", None)
            if e.when_deps is None or (e.key is not None and (
                    e.key_deps is None or None in e.key_deps)) or members is None:
                return None
            if any(deps is None for _, _, deps in members):
                return None
            parts.append([(name, _unwrapped(fn), deps) for name, fn, deps in members])
        return cls(mapping, emits, parts)

    def run(self, rows: list[Row], keys: list[tuple[Any, ...]], key_width: int,
            build: BuildResource, make_ids: MakeIds,
            fired: Counter[tuple[str, str]] | None = None
            ) -> list[list[dict[str, Any]] | None]:
        """The resources of each row (in emit order); None for a row the plan leaves to the
        row-at-a-time path. ``fired``, when given, counts per (mapping, emit) the rows whose
        resource the emit built here (once per emit and chunk, never per row unless asked)."""
        chunk = _Chunk(rows, make_ids)
        chunk.fired = fired
        return chunk.run(self, keys, key_width, build)


def _unwrapped(fn: Any) -> Any:
    """A memoized node's own function: a chunk computes each distinct value once anyway, so
    the memo's bookkeeping would only add cost."""
    return getattr(fn, "inner", fn)


def screen(mapping: CompiledMapping, rows: list[Row], grouping: bool
           ) -> tuple[list[str | None], list[bool], set[int]] | None:
    """Filters and the group condition of a chunk, column-wise: for each row the first filter
    rule that matches (or None) and whether it joins a group, with the rows to screen one by
    one instead (a condition added an error or raised: the row path reports it exactly).
    None when a condition reads more than columns."""
    deps = mapping.screen_deps
    conds = [cond for _, cond, _ in mapping.filters] + [r[1] for r in mapping.rules]
    if mapping.group_when is not None:
        conds.append(mapping.group_when)
    if len(deps) != len(conds) or None in deps:
        return None
    chunk = _Chunk(rows)
    every = range(len(rows))
    try:
        results = [chunk.evaluate(cond, d, every) for cond, d in zip(conds, deps, strict=True)]
    except _Unkeyable:
        return None
    # A row breaking a quarantine rule goes to the row path, which records its error.
    names = [name for name, _, _ in mapping.filters] + [
        name if action == "filter" else None for name, _, _, action in mapping.rules]
    rules: list[str | None] = [None] * len(rows)
    done = [False] * len(rows)
    for name, hits in zip(names, results, strict=False):
        for i, hit in enumerate(hits):
            if hit and not done[i]:
                done[i] = True
                if name is None:
                    chunk.dirty.add(i)
                rules[i] = name
    if not grouping:
        grouped = [False] * len(rows)
    elif mapping.group_when is None:
        grouped = [rule is None for rule in rules]
    else:
        grouped = [rule is None and bool(hit) for rule, hit in zip(rules, results[-1],
                                                                   strict=True)]
    return rules, grouped, chunk.dirty


class _LetView:
    """The let values of one row of the chunk, as a template reads them (``vars.get``)."""

    __slots__ = ("i", "lets")

    def __init__(self, lets: list[tuple[str, list[Any]]], i: int) -> None:
        self.lets, self.i = lets, i

    def get(self, name: str, default: Any = None) -> Any:
        for let, values in self.lets:
            if let == name:
                return values[self.i]
        return default

    def keys(self) -> list[str]:
        return [let for let, _ in self.lets]

    def __getitem__(self, name: str) -> Any:
        for let, values in self.lets:
            if let == name:
                return values[self.i]
        raise KeyError(name)


class _Chunk:
    """One chunk being mapped: its columns, the let values of each row, the rows left out."""

    def __init__(self, rows: list[Row], make_ids: MakeIds | None = None) -> None:
        self.rows, self.make_ids = rows, make_ids
        self.columns: dict[str, list[Any]] = {}
        self.lets: list[tuple[str, list[Any]]] = []
        self.dirty: set[int] = set()
        self.fired: Counter[tuple[str, str]] | None = None  # see `ChunkPlan.run`
        self.ran: list[tuple[str, range | list[int]]] = []  # (emit, rows its template ran on)
        # groups() results by (columns, id of the row list), with the row list kept alive
        self.grouped: dict[tuple[Any, ...], tuple[Any, dict[Any, int], list[int]]] = {}

    def run(self, plan: ChunkPlan, keys: list[tuple[Any, ...]], key_width: int,
            build: BuildResource) -> list[list[dict[str, Any]] | None]:
        n = len(self.rows)
        every = range(n)
        try:
            for (name, fn), deps in zip(plan.m.lets, plan.m.let_deps, strict=True):
                self.lets.append((name, self.evaluate(_unwrapped(fn), deps, every)))
            out: list[list[dict[str, Any]] | None] = [[] for _ in every]
            for emit, members in zip(plan.emits, plan.parts, strict=True):
                self.emit(emit, members, keys, key_width, build, out)
        except _Unkeyable:
            return [None] * n
        for i in self.dirty:
            out[i] = None
        if self.fired is not None:  # rows left to the row path are counted there
            for name, idx in self.ran:
                self.fired[(plan.m.name, name)] += sum(1 for i in idx if i not in self.dirty)
        return out

    def emit(self, emit: CompiledEmit, members: list[tuple[str, Any, frozenset[str]]],
             keys: list[tuple[Any, ...]], key_width: int, build: BuildResource,
             out: list[list[dict[str, Any]] | None]) -> None:
        dirty = self.dirty
        every = range(len(self.rows))
        idx: range | list[int] = [i for i in every if i not in dirty] if dirty else every
        if emit.when is not None:
            active = self.evaluate(emit.when, emit.when_deps, idx)
            if not all(active) or dirty:
                idx = [i for i, on in zip(idx, active, strict=True) if on and i not in dirty]
        if not idx:
            return
        if emit.key is not None:
            assert emit.key_deps is not None
            parts = [self.evaluate(_unwrapped(f), d, idx) for f, d in zip(emit.key, emit.key_deps,
                                                                 strict=True)]
            id_keys = [(*p, *keys[i][key_width:]) for i, p in
                       zip(idx, zip(*parts, strict=True), strict=True)]
            for i, p in zip(idx, id_keys, strict=True):
                if None in p[:len(emit.key)]:
                    dirty.add(i)  # a missing key part: the row path reports it
        else:
            id_keys = [keys[i] for i in idx]
        if self.fired is not None:  # counted once the chunk is done (`ChunkPlan.run`)
            self.ran.append((emit.name, idx))
        names = [name for name, _, _ in members]
        columns = [self.evaluate(fn, deps, idx, prune=True) for _, fn, deps in members]
        assert self.make_ids is not None  # only screening chunks have none
        ids = self.make_ids(emit.resource, emit.entity, id_keys)
        rows = zip(idx, ids, zip(*columns, strict=True), strict=True)
        if emit.profile and "meta" in names:  # the template's meta adds to the profiles
            for i, rid, values in rows:
                if i not in dirty:
                    body = {k: v for k, v in zip(names, values, strict=True) if v is not None}
                    out[i].append(build(emit, rid, body))  # type: ignore[union-attr]
            return
        # What `build` makes, inlined: type, id, the emit's profiles (one shared object), body.
        rtype = emit.resource
        meta = {"profile": emit.profile} if emit.profile else None
        # members that are null somewhere in the chunk are left out where they are null
        nullable = [(j, name) for j, (name, col) in enumerate(zip(names, columns, strict=True))
                    if None in col]
        for i, rid, values in rows:
            if i in dirty:
                continue
            res = ({"resourceType": rtype, "id": rid} if meta is None
                   else {"resourceType": rtype, "id": rid, "meta": meta})
            res.update(zip(names, values, strict=True))
            for j, name in nullable:
                if values[j] is None:
                    del res[name]
            out[i].append(res)  # type: ignore[union-attr]

    def column(self, name: str) -> list[Any]:
        col = self.columns.get(name)
        if col is None:
            col = self.columns[name] = [row.get(name) for row in self.rows]
        return col

    def groups(self, cols: tuple[str, ...], idx: range | list[int]
               ) -> tuple[dict[Any, int], list[int]]:
        """The rows of ``idx`` grouped by their values of ``cols``: each distinct value with the
        first row holding it, and for each row of idx that first row (hashed once, shared by
        every part that reads the same columns)."""
        cache_key = (cols, id(idx))
        hit = self.grouped.get(cache_key)
        if hit is not None and hit[0] is idx:
            return hit[1], hit[2]
        full = type(idx) is range and len(idx) == len(self.rows)
        if not cols:
            first = {None: idx[0]} if idx else {}
            pos = [idx[0]] * len(idx) if idx else []
        else:
            if len(cols) == 1:
                col = self.column(cols[0])
                ks: list[Any] = col if full else [col[i] for i in idx]
            else:
                columns = [self.column(c) for c in cols]
                if not full:
                    columns = [[c[i] for i in idx] for c in columns]
                ks = list(zip(*columns, strict=True))
            try:
                first = dict(zip(reversed(ks), reversed(idx), strict=True))  # value -> first row
            except TypeError:
                raise _Unkeyable from None
            pos = list(map(first.__getitem__, ks))
        self.grouped[cache_key] = (idx, first, pos)
        return first, pos

    def evaluate(self, fn: Any, deps: frozenset[str] | None, idx: range | list[int],
                 prune: bool = False) -> list[Any]:
        """``fn`` at each row of ``idx``, computed once per distinct value of ``deps``."""
        assert deps is not None
        first, pos = self.groups(tuple(sorted(deps)), idx)
        slot: list[Any] = [None] * len(self.rows)  # the value, at the first row of each group
        bad: list[int] = []
        rows, lets = self.rows, self.lets
        value = None
        for i in first.values():
            scope = Scope(rows[i], _LetView(lets, i) if lets else {}, None)  # type: ignore[arg-type]
            try:
                value = fn(scope)
            except Exception:  # noqa: BLE001 - the row path meets it again and handles it
                bad.append(i)
                continue
            if scope.errors or scope.notes:
                bad.append(i)
                continue
            if prune and value is not None and not _kept(value):
                value = None
            _share(value)
            slot[i] = value
        if bad:
            failed = set(bad)
            self.dirty.update(i for i, p in zip(idx, pos, strict=True) if p in failed)
        elif len(first) == 1:
            return [value] * len(pos)
        return list(map(slot.__getitem__, pos))
