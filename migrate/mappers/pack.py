"""Load a mapping pack, check all of it, and compile it (invariant 4: before any data is read).

A pack is a folder: ``pack.yaml`` (optional), one YAML file per mapping, and ``concept_maps/``
with CSV concept maps. :func:`load_pack` reports every problem of every file at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from migrate.errors import MappingError, Problem
from migrate.files import inside
from migrate.mappers import fhirmodel
from migrate.mappers import transforms as _transforms  # noqa: F401 - registers the built-in transforms
from migrate.mappers.checks import declared_columns, no_lets
from migrate.mappers.compiler import Compiler, Cond, Const, Fn, memoized
from migrate.mappers.ids import id_maker
from migrate.mappers.installed import pack_source
from migrate.mappers.lookups import lookup_columns, lookup_outcomes
from migrate.mappers.spec import (
    UNVERSIONED,
    BooleansSpec,
    EmitSpec,
    MappingSpec,
    NumbersSpec,
    PackSpec,
    read_checked,
    read_pack_spec,
)
from migrate.mappers.terminology import ConceptMap, read_concept_maps
from migrate.mappers.units import UnitResolver

# Placeholder identity used when a pack is only checked, not run.
CHECK_NAMESPACE = uuid.UUID("00000000-0000-0000-0000-000000000000")


@dataclass(frozen=True)
class MappingSettings:
    """Run settings the compiled mappings need: identity and the default time zone."""

    namespace: uuid.UUID = CHECK_NAMESPACE
    source_system: str = "urn:emr-migrate:check"
    timezone: str | None = None  # None: the pack's default (pack.yaml), else UTC


@dataclass(frozen=True)
class RefTarget:
    """What a reference to a mapping's emit resolves to."""

    resource_type: str
    entity: str
    arity: int


