"""Transforms that build coded and linked values: ``translate``, ``ref``, ``identifier``."""

from __future__ import annotations

from typing import Any

from migrate.mappers.compiler import Compiler, Const, Fn, RowError, Scope
from migrate.mappers.terminology import ConceptMap, Target
from migrate.mappers.transform_base import (
    TRANSFORMS,
    column_of,
    gives_object,
    option_choice,
    option_value,
    options,
)

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_AS = ("coding", "code", "codeable")
_AS_TYPES = {"coding": "Coding", "codeable": "CodeableConcept"}  # `as: code` gives a code


def _translate_output(arg: Any) -> tuple[str, str] | None:
    """What ``translate`` gives: a Coding, a CodeableConcept, or (``as: code``) a code."""
    if not isinstance(arg, dict):
        return None
    shape = arg.get("as", "coding")
    kind = _AS_TYPES.get(shape) if isinstance(shape, str) else None
    if kind is None:
        return None
    return kind, f"{'write' if 'as' in arg else 'add'} `as: code`"


# What `check` refuses under a primitive element (``Patient.gender``): these give objects.
gives_object("translate", _translate_output)
gives_object("ref", "Reference", "a reference belongs in an element of type Reference")
gives_object("identifier", "Identifier", "give the value itself ($COLUMN)")
gives_object("quantity", "Quantity", "use `decimal` for the number alone")  # transforms.py


