"""Per-type check plans and the dict walk behind `FhirValidator`'s own checks.

A `Plan` is compiled once per fhir.resources model class and says, for each JSON key of that
type, what to do with the value: descend into a datatype or backbone element, dispatch on a
nested resource's ``resourceType``, check a code against a required value set, check a
CodeableConcept's codings, or check that a boolean / integer / decimal is a JSON boolean / number
and a date / time a JSON string (pydantic's lax mode accepts ``"yes"``, ``"5"`` and Unix
timestamps). The walk follows the data, so its cost is proportional to the size of the resource,
with one dict lookup per key.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from migrate.validation import codesets, uscore
from migrate.validation.base import ERROR, ResourceIssue, quote_code

Hook = Callable[[dict[str, Any], str, list[ResourceIssue]], None]
ModelClass = type[Any]

CHILD, RESOURCE, CODE, CODEABLE, BOOLEAN, INTEGER, DECIMAL, TEMPORAL = range(8)
_JSON_KIND = {BOOLEAN: "boolean", INTEGER: "integer", DECIMAL: "number", TEMPORAL: "string"}
_TEMPORAL_TYPES = (datetime.date, datetime.datetime, datetime.time)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to check in one JSON object of one FHIR type."""

    type_name: str
    fields: dict[str, tuple[int, Any]]  # key -> (action, payload)
    required: tuple[str, ...]  # required primitive keys (pydantic checks them last)
    choices: tuple[tuple[str, tuple[str, ...], bool], ...]  # choice[x]: prefix, keys, required
    hooks: tuple[Hook, ...]


