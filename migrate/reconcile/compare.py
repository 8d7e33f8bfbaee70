"""Field-by-field comparison of what was sent with what the server stored."""

from __future__ import annotations

from typing import Any

IGNORED_META = frozenset({"versionId", "lastUpdated", "source"})
"""``meta`` elements a server sets by itself."""


def normalize(res: dict[str, Any], *, conditional: bool = False,
              identifier_system: str | None = None, sent_tags: list[Any] | None = None
              ) -> dict[str, Any]:
    """A copy without what the server may add or change.

    Drops ``meta.versionId``, ``meta.lastUpdated``, ``meta.source`` and tags that were not
    sent (``SUBSETTED`` and the like). In conditional mode the server chose the id and
    resolved the conditional references, so ids, reference strings and the loader's own
    identifier are left out of the comparison.
    """
    out = dict(res)
    meta = dict(out.pop("meta", None) or {})
    for key in IGNORED_META:
        meta.pop(key, None)
    tags = [t for t in meta.pop("tag", []) if t in (sent_tags or [])]
    if tags:
        meta["tag"] = tags
    if meta:
        out["meta"] = meta
    if conditional:
        out.pop("id", None)
        idents = out.get("identifier")
        if isinstance(idents, list):
            out["identifier"] = [i for i in idents if i.get("system") != identifier_system]
            if not out["identifier"]:
                out.pop("identifier")
        elif isinstance(idents, dict) and idents.get("system") == identifier_system:
            out.pop("identifier")
        out = _without_references(out)
    return out


def _without_references(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_references(v) for k, v in node.items() if k != "reference"}
    if isinstance(node, list):
        return [_without_references(v) for v in node]
    return node


def differences(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ (``Observation.code.coding[0].code``)."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        found: list[str] = []
        for key in sorted(set(sent) | set(stored)):
            sub = f"{path}.{key}" if path else key
            if key not in stored:
                found.append(f"{sub} (missing on the server)")
            elif key not in sent:
                found.append(f"{sub} (added by the server)")
            else:
                found.extend(differences(sent[key], stored[key], sub))
        return found
    if isinstance(sent, list) and isinstance(stored, list):
        if len(sent) != len(stored):
            return [f"{path} ({len(sent)} items sent, {len(stored)} stored)"]
        found = []
        for i, (a, b) in enumerate(zip(sent, stored, strict=True)):
            found.extend(differences(a, b, f"{path}[{i}]"))
        return found
    if _same_scalar(sent, stored):
        return []
    return [path or "(resource)"]


def _same_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)  # 1.0 and 1 are the same decimal in FHIR JSON
    return bool(a == b)


def compare(sent: dict[str, Any], stored: dict[str, Any], *, conditional: bool = False,
            identifier_system: str | None = None) -> list[str]:
    """Differing paths between a sent resource and the server's copy (empty: the same)."""
    tags = (sent.get("meta") or {}).get("tag")
    a = normalize(sent, conditional=conditional, identifier_system=identifier_system,
                  sent_tags=tags)
    b = normalize(stored, conditional=conditional, identifier_system=identifier_system,
                  sent_tags=tags)
    rtype = sent.get("resourceType", "")
    return [f"{rtype}.{p}" for p in differences(a, b)]
