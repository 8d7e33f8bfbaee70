"""Read what a FHIR server holds: counts, id lists, single resources (through the one FHIR
client, `migrate.http.client`: retries, TLS, auth, redaction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from migrate.http.client import RetryPolicy
from migrate.loaders.acks import read_answer
from migrate.loaders.entries import conditional_query
from migrate.loaders.fhir_server import FhirServerTarget, fhir_client, read_target_profile

PAGE_SIZE = 1000


class TargetReader:
    """Read access to the target with the loader's TLS, timeout and auth settings.

    In ``conditional`` mode the server chose the ids, so resources are known by the
    identifier the loader gave them (``identifier_system|our id``) instead.
    """

    def __init__(self, options: dict[str, Any], client: httpx.Client | None = None) -> None:
        opts = {k: v for k, v in options.items() if k != "type"}
        self.cfg: FhirServerTarget = read_target_profile(opts)
        self.url = self.cfg.url
        # Reads wait less between retries than writes: a shorter cap and longest wait.
        self.http = fhir_client(self.cfg, client, retry=RetryPolicy(
            max_retries=self.cfg.max_retries, cap=10.0, max_wait=60.0))
        self.by_identifier = self.cfg.mode == "conditional"

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET (a path under the base URL, or a full URL) with the client's retries."""
        return self.http.get(url, params)

    def _json(self, resp: httpx.Response) -> dict[str, Any]:
        return self.http.json(resp, "Bundle")

    def count(self, rtype: str) -> int:
        """``Type?_summary=count``."""
        return int(self._json(self.get(rtype, {"_summary": "count"}))["total"])

    def iter_keys(self, rtype: str) -> Iterator[str]:
        """Every id of a type (paged, ``_elements=id``), or our ids in conditional mode."""
        elements = "identifier" if self.by_identifier else "id"
        page = self._json(self.get(rtype, {"_elements": elements, "_count": str(PAGE_SIZE)}))
        while True:
            for entry in page.get("entry", []):
                if entry.get("search", {}).get("mode", "match") == "match":
                    yield self._key(entry["resource"])
            nxt = next((link["url"] for link in page.get("link", [])
                        if link.get("relation") == "next"), None)
            if nxt is None:
                return
            page = self._json(self.get(nxt))

    def _key(self, res: dict[str, Any]) -> str:
        if not self.by_identifier:
            return str(res["id"])
        idents = res.get("identifier") or []
        for ident in idents if isinstance(idents, list) else [idents]:
            if ident.get("system") == self.cfg.identifier_system:
                return str(ident.get("value"))
        return f"server-id:{res.get('id')}"  # not ours: an extra resource

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        """The stored resource with our id (None if missing or deleted)."""
        if self.by_identifier:
            query = conditional_query(rtype, rid, self.cfg.identifier_system)
            bundle = self._json(self.get(query))
            hits = [e["resource"] for e in bundle.get("entry", [])
                    if e.get("search", {}).get("mode", "match") == "match"]
            return hits[0] if hits else None
        return read_answer(self.get(f"{rtype}/{rid}"), rtype, rid, self.url)