@TRANSFORMS.register("translate")
def t_translate(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """Translate a source code through a CSV concept map (``map``) or inline ``values``.

    ``on_unmapped`` is required and explicit: ``keep`` (the source code, in ``system``),
    ``quarantine`` (the row is set aside), or a fixed ``{code, system, display}``. Kept and
    fixed codes are counted as unmapped for the report. ``as`` chooses the shape: ``coding``
    (default), ``code`` (a plain FHIR code) or ``codeable`` (a CodeableConcept with ``text``).
    """
    o = options(c, arg, where, line,
                {"from", "map", "values", "system", "display", "on_unmapped", "as", "text",
                 "target_system"},
                {"from", "on_unmapped"}, shorthand=None)
    if o is None:
        return Const(None)
    lookup = _lookup(c, o, where, line)
    src, col = option_value(c, o, "from", where, line), column_of(o["from"])
    shape = option_choice(c, o, "as", _AS, where, line)
    system = option_value(c, o, "system", where, line) if "system" in o else \
        Const(getattr(lookup, "source_system", None))
    display = option_value(c, o, "display", where, line) if "display" in o else Const(None)
    text = option_value(c, o, "text", where, line) if "text" in o else Const(None)
    unmapped = _unmapped(c, o.get("on_unmapped"), f"{where}.on_unmapped", line, o)
    label = o.get("map", "inline values")

    def run(s: Scope) -> Any:
        code = src(s)
        if code is None:
            return None
        code = str(code)
        hit = lookup.get(code) if lookup is not None else None
        if hit is not None:
            coding = hit.coding()
            if "display" not in coding and (d := display(s)):
                coding["display"] = d
        else:
            coding = unmapped(s, code, col, label, system(s), display)
        return _shape(shape, coding, text(s))

    return run


def _lookup(c: Compiler, o: dict[str, Any], where: str, line: int) -> Any:
    if ("map" in o) == ("values" in o):
        c.problem(line, where, "give either 'map' (a concept map name) or 'values' (inline)")
        return None
    if "map" in o:
        cmap = c.context.concept_map(str(o["map"]))
        if cmap is None:
            known = ", ".join(c.context.concept_map_names()) or "none"
            c.problem(line, f"{where}.map", f"no concept map {o['map']!r} in the pack's "
                      f"concept_maps/ (known: {known})")
        return cmap
    values = o["values"]
    if not isinstance(values, dict):
        c.problem(line, f"{where}.values", "must map source codes to target codes")
        return None
    for k in values:
        if isinstance(k, bool):
            c.problem(line, f"{where}.values", f"the source code {str(k).lower()} is a YAML "
                      f"boolean, compared as the text {str(k)!r}; quote it ('{str(k).lower()}')")
    target_system = o.get("target_system")
    entries = {str(k): Target(target_system, str(v), None) for k, v in values.items()}
    return ConceptMap("inline", c.context.root, entries)


def _unmapped(c: Compiler, policy: Any, where: str, line: int, o: dict[str, Any]) -> Any:
    """Build what happens to a code missing from the map."""
    if policy == "quarantine":
        def quarantine(s: Scope, code: str, col: str | None, label: str, *_: Any) -> Any:
            raise RowError("unmapped-code", f"code not in {label}", column=col, value=code,
                           line=line)
        return quarantine
    if policy == "keep":
        def keep(s: Scope, code: str, col: str | None, label: str, system: str | None,
                 display: Fn) -> Any:
            s.notes.append(RowError("unmapped-code", f"code not in {label}; kept as is",
                                    column=col, value=code, line=line))
            out = {"system": system, "code": code, "display": display(s)}
            return {k: v for k, v in out.items() if v}
        return keep
    fixed_keys = {"code", "system", "display"}
    if isinstance(policy, dict) and "code" in policy and set(policy) <= fixed_keys:
        fixed = {k: str(v) for k, v in policy.items()}

        def fixed_code(s: Scope, code: str, col: str | None, label: str, *_: Any) -> Any:
            s.notes.append(RowError("unmapped-code", f"code not in {label}; fixed code used",
                                    column=col, value=code, line=line))
            return dict(fixed)
        return fixed_code
    c.problem(line, where, "must be keep, quarantine, or a fixed {code, system, display}")
    return lambda *a: None


def _shape(shape: str, coding: dict[str, Any] | None, text: Any) -> Any:
    if coding is None:
        return None
    if shape == "code":
        return coding.get("code")
    if shape == "codeable":
        out: dict[str, Any] = {"coding": [coding]}
        if text:
            out["text"] = text
        return out
    return coding


@TRANSFORMS.register("ref")
def t_ref(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{ref: {mapping, emit, key: [...], display}}``: a Reference computed from the key.

    No look-up: the id is the one the referenced mapping gives a row with that key. A null key
    part means no reference (the element is pruned).
    """
    o = options(c, arg, where, line, {"mapping", "emit", "key", "display"}, {"mapping", "key"},
                shorthand=None)
    if o is None:
        return Const(None)
    target = c.context.ref_target(str(o["mapping"]), o.get("emit"), c, where, line)
    keys = o["key"] if isinstance(o["key"], list) else [o["key"]]
    if target is not None and len(keys) != target.arity:
        c.problem(line, f"{where}.key", f"{o['mapping']} has a key of {target.arity} part(s), "
                  f"this reference gives {len(keys)}")
    parts = [c.value(k, f"{where}.key[{i}]", line) for i, k in enumerate(keys)]
    display = option_value(c, o, "display", where, line) if "display" in o else None
    if target is None:
        return Const(None)
    rtype, entity, make_id = target.resource_type, target.entity, c.context.make_id

    def run(s: Scope) -> dict[str, str] | None:
        key = tuple(f(s) for f in parts)
        if any(k is None for k in key):
            return None
        out = {"reference": f"{rtype}/{make_id(rtype, entity, key)}"}
        if display is not None and (d := display(s)) is not None:
            out["display"] = str(d)
        return out

    return run


@TRANSFORMS.register("identifier")
def t_identifier(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{identifier: {system, value, type, type_text, use}}``; ``type`` is a v2-0203 code."""
    o = options(c, arg, where, line, {"system", "value", "type", "type_text", "use"},
                {"system", "value"}, shorthand=None)
    if o is None:
        return Const(None)
    system = option_value(c, o, "system", where, line)
    value = option_value(c, o, "value", where, line)
    ident_type = None
    if "type" in o:
        ident_type = {"coding": [{"system": V2_0203, "code": str(o["type"])}]}
        if "type_text" in o:
            ident_type["text"] = str(o["type_text"])
    use = o.get("use")

    def run(s: Scope) -> dict[str, Any] | None:
        v = value(s)
        if v is None or v == "":
            return None
        out: dict[str, Any] = {}
        if use:
            out["use"] = use
        if ident_type:
            out["type"] = ident_type
        if (sys_value := system(s)) is not None:
            out["system"] = sys_value
        out["value"] = str(v)
        return out

    return run
