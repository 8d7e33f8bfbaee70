"""Compile mapping templates (YAML data) into plain Python closures. No eval, no exec.

A template node compiles to a function ``fn(scope) -> value``; ``None`` means "absent" and is
pruned, as are empty objects and lists. Constant subtrees are built once and shared, so the
resources the engine returns must be treated as read-only.

Subtrees are memoized too. While it compiles a node, the compiler records which source columns
the node reads (directly, or through ``let`` values, which are functions of columns); a subtree
that reads only columns of the current row (no loop variable, no other row of a group) is a pure
function of those columns, and its result is cached keyed by their values. ``code`` built from
``$CODE`` and ``$DESCRIPTION``, or ``subject`` from ``$PATIENT``, is then one dict lookup per row
instead of a rebuilt tree. A result is cached only when computing it raised no warning or error
(so a row's notes are never lost), caches are bounded, and a cache that seldom hits switches
itself off.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from migrate.errors import Problem
from migrate.mappers import checks, fhirmodel
from migrate.mappers.conditions import compile_condition
from migrate.mappers.transform_base import TRANSFORMS, is_element, is_transform, object_output
from migrate.mappers.yamlio import LineDict
from migrate.outcomes import RowError  # noqa: F401 - compiled nodes raise it; transforms import it here

Fn = Callable[["Scope"], Any]
Cond = Callable[["Scope"], bool]

IMPURE = "\0impure"  # a dependency that cannot be keyed (a loop variable, another group row)
MEMO_MAX = 4_096  # entries per memoized subtree before its cache restarts (memory stays flat)
MEMO_PROBE = 2_000  # calls after which a cache that hits less than a quarter of the time stops
MEMO_KEY_CHARS = 1_024  # a result keyed by a longer text is not cached (a document's base64
# never repeats; 4,096 of them would hold gigabytes: memory stays bounded by the chunk)
DIRECTIVES = ("$when", "$foreach", "as", "$each_row")
# Transforms that take a value as it is, a list included (the others read one value).
_TAKE_LISTS = frozenset({"first_of", "choose", "ref", "literal", "row"})
"""The template keys that steer compilation instead of naming an element: ``$when`` (any object),
``$foreach`` with its ``as`` and ``$each_row`` (list items). Any other ``$key`` in an object is a
problem ("unknown directive"); docs/mapping-spec.md section 5 documents each of them."""


class Scope:
    """What a template sees: the current row, named values (let and loop variables), the group."""

    __slots__ = ("errors", "notes", "row", "rows", "vars")

    def __init__(
        self, row: dict[str, Any], vars: dict[str, Any], rows: list[dict[str, Any]] | None,
        notes: list[RowError] | None = None, errors: list[RowError] | None = None,
    ) -> None:
        self.row, self.vars, self.rows = row, vars, rows
        # Warnings that do not stop the row (an unmapped code kept as is, ...).
        self.notes: list[RowError] = [] if notes is None else notes
        # Errors that quarantine the row; collected so that all of them are reported.
        self.errors: list[RowError] = [] if errors is None else errors

    def child(self, **bound: Any) -> Scope:
        """A scope with more variables bound (for loops); warnings and errors are shared."""
        return Scope(self.row, {**self.vars, **bound}, self.rows, self.notes, self.errors)

    def at_row(self, row: dict[str, Any]) -> Scope:
        """The same scope looking at another row of the group."""
        return Scope(row, self.vars, self.rows, self.notes, self.errors)


class Const:
    """Marks a compiled function whose value never changes, so it can be folded."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, scope: Scope) -> Any:
        return self.value


def _prune(value: Any) -> Any:
    return None if value is None or value == {} or value == [] or value == "" else value


_SIZED = (str, dict, list)  # empty means absent: "", {} and [] are pruned
_SCALAR = (int, float, bool)  # never empty


def _kept(v: Any) -> bool:
    """``_prune(v) is not None``, without building an empty dict and list per test."""
    t = type(v)
    if t in _SIZED:
        return bool(v)
    if t in _SCALAR:
        return True
    return _prune(v) is not None


