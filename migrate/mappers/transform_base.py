"""What every transform module shares: the registry, the option checks, the transform test.

A transform is a builder registered in :data:`TRANSFORMS` under its YAML name: it gets the
compiler, its argument, where it stands (for messages) and its line, and returns the compiled
function. The built-in transforms live in ``transforms.py``, ``codes.py`` and ``textual.py``;
importing ``migrate.mappers.transforms`` registers all of them. Installed distributions add
theirs through the ``migrate.transforms`` entry point group (docs/architecture.md, "Adding a
transform"); a built-in name cannot be taken over. This module imports none of them, nor the
compiler, so each can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migrate.mappers import fhirmodel
from migrate.mappers.yamlio import LineDict
from migrate.registry import Registry

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler, Fn

Builder = Callable[["Compiler", Any, str, int], "Fn"]
TRANSFORMS: Registry[Builder] = Registry("transform", "migrate.transforms")

Output = Callable[[Any], "tuple[str, str] | None"]
OBJECT_OUTPUTS: dict[str, Output] = {}
"""Transform name -> what it gives, from its argument: ``(FHIR type, how to get a plain
value instead)`` when that is an object (a Coding, a Quantity, a Reference), None when it is a
plain value. `check` refuses such a transform under a primitive element (``Patient.gender``).
A transform that is not here is not checked."""


def gives_object(name: str, output: str | Output, fix: str = "") -> None:
    """Declare that transform ``name`` gives an object: a FHIR type name, or a function of the
    transform's argument returning ``(type, fix)`` or None (``translate`` with ``as: code``)."""
    OBJECT_OUTPUTS[name] = output if callable(output) else (lambda _arg: (output, fix))


def object_output(node: dict[str, Any]) -> tuple[str, str, str] | None:
    """For a transform call ``node``: ``(transform, FHIR type, fix)`` when it gives an object."""
    keys = [k for k in node if k != "$when"]
    declared = OBJECT_OUTPUTS.get(keys[0]) if len(keys) == 1 else None
    found = declared(node[keys[0]]) if declared is not None else None
    return (keys[0], *found) if found is not None else None


def options(
    c: Compiler, arg: Any, where: str, line: int, allowed: set[str], required: set[str],
    shorthand: str | None = "value",
) -> dict[str, Any] | None:
    """Check a transform's options: unknown and missing keys are problems (all reported)."""
    if isinstance(arg, dict) and any(isinstance(k, bool) for k in arg):
        arg = _bool_keys_as_text(arg)
    if not isinstance(arg, dict) or (shorthand and _looks_like_value(arg)):
        if shorthand is None:
            c.problem(line, where, f"takes options {sorted(allowed)}")
            return None
        arg = {shorthand: arg}
    unknown = sorted(set(arg) - allowed)
    missing = sorted(required - set(arg))
    for k in unknown:
        c.problem(getattr(arg, "key_lines", {}).get(k, line), f"{where}.{k}",
                  f"unknown option {k!r}; valid options: {', '.join(sorted(allowed))}")
    for k in missing:
        c.problem(line, where, f"option {k!r} is required")
    return None if unknown or missing else arg


def _bool_keys_as_text(arg: dict[Any, Any]) -> dict[str, Any]:
    """YAML reads an unquoted ``true:`` key as a boolean; options mean the word."""
    out = LineDict({str(k).lower() if isinstance(k, bool) else k: v for k, v in arg.items()})
    out.line = getattr(arg, "line", 0)
    out.key_lines = {str(k).lower(): n for k, n in getattr(arg, "key_lines", {}).items()}
    return out


def _looks_like_value(arg: dict[str, Any]) -> bool:
    return len(arg) == 1 and next(iter(arg)) in TRANSFORMS


def column_of(node: Any) -> str | None:
    """The column a template node reads directly (``$COL``), else None (for messages)."""
    return node[1:] if isinstance(node, str) and node.startswith("$") else None


def option_value(c: Compiler, o: dict[str, Any], key: str, where: str, line: int) -> Fn:
    """Compile the value of option ``key`` of a transform, at the option's own line."""
    return c.value(o[key], f"{where}.{key}", getattr(o, "key_lines", {}).get(key, line))


def option_choice(c: Compiler, o: dict[str, Any], key: str, allowed: tuple[str, ...],
                  where: str, line: int) -> str:
    """Option ``key`` of a transform, one of ``allowed`` (default: the first); another value
    is a problem of the pack naming the choices."""
    value = o.get(key, allowed[0])
    if value not in allowed:
        c.problem(line, f"{where}.{key}", f"must be one of {', '.join(allowed)}")
    return str(value)


def is_transform(node: dict[str, Any], model: str | None = None) -> bool:
    """True when ``node`` (one key, besides ``$when``) calls a transform: its key is a
    registered transform and not an element of ``model``, the FHIR type expected here."""
    keys = [k for k in node if k != "$when"]
    return len(keys) == 1 and keys[0] in TRANSFORMS and not is_element(model, keys[0])


def is_element(model: str | None, key: str) -> bool:
    """True when the FHIR type expected here has an element named like a transform.

    ``suppliedItem: {quantity: ...}`` and ``subject: {identifier: ...}`` name FHIR elements;
    ``valueQuantity: {quantity: ...}`` (Quantity has no ``quantity``) is the transform.
    """
    cls = fhirmodel.model_class(model) if model else None
    return cls is not None and fhirmodel.element(cls, key) is not None
