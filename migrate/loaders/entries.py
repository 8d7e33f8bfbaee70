"""Bundle entries for the FHIR server loader (their answers are read by `migrate.loaders.acks`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from migrate.loaders.acks import entry_status  # noqa: F401 - its home was here

_LOCAL_REF = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
SINGLE_IDENTIFIER = frozenset({"Bundle", "Composition", "QuestionnaireResponse"})
"""R4 types whose ``identifier`` holds one Identifier, not a list."""


@dataclass
class Entry:
    """One resource on its way to the server, with where it came from."""

    resource: dict[str, Any]
    source: dict[str, Any] | None
    request: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


def put_entry(res: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``PUT Type/id`` with our id (transaction and batch modes)."""
    rtype, rid = res.get("resourceType"), res.get("id")
    if not rtype or not rid:
        raise ValueError("the resource has no resourceType or no id; the loader cannot PUT it")
    return {"fullUrl": f"{base_url}/{rtype}/{rid}", "resource": res,
            "request": {"method": "PUT", "url": f"{rtype}/{rid}"}}


def conditional_query(rtype: str, rid: str, system: str) -> str:
    """``Type?identifier=system|id``, escaped for a URL."""
    return f"{rtype}?identifier={quote(system, safe=':/')}|{quote(rid, safe='')}"


def conditional_entry(res: dict[str, Any], system: str) -> dict[str, Any]:
    """``PUT Type?identifier=system|id`` without the id; references made conditional too."""
    rtype, rid = res.get("resourceType"), res.get("id")
    if not rtype or not rid:
        raise ValueError("the resource has no resourceType or no id; conditional mode needs "
                         "the id to make its identifier")
    ours = {"system": system, "value": rid}
    body = {k: _conditional_refs(v, system) for k, v in res.items() if k != "id"}
    current = body.get("identifier")
    if rtype in SINGLE_IDENTIFIER:
        if current not in (None, ours):
            raise ValueError(f"{rtype}.identifier holds one identifier and it is taken; "
                             "conditional mode cannot add its own")
        body["identifier"] = ours
    else:
        others = [i for i in current or [] if i.get("system") != system]
        body["identifier"] = [*others, ours]
    return {"resource": body,
            "request": {"method": "PUT", "url": conditional_query(rtype, rid, system)}}


def _conditional_refs(node: Any, system: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "reference" and isinstance(v, str) and (m := _LOCAL_REF.match(v)):
                out[k] = conditional_query(m.group(1), m.group(2), system)
            else:
                out[k] = _conditional_refs(v, system)
        return out
    if isinstance(node, list):
        return [_conditional_refs(v, system) for v in node]
    return node
