"""Validate emitted FHIR R4 resources (plain dicts).

Structure is checked with ``fhir.resources.R4B`` (fhir.resources 8 ships no plain R4; R4B is the
closest and shares the R4 shape of every clinical resource we emit). fhir.resources does not
check code bindings, so `FhirValidator` adds the required value sets of FHIR R4 (see
`migrate.validation.codesets`) and a few US Core 6.1 checks (`migrate.validation.uscore`).

Example::

    validator = FhirValidator()
    for issue in validator.validate({"resourceType": "Observation", "status": "foo"}):
        print(issue)
    # error [required] Observation.code: required element is missing
    # error [code-set] Observation.status: 'foo' is not in the required value set ...

Messages never contain the offending value of a free-text element: pydantic's ``input`` is
never used, and pass-through pydantic messages are scrubbed of it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from migrate.validation import codesets
from migrate.validation.base import ERROR, ResourceIssue, Validator, quote_code
from migrate.validation.walk import (
    CHOICE_MANY,
    MISSING,
    ModelClass,
    Planner,
    Walker,
    choice_missing,
    json_type_name,
)

_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_ABSTRACT = frozenset({"Resource", "DomainResource"})
_FIELD_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9]*")
_SPEC_REGEX = re.compile(r"(\w+) value string does not match spec regex\.?")
_CHOICE_LIST = re.compile(r"this list \[([^\]]*)\]")
_TEMPORAL_ERROR = re.compile(r"(date|datetime|time)_")
_TEMPORAL_KIND = {"date": "date", "datetime": "dateTime", "time": "time"}

_TYPE_MESSAGES = {
    "extra_forbidden": "unknown element",
    "string_type": "expected a string",
    "bool_type": "expected a boolean",
    "bool_parsing": "expected a boolean",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer, got a number with a fractional part",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "decimal_type": "expected a number",
    "decimal_parsing": "expected a number",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "json_invalid": "expected a JSON object",
    "fhir-validation-wrong-resource-type": "resourceType does not match the expected type",
}


class FhirValidator(Validator):
    """Validates FHIR R4 resources given as dicts; reusable and cheap to call repeatedly.

    Model classes and per-type check plans are cached on first use of each resource type, so
    build one validator and keep it. ``us_core=False`` turns the US Core checks off.
    """

    def __init__(self, *, us_core: bool = True) -> None:
        from fhir.resources.R4B import get_fhir_model_class

        self._get_class = get_fhir_model_class
        self._classes: dict[str, ModelClass | None] = {}
        self._planner = Planner(get_fhir_model_class, us_core=us_core)
        self._walker = Walker(self._planner, self.model_class)

    def model_class(self, resource_type: str) -> ModelClass | None:
        """The fhir.resources.R4B class of a concrete resource type, or None if there is none."""
        try:
            return self._classes[resource_type]
        except KeyError:
            pass
        cls: ModelClass | None = None
        if _RESOURCE_TYPE.fullmatch(resource_type) and resource_type not in _ABSTRACT:
            try:
                candidate = self._get_class(resource_type)
            except ValueError:
                candidate = None
            if candidate is not None and candidate.has_resource_base():
                cls = candidate
        if cls is not None or len(self._classes) < 1000:  # bad data must not grow it forever
            self._classes[resource_type] = cls
        return cls

    def validate(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """All issues of one resource, errors and warnings; an empty list means valid.

        Structure issues (from fhir.resources) come first, then code-set, JSON-type and US Core
        issues in document order. The input dict is not modified.
        """
        if not isinstance(resource, dict):
            return [_issue("Resource", "structure", "a resource must be a JSON object")]
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            return [_issue("Resource", "structure", "resourceType is missing or not a string")]
        cls = self.model_class(rtype)
        if cls is None:
            return [
                _issue(
                    "Resource", "structure", f"unknown resource type {quote_code(rtype)} in FHIR R4"
                )
            ]
        issues: list[ResourceIssue] = []
        if rtype in codesets.R4B_ONLY_RESOURCE_TYPES:
            issues.append(_issue(rtype, "structure", f"{rtype} is not a FHIR R4 (4.0.1) resource"))
        try:
            cls.model_validate(resource)
        except ValidationError as exc:
            issues.extend(_convert(err, rtype, resource) for err in exc.errors(include_url=False))
        except Exception as exc:  # fhir.resources raises KeyError & co. on some bad input
            issues.append(
                _issue(
                    rtype,
                    "structure",
                    f"fhir.resources could not validate the resource ({type(exc).__name__});"
                    " other structure errors may be unreported",
                )
            )
        structural = bool(issues)
        own = self._walker.walk_resource(resource, cls, rtype, check_required=structural)
        if structural:
            seen = {(i.code, i.path) for i in issues}
            own = [i for i in own if (i.code, i.path) not in seen]
        issues.extend(own)
        return issues


def _issue(path: str, code: str, message: str) -> ResourceIssue:
    return ResourceIssue(ERROR, code, path, message)


def _convert(err: Any, rtype: str, resource: dict[str, Any]) -> ResourceIssue:
    """Turn one pydantic error into a ResourceIssue without echoing its input."""
    etype: str = err["type"]
    msg: str = err.get("msg", "")
    path = render_path(rtype, err["loc"], resource)
    if etype in ("missing", "model_field_validation.missing"):
        return _issue(path, "required", MISSING)
    if etype == "value_error" and "this list [" in msg:
        match = _CHOICE_LIST.search(msg)
        keys = re.findall(r"'([^']+)'", match.group(1)) if match else []
        choice = f"{path}.{_choice_prefix(keys)}[x]" if keys else path
        if "got multiple" in msg:
            return _issue(choice, "structure", CHOICE_MANY)
        return _issue(choice, "required", choice_missing(keys))
    if etype == "list_type":
        text = "array contains null" if "None is not allowed" in msg else "expected a JSON array"
        return _issue(path, "structure", text)
    if etype in _TYPE_MESSAGES:
        return _issue(path, "structure", _TYPE_MESSAGES[etype])
    if etype == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        return _issue(path, "structure", f"value does not match the pattern {pattern}")
    temporal = _TEMPORAL_ERROR.match(etype)
    if temporal:
        value = err.get("input")
        if not isinstance(value, str):
            return _issue(
                path, "structure", f"expected a JSON string, got a {json_type_name(value)}"
            )
        detail = (err.get("ctx") or {}).get("error")
        kind = _TEMPORAL_KIND[temporal.group(1)]
        text = f"not a valid FHIR {kind}" + (f" ({detail})" if isinstance(detail, str) else "")
        return _issue(path, "structure", _scrub(text, value))
    if etype == "value_error":
        msg = msg.removeprefix("Value error, ")
        spec = _SPEC_REGEX.fullmatch(msg)
        if spec:
            name = spec.group(1)
            msg = f"not a valid FHIR {name[0].lower()}{name[1:]}"
    return _issue(path, "structure", _scrub(msg, err.get("input")))


def _scrub(message: str, value: Any) -> str:
    """Remove a scalar input value from a pass-through message."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 3 and text in message:
            message = message.replace(text, "<value>")
    return message