@dataclass
class Compiler:
    """Compiles one mapping file's templates, collecting every problem instead of stopping."""

    file: str
    context: Any  # migrate.mappers.pack.PackContext (transforms look up maps, refs, settings)
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)  # column -> first line it is read
    var_names: set[str] = field(default_factory=set)
    group: bool = False
    # let name -> the columns its value is computed from (None: not keyable)
    let_deps: dict[str, frozenset[str] | None] = field(default_factory=dict)
    # The FHIR type expected where the transform being compiled stands (``first_of`` and
    # ``choose`` check their branches against it).
    expected: str | None = None
    # Look-ups with ``pick: collect`` -> their columns (set by the pack), and while a
    # ``$foreach`` over one compiles, its loop variable -> those columns (``$a.col`` checked).
    collect_columns: dict[str, list[str]] = field(default_factory=dict)
    item_columns: dict[str, list[str]] = field(default_factory=dict)
    # The transform compiling now when it reads one value (a collect look-up's list there
    # would become its Python text); None in $foreach sources, present/absent, first_of...
    one_value: str | None = None
    _frames: list[set[str]] = field(default_factory=list)

    # -- reporting -------------------------------------------------------------------------
    def problem(self, line: int | None, where: str, message: str) -> Const:
        """Record a problem and return a harmless placeholder."""
        self.problems.append(Problem(self.file, line, where, message))
        return Const(None)

    # -- dependencies ----------------------------------------------------------------------
    def depends(self, *names: str) -> None:
        """Record that the node being compiled reads these columns (or `IMPURE`)."""
        if self._frames:
            self._frames[-1].update(names)

    def impure(self) -> None:
        """Record that the node being compiled reads something other than the current row."""
        self.depends(IMPURE)

    def tracked(self, node: Any, where: str, line: int,
                model: str | None = None) -> tuple[Fn, frozenset[str] | None]:
        """Compile a node and say which columns it reads (None: it reads more than columns)."""
        return self.deps_of(lambda: self._value(node, where, line, model))

    def tracked_cond(self, node: Any, where: str, line: int) -> tuple[Cond, frozenset[str] | None]:
        """Compile a condition and say which columns it reads (None: more than columns)."""
        return self.deps_of(lambda: self.cond(node, where, line))

    def deps_of(self, build: Callable[[], Any]) -> tuple[Any, frozenset[str] | None]:
        """Run ``build`` (which compiles something) and return its result with the columns the
        compiled code reads (None: it reads more than columns of the current row)."""
        self._frames.append(set())
        try:
            fn = build()
        finally:
            deps = self._frames.pop()
        if self._frames:
            self._frames[-1] |= deps
        return fn, (None if IMPURE in deps else frozenset(deps))

    # -- values ----------------------------------------------------------------------------
    def value(self, node: Any, where: str, line: int, model: str | None = None) -> Fn:
        """Compile any template node; ``model`` is the FHIR type expected there, if known.

        Objects, lists and transforms that read columns of the current row only are memoized.
        """
        if not isinstance(node, dict | list):
            return self._value(node, where, line, model)
        fn, deps = self.tracked(node, where, line, model)
        if isinstance(fn, Const) or not deps:
            return fn
        return memoized(fn, tuple(sorted(deps)))

    def _value(self, node: Any, where: str, line: int, model: str | None = None) -> Fn:
        if isinstance(node, str):
            return self.text(node, where, line)
        if node is None or isinstance(node, bool | int | float):
            return Const(node)
        if isinstance(node, list):
            return self.array(node, where, line, model)
        if isinstance(node, dict):
            return self.mapping(node, where, line, model)
        return self.problem(line, where, f"unsupported value of type {type(node).__name__}")

    def text(self, node: str, where: str, line: int) -> Fn:
        """A string: ``$name`` reads a column or variable, ``$$`` escapes, else a literal."""
        if node.startswith("$$"):
            return Const(node[1:])
        if node.startswith("$"):
            return self.ref_name(node[1:], where, line)
        return Const(node)

    def ref_name(self, name: str, where: str, line: int) -> Fn:
        """Read a variable (let, loop) when declared, else a source column."""
        if not name or not re.fullmatch(r"[A-Za-z_][\w.\- ]*", name):
            return self.problem(line, where, f"bad name '${name}'")
        if name in self.var_names:
            deps = self.let_deps.get(name)
            # In a group emit, let values come from the group's first row, whatever row a
            # 'row:' or '$each_row' reads: not keyable by the current row's columns.
            self.depends(*(deps if deps is not None and not self.group else (IMPURE,)))
            return lambda s: s.vars.get(name)
        if name == "_source_system":  # built in: the project's source system URI
            return Const(self.context.settings.source_system)
        head, dot, member = name.partition(".")
        if dot and head in self.var_names and member:  # `$a.col`: a member of a loop item
            self.impure()
            known = self.item_columns.get(head)
            if known is not None and member not in known:
                close = difflib.get_close_matches(member, known, n=1, cutoff=0.6)
                return self.problem(line, where, f"the items of ${head} have no column "
                                    f"{member!r} (their columns: {', '.join(known)})"
                                    + (f"; did you mean ${head}.{close[0]}?" if close else ""))
            return lambda s: _member(s.vars.get(head), member)
        if self.one_value and head in self.collect_columns:
            return self.problem(line, where, f"{self.one_value} reads one value; ${name} is a "
                                "list per row (look-up with pick: collect): take its items "
                                "with $foreach, or use pick one, first or last")
        self.columns.setdefault(name, line)
        self.depends(name)
        return lambda s: s.row.get(name)

    def mapping(self, node: dict[str, Any], where: str, line: int, model: str | None) -> Fn:
        """A dict: a transform (one known key), or an object template with directives."""
        line = getattr(node, "line", line)
        keys = [k for k in node if k != "$when"]
        if len(keys) == 1 and keys[0] in TRANSFORMS and not is_element(model, keys[0]):
            key = keys[0]
            outer, self.expected = self.expected, model
            one, self.one_value = self.one_value, None if key in _TAKE_LISTS else key
            try:
                fn = _collecting(TRANSFORMS.get(key)(self, node[key], f"{where}.{key}", line))
            finally:
                self.expected, self.one_value = outer, one
            if "$when" not in node:
                return fn
            cond = self.cond(node["$when"], f"{where}.$when", line)
            return lambda s: fn(s) if cond(s) else None
        return self.obj(node, where, line, model)

    def obj(self, node: dict[str, Any], where: str, line: int, model: str | None) -> Fn:
        """An object template: each member compiled, empties pruned, optional ``$when``."""
        cls = fhirmodel.model_class(model) if model else None
        if cls is not None and model is not None:
            self._choice_clash(cls, model, node, where, line)
        cond: Cond | None = None
        members: list[tuple[str, Fn]] = []
        # Each member with the columns it reads: the chunked runner (migrate.mappers.chunked)
        # evaluates a member once per distinct value of those columns in a chunk.
        parts: list[tuple[str, Fn, frozenset[str] | None]] = []
        key_lines = getattr(node, "key_lines", {})
        for key, sub in node.items():
            kline = key_lines.get(key, line)
            if not isinstance(key, str):  # YAML read `true:` or `1:` as a boolean or number
                name = str(key).lower()
                self.problem(kline, f"{where}.{name}", f"the key {name!r} is a YAML boolean or "
                             "number, not a name; quote it or use a transform")
                continue
            if key == "$when":
                cond = self.cond(sub, f"{where}.$when", kline)
                continue
            if key.startswith("$"):
                self.problem(kline, f"{where}.{key}", f"unknown directive {key!r} here")
                continue
            child = self._child_model(cls, model, key, sub, f"{where}.{key}", kline)
            fn, deps = self.deps_of(
                lambda sub=sub, key=key, kline=kline, child=child:
                self.value(sub, f"{where}.{key}", kline, child))
            members.append((key, fn))
            parts.append((key, fn, deps))
        obj = _make_obj(members, cond)
        if not isinstance(obj, Const):
            obj.parts = None if cond is not None else parts  # type: ignore[attr-defined]
        return obj

    def _child_model(
        self, cls: Any, model: str | None, key: str, sub: Any, where: str, line: int
    ) -> str | None:
        if cls is None or model is None:
            return None
        if key in ("resourceType", "id") and fhirmodel.is_resource_type(model):
            self.problem(line, where, f"{key!r} is set by emr-migrate; remove it from the template")
            return None
        if key.startswith("_"):
            return self._extension_model(cls, model, key, sub, where, line)
        shape = fhirmodel.element(cls, key)
        if shape is None:
            self.problem(
                line, where, f"{model} has no element {key!r}{fhirmodel.suggest(cls, key)}"
            )
            return None
        is_list, child = shape
        if child is None and isinstance(sub, dict) and not is_transform(sub, None):
            self._not_a_transform(sub, where, line, f"{model}.{key}")
        elif child is None and isinstance(sub, dict):
            for bsub, bwhere, bline in checks.branches(sub, where, line):
                self._not_a_transform(bsub, bwhere, bline, f"{model}.{key}")
            self._object_in_primitive(cls, model, key, sub, where, line)
        if is_list and isinstance(sub, dict) and not is_transform(sub, child):
            self.problem(line, where, f"{model}.{key} repeats; write it as a YAML list")
        if not is_list and isinstance(sub, list):
            self.problem(line, where, f"{model}.{key} does not repeat; give one value, not a list")
        return child

    def _extension_model(self, cls: Any, model: str, key: str, sub: Any, where: str,
                         line: int) -> str | None:
        """``_birthDate``: the id and extensions of a primitive element, an ``Element``."""
        problem = fhirmodel.extension_problem(cls, model, key)
        if problem is not None:
            self.problem(line, where, problem)
            return None
        if isinstance(sub, list):
            self.problem(line, where, f"{model}.{key} does not repeat; give one value, not a list")
        elif sub is not None and not isinstance(sub, dict) and not (
                isinstance(sub, str) and sub.startswith("$") and not sub.startswith("$$")):
            self.problem(line, where, f"{model}.{key} takes an Element ({{data_absent_reason: "
                         f"CODE}} or {{extension: [...]}}), not a value; the value itself goes "
                         f"in {key[1:]}")
        return "Element"

    def _not_a_transform(self, sub: dict[str, Any], where: str, line: int, element: str
                         ) -> None:
        """A primitive element given an object that is no transform (a misspelt name)."""
        keys = [str(k) for k in sub if k != "$when"]
        hints = [difflib.get_close_matches(k, TRANSFORMS.names(), n=1, cutoff=0.6) for k in keys]
        named = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                          for k, h in zip(keys, hints, strict=True))
        self.problem(line, where, f"{element} takes a value or one transform, not "
                     f"{named or 'an empty object'}")

    def _object_in_primitive(self, cls: Any, model: str, key: str, sub: dict[str, Any],
                             where: str, line: int) -> None:
        """A primitive element given a transform that gives an object (``translate`` without
        ``as: code`` under ``Patient.gender``), directly or as a ``first_of`` or ``choose``
        branch: every row would be an invalid resource."""
        for node, nwhere, nline in [(sub, where, line), *checks.branch_objects(sub, where, line)]:
            found = object_output(node)
            if found is not None:
                name, kind, fix = found
                article = "an" if kind[:1] in "AEIOU" else "a"
                self.problem(nline, nwhere, f"{model}.{key} is a primitive "
                             f"({fhirmodel.primitive_type(cls, key)}): {name} gives {article} "
                             f"{kind} here; {fix}")

    def _choice_clash(self, cls: Any, model: str, node: dict[str, Any], where: str,
                      line: int) -> None:
        """Two variants of one choice element (``deceasedBoolean`` and ``deceasedDateTime``)."""
        groups = fhirmodel.choice_groups(cls)
        seen: dict[str, str] = {}
        for key, sub in node.items():
            group = groups.get(str(key))
            if group is None or (isinstance(sub, dict) and ("$when" in sub or "choose" in sub)):
                continue  # a guarded variant: the author chose per row
            if group in seen:
                kline = getattr(node, "key_lines", {}).get(key, line)
                self.problem(kline, f"{where}.{key}",
                             f"{model}.{group}[x] takes one type: {seen[group]!r} and "
                             f"{key!r} are both given (guard them with $when or choose)")
            else:
                seen[group] = str(key)

    def array(self, node: list[Any], where: str, line: int, model: str | None) -> Fn:
        """A list: items compiled; ``$foreach`` items expand; absent items dropped."""
        parts: list[tuple[bool, Fn]] = []
        for i, item in enumerate(node):
            iwhere = f"{where}[{i}]"
            iline = getattr(item, "line", line)
            if isinstance(item, dict) and "$foreach" in item:
                parts.append((True, self.foreach(item, iwhere, iline, model)))
            elif isinstance(item, dict) and "$each_row" in item:
                parts.append((True, self.each_row(item, iwhere, iline, model)))
            else:
                parts.append((False, self.value(item, iwhere, iline, model)))
        if all(isinstance(f, Const) and not many for many, f in parts):
            values = [f.value for _, f in parts if _prune(f.value) is not None]  # type: ignore[attr-defined]
            return Const(values or None)

        def run(s: Scope) -> Any:
            out: list[Any] = []
            for many, f in parts:
                v = f(s)
                if many:
                    out.extend(v or ())
                elif v is not None and _kept(v):
                    out.append(v)
            return out or None

        return run

    def foreach(self, item: dict[str, Any], where: str, line: int, model: str | None) -> Fn:
        """``{$foreach: <list expr>, as: name, ...template}``: one item per element."""
        body = {k: v for k, v in item.items() if k not in ("$foreach", "as")}
        if hasattr(item, "key_lines"):
            body = _with_lines(body, item)
        one, self.one_value = self.one_value, None  # the list itself
        over = self.value(item["$foreach"], f"{where}.$foreach", line)
        self.one_value = one
        name = item.get("as", "item")
        if not isinstance(name, str):
            return self.problem(line, f"{where}.as", "'as' must be a name")
        added = name not in self.var_names
        self.var_names.add(name)
        over_name = item["$foreach"][1:] if isinstance(item["$foreach"], str) else ""
        outer_items = self.item_columns.pop(name, None)
        if over_name in self.collect_columns:  # the rows of a collect look-up
            self.item_columns[name] = self.collect_columns[over_name]
        shadowed = self.let_deps.pop(name, None) if name in self.let_deps else False
        tmpl = self.value(body.get("value", body) if set(body) == {"value"} else body,
                          where, line, None if set(body) == {"value"} else model)
        self.item_columns.pop(name, None)
        if outer_items is not None:
            self.item_columns[name] = outer_items
        if shadowed is not False:  # a loop variable named like a let: the let again
            self.let_deps[name] = shadowed
        if added:
            self.var_names.discard(name)

        def run(s: Scope) -> list[Any]:
            seq = over(s)
            if seq is None:
                return []
            if not isinstance(seq, list | tuple):
                seq = [seq]
            results = (tmpl(s.child(**{name: x})) for x in seq)
            return [r for r in results if _prune(r) is not None]

        return run

    def each_row(self, item: dict[str, Any], where: str, line: int, model: str | None) -> Fn:
        """``{$each_row: true, ...template}``: one item per row of the group, read at that row."""
        if item["$each_row"] is not True:
            return self.problem(line, f"{where}.$each_row", "write '$each_row: true'")
        self.impure()
        body = {k: v for k, v in item.items() if k != "$each_row"}
        if hasattr(item, "key_lines"):
            body = _with_lines(body, item)
        tmpl = self.value(body, where, line, model)

        def run(s: Scope) -> list[Any]:
            rows = s.rows if s.rows is not None else [s.row]
            results = (tmpl(s.at_row(r)) for r in rows)
            return [r for r in results if _prune(r) is not None]

        return run

    # -- conditions ------------------------------------------------------------------------
    def cond(self, node: Any, where: str, line: int) -> Cond:
        """Compile a condition (``present``, ``equals``, ``in``, ``all``, ...)."""
        return compile_condition(self, node, where, getattr(node, "line", line))


