"""The resource validator contract, and the result type every validator shares."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class ResourceIssue:
    """One problem found in one FHIR resource.

    ``message`` never repeats the value of a free-text element (names, dates, addresses may be
    PHI); coded values may be quoted.
    """

    severity: str  # "error" or "warning"
    code: str  # short machine code: "structure", "required", "code-set", "us-core", ...
    path: str  # FHIRPath-like location, e.g. "Observation.component[1].code"
    message: str  # human sentence, free of PHI

    def __str__(self) -> str:
        return f"{self.severity} [{self.code}] {self.path}: {self.message}"


class Validator(ABC):
    """Checks FHIR resources. Subclasses implement `validate`; `validate_many` is what the
    stage loop calls (a chunk at a time): override it when a chunk is cheaper to check whole.
    """

    @abstractmethod
    def validate(self, resource: dict[str, Any]) -> list[ResourceIssue]:
        """The issues of one resource (an empty list when it is valid)."""

    def validate_many(self, resources: list[dict[str, Any]]) -> list[list[ResourceIssue]]:
        """The issues of each resource of a chunk, in order."""
        return [self.validate(r) for r in resources]


_CODE_LIKE = re.compile(r"[^\s']+( [^\s']+)*")


def quote_code(value: object, max_len: int = 64) -> str:
    """Quote a coded value for a message; anything that does not look like a code is elided.

    Codes and URIs are not PHI, but a mapping bug can put free text where a code belongs, so
    values with quotes, odd whitespace or more than ``max_len`` characters are not repeated.
    """
    if isinstance(value, str) and len(value) <= max_len and _CODE_LIKE.fullmatch(value):
        return f"'{value}'"
    if isinstance(value, str):
        return f"a value of {len(value)} characters"
    return "no value" if value is None else f"a value of type {type(value).__name__}"
