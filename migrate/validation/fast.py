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
pydantic call per FHIR type per chunk, each distinct string once. ``tests/validation/
test_fast.py`` proves the verdicts equal on the test corpus and on mutations of it.

No code is generated here (invariant 3): an earlier version compiled a Python matcher per
shape with ``exec``, faster, and was taken out for that reason.
"""

from __future__ import annotations

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

_OPEN, _CLOSE, _LIST = object(), object(), object()
_ONLY_STR = {str}


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
        bad = {i for i, v in enumerate(values)
               if self.codes is not None and v is not None and v not in self.codes}
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
        for i, v in enumerate(values):
            if i not in bad and v is not None:
                memo[v] = type(v)
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
        self.fast = self.slow = 0

    def validate(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """All issues of one resource (see `FhirValidator.validate`); [] means valid."""
        if type(resource) is not dict:
            return self.full.validate(resource)
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
                self._shapes[sig] = self._compile(resource) or UNCACHEABLE
            return issues
        if plan is UNCACHEABLE:
            self.slow += 1
            return self.full.validate(resource)
        checks, memos, objects = plan
        for memo, value, check in zip(memos, leaves, checks, strict=True):
            if memo.get(value) is not type(value) and not check(value):
                self.slow += 1
                return self.full.validate(resource)
        out = _object_issues(resource, objects)
        if any(i.severity == ERROR for i in out):
            self.slow += 1
            return self.full.validate(resource)
        self.fast += 1
        return out

    def validate_many(self, resources: list[dict[str, Any]]) -> list[list[ResourceIssue]]:
        """`validate` for a chunk of resources: the values no memo knows are checked in one
        pydantic call per FHIR type instead of one call each. Same verdicts."""
        results: list[list[ResourceIssue] | None] = [None] * len(resources)
        pending: dict[_Primitive, tuple[list[Any], list[int]]] = {}
        for n, resource in enumerate(resources):
            if type(resource) is not dict:
                results[n] = self.full.validate(resource)
                continue
            toks: list[Any] = []
            leaves: list[Any] = []
            _flatten(resource, toks, leaves, self._flat)
            try:
                plan = self._shapes.get(tuple(toks))
            except TypeError:
                plan = UNCACHEABLE
            if plan is None or plan is UNCACHEABLE:
                results[n] = self.validate(resource)  # the full path (and a new plan)
                continue
            checks, memos, objects = plan
            for memo, value, check in zip(memos, leaves, checks, strict=True):
                if memo.get(value) is not type(value) and value is not None:
                    values, owners = pending.setdefault(check, ([], []))
                    values.append(value)
                    owners.append(n)
            out = _object_issues(resource, objects)
            results[n] = out
            if any(i.severity == ERROR for i in out):
                results[n] = None  # decided below, by the full validator
        redo: set[int] = {n for n, r in enumerate(results) if r is None}
        for check, (values, owners) in pending.items():
            redo.update(owners[i] for i in check.failing(values))
        for n in sorted(redo):
            self.slow += 1
            results[n] = self.full.validate(resources[n])
        self.fast += len(resources) - len(redo)
        return results  # type: ignore[return-value]

    # -- plans -----------------------------------------------------------------------------
    def _compile(self, resource: dict[str, Any]) -> tuple[list[Any], ...] | None:
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
        return (checks, [c.memo for c in checks], objects) if ok else None

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