def _member(item: Any, name: str) -> Any:
    """``name`` of an object (a row of a ``collect`` look-up in ``$foreach``), else None."""
    return item.get(name) if isinstance(item, dict) else None


def _collecting(fn: Fn) -> Fn:
    """Record a failing transform's error on the scope and go on, so every problem of a row
    is reported, not only the first."""
    if isinstance(fn, Const):
        return fn

    def run(s: Scope) -> Any:
        try:
            return fn(s)
        except RowError as exc:
            s.errors.append(exc)
            return None

    return run


def _with_lines(body: dict[str, Any], src: Any) -> Any:
    out = LineDict(body)
    out.line, out.key_lines = src.line, src.key_lines
    return out


def _make_obj(members: list[tuple[str, Fn]], cond: Cond | None) -> Fn:
    if cond is None and all(isinstance(f, Const) for _, f in members):
        built = {k: f.value for k, f in members if _prune(f.value) is not None}  # type: ignore[attr-defined]
        return Const(built or None)

    def run(s: Scope) -> Any:
        if cond is not None and not cond(s):
            return None
        out = {}
        for k, f in members:
            v = f(s)
            if v is None:
                continue
            t = type(v)
            if t in _SIZED:
                if v:
                    out[k] = v
            elif t in _SCALAR or _prune(v) is not None:
                out[k] = v
        return out or None

    return run


