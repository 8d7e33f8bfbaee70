"""A fast path in front of `FhirValidator` that gives the same verdicts for a fraction of the cost.

Building a pydantic model per resource is what makes validation slow (about 300 us a resource).
Yet the model's verdict depends on only two things:

* the resource's *shape*: which keys each object has, which are lists and how long, the JSON type
  of every value, and the ``resourceType`` of nested resources. Unknown elements, missing required
  elements, choice[x] conflicts, nulls in lists and wrong JSON types are all questions of shape;
* the *value of each primitive* against its FHIR type (``code``, ``dateTime``, ``id``, ...).

`FastValidator.validate_many` works on a chunk of resources a *column* at a time: the resources
of one type are grouped by their keys, each key's values are taken as one column, and so on down
(the items of the lists of a column form one column, the objects of a column are grouped by
their keys again). Per column, most of the work runs in C (``map``, ``set``, list comparison):

* each value's JSON type, and from the types and keys of every object a *shape token* per
  resource (a nested tuple: keys, value types, list lengths, ``resourceType`` strings);
* each primitive column against its field's FHIR type: the values a bounded memo knows passed
  are one look-up each; the others are checked in one pydantic call (the very `Annotated` type
  of the model field, through a `TypeAdapter`), each distinct string once, plus the required
  code set of bound codes;
* an object that appears several times in a column (the mapper shares constant subtrees) is
  looked at once.

Per shape token that the full validator found free of errors, a plan keeps the object-level
checks (CodeableConcept bindings, US Core hooks). A resource whose shape has a plan and whose
values all pass gets the plan's verdict; anything else (a new shape, a shape that failed before,
an unknown key, an object where a primitive belongs, one value that fails) goes to the full
`FhirValidator`, so every reported issue and message is the full validator's own.
``tests/validation/test_fast.py`` proves the verdicts equal on the test corpus and on mutations
of it, one resource at a time and in mixed chunks.

No code is generated here (invariant 3): an earlier version compiled a Python matcher per
shape with ``exec``, and was taken out for that reason.
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import compress, count, repeat
from operator import is_not
from typing import Any

from migrate.validation.base import ERROR, ResourceIssue, Validator
from migrate.validation.fhir import FhirValidator
from migrate.validation.walk import CODE, CODEABLE, _check_codeable, field_class

MAX_SHAPES = 20_000  # plans kept; beyond that new shapes take the full path (bounded memory)
MAX_MEMO = 16_384  # valid values remembered per FHIR primitive type before the memo restarts
MEMO_CHARS = 512  # longer values are not remembered (a document's base64 never repeats, and
# 16,384 of them would hold gigabytes: memory stays bounded by the chunk, not the source)
FRESH_SKIPS = 16  # columns of a field taken as they are after one without repeated objects
MAX_TOKENS = 50_000  # numbered shape tokens (a few hundred in practice); then both restart

_NONE = type(None)
_PRIMS = frozenset((str, int, float, bool, _NONE))  # JSON primitive types (checked values)
_ONLY_NONE = frozenset((_NONE,))
_ONLY_STR = {str}
_ONLY_DICT = {dict}
_LIST = object()  # first member of a list's shape token (tells it from an object's)
_NO_BAD: frozenset[int] = frozenset()


class _Uncacheable:
    """Marks a shape that is always sent to the full validator."""


UNCACHEABLE = _Uncacheable()
ObjCheck = Callable[[dict[str, Any], list[ResourceIssue]], None]


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
            if i not in bad and v is not None and (type(v) is not str or len(v) <= MEMO_CHARS):
                memo[v] = type(v)
        return bad

    def column(self, values: Sequence[Any], types: list[type]) -> set[int] | frozenset[int]:
        """Indexes of the values of a column (JSON primitives, ``types`` their types) that
        fail; nulls are shape, not values, and never fail here."""
        known = list(map(self.memo.get, values))
        if known == types:
            return _NO_BAD  # every value known good
        unknown = list(compress(range(len(types)), map(is_not, known, types)))
        if _NONE in types:
            unknown = [i for i in unknown if types[i] is not _NONE]
        if not unknown:
            return _NO_BAD
        bad = self.failing([values[i] for i in unknown])
        return {unknown[i] for i in bad} if bad else _NO_BAD


class _Field:
    """What the values of one key of one model class are checked against: the model class of
    a complex field (``child``) or the check of a primitive one (``check``); ``resource`` for
    a field holding resources (their class depends on each value: the full path decides)."""

    __slots__ = ("check", "child", "fresh", "resource")

    def __init__(self, child: type | None, check: _Primitive | None, resource: bool) -> None:
        self.child, self.check, self.resource = child, check, resource
        self.fresh = 0  # columns still to take without looking for repeated objects


class _Plan:
    """The object-level checks of a shape the full validator passed."""

    __slots__ = ("objects",)

    def __init__(self, objects: list[Any]) -> None:
        self.objects = objects


class FastValidator(Validator):
    """Same interface and verdicts as `FhirValidator`, with plans cached per resource shape."""

    def __init__(self, full: FhirValidator | None = None) -> None:
        self.full = full or FhirValidator()
        self._planner = self.full._planner
        self._shapes: dict[Any, Any] = {}
        self._adapters: dict[int, tuple[Any, Any, Any]] = {}
        self._primitives: dict[tuple[int, frozenset[str] | None], _Primitive] = {}
        self._fields: dict[type, dict[str, Any]] = {}
        self._keys: dict[tuple[type, str], _Field | None] = {}
        # a number per shape token (keys, value types, numbers of nested objects and lists):
        # tokens stay flat tuples, cheap to hash; the shapes of resources are found by number
        self._ids: defaultdict[Any, int] = defaultdict(count().__next__)
        self.fast = self.slow = 0

    def validate(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """All issues of one resource (see `FhirValidator.validate`); [] means valid."""
        return self.validate_many([resource])[0]

    def validate_many(self, resources: list[dict[str, Any]]) -> list[list[ResourceIssue]]:
        """`validate` for each resource of a chunk, the chunk checked a column at a time."""
        results: list[list[ResourceIssue] | None] = [None] * len(resources)
        if len(self._ids) > MAX_TOKENS:  # numbers and plans restart together (bounded memory)
            self._ids.clear()
            self._shapes.clear()
        by_class: dict[Any, list[int]] = {}
        rtypes = (set(map(dict.get, resources, repeat("resourceType")))
                  if set(map(type, resources)) == _ONLY_DICT else None)
        if rtypes is not None and len(rtypes) == 1 and type(rtype := rtypes.pop()) is str:
            by_class[self.full.model_class(rtype)] = list(range(len(resources)))
        else:
            for n, resource in enumerate(resources):
                rtype = resource.get("resourceType") if type(resource) is dict else None
                cls = self.full.model_class(rtype) if type(rtype) is str else None
                by_class.setdefault(cls, []).append(n)
        shapes = self._shapes
        for cls, members in by_class.items():
            if cls is None:  # not a resource we know: the full validator says what it is
                for n in members:
                    self.slow += 1
                    results[n] = self.full.validate(resources[n])
                continue
            group = [resources[n] for n in members]
            tokens, bad = self._distinct(group, cls)
            for j, n, token in zip(count(), members, tokens):
                plan = shapes.get(token)
                if plan is None or plan is UNCACHEABLE or j in bad:
                    results[n] = self._slow(resources[n], token, plan is None and j not in bad)
                    continue
                out = _object_issues(resources[n], plan.objects) if plan.objects else []
                if out and any(i.severity == ERROR for i in out):
                    results[n] = self._slow(resources[n], token, False)
                    continue
                results[n] = out
                self.fast += 1
        return results  # type: ignore[return-value]

    def _slow(self, resource: dict[str, Any], token: Any, learn: bool) -> list[ResourceIssue]:
        """The full validator's verdict; with ``learn``, a shape free of errors gets a plan."""
        self.slow += 1
        issues = self.full.validate(resource)
        if (learn and len(self._shapes) < MAX_SHAPES
                and not any(i.severity == ERROR for i in issues)):
            self._shapes[token] = self._compile(resource) or UNCACHEABLE
        return issues

    # -- columns ---------------------------------------------------------------------------
    def _objects(self, objs: list[dict[str, Any]], field: _Field
                 ) -> tuple[list[Any], set[int] | frozenset[int]]:
        """The shape token of each object of a column (all of the model class of ``field``),
        and the indexes of those that hold a failing value or a shape the fast path cannot
        judge. An object met more than once (the very same dict) is looked at once; a field
        whose last column had no repeats is not searched for them in its next few."""
        cls = field.child
        assert cls is not None
        n = len(objs)
        if field.fresh:
            field.fresh -= 1
        else:
            ids = list(map(id, objs))
            by_id = dict(zip(ids, objs, strict=True))
            if len(by_id) < n:
                tokens, bad = self._distinct(list(by_id.values()), cls)
                token_of = dict(zip(by_id, tokens, strict=True))
                if bad:
                    bad_ids = {i for j, i in enumerate(by_id) if j in bad}
                    bad = {j for j, i in enumerate(ids) if i in bad_ids}
                return list(map(token_of.__getitem__, ids)), bad
            if n >= 64:  # a column long enough to tell
                field.fresh = FRESH_SKIPS
        return self._distinct(objs, cls)

    def _distinct(self, objs: list[dict[str, Any]], cls: type
                  ) -> tuple[list[Any], set[int] | frozenset[int]]:
        keys = list(map(tuple, objs))
        first = keys[0] if keys else ()
        if keys.count(first) == len(keys):
            return self._same_keys(objs, first, cls)
        groups: dict[tuple[str, ...], list[int]] = {}
        for j, k in enumerate(keys):
            groups.setdefault(k, []).append(j)
        tokens: list[Any] = [None] * len(objs)
        bad: set[int] = set()
        for k, members in groups.items():
            sub_tokens, sub_bad = self._same_keys([objs[j] for j in members], k, cls)
            for j, token in zip(members, sub_tokens, strict=True):
                tokens[j] = token
            bad.update(members[j] for j in sub_bad)
        return tokens, bad

    def _same_keys(self, objs: list[dict[str, Any]], keys: tuple[str, ...], cls: type
                   ) -> tuple[list[Any], set[int] | frozenset[int]]:
        """`_objects` for objects that all have the keys ``keys``, in that order."""
        n = len(objs)
        ids = self._ids
        columns: list[Any] = [repeat(ids[keys], n)]
        bad: set[int] | frozenset[int] = _NO_BAD
        # the values, a column per key, in one pass over the objects
        for key, values in zip(keys, zip(*map(dict.values, objs), strict=True), strict=True):
            if key == "resourceType":  # part of the shape, not a checked value
                columns.append([v if type(v) is str else type(v) for v in values])
                continue
            field = self._field(cls, key)
            if field is None:  # an unknown element: the full validator reports it
                return [None] * n, set(range(n))
            tokens, col_bad = self._values(values, field)
            columns.append(tokens)
            if col_bad:
                bad = col_bad if not bad else bad | col_bad
        return list(map(ids.__getitem__, zip(*columns, strict=True))), bad

    def _values(self, values: Sequence[Any], field: _Field
                ) -> tuple[list[Any], set[int] | frozenset[int]]:
        """The shape tokens of a column of values of one field, and the indexes that fail."""
        types = list(map(type, values))
        kinds = set(types)
        if kinds <= _PRIMS:  # the common case: primitives (or nulls) only
            if field.child is None:
                assert field.check is not None
                return types, field.check.column(values, types)
            if kinds == _ONLY_NONE:
                return types, _NO_BAD
            return types, {j for j, t in enumerate(types) if t is not _NONE}
        tokens: list[Any] = list(types)
        bad: set[int] = set()
        where: dict[type, list[int]] = {}
        for j, t in enumerate(types):
            where.setdefault(t if t is dict or t is list or t in _PRIMS else object,
                             []).append(j)
        bad.update(where.pop(object, ()))  # not a JSON value: the full path decides
        dicts = where.pop(dict, None)
        if dicts:
            if field.child is None or field.resource:
                bad.update(dicts)  # an object where a primitive belongs, or a resource
            else:
                sub_tokens, sub_bad = self._objects([values[j] for j in dicts], field)
                for j, token in zip(dicts, sub_tokens, strict=True):
                    tokens[j] = token
                bad.update(dicts[j] for j in sub_bad)
        lists = where.pop(list, None)
        if lists:
            self._lists(values, lists, field, tokens, bad)
        prims = [j for js in where.values() for j in js]
        if prims:
            sub_tokens, sub_bad = self._values([values[j] for j in prims], field)
            bad.update(prims[j] for j in sub_bad)
        return tokens, bad

    def _lists(self, values: Sequence[Any], lists: list[int], field: _Field,
               tokens: list[Any], bad: set[int]) -> None:
        """The lists of a column: their items, all together, are one column of the field."""
        items = [item for j in lists for item in values[j]]
        if list in set(map(type, items)):
            bad.update(lists)  # nested arrays: not JSON FHIR, the full path reports them
            return
        item_tokens, item_bad = self._values(items, field) if items else ([], _NO_BAD)
        ids = self._ids
        if len(items) == len(lists) and all(len(values[j]) == 1 for j in lists):
            # one item each, the common case
            for j, token in zip(lists, map(ids.__getitem__, zip(repeat(_LIST), item_tokens)),
                                strict=False):
                tokens[j] = token
            bad.update(lists[i] for i in item_bad)
            return
        start = 0
        for j in lists:
            end = start + len(values[j])
            tokens[j] = ids[(_LIST, *item_tokens[start:end])]
            if item_bad and any(i in item_bad for i in range(start, end)):
                bad.add(j)
            start = end

    def _field(self, cls: type, key: str) -> _Field | None:
        """What the values of ``key`` in objects of ``cls`` are checked against; None for a
        key the class does not have (or a field the fast path does not understand)."""
        found = self._keys.get((cls, key), False)
        if found is not False:
            return found  # type: ignore[return-value]
        field: _Field | None = None
        info = self._field_map(cls).get(key)
        if info is not None:
            try:
                child = field_class(info.annotation)
                if child is not None:
                    field = _Field(child, None, child.__name__ == "Resource")
                else:
                    action = self._planner.plan(cls).fields.get(key)
                    codes = action[1].lookup if action is not None and action[0] == CODE else None
                    field = _Field(None, self._primitive(info.annotation, codes), False)
            except Exception:  # an annotation we do not understand: keep the full path
                field = None
        self._keys[(cls, key)] = field
        return field

    # -- plans -----------------------------------------------------------------------------
    def _compile(self, resource: dict[str, Any]) -> _Plan | None:
        """The plan of this resource's shape, or None when the shape must not be cached.
        Primitive values are not part of it: the columns check them (`_field`)."""
        rtype = resource.get("resourceType")
        cls = self.full.model_class(rtype) if isinstance(rtype, str) else None
        if cls is None:
            return None
        objects: list[tuple[tuple[Any, ...], str, Any]] = []
        try:
            ok = self._compile_obj(resource, cls, (), rtype, objects)
        except Exception:  # an annotation we do not understand: keep the full path
            return None
        return _Plan(objects) if ok else None

    def _compile_obj(self, obj: dict[str, Any], cls: type, steps: tuple[Any, ...], path: str,
                     objects: list[Any]) -> bool:
        """Collect the object-level checks of ``obj`` and its children; False for a shape the
        fast path does not judge (the columns mark those resources bad before this)."""
        plan = self._planner.plan(cls)
        for key, value in obj.items():
            if key == "resourceType":
                continue
            field = self._field(cls, key)
            if field is None or field.resource:
                return False
            action = plan.fields.get(key)
            items = list(enumerate(value)) if type(value) is list else [(None, value)]
            for i, item in items:
                if type(item) is dict:
                    if field.child is None:
                        return False  # an object where a primitive belongs
                    istep = (*steps, key) if i is None else (*steps, key, i)
                    ipath = f"{path}.{key}" if i is None else f"{path}.{key}[{i}]"
                    if action is not None and action[0] == CODEABLE:
                        objects.append((istep, ipath, _codeable(action[1][0])))
                    if not self._compile_obj(item, field.child, istep, ipath, objects):
                        return False
                elif type(item) is list or (field.child is not None and item is not None):
                    return False  # nested arrays, or a primitive where an object belongs
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
