"""A fast path in front of `FhirValidator` that gives the same verdicts for a fraction of the cost.

Building a pydantic model per resource is what makes validation slow (about 300 us a resource).
Yet the model's verdict depends on only two things:

* the resource's *shape*: which keys each object has, which are lists and how long, the JSON type
  of every value, and the ``resourceType`` of nested resources. Unknown elements, missing required
  elements, choice[x] conflicts, nulls in lists and wrong JSON types are all questions of shape;
* the *value of each primitive* against its FHIR type (``code``, ``dateTime``, ``id``, ...).

So `FastValidator` flattens a resource into its shape and its primitive values (one pass over the
dict), and keeps, per shape that the full validator found free of errors, a compiled plan: the
pydantic validator of each primitive's FHIR type (the very `Annotated` type of the model field,
through a `TypeAdapter`), the required code set of bound codes, and the object-level checks
(CodeableConcept bindings, US Core hooks). A resource whose shape has a plan and whose values all
pass gets the plan's verdict; anything else (a new shape, a shape that failed before, one value
that fails) goes to the full `FhirValidator`, so every reported issue and message is the full
validator's own.

Checks of primitive values are memoized per FHIR type (bounded), which makes the common case, a
value seen before, one set lookup; `validate_many` checks the values no memo knows in one
pydantic call per FHIR type per chunk (each distinct string once). ``tests/validation/
test_fast.py`` proves the verdicts equal on the test corpus and on mutations of it.

Flattening is itself most of the cost of a resource whose shape has a plan, so each plan also
gets a *matcher* (`_generate`): a Python function generated for that one shape, straight-line
code without recursion that checks a resource against the shape as the signature would, without
building it: per object its keys, unpacked in order and compared as a tuple with the shape's
(``(k1, k2) != KEYS``), ``type(v) is dict`` / ``list``, list lengths (by unpacking), the
``resourceType`` strings, the exact Python type of every primitive (``type(v) is str``, nulls
as nulls), and each primitive against its memo inline (``memo.get(v) is not type(v)``: unknown,
to be checked). It returns as soon as anything differs, and the resource takes the flatten path,
unchanged; so a matcher accepts exactly the resources of its plan's signature, and the verdicts
do not change. Matchers are found by the resource's top-level key tuple (candidates, most
recently successful first), are made the first time the flatten path finds a plan, and are kept
on the plan.

Two shortcuts, both safe because a verdict is a pure function of shape and values:

* an object the mapper shares (`SHARED`: read-only, handed to many resources) that passed at a
  position of a matcher, its shape matched and every value known good, is remembered by identity
  for that kind of position (`_Known`, which holds the reference: the id cannot be reused) and
  skipped when it comes again;
* a primitive that is the very object the mapper gave to the first resources of the shape (a
  constant of the mapping; ``str``, ``int``, ``float`` and ``bool`` are immutable), and that
  is valid, needs no look.

The generated source holds only names the generator makes up (``v3``, ``K0``, ``G2``, ...),
integers and fixed Python syntax: dict keys, ``resourceType`` strings, codes, memos and types
reach the function through its namespace (a fresh dict per matcher), never as text, so mapping
files and source data (user data) cannot inject code. `_generate` refuses a source with any
character outside a small allowlist (no quote: no string literal can appear).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from typing import Any

from migrate.mappers.compiler import SHARED
from migrate.validation.base import ERROR, ResourceIssue
from migrate.validation.fhir import FhirValidator
from migrate.validation.walk import CODE, CODEABLE, _check_codeable, field_class

MAX_SHAPES = 20_000  # plans kept; beyond that new shapes take the full path (bounded memory)
MAX_MEMO = 16_384  # valid values remembered per FHIR primitive type before the memo restarts
MAX_FLAT = 16_384  # shared objects whose flattened form is remembered
MAX_MATCHERS = 4_096  # generated matchers; beyond that new plans are only found by flattening
MAX_CANDIDATES = 8  # matchers tried per top-level key tuple (the most recently successful kept)
MAX_MATCHER_TOKENS = 4_096  # a longer signature gets no matcher (bounded source and memory)
MAX_NESTING = 16  # shared-object skips nested deeper than this are not generated
MAX_KNOWN = 16_384  # shared objects remembered as passed at a matcher position

_OPEN, _CLOSE, _LIST = object(), object(), object()
_ONLY_STR = {str}
_IMMUTABLE = frozenset((str, int, float, bool))  # primitive types whose values cannot change


class _Uncacheable:
    """Marks a shape that is always sent to the full validator."""


UNCACHEABLE = _Uncacheable()
ObjCheck = Callable[[dict[str, Any], list[ResourceIssue]], None]


def _flatten(node: dict[str, Any], toks: list[Any], leaves: list[Any],
             flat: dict[int, Any]) -> None:
    """Append the shape tokens and primitive values of one JSON object, in document order.

    Objects the mapper shares between resources (`migrate.mappers.compiler.SHARED`) are
    flattened once and remembered in ``flat``.
    """
    for k, v in node.items():
        t = type(v)
        toks.append(k)
        if t is dict:
            _flatten_child(v, toks, leaves, flat)
        elif t is list:
            toks.append(_LIST)
            for item in v:
                ti = type(item)
                if ti is dict:
                    _flatten_child(item, toks, leaves, flat)
                else:
                    toks.append(ti)
                    leaves.append(item)
            toks.append(_CLOSE)
        elif k == "resourceType":
            toks.append(v if t is str else t)  # part of the shape, not a checked value
        else:
            toks.append(t)
            leaves.append(v)


def _flatten_child(v: dict[str, Any], toks: list[Any], leaves: list[Any],
                   flat: dict[int, Any]) -> None:
    key = id(v)
    known = flat.get(key)
    if known is not None and known[0] is v:
        toks += known[1]
        leaves += known[2]
        return
    if SHARED.get(key) is v:
        sub_toks: list[Any] = [_OPEN]
        sub_leaves: list[Any] = []
        _flatten(v, sub_toks, sub_leaves, flat)
        sub_toks.append(_CLOSE)
        if len(flat) >= MAX_FLAT:
            flat.clear()
        flat[key] = (v, tuple(sub_toks), tuple(sub_leaves))
        toks += sub_toks
        leaves += sub_leaves
        return
    toks.append(_OPEN)
    _flatten(v, toks, leaves, flat)
    toks.append(_CLOSE)


class _Primitive:
    """The model's own validator for one FHIR primitive type, memoized; optional code set.

    ``memo`` maps each value that passed to its Python type (1 and True are equal keys, so the
    type tells them apart).
    """

    __slots__ = ("adapter", "codes", "many", "memo")

    def __init__(self, adapter: Any, codes: frozenset[str] | None, many: Any) -> None:
        self.adapter, self.codes, self.many = adapter, codes, many
        self.memo: dict[Any, type] = {}

    def failing(self, values: list[Any]) -> set[int]:
        """Indexes of the values that fail, checked in one pydantic call (a list type).

        Equal strings have equal verdicts, so when all values are strings each distinct one is
        checked once (a chunk repeats many: dates, references, codes). Other values are not
        merged (1 == True == 1.0)."""
        if len(values) > 1 and set(map(type, values)) == _ONLY_STR:
            distinct = list(dict.fromkeys(values))
            if len(distinct) < len(values):
                bad = self._failing(distinct)
                if not bad:
                    return bad
                failed = {distinct[i] for i in bad}
                return {n for n, v in enumerate(values) if v in failed}
        return self._failing(values)

    def _failing(self, values: list[Any]) -> set[int]:
        codes = self.codes
        bad = (set() if codes is None else
               {i for i, v in enumerate(values) if v is not None and v not in codes})
        try:
            self.many.validate_python(values)
        except Exception as exc:
            errors = getattr(exc, "errors", None)
            if errors is None:
                return set(range(len(values)))
            bad.update(e["loc"][0] for e in errors() if e.get("loc")
                       and isinstance(e["loc"][0], int))
            if not bad:  # a failure we cannot place: every value takes the slow path
                return set(range(len(values)))
        memo = self.memo
        if len(memo) >= MAX_MEMO:
            memo.clear()
        if bad:
            for i, v in enumerate(values):
                if i not in bad and v is not None:
                    memo[v] = type(v)
        else:
            memo.update(zip(values, map(type, values), strict=True))
            memo.pop(None, None)  # a null is never remembered
        return bad

    def __call__(self, value: Any) -> bool:
        if value is None:
            return True  # a null is a question of shape (decided by the full validator)
        if self.codes is not None and value not in self.codes:
            return False
        try:
            self.adapter.validate_python(value)
        except Exception:  # any failure: let the full validator say what it is
            return False
        if len(self.memo) >= MAX_MEMO:
            self.memo.clear()
        self.memo[value] = type(value)
        return True


class _Plan:
    """What a shape that the full validator passed needs checked: a `_Primitive` per leaf (and
    its memo), the object-level checks, and the shape's generated matcher (None until made,
    False when the shape gets none). ``first`` holds the immutable primitive values of the
    first resource of the shape until the matcher is made (see `_Source.leaf`)."""

    __slots__ = ("checks", "first", "matcher", "memos", "objects")

    def __init__(self, checks: list[_Primitive], objects: list[Any], leaves: list[Any]) -> None:
        self.checks, self.memos, self.objects = checks, [c.memo for c in checks], objects
        self.first: tuple[Any, ...] | None = tuple(
            v if type(v) in _IMMUTABLE else None for v in leaves)
        self.matcher: Matcher | bool | None = None


# a generated matcher: (resource, pending) -> True when the resource has the shape (the values
# no memo knows appended to ``pending`` as (check, value)), None when it does not
Matcher = Callable[[dict[str, Any], list[tuple[_Primitive, Any]]], "bool | None"]


class FastValidator:
    """Same interface and verdicts as `FhirValidator`, with plans cached per resource shape."""

    def __init__(self, full: FhirValidator | None = None) -> None:
        self.full = full or FhirValidator()
        self._planner = self.full._planner
        self._shapes: dict[tuple[Any, ...], Any] = {}
        self._adapters: dict[int, tuple[Any, Any, Any]] = {}
        self._primitives: dict[tuple[int, frozenset[str] | None], _Primitive] = {}
        self._fields: dict[type, dict[str, Any]] = {}
        self._flat: dict[int, Any] = {}
        # top-level key tuple -> [(matcher, plan)], most recently successful first
        self._candidates: dict[tuple[Any, ...], list[tuple[Matcher, _Plan]]] = {}
        self._matchers = 0  # matchers generated (bounded by MAX_MATCHERS)
        self._known = _Known()  # shared objects that passed, per matcher position
        # numbers the kinds of matcher positions of shared objects: (sub-shape, value checks)
        self._slots: dict[tuple[Any, ...], int] = {}
        self.fast = self.slow = 0

    def validate(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """All issues of one resource (see `FhirValidator.validate`); [] means valid."""
        if type(resource) is not dict:
            return self.full.validate(resource)
        pending: list[tuple[_Primitive, Any]] = []
        plan = self._match(resource, pending)
        if plan is None:
            return self._validate_flat(resource)
        for check, value in pending:
            if not check(value):
                self.slow += 1
                return self.full.validate(resource)
        return self._finish(resource, plan)

    def _validate_flat(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """`validate` by flattening: the path of a resource no matcher accepts."""
        toks: list[Any] = []
        leaves: list[Any] = []
        _flatten(resource, toks, leaves, self._flat)
        try:
            sig = tuple(toks)
            plan = self._shapes.get(sig)
        except TypeError:  # an unhashable resourceType: the full validator reports it
            return self.full.validate(resource)
        if plan is None:
            issues = self.full.validate(resource)
            self.slow += 1
            if len(self._shapes) < MAX_SHAPES and not any(i.severity == ERROR for i in issues):
                self._shapes[sig] = self._compile(resource, leaves) or UNCACHEABLE
            return issues
        if plan is UNCACHEABLE:
            self.slow += 1
            return self.full.validate(resource)
        self._learn(resource, plan, len(sig))
        for memo, value, check in zip(plan.memos, leaves, plan.checks, strict=True):
            if memo.get(value) is not type(value) and not check(value):
                self.slow += 1
                return self.full.validate(resource)
        return self._finish(resource, plan)

    def _finish(self, resource: dict[str, Any], plan: _Plan) -> list[ResourceIssue]:
        """The verdict of a resource whose shape and values passed: the object-level checks."""
        out = _object_issues(resource, plan.objects)
        if out and any(i.severity == ERROR for i in out):
            self.slow += 1
            return self.full.validate(resource)
        self.fast += 1
        return out

    def validate_many(self, resources: list[dict[str, Any]]) -> list[list[ResourceIssue]]:
        """`validate` for a chunk of resources: the values no memo knows are checked in one
        pydantic call per FHIR type instead of one call each. Same verdicts."""
        results: list[list[ResourceIssue] | None] = [None] * len(resources)
        unknown: list[tuple[_Primitive, Any]] = []  # values no memo knows: (check, value),
        owners: list[int] = []  # and the index of the resource of each
        candidates = self._candidates
        for n, resource in enumerate(resources):
            if type(resource) is not dict:
                results[n] = self.full.validate(resource)
                continue
            # the generated matchers first (`_match`, the first candidate inlined: this loop is
            # the hot path)
            start = len(unknown)
            plan = None
            cands = candidates.get(tuple(resource))
            if cands is not None:
                matcher, plan = cands[0]
                if not matcher(resource, unknown):
                    del unknown[start:]  # what it added before it found a difference
                    plan = self._match(resource, unknown, 1)
            if plan is None:  # no matcher: flatten, as `validate` does
                toks: list[Any] = []
                leaves: list[Any] = []
                _flatten(resource, toks, leaves, self._flat)
                try:
                    sig = tuple(toks)
                    plan = self._shapes.get(sig)
                except TypeError:
                    plan = UNCACHEABLE
                if plan is None or plan is UNCACHEABLE:
                    results[n] = self._validate_flat(resource)  # the full path (and a new plan)
                    continue
                self._learn(resource, plan, len(sig))
                for memo, value, check in zip(plan.memos, leaves, plan.checks, strict=True):
                    if memo.get(value) is not type(value) and value is not None:
                        unknown.append((check, value))
            if len(unknown) != start:
                owners += [n] * (len(unknown) - start)
            out = _object_issues(resource, plan.objects) if plan.objects else []
            results[n] = out
            if out and any(i.severity == ERROR for i in out):
                results[n] = None  # decided below, by the full validator
        pending: dict[_Primitive, tuple[list[Any], list[int]]] = {}
        for (check, value), n in zip(unknown, owners, strict=True):
            entry = pending.get(check)
            if entry is None:
                entry = pending[check] = ([], [])
            entry[0].append(value)
            entry[1].append(n)
        redo: set[int] = {n for n, r in enumerate(results) if r is None}
        for check, (values, where) in pending.items():
            redo.update(where[i] for i in check.failing(values))
        for n in sorted(redo):
            self.slow += 1
            results[n] = self.full.validate(resources[n])
        self.fast += len(resources) - len(redo)
        return results  # type: ignore[return-value]

    # -- matchers --------------------------------------------------------------------------
    def _match(self, resource: dict[str, Any], pending: list[tuple[_Primitive, Any]],
               skip: int = 0) -> _Plan | None:
        """The plan of the first candidate matcher (after the first ``skip``) that accepts the
        resource, the values it found no memo for appended to ``pending``; None when none
        accepts it. The one that did becomes the first candidate."""
        cands = self._candidates.get(tuple(resource))
        if cands is not None:
            start = len(pending)
            for i in range(skip, len(cands)):
                matcher, plan = cands[i]
                if matcher(resource, pending):
                    if i:
                        cands.insert(0, cands.pop(i))
                    return plan
                del pending[start:]
        return None

    def _learn(self, resource: dict[str, Any], plan: _Plan, size: int) -> None:
        """Make ``plan``'s matcher (from a resource of its shape) and make it a candidate."""
        matcher = plan.matcher
        if matcher is None:
            if self._matchers >= MAX_MATCHERS:
                return
            matcher = (_generate(resource, plan.checks, plan.first, self._known, self._slots)
                       if size <= MAX_MATCHER_TOKENS else None)
            plan.matcher = matcher or False
            plan.first = None
            if matcher is None:
                return
            self._matchers += 1
        elif matcher is False:
            return
        cands = self._candidates.setdefault(tuple(resource), [])
        if any(m is matcher for m, _ in cands):
            return
        cands.insert(0, (matcher, plan))
        del cands[MAX_CANDIDATES:]

    # -- plans -----------------------------------------------------------------------------
    def _compile(self, resource: dict[str, Any], leaves: list[Any]) -> _Plan | None:
        """The plan of this resource's shape, or None when the shape must not be cached."""
        rtype = resource.get("resourceType")
        cls = self.full.model_class(rtype) if isinstance(rtype, str) else None
        if cls is None:
            return None
        checks: list[_Primitive] = []
        objects: list[tuple[tuple[Any, ...], str, Any]] = []
        try:
            ok = self._compile_obj(resource, cls, (), rtype, checks, objects)
        except Exception:  # an annotation we do not understand: keep the full path
            return None
        return _Plan(checks, objects, leaves) if ok else None

    def _compile_obj(self, obj: dict[str, Any], cls: type, steps: tuple[Any, ...], path: str,
                     checks: list[_Primitive], objects: list[Any]) -> bool:
        fields = self._field_map(cls)
        plan = self._planner.plan(cls)
        for key, value in obj.items():
            if key == "resourceType":
                continue
            info = fields.get(key)
            if info is None:
                return False
            action = plan.fields.get(key)
            child = field_class(info.annotation)
            items = list(enumerate(value)) if type(value) is list else [(None, value)]
            for i, item in items:
                istep = (*steps, key) if i is None else (*steps, key, i)
                ipath = f"{path}.{key}" if i is None else f"{path}.{key}[{i}]"
                if type(item) is dict:
                    if child is None:
                        return False  # an object where a primitive belongs
                    klass = child
                    if child.__name__ == "Resource":
                        klass = self.full.model_class(str(item.get("resourceType")))
                        if klass is None:
                            return False
                    if action is not None and action[0] == CODEABLE:
                        binding = action[1][0]
                        objects.append((istep, ipath, _codeable(binding)))
                    if not self._compile_obj(item, klass, istep, ipath, checks, objects):
                        return False
                elif type(item) is list or (child is not None and item is not None):
                    return False  # nested arrays, or a primitive where an object belongs
                else:
                    codes = action[1].lookup if action is not None and action[0] == CODE else None
                    checks.append(self._primitive(info.annotation, codes))
        for hook in plan.hooks:
            objects.append((steps, path, hook))
        return True

    def _field_map(self, cls: type) -> dict[str, Any]:
        fields = self._fields.get(cls)
        if fields is None:
            fields = {}
            for name, info in cls.model_fields.items():
                fields[name] = info
                if info.alias:
                    fields[info.alias] = info
            self._fields[cls] = fields
        return fields

    def _primitive(self, annotation: Any, codes: Any) -> _Primitive:
        from pydantic import TypeAdapter

        element = _element_type(annotation)
        codes = frozenset(codes) if codes is not None else None
        key = (id(element), codes)
        prim = self._primitives.get(key)
        if prim is None:
            adapter = self._adapters.get(id(element))
            if adapter is None:
                adapter = self._adapters[id(element)] = (
                    element, TypeAdapter(element), TypeAdapter(list[element]))  # type: ignore[valid-type]
            prim = self._primitives[key] = _Primitive(adapter[1], codes, adapter[2])
        return prim