def _choice_prefix(keys: list[str]) -> str:
    """'medication' from ['medicationCodeableConcept', 'medicationReference']."""
    prefix = keys[0]
    for key in keys[1:]:
        while not key.startswith(prefix):
            prefix = prefix[:-1]
    while prefix and not all(len(k) > len(prefix) and k[len(prefix)].isupper() for k in keys):
        prefix = prefix[:-1]
    return prefix or keys[0]


def render_path(rtype: str, loc: tuple[Any, ...], resource: dict[str, Any]) -> str:
    """FHIRPath-like rendering of a pydantic ``loc``, following the data to drop pydantic's
    union / validator tags (``Patient.name[0].given``)."""
    parts = [rtype]
    node: Any = resource
    last = len(loc) - 1
    for n, item in enumerate(loc):
        if isinstance(item, int):
            if isinstance(node, list):
                parts.append(f"[{item}]")
                node = node[item] if 0 <= item < len(node) else None
            continue
        if item == "resource_type":
            item = "resourceType"
        if isinstance(node, dict):
            if item in node:
                parts.append(f".{item}")
                node = node[item]
            elif n == last and item != "root" and _FIELD_NAME.fullmatch(item):
                parts.append(f".{item}")  # a missing element
        # anything else is a pydantic tag below a primitive value: not part of the path
    return "".join(parts)