def _base_type(annotation: Any) -> Any:
    """Strip Optional, List and Annotated down to the element type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None
            annotation = args[0]
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def field_class(annotation: Any) -> ModelClass | None:
    """The model class of a complex field, or None for primitives."""
    base = _base_type(annotation)
    get_klass = getattr(base, "get_model_klass", None)
    return get_klass() if get_klass is not None else None


def _field_action(annotation: Any) -> tuple[int, Any] | None:
    base = _base_type(annotation)
    get_klass = getattr(base, "get_model_klass", None)
    if get_klass is not None:
        klass = get_klass()
        return (RESOURCE, None) if klass.__name__ == "Resource" else (CHILD, klass)
    if base is bool:
        return (BOOLEAN, None)
    if base is int:
        return (INTEGER, None)
    if base is decimal.Decimal:
        return (DECIMAL, None)
    if base in _TEMPORAL_TYPES:
        return (TEMPORAL, None)
    return None


class Planner:
    """Compiles and caches plans; resolves the binding tables against the model classes."""

    def __init__(
        self, resolve_resource: Callable[[str], ModelClass], *, us_core: bool = True
    ) -> None:
        self._resolve = resolve_resource
        self._plans: dict[ModelClass, Plan] = {}
        self._hooks: dict[str, tuple[Hook, ...]] = (
            {"Patient": (uscore.check_patient,), "Quantity": (uscore.check_quantity,)}
            if us_core
            else {}
        )
        self._bindings: dict[ModelClass, dict[str, tuple[int, Any]]] = {}
        for spec_path, vs in codesets.ELEMENT_BINDINGS.items():
            self._bind(spec_path, CODE, vs)
        for spec_path, cc in codesets.CODEABLE_CONCEPT_BINDINGS.items():
            self._bind(spec_path, CODEABLE, cc)

    def _bind(self, spec_path: str, kind: int, binding: Any) -> None:
        root, *inner, element = spec_path.split(".")
        owner = self._resolve(root)
        for name in inner:
            child = field_class(_field_by_alias(owner, name).annotation)
            if child is None:
                raise ValueError(f"binding path {spec_path}: {name} is not a complex element")
            owner = child
        info = _field_by_alias(owner, element)  # fails loudly on a typo in the tables
        klass = field_class(info.annotation)
        if (kind == CODE) != (klass is None):
            raise ValueError(f"binding path {spec_path}: unexpected element type")
        payload = binding if kind == CODE else (binding, klass)
        self._bindings.setdefault(owner, {})[element] = (kind, payload)

    def plan(self, cls: ModelClass) -> Plan:
        """The plan for a model class (compiled on first use)."""
        plan = self._plans.get(cls)
        if plan is None:
            plan = self._plans[cls] = self._compile(cls)
        return plan

    def _compile(self, cls: ModelClass) -> Plan:
        fields: dict[str, tuple[int, Any]] = {}
        required: list[str] = []
        choices: dict[str, list[str]] = {}
        required_choices: set[str] = set()
        for name, info in cls.model_fields.items():
            if name == "fhir_comments":
                continue
            key = info.alias or name
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("element_required"):
                required.append(key)
            if extra.get("one_of_many"):
                choices.setdefault(str(extra["one_of_many"]), []).append(key)
                if extra.get("one_of_many_required"):
                    required_choices.add(str(extra["one_of_many"]))
            action = _field_action(info.annotation)
            if action is not None:
                fields[key] = action
        hooks: list[Hook] = []
        for base in reversed(cls.__mro__):
            fields.update(self._bindings.get(base, {}))
            hooks.extend(self._hooks.get(base.__name__, ()))
        return Plan(
            cls.__name__,
            fields,
            tuple(required),
            tuple((p, tuple(keys), p in required_choices) for p, keys in choices.items()),
            tuple(hooks),
        )


def _field_by_alias(cls: ModelClass, alias: str) -> Any:
    for name, info in cls.model_fields.items():
        if (info.alias or name) == alias:
            return info
    raise ValueError(f"{cls.__name__} has no element {alias!r}")


class Walker:
    """Runs the plans over one resource dict and collects issues."""

    def __init__(self, planner: Planner, resolve_resource: Callable[[str], ModelClass | None]):
        self._planner = planner
        self._resolve = resolve_resource

    def walk_resource(
        self, obj: dict[str, Any], cls: ModelClass, path: str, *, check_required: bool
    ) -> list[ResourceIssue]:
        """All code-set, JSON-type, US Core (and, if asked, required-element) issues."""
        out: list[ResourceIssue] = []
        self._walk(obj, self._planner.plan(cls), path, out, check_required)
        return out

    def _walk(
        self,
        obj: dict[str, Any],
        plan: Plan,
        path: str,
        out: list[ResourceIssue],
        check_required: bool,
    ) -> None:
        fields = plan.fields
        for key, value in obj.items():
            action = fields.get(key)
            if action is None:
                continue
            kind, payload = action
            if kind == CHILD or kind == RESOURCE or kind == CODEABLE:
                if type(value) is list:
                    for i, item in enumerate(value):
                        if type(item) is dict:
                            self._complex(
                                kind, payload, item, f"{path}.{key}[{i}]", out, check_required
                            )
                elif type(value) is dict:
                    self._complex(kind, payload, value, f"{path}.{key}", out, check_required)
            elif kind == CODE:
                if type(value) is list:
                    for i, item in enumerate(value):
                        if type(item) is str and item not in payload.lookup:
                            out.append(_bad_code(f"{path}.{key}[{i}]", item, payload))
                elif type(value) is str and value not in payload.lookup:
                    out.append(_bad_code(f"{path}.{key}", value, payload))
            else:
                _check_json_type(kind, key, value, path, out)
        for hook in plan.hooks:
            hook(obj, path, out)
        if check_required:
            _check_required(obj, plan, path, out)

    def _complex(
        self,
        kind: int,
        payload: Any,
        obj: dict[str, Any],
        path: str,
        out: list[ResourceIssue],
        check_required: bool,
    ) -> None:
        if kind == RESOURCE:
            rtype = obj.get("resourceType")
            cls = self._resolve(rtype) if isinstance(rtype, str) else None
            if cls is None:
                out.append(
                    ResourceIssue(
                        ERROR, "structure", path, f"unknown resource type {quote_code(rtype)}"
                    )
                )
                return
            self._walk(obj, self._planner.plan(cls), path, out, check_required)
            return
        if kind == CODEABLE:
            binding, payload = payload
            _check_codeable(obj, binding, path, out)
        self._walk(obj, self._planner.plan(payload), path, out, check_required)


def _bad_code(path: str, code: str, vs: codesets.ValueSet) -> ResourceIssue:
    return ResourceIssue(
        ERROR,
        "code-set",
        path,
        f"{quote_code(code)} is not in the required value set {vs.url};"
        f" allowed: {', '.join(vs.codes)}",
    )


def _check_codeable(
    obj: dict[str, Any], binding: codesets.CodingBinding, path: str, out: list[ResourceIssue]
) -> None:
    """Every coding of the bound system must hold a valid code, and one must exist."""
    vs = binding.value_set
    codings = obj.get("coding")
    found = False
    if isinstance(codings, list):
        for i, coding in enumerate(codings):
            if not isinstance(coding, dict) or coding.get("system") != binding.system:
                continue
            code = coding.get("code")
            if isinstance(code, str) and code in vs.lookup:
                found = True
            elif isinstance(code, str):
                out.append(_bad_code(f"{path}.coding[{i}].code", code, vs))
                found = True  # reported; do not also report "no coding"
    if not found:
        out.append(
            ResourceIssue(
                ERROR,
                "code-set",
                path,
                f"needs a coding with system {binding.system} and a code from the required"
                f" value set {vs.url}; allowed: {', '.join(vs.codes)}",
            )
        )


def _check_json_type(kind: int, key: str, value: Any, path: str, out: list[ResourceIssue]) -> None:
    """Flag the lax coercions pydantic accepts: "true" or 1 for a boolean, "5" for a number,
    a number (read as a Unix timestamp) for a date, dateTime, instant or time."""
    if type(value) is list:
        for i, item in enumerate(value):
            _check_json_type(kind, f"{key}[{i}]", item, path, out)
        return
    if value is None:
        return
    if kind == BOOLEAN:
        wrong = type(value) is not bool
    elif kind == TEMPORAL:  # pydantic reads numbers as Unix timestamps
        wrong = isinstance(value, (int, float, decimal.Decimal))
    else:
        wrong = isinstance(value, (str, bool))
    if wrong:
        out.append(
            ResourceIssue(
                ERROR,
                "structure",
                f"{path}.{key}",
                f"expected a JSON {_JSON_KIND[kind]}, got a {json_type_name(value)}",
            )
        )


def json_type_name(value: Any) -> str:
    """JSON name of a Python value's type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _check_required(obj: dict[str, Any], plan: Plan, path: str, out: list[ResourceIssue]) -> None:
    """Required primitives and choice[x] elements: pydantic checks them only when nothing else
    in the same object failed, so this runs when pydantic reported anything."""
    for key in plan.required:
        if obj.get(key) is None and not _has_extension(obj.get("_" + key)):
            out.append(ResourceIssue(ERROR, "required", f"{path}.{key}", MISSING))
    for prefix, keys, required in plan.choices:
        present = [k for k in keys if obj.get(k) is not None]
        if len(present) > 1:
            out.append(ResourceIssue(ERROR, "structure", f"{path}.{prefix}[x]", CHOICE_MANY))
        elif required and not present:
            out.append(
                ResourceIssue(ERROR, "required", f"{path}.{prefix}[x]", choice_missing(keys))
            )


def _has_extension(sibling: Any) -> bool:
    return isinstance(sibling, dict) and bool(sibling.get("extension"))


MISSING = "required element is missing"
CHOICE_MANY = "a choice element may have only one type, found more than one"


def choice_missing(keys: tuple[str, ...] | list[str]) -> str:
    """Message for a required choice element with no value."""
    return f"required element is missing; expected one of: {', '.join(keys)}"