def _object_issues(resource: dict[str, Any], objects: list[Any]) -> list[ResourceIssue]:
    """Run a plan's object-level checks (bindings, US Core hooks) on their objects."""
    out: list[ResourceIssue] = []
    for steps, path, fn in objects:
        node: Any = resource
        for step in steps:
            node = node[step]
        fn(node, path, out)
    return out


def _codeable(binding: Any) -> Any:
    def check(obj: dict[str, Any], path: str, out: list[ResourceIssue]) -> None:
        _check_codeable(obj, binding, path, out)

    return check


def _element_type(annotation: Any) -> Any:
    """``Optional[List[Optional[Annotated[str, Code()]]]]`` -> ``Annotated[str, Code()]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is list:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or type(annotation).__name__ == "UnionType":
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


# -- generated matchers --------------------------------------------------------------------------
_SAFE_SOURCE = re.compile(r"[A-Za-z0-9_ \n(),.=!:\[\]]*")


class _Unmatchable(Exception):  # raised and caught inside `_generate`
    """The sample does not fit its plan (leaf count); the shape gets no matcher."""


class _Source:
    """The text of one matcher, and the namespace holding everything the text refers to.

    Every name in the text is made up here: ``v<n>`` for the values of the resource, and an
    upper-case prefix and a number for each constant (the constant itself goes in ``ns``).
    """

    def __init__(self, checks: list[_Primitive], first: tuple[Any, ...] | None, known: _Known,
                 slots: dict[tuple[Any, ...], int]) -> None:
        self.checks, self.first, self.known, self.slots = checks, first, known, slots
        self.lines = ["def matcher(v0, pend):"]
        self.ns: dict[str, Any] = {"__builtins__": {}, "type": type, "len": len, "id": id,
                                   "ValueError": ValueError, "KeyError": KeyError,
                                   "SG": SHARED.get,
                                   "KO": known.offer}
        self._consts: dict[tuple[str, int], str] = {}
        self._vars = 0
        self._leaves = 0  # primitive leaves so far (index into ``checks``)

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def var(self) -> str:
        self._vars += 1
        return f"v{self._vars}"

    def const(self, prefix: str, value: Any, key: Any = None) -> str:
        """The made-up name of a constant (one name per ``key``, by default the object)."""
        ident = (prefix, id(value if key is None else key))
        name = self._consts.get(ident)
        if name is None:
            name = self._consts[ident] = f"{prefix}{len(self._consts)}"
            self.ns[name] = value
        return name

    def obj(self, var: str, node: dict[str, Any], depth: int, root: bool = False) -> None:
        """Check the object in ``var`` against the shape of ``node`` (a dict of the shape).

        Its keys, unpacked in order (a ValueError when there are more or fewer: the matcher
        returns None), must equal the sample's as a tuple (as `_flatten`'s tokens compare);
        its values are then looked up by those very keys. The keys of the resource itself
        (``root``) are not checked: matchers are only called for resources whose key tuple is
        the sample's (they are found by it)."""
        keys = tuple(node)
        names = [self.var() for _ in keys]
        if root:
            if keys:
                self.emit(depth, f"{', '.join(names)}, = {var}.values()")
        elif not keys:
            self.emit(depth, f"if {var}: return None")
        else:
            found = [self.var() for _ in keys]
            self.emit(depth, f"{', '.join(found)}, = {var}")
            self.emit(depth, f"if ({', '.join(found)},) != {self.const('K', keys)}: return None")
            for name, key in zip(names, found, strict=True):
                self.emit(depth, f"{name} = {var}[{key}]")
        for name, (key, value) in zip(names, node.items(), strict=True):
            t = type(value)
            if t is dict:
                self.child(name, value, depth)
            elif t is list:
                self.emit(depth, f"if type({name}) is not {self.const('T', list)}: return None")
                if not value:
                    self.emit(depth, f"if {name}: return None")
                    continue
                items = [self.var() for _ in value]
                self.emit(depth, f"{', '.join(items)}, = {name}")  # a ValueError if not as long
                for item_name, item in zip(items, value, strict=True):
                    if type(item) is dict:
                        self.child(item_name, item, depth)
                    else:
                        self.leaf(item_name, item, depth)
            elif key == "resourceType" and t is str:  # part of the shape, as in `_flatten`
                self.emit(depth, f"if type({name}) is not {self.const('T', str)}"
                                 f" or {name} != {self.const('R', value)}: return None")
            elif key == "resourceType":
                self.emit(depth, f"if type({name}) is not {self.const('T', t)}: return None")
            else:
                self.leaf(name, value, depth)

    def child(self, var: str, node: dict[str, Any], depth: int) -> None:
        """A nested object. At a position where the sample holds an object the mapper shares,
        the objects that passed there are remembered by identity and skipped."""
        is_dict = f"if type({var}) is not {self.const('T', dict)}: return None"
        if SHARED.get(id(node)) is not node or depth >= MAX_NESTING:
            self.emit(depth, is_dict)
            self.obj(var, node, depth)
            return
        kind = self.kind(node)
        slot = self.slots.get(kind)
        if slot is None:
            slot = self.slots[kind] = self.known.slot()
        # the dicts of the slot, id -> object: an id found there is that very object
        now = self.const("N", self.known.now[slot])
        before = self.const("B", self.known.before[slot])
        mark = self.var()
        self.emit(depth, f"if id({var}) not in {now}:")
        self.emit(depth + 1, is_dict)
        self.emit(depth + 1, f"{mark} = len(pend)")
        self.obj(var, node, depth + 1)
        # offered to `known` when it is shared (or was remembered before `known` last
        # restarted: it was shared then); remembered from the second time on, once every
        # value it added to ``pend`` is proven (`_Known.offer`)
        self.emit(depth + 1, f"if SG(id({var})) is {var} or id({var}) in {before}:"
                             f" KO({slot}, {var}, pend, {mark})")

    def kind(self, node: dict[str, Any]) -> tuple[Any, ...]:
        """What decides whether an object passes at a position: its shape (its `_flatten`
        tokens) and the checks of its values. Positions of one kind share what `_Known`
        remembers, across matchers too."""
        toks: list[Any] = []
        leaves: list[Any] = []
        _flatten(node, toks, leaves, {})
        checks = self.checks[self._leaves:self._leaves + len(leaves)]
        if len(checks) != len(leaves):
            raise _Unmatchable
        return tuple(toks), tuple(checks)

    def leaf(self, var: str, value: Any, depth: int) -> None:
        """A primitive: its exact Python type, then its memo (unknown values are returned)."""
        index = self._leaves
        self._leaves += 1
        if value is None:  # a null is shape only (never pending), as in `validate_many`
            self.emit(depth, f"if {var} is not None: return None")
            return
        if index >= len(self.checks):
            raise _Unmatchable
        check = self.checks[index]
        first = self.first
        if (first is not None and index < len(first) and first[index] is value
                and (check.memo.get(value) is type(value) or check(value))):
            # the mapper gave the very same (immutable) object to the first resource of the
            # shape and to the sample, a constant of the mapping: when it comes again, neither
            # its type nor its value need a look (it is valid: checked here)
            self.emit(depth, f"if {var} is not {self.const('C', value)}:")
            depth += 1
        t = self.const("T", type(value))
        get = self.const("G", check.memo.get, check.memo)
        self.emit(depth, f"if type({var}) is not {t}: return None")
        self.emit(depth, f"if {get}({var}) is not {t}:"
                         f" pend.append(({self.const('P', check)}, {var}))")