@dataclass
class CompiledEmit:
    """One emit, ready to run."""

    name: str
    resource: str
    entity: str
    per: str
    profile: list[str]
    when: Cond | None
    key: list[Fn] | None
    template: Fn
    line: int
    # The columns ``when`` and each ``key`` part read (None: more than columns of the row).
    when_deps: frozenset[str] | None = frozenset()
    key_deps: list[frozenset[str] | None] | None = None
    # The line of each element of the template (``gender`` -> 31): where an invalid resource
    # is said to come from.
    element_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class CompiledMapping:
    """One mapping file, ready to run over its source rows."""

    spec: MappingSpec
    file: str
    line: int
    columns: dict[str, int]
    lets: list[tuple[str, Fn]]
    filters: list[tuple[str, Cond, int]]
    group_when: Cond | None
    emits: list[CompiledEmit]
    null_tokens: frozenset[str]
    key_line: int = 1
    column_nulls: dict[str, frozenset[str]] = field(default_factory=dict)
    # The columns each let value is computed from, in the order of ``lets`` (None: not keyable).
    let_deps: list[frozenset[str] | None] = field(default_factory=list)
    # The columns each filter condition reads, then each rule's, then ``group_when``'s (if any).
    screen_deps: list[frozenset[str] | None] = field(default_factory=list)
    lookup_lines: dict[str, int] = field(default_factory=dict)  # look-up name -> its line
    # Cross-column rules, after the filters: (name, violation, line, quarantine | filter).
    rules: list[tuple[str, Cond, int, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The mapping's name."""
        return self.spec.mapping

    @property
    def table(self) -> str:
        """The source table it reads."""
        return self.spec.source

    def columns_read(self) -> list[tuple[str, int]]:
        """Every column it reads (the key's too), with the first line reading it, by line."""
        needed = dict(self.columns)
        for col in self.spec.key:
            needed.setdefault(col, self.key_line)
        return sorted(needed.items(), key=lambda kv: kv[1])

    @property
    def resource_types(self) -> list[str]:
        """Resource types it can emit."""
        return sorted({e.resource for e in self.emits})


@dataclass
class Pack:
    """A checked and compiled mapping pack."""

    root: Path
    spec: PackSpec
    mappings: list[CompiledMapping]
    concept_maps: dict[str, ConceptMap]
    settings: MappingSettings
    depends: dict[str, set[str]] = field(default_factory=dict)
    make_id: Any = None  # (resource_type, entity, key tuple) -> id, cached
    fingerprint: str = ""  # hash of every mapping and concept map file

    @property
    def version(self) -> str:
        """pack.yaml's version, else ``unversioned``."""
        return self.spec.version or UNVERSIONED

    def source(self) -> str:
        """Where the pack comes from: its distribution when installed, else its folder."""
        return pack_source(self.root)

    def tables(self) -> list[str]:
        """Source tables in load order: referenced mappings' tables first."""
        order: list[str] = []
        for m in self.ordered_mappings():
            if m.table not in order:
                order.append(m.table)
        return order

    def ordered_mappings(self) -> list[CompiledMapping]:
        """Mappings ordered so that those referenced come before those referring to them."""
        by_name = {m.name: m for m in self.mappings}
        done: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in done or name in visiting:
                return
            visiting.add(name)
            for dep in sorted(self.depends.get(name, ())):
                if dep in by_name:
                    visit(dep)
            visiting.discard(name)
            done.append(name)

        for m in self.mappings:
            visit(m.name)
        return [by_name[n] for n in done]

    def resource_type_order(self) -> list[str]:
        """Resource types in load order (referenced before referring)."""
        out: list[str] = []
        for m in self.ordered_mappings():
            out.extend(t for t in m.resource_types if t not in out)
        return out

    def columns_for(self, table: str) -> dict[str, tuple[str, int]]:
        """Columns the pack reads from ``table``: column -> (mapping file, line)."""
        out: dict[str, tuple[str, int]] = {}
        for m in self.mappings:
            if m.table == table:
                for col in m.spec.key:
                    out.setdefault(col, (m.file, m.line))
                for col, line in m.columns.items():
                    out.setdefault(col, (m.file, line))
        return out

    def lookup_reads(self) -> dict[str, dict[str, tuple[str, int]]]:
        """Columns the pack's look-ups read, per look-up table: column -> (mapping file, line
        of the look-up). A table read only as a look-up (a dictionary) is read all the same."""
        out: dict[str, dict[str, tuple[str, int]]] = {}
        for m in self.mappings:
            for name, lk in m.spec.lookup.items():
                cols = out.setdefault(lk.table, {})
                for col in lk.read_columns:
                    cols.setdefault(col, (m.file, m.lookup_lines.get(name, m.line)))
        return out


class PackContext:
    """What transforms can ask of the pack while compiling."""

    def __init__(self, root: Path, settings: MappingSettings, maps: dict[str, ConceptMap],
                 targets: dict[tuple[str, str | None], RefTarget]) -> None:
        self.root, self.settings, self.maps, self.targets = root, settings, maps, targets
        self.refs: set[str] = set()
        self.broken: set[str] = set()  # mappings whose file did not check
        self.default_timezone: str | None = None  # pack.yaml's timezone
        self.units = UnitResolver()  # pack.yaml's units: first, then UCUM (quantity)
        self.numbers: NumbersSpec | None = None  # pack.yaml's numbers: (default separators)
        self.booleans: BooleansSpec | None = None  # pack.yaml's booleans: (default tokens)
        ns, system = settings.namespace, settings.source_system

        self.make_id = id_maker(ns, system)

    def concept_map(self, name: str) -> ConceptMap | None:
        """The concept map called ``name``."""
        return self.maps.get(name)

    def concept_map_names(self) -> list[str]:
        """Names of all concept maps in the pack."""
        return sorted(self.maps)

    def zone(self, name: Any, c: Compiler, where: str, line: int) -> Any:
        """A time zone by IANA name; ``default`` is the project's zone."""
        default = self.settings.timezone or self.default_timezone or "UTC"
        zone_name = default if name in (None, "default") else str(name)
        try:
            return ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            c.problem(line, where, f"unknown time zone {zone_name!r} (use an IANA name such as "
                      "America/Chicago)")
            return ZoneInfo("UTC")

    def ref_target(self, mapping: str, emit: str | None, c: Compiler, where: str,
                   line: int) -> RefTarget | None:
        """Resolve a reference to ``mapping`` (and ``emit`` when it has several)."""
        self.refs.add(mapping)
        if (mapping, emit) in self.targets:
            return self.targets[(mapping, emit)]
        known = sorted({m for m, _ in self.targets})
        if mapping in self.broken:
            return None
        emits = sorted(e for m, e in self.targets if m == mapping and e)
        if mapping in known and emit is not None:
            c.problem(line, where, f"{mapping} has no emit {emit!r} (its emits: "
                      f"{', '.join(emits)})")
        elif mapping not in known:
            c.problem(line, where,
                      f"no mapping {mapping!r} in the pack (known: {', '.join(known)})")
        else:
            c.problem(line, where, f"{mapping} emits several resources; name one with "
                      f"'emit:' ({', '.join(emits)})")
        return None


def load_pack(root: Path, settings: MappingSettings | None = None) -> Pack:
    """Read, check and compile the pack at ``root``; raise MappingError listing every problem."""
    settings = settings or MappingSettings()
    problems: list[Problem] = []
    if not root.is_dir():
        raise MappingError([Problem(str(root), None, "", "no such mapping pack folder")])
    pack_spec = read_pack_spec(root, problems)
    broken: set[str] = set()
    specs = _read_specs(root, problems, broken)
    maps = read_concept_maps(root / "concept_maps", problems)
    targets = _ref_targets(specs, problems)
    mappings: list[CompiledMapping] = []
    depends: dict[str, set[str]] = {}
    ctx = PackContext(root, settings, maps, targets)
    ctx.broken = broken
    ctx.default_timezone = pack_spec.timezone
    ctx.units = UnitResolver(pack_spec.units)
    ctx.numbers, ctx.booleans = pack_spec.numbers, pack_spec.booleans
    for file, data, spec in specs:
        ctx.refs = set()
        mappings.append(_compile(file, data, spec, ctx, pack_spec, problems))
        depends[spec.mapping] = ctx.refs - {spec.mapping}
    _check_id_collisions(mappings, problems)
    declared_columns(mappings, pack_spec, problems)
    if not specs and not problems:
        problems.append(Problem(str(root), None, "", "no mapping files (*.yaml) in this folder"))
    if problems:
        raise MappingError(problems)
    return Pack(root, pack_spec, mappings, maps, settings, depends, ctx.make_id,
                _fingerprint(root))


def _read_specs(root: Path, problems: list[Problem],
                broken: set[str]) -> list[tuple[str, Any, MappingSpec]]:
    """Each mapping file as (path, raw YAML with line numbers, checked model).

    Names of mapping files that do not check are added to ``broken``.
    """
    out: list[tuple[str, Any, MappingSpec]] = []
    seen: dict[str, str] = {}
    for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
        if path.name in ("pack.yaml", "pack.yml"):
            continue
        if not inside(path, root):
            problems.append(Problem(str(path), None, "", "a link to a file outside the pack; "
                                    "copy the file into the pack instead"))
            continue
        data, spec = read_checked(path, MappingSpec, problems)
        if spec is None:
            if isinstance(data, dict) and isinstance(data.get("mapping"), str):
                broken.add(data["mapping"])  # refs to it are not reported again
            continue
        if spec.mapping in seen:
            problems.append(Problem(str(path), data.line_of("mapping"), "mapping",
                                    f"name {spec.mapping!r} is also used by {seen[spec.mapping]}"))
            continue
        seen[spec.mapping] = str(path)
        out.append((str(path), data, spec))
    return out


def _ref_targets(specs: list[tuple[str, Any, MappingSpec]],
                 problems: list[Problem]) -> dict[tuple[str, str | None], RefTarget]:
    targets: dict[tuple[str, str | None], RefTarget] = {}
    for _file, _data, spec in specs:
        for emit in spec.emit:
            arity = len(emit.key) if emit.key else len(spec.key)
            t = RefTarget(emit.resource, emit.entity or spec.source, arity)
            targets[(spec.mapping, _emit_name(emit))] = t
        if len(spec.emit) == 1:
            targets[(spec.mapping, None)] = targets[(spec.mapping, _emit_name(spec.emit[0]))]
    return targets


def _emit_name(emit: EmitSpec) -> str:
    return emit.name or emit.resource.lower()


def _compile(file: str, data: Any, spec: MappingSpec, ctx: PackContext, pack: PackSpec,
             problems: list[Problem]) -> CompiledMapping:
    c = Compiler(file, ctx)
    c.collect_columns = {n: lk.columns for n, lk in spec.lookup.items() if lk.pick == "collect"}
    # Filters and group conditions run before let values exist: they read columns only.
    filters, screen_deps = [], []
    for i, f in enumerate(spec.filter):
        cond, deps = c.tracked_cond(f.when, f"filter[{i}].when", _line(data, "filter", i))
        no_lets(c, spec, deps, f"filter[{i}].when", _line(data, "filter", i))
        filters.append((f.name, cond, _line(data, "filter", i)))
        screen_deps.append(deps)
    rules = _compile_rules(c, spec, data, screen_deps)
    group_when = None
    if spec.group and spec.group.when is not None:
        group_when, deps = c.tracked_cond(spec.group.when, "group.when", _line(data, "group"))
        no_lets(c, spec, deps, "group.when", _line(data, "group"))
        screen_deps.append(deps)
        for col in spec.group.by:
            c.columns.setdefault(col, _line(data, "group"))
    elif spec.group:
        for col in spec.group.by:
            c.columns.setdefault(col, _line(data, "group"))
    lets = _compile_lets(c, spec, data)
    emits = [_compile_emit(c, spec, e, i, data) for i, e in enumerate(spec.emit)]
    lookup_lines = lookup_columns(c, spec, data, pack)  # `$adm.col`: no column of the table
    seen: dict[str, int] = {}
    for e in emits:
        if e.name in seen:
            c.problem(e.line, f"emit {e.name}", f"emit name {e.name!r} is used twice in this "
                      "mapping; give each emit its own 'name'")
        seen.setdefault(e.name, e.line)
    problems.extend(c.problems)
    nulls = frozenset(pack.null_tokens)
    column_nulls: dict[str, frozenset[str]] = {}
    if isinstance(spec.null_tokens, dict):
        column_nulls = {col: nulls | frozenset(v) for col, v in spec.null_tokens.items()}
    elif spec.null_tokens:
        nulls |= frozenset(spec.null_tokens)
    return CompiledMapping(spec, file, getattr(data, "line", 1), c.columns, lets, filters,
                           group_when, emits, nulls, _line(data, "key"), column_nulls,
                           [c.let_deps.get(name) for name, _ in lets], screen_deps,
                           lookup_lines, rules)


def _compile_rules(c: Compiler, spec: MappingSpec, data: Any,
                   screen_deps: list[frozenset[str] | None]) -> list[tuple[str, Cond, int, str]]:
    """The mapping's ``rules:``; like filters they read columns only (their deps are added to
    ``screen_deps``, after the filters')."""
    rules: list[tuple[str, Cond, int, str]] = []
    seen = {f.name for f in spec.filter}
    lookups = lookup_outcomes(spec)
    for i, r in enumerate(spec.rules):
        line = _line(data, "rules", i)
        cond, deps = c.tracked_cond(r.when, f"rules[{i}].when", line)
        no_lets(c, spec, deps, f"rules[{i}].when", line)
        if r.name in seen or r.name in lookups:
            other = "a look-up outcome" if r.name in lookups else "another filter or rule"
            c.problem(line, f"rules[{i}].name", f"{r.name!r} also names {other} "
                      "of this mapping; the counts would mix them")
        seen.add(r.name)
        rules.append((r.name, cond, line, r.action))
        screen_deps.append(deps)
    return rules


def _line(data: Any, key: str, index: int | None = None) -> int:
    node = data.get(key) if isinstance(data, dict) else None
    if index is not None and isinstance(node, list) and index < len(node):
        return getattr(node[index], "line", data.line_of(key))
    return data.line_of(key) if hasattr(data, "line_of") else 1


def _compile_lets(c: Compiler, spec: MappingSpec, data: Any) -> list[tuple[str, Fn]]:
    lets: list[tuple[str, Fn]] = []
    raw = data.get("let") or {}
    for name, node in spec.let.items():
        line = raw.key_lines.get(name, 1) if hasattr(raw, "key_lines") else 1
        fn, deps = c.tracked(node, f"let.{name}", line)
        if deps and not isinstance(fn, Const):
            fn = memoized(fn, tuple(sorted(deps)))
        lets.append((name, fn))
        c.let_deps[name] = deps
        c.var_names.add(name)
    return lets


def _compile_emit(c: Compiler, spec: MappingSpec, e: EmitSpec, i: int, data: Any) -> CompiledEmit:
    line = _line(data, "emit", i)
    where = f"emit[{i}]"
    name = _emit_name(e)
    if not fhirmodel.is_resource_type(e.resource):
        c.problem(line, f"{where}.resource", f"{e.resource!r} is not a FHIR R4 resource type")
    if e.per == "group" and spec.group is None:
        c.problem(line, f"{where}.per", "'per: group' needs a 'group:' section in the mapping")
    c.group = e.per == "group"
    when, when_deps = (c.tracked_cond(e.when, f"{where}.when", line) if e.when is not None
                       else (None, frozenset()))
    key: list[Fn] | None = None
    key_deps: list[frozenset[str] | None] | None = None
    if e.key:
        tracked = [c.deps_of(lambda j=j, k=k: c.value(k, f"{where}.key[{j}]", line))
                   for j, k in enumerate(e.key)]
        key, key_deps = [f for f, _ in tracked], [d for _, d in tracked]
    raw = data["emit"][i]["template"]
    model = e.resource if fhirmodel.is_resource_type(e.resource) else None
    template = c.obj(raw, f"{where}.template", getattr(raw, "line", line), model)
    c.group = False
    profiles = [e.profile] if isinstance(e.profile, str) else list(e.profile or [])
    return CompiledEmit(name, e.resource, e.entity or spec.source, e.per, profiles, when, key,
                        template, line, when_deps, key_deps,
                        {str(k): n for k, n in getattr(raw, "key_lines", {}).items()})


def _check_id_collisions(mappings: list[CompiledMapping], problems: list[Problem]) -> None:
    """Two emits that would give the same ids (same type, entity and default key) clash."""
    seen: dict[tuple[str, str], str] = {}
    for m in mappings:
        for e in m.emits:
            if e.key is not None:
                continue
            k = (e.resource, e.entity)
            if k in seen:
                problems.append(Problem(m.file, e.line, f"emit {e.name}",
                                        f"would give the same ids as {seen[k]}; set 'key' or "
                                        "'entity' on one of them"))
            seen.setdefault(k, f"{m.name}/{e.name}")


def _fingerprint(root: Path) -> str:
    """A hash of the pack's files: a changed mapping means every row is mapped again."""
    from migrate.mappers.ids import digest

    files = sorted([*root.glob("*.y*ml"), *root.glob("concept_maps/*.csv")])
    return digest(b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in files))
