"""FHIR R4 element look-ups used to check mapping templates before any data is read."""

from __future__ import annotations

import difflib
import typing
from functools import cache
from typing import Any

_SKIP = {"fhir_comments"}


@cache
def model_class(type_name: str) -> Any | None:
    """The fhir.resources R4B model class of a resource or datatype name, or None."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(type_name)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def is_resource_type(name: str) -> bool:
    """True when ``name`` is an R4 resource type (not a datatype)."""
    cls = model_class(name)
    return cls is not None and any(b.__name__ == "Resource" for b in cls.__mro__)


@cache
def _elements(cls: Any) -> dict[str, tuple[bool, str | None]]:
    """Element name -> (is_list, child type name or None for primitives)."""
    out: dict[str, tuple[bool, str | None]] = {}
    for name, field in cls.model_fields.items():
        if name in _SKIP or name.endswith("__ext"):
            continue
        out[field.alias or name] = _shape(field.annotation)
    return out


def _shape(annotation: Any) -> tuple[bool, str | None]:
    is_list = False
    stack = [annotation]
    child: str | None = None
    while stack:
        ann = stack.pop()
        origin = typing.get_origin(ann)
        if origin in (list, typing.List):  # noqa: UP006
            is_list = True
        if origin is not None:
            stack.extend(typing.get_args(ann))
            continue
        name = getattr(ann, "__name__", "")
        if name.endswith("Type") and name[:1].isupper() and ann.__module__ == "abc":
            child = name[: -len("Type")]
    return is_list, child


def element(cls: Any, name: str) -> tuple[bool, str | None] | None:
    """Shape of element ``name`` of model ``cls``; None when the element does not exist."""
    return _elements(cls).get(name)


def suggest(cls: Any, name: str) -> str:
    """A 'did you mean' hint for an unknown element name (empty when nothing is close)."""
    close = difflib.get_close_matches(name, list(_elements(cls)), n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in _elements(cls)}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


@cache
def choice_groups(cls: Any) -> dict[str, str]:
    """Element name -> its choice element (``deceasedBoolean`` -> ``deceased``), for the
    ``[x]`` elements of ``cls``: only one variant of each may be given."""
    out: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        group = extra.get("one_of_many")
        if isinstance(group, str):
            out[field.alias or name] = group
    return out


@cache
def _extensible(cls: Any) -> dict[str, bool]:
    """Primitive element name -> whether it repeats, for the ``_name`` members that hold
    a primitive's id and extensions (``birthDate__ext``, JSON ``_birthDate``)."""
    out: dict[str, bool] = {}
    for name, field in cls.model_fields.items():
        if name.endswith("__ext"):
            alias = field.alias or "_" + name[: -len("__ext")]
            out[alias[1:]] = _shape(field.annotation)[0]
    return out


def extension_problem(cls: Any, model: str, key: str) -> str | None:
    """Why ``key`` (``_birthDate``) cannot stand in ``model``, or None when it is the
    Element of one of its primitive elements that does not repeat."""
    name = key[1:]
    repeats = _extensible(cls).get(name)
    if repeats is None:
        if element(cls, name) is not None:
            return (f"{model}.{name} is not a primitive: write its extensions in "
                    f"{name}.extension, not {key!r}")
        close = difflib.get_close_matches(name, list(_extensible(cls)), n=1, cutoff=0.6)
        hint = f" (did you mean '_{close[0]}'?)" if close else ""
        return f"{model} has no primitive element {name!r} for {key!r}{hint}"
    if repeats:
        return (f"{model}.{name} repeats: extensions of its items ({key!r}) are not supported "
                "(the list would have to stay aligned with the items, nulls included)")
    return None


def primitive_type(cls: Any, name: str) -> str:
    """The FHIR name of primitive element ``name`` of ``cls`` (``code``, ``date``,
    ``boolean``), for messages; ``primitive`` when the model does not say."""
    field = next((f for n, f in cls.model_fields.items() if (f.alias or n) == name), None)
    stack = [field.annotation] if field is not None else []
    while stack:
        ann = stack.pop()
        if ann is bool:
            return "boolean"
        for meta in getattr(ann, "__metadata__", ()):
            kind = type(meta).__name__
            return kind[:1].lower() + kind[1:]
        stack.extend(typing.get_args(ann))
    return "primitive"