class _Known:
    """The shared objects that passed at matcher positions: per kind of position (a slot), a
    dict id -> object. Each entry holds its object, so the id is not reused while it is there.

    An object is remembered the second time it passes at a slot (many shared objects are
    used once: remembering them would only cost); the first time it is noted in ``seen``.
    Bounded, in two generations: when ``MAX_KNOWN`` objects are noted or remembered, every
    slot's ``now`` becomes its ``before`` and restarts (and ``seen`` restarts); an object found
    in ``before`` is remembered again even if `SHARED` (bounded too) has forgotten it meanwhile.
    """

    __slots__ = ("before", "count", "now", "seen")

    def __init__(self) -> None:
        self.now: list[dict[int, Any]] = []
        self.before: list[dict[int, Any]] = []
        self.seen: list[dict[int, Any]] = []
        self.count = 0

    def slot(self) -> int:
        """A new slot (the generated matchers hold its dicts)."""
        self.now.append({})
        self.before.append({})
        self.seen.append({})
        return len(self.now) - 1

    def offer(self, slot: int, obj: dict[str, Any], pending: list[Any], start: int) -> None:
        """``obj``, shared, passed its shape at ``slot`` and put the values no memo knew in
        ``pending[start:]``. Noted the first time; after that, its pending values are checked
        at once, one call each (the memos learn them), and if all pass they are taken off
        ``pending`` and ``obj`` is remembered."""
        key = id(obj)
        if key not in self.seen[slot] and key not in self.before[slot]:
            self._add(self.seen, slot, key, obj)
            return
        for check, value in pending[start:]:
            if not check(value):
                return  # left pending: the caller's batch and full validator decide
        del pending[start:]
        self._add(self.now, slot, key, obj)

    def _add(self, dicts: list[dict[int, Any]], slot: int, key: int, obj: Any) -> None:
        if self.count >= MAX_KNOWN:
            for now, before, seen in zip(self.now, self.before, self.seen, strict=True):
                before.clear()  # the same dict objects: the matchers hold them
                before.update(now)
                now.clear()
                seen.clear()
            self.count = 0
        self.count += 1
        dicts[slot][key] = obj


