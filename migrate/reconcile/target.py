"""Read what a FHIR server holds: counts, id lists, single resources (with retries)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from migrate.errors import LoadError
from migrate.loaders.entries import conditional_query
from migrate.loaders.fhir_server import (
    FhirServerTarget,
    auth_arg,
    open_client,
    read_target_profile,
)
from migrate.loaders.retry import RETRY_STATUS, Backoff, raise_if_tls

PAGE_SIZE = 1000
ACCEPT = {"Accept": "application/fhir+json"}


class TargetReader:
    """Read access to the target with the loader's TLS, timeout and auth settings.

    In ``conditional`` mode the server chose the ids, so resources are known by the
    identifier the loader gave them (``identifier_system|our id``) instead.
    """

    def __init__(self, options: dict[str, Any], client: httpx.Client | None = None) -> None:
        opts = {k: v for k, v in options.items() if k != "type"}
        self.cfg: FhirServerTarget = read_target_profile(opts)
        self.url = self.cfg.url
        self.client, self.auth = open_client(self.cfg, client)
        self.by_identifier = self.cfg.mode == "conditional"
        self._backoff = Backoff(base=0.5, cap=10.0, max_wait=60.0)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET with retries on timeouts, dropped connections, 429 and 5xx."""
        full = url if url.startswith("http") else f"{self.url}/{url}"
        for attempt in range(self.cfg.max_retries + 1):
            try:
                resp = self.client.get(full, params=params, headers=ACCEPT,
                                       auth=auth_arg(self.auth))
            except httpx.TransportError as exc:
                raise_if_tls(exc, self.url)
                problem, after = type(exc).__name__, None
            else:
                if resp.status_code not in RETRY_STATUS:
                    return resp
                problem, after = f"HTTP {resp.status_code}", resp.headers.get("Retry-After")
            if attempt == self.cfg.max_retries:
                raise LoadError(f"reading {full} failed after {attempt + 1} attempts: {problem}")
            time.sleep(self._backoff.delay(attempt, after))
        raise AssertionError("unreachable")

    def _json(self, resp: httpx.Response) -> dict[str, Any]:
        if resp.status_code != 200:
            raise LoadError(f"{resp.request.url} answered {resp.status_code}; cannot reconcile")
        result: dict[str, Any] = resp.json()
        return result

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
        resp = self.get(f"{rtype}/{rid}")
        if resp.status_code in (404, 410):
            return None
        return self._json(resp)