# Objects the memo caches hand out to many resources, by id (each entry holds its object, so
# the id is not reused while it is here). The fast validator flattens each of them once.
SHARED: dict[int, Any] = {}
SHARED_MAX = 32_768
_MISS = object()


def _share(value: Any) -> None:
    if type(value) is dict:
        if len(SHARED) >= SHARED_MAX:
            SHARED.clear()
        SHARED[id(value)] = value


def memoized(fn: Fn, cols: tuple[str, ...]) -> Fn:
    """Cache ``fn``'s results keyed by the values of ``cols`` in the current row.

    Results whose computation added a warning or an error are not cached, so every row reports
    its own. The cache restarts at `MEMO_MAX` entries, and turns itself off when it hits less
    than a quarter of the time over its first `MEMO_PROBE` calls (a column unique per row).
    """
    cache: dict[Any, Any] = {}
    misses = hits = 0
    on = True
    col = cols[0] if len(cols) == 1 else None

    def run(s: Scope) -> Any:
        nonlocal misses, hits, on
        if not on:
            return fn(s)
        row = s.row
        key = row.get(col) if col is not None else tuple([row.get(c) for c in cols])
        try:
            value = cache.get(key, _MISS)
        except TypeError:  # an unhashable value: compute it
            return fn(s)
        if value is not _MISS:
            hits += 1
            return value
        misses += 1
        if misses == MEMO_PROBE and hits < MEMO_PROBE // 3:
            on = False
            cache.clear()
        errors, notes = len(s.errors), len(s.notes)
        value = fn(s)
        if on and len(s.errors) == errors and len(s.notes) == notes and _small(key):
            if len(cache) >= MEMO_MAX:
                cache.clear()
            cache[key] = value
            _share(value)
        return value

    run.inner = fn  # type: ignore[attr-defined]  # the chunked runner dedups values itself
    return run


def _small(key: Any) -> bool:
    """A memo key worth keeping: no text in it longer than `MEMO_KEY_CHARS` (checked on a
    miss only, so a hit costs nothing more)."""
    if type(key) is str:
        return len(key) <= MEMO_KEY_CHARS
    if type(key) is tuple:
        return not any(type(v) is str and len(v) > MEMO_KEY_CHARS for v in key)
    return True


def eval_all(fns: Iterable[Fn], scope: Scope) -> list[Any]:
    """Evaluate several compiled values in one scope."""
    return [f(scope) for f in fns]
