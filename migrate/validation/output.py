"""Checks over the whole output of a dry run: dangling references and US Core must-haves.

:class:`OutputChecker` is fed every chunk of resources the pipeline would load (it is the
observer of `migrate.loaders.null.NullLoader`). It keeps the ids it saw and, per referring
type and element path, the references it met; at the end a reference whose target is not in
the output is *dangling* (the target EHR would hold a link to nothing; sekmet-fhir and many
servers do not refuse it, so we must find it). Memory grows with the number of distinct ids
and reference targets (tens of bytes each), not with the resources themselves.

Only relative references ``Type/id`` are resolved; contained (``#id``), absolute (``http...``),
``urn:`` and conditional (``Type?query``) references are counted as not checked.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

# US Core 6.1: elements with a minimum cardinality of 1 (and effective[x] of Observation, which
# the vital-signs and lab profiles require), for the resource types packs emit most.
US_CORE_MUST_HAVE: dict[str, tuple[str, ...]] = {
    "AllergyIntolerance": ("code", "patient"),
    "CarePlan": ("status", "intent", "category", "subject"),
    "CareTeam": ("participant", "subject"),
    "Condition": ("category", "code", "subject"),
    "Coverage": ("status", "beneficiary", "payor"),
    "Device": ("type", "patient"),
    "DiagnosticReport": ("status", "category", "code", "subject"),
    "DocumentReference": ("status", "type", "category", "subject", "content"),
    "Encounter": ("status", "class", "type", "subject"),
    "Goal": ("lifecycleStatus", "description", "subject"),
    "Immunization": ("status", "vaccineCode", "patient", "occurrence[x]"),
    "Location": ("name",),
    "MedicationRequest": ("status", "intent", "medication[x]", "subject", "requester"),
    "Observation": ("status", "category", "code", "subject", "effective[x]"),
    "Organization": ("active", "name"),
    "Patient": ("identifier", "name", "gender"),
    "Practitioner": ("identifier", "name"),
    "Procedure": ("status", "code", "subject", "performed[x]"),
    "ServiceRequest": ("status", "intent", "category", "code", "subject"),
}

_RELATIVE = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]+)?")
MAX_EXAMPLES = 5


@dataclass
class _RefStats:
    """References met at one (referring type, path): target -> uses, and unchecked uses."""

    targets: Counter[str]
    unchecked: int = 0


class OutputChecker:
    """Collects ids, references and missing US Core elements over every emitted resource."""

    def __init__(self, must_have: dict[str, tuple[str, ...]] | None = None) -> None:
        self.must_have = US_CORE_MUST_HAVE if must_have is None else must_have
        self.ids: set[str] = set()
        self.totals: Counter[str] = Counter()
        self.missing: Counter[tuple[str, str]] = Counter()
        self._refs: dict[tuple[str, str], _RefStats] = {}

    def __call__(self, resources: list[dict[str, Any]]) -> None:
        """Check one chunk (the NullLoader observer interface)."""
        for res in resources:
            self.add(res)

    def add(self, resource: dict[str, Any]) -> None:
        """Record one resource: its id, its references, its missing elements."""
        rtype = resource.get("resourceType", "?")
        self.totals[rtype] += 1
        self.ids.add(f"{rtype}/{resource.get('id')}")
        for element in self.must_have.get(rtype, ()):
            if not _present(resource, element):
                self.missing[(rtype, element)] += 1
        self._walk(resource, rtype, rtype)

    def _walk(self, node: Any, rtype: str, path: str) -> None:
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str):
                self._reference(rtype, path, ref)
            for key, value in node.items():
                if key not in ("contained", "reference") and isinstance(value, dict | list):
                    self._walk(value, rtype, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                self._walk(item, rtype, path)

    def _reference(self, rtype: str, path: str, ref: str) -> None:
        stats = self._refs.get((rtype, path))
        if stats is None:
            stats = self._refs[(rtype, path)] = _RefStats(Counter())
        match = _RELATIVE.fullmatch(ref)
        if match:
            stats.targets[f"{match.group(1)}/{match.group(2)}"] += 1
        else:
            stats.unchecked += 1

    def references(self) -> list[dict[str, Any]]:
        """Per referring type and path: references, dangling ones, examples of missing targets."""
        out = []
        for (rtype, path), stats in sorted(self._refs.items()):
            dangling = {t: n for t, n in stats.targets.items() if t not in self.ids}
            targets = sorted({t.split("/", 1)[0] for t in stats.targets})
            out.append({
                "resource_type": rtype, "path": path, "target_types": targets,
                "references": sum(stats.targets.values()) + stats.unchecked,
                "dangling": sum(dangling.values()), "not_checked": stats.unchecked,
                "examples": sorted(dangling)[:MAX_EXAMPLES],
            })
        return out

    def dangling_total(self) -> int:
        """All references to resources not in the output."""
        return sum(r["dangling"] for r in self.references())

    def must_have_report(self) -> list[dict[str, Any]]:
        """Per resource type and element: how many resources lack it (only the non-zero)."""
        return [{"resource_type": t, "element": e, "missing": n, "total": self.totals[t],
                 "severity": "warning"}
                for (t, e), n in sorted(self.missing.items())]


def _present(resource: dict[str, Any], element: str) -> bool:
    if element.endswith("[x]"):
        stem = element[:-3]
        return any(k.startswith(stem) and k[len(stem):][:1].isupper() and _filled(v)
                   for k, v in resource.items())
    return _filled(resource.get(element))


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})