def _generate(resource: dict[str, Any], checks: list[_Primitive],
              first: tuple[Any, ...] | None, known: _Known,
              slots: dict[tuple[Any, ...], int]) -> Matcher | None:
    """The matcher of the shape of ``resource`` (whose plan has these ``checks``).

    The matcher takes a resource (a dict) whose key tuple equals that of ``resource``, and
    returns the list of (check, value) of the values no memo knows, or None when the resource
    does not have the shape. ``known`` remembers the shared objects that passed
    (``slots`` numbers the kinds of position). None when the shape gets no matcher.
    """
    src = _Source(checks, first, known, slots)
    src.emit(1, "try:")
    try:
        src.obj("v0", resource, 2, root=True)
    except _Unmatchable:
        return None
    if src._leaves != len(checks):
        return None
    src.emit(2, "return True")
    # an object or list not as long as the sample's (or a key whose hash is not its own)
    src.emit(1, "except (ValueError, KeyError):")
    src.emit(2, "return None")
    text = "\n".join(src.lines) + "\n"
    if not _SAFE_SOURCE.fullmatch(text):  # only made-up names: never any text from the data
        raise RuntimeError("generated matcher source holds an unexpected character")
    exec(compile(text, "<fast-validator matcher>", "exec"), src.ns)  # noqa: S102 - see above
    matcher: Matcher = src.ns["matcher"]
    matcher.source = text  # type: ignore[attr-defined]  # for tests and debugging
    return matcher
