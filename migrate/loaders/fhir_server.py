"""Post transaction bundles of ``PUT Type/id`` to a FHIR R4 server.

PUT with deterministic ids makes loads idempotent: loading the same data twice leaves one copy.
Transient failures (timeouts, dropped connections, 429, 5xx) are retried with exponential
backoff and jitter, honouring ``Retry-After``. A bundle the server refuses for its content is
split in halves until only the refused entries are left; those are recorded as failures with
the server's OperationOutcome.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import httpx
import orjson

from migrate.errors import LoadError, TransientLoadError
from migrate.loaders.base import (
    DEFAULT_BUNDLE_SIZE,
    LOADERS,
    Loader,
    LoadFailure,
    LoadSummary,
    transaction_entry,
)

RETRY_STATUS = {408, 429, 500, 502, 503, 504}
FHIR_JSON = "application/fhir+json"


@LOADERS.register("fhir-server")
class FhirServerLoader(Loader):
    """A FHIR server's base URL. TLS is verified unless ``verify`` is false (not advised).

    The bearer token, if any, is read from the environment variable named by ``token_env``
    (``MIGRATE_FHIR_TOKEN`` by default), never from a file, and never logged.
    """

    name = "fhir-server"

    def __init__(self, url: str, bundle_size: int = DEFAULT_BUNDLE_SIZE, timeout: float = 60.0,
                 verify: bool = True, ca_bundle: str | None = None,
                 token_env: str = "MIGRATE_FHIR_TOKEN",  # noqa: S107 - a variable name
                 max_retries: int = 6,
                 client: httpx.Client | None = None) -> None:
        self.url, self.bundle_size, self.max_retries = url.rstrip("/"), bundle_size, max_retries
        super().__init__()
        self.headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON,
                        "Prefer": "return=minimal"}
        if token := os.environ.get(token_env):
            self.headers["Authorization"] = f"Bearer {token}"
        self.client = client or httpx.Client(timeout=timeout, verify=ca_bundle or verify)
        self._entries: list[dict[str, Any]] = []

    def describe(self) -> str:
        """The base URL."""
        return self.url

    def open(self) -> None:
        """Check that the server answers as a FHIR server before sending anything."""
        try:
            resp = self.client.get(f"{self.url}/metadata", headers=self.headers)
        except httpx.HTTPError as exc:
            raise LoadError(f"cannot reach FHIR server {self.url}: {type(exc).__name__}") from None
        if resp.status_code != 200 or b"CapabilityStatement" not in resp.content[:4096]:
            raise LoadError(f"{self.url}/metadata answered {resp.status_code}, not a FHIR "
                            "CapabilityStatement; check the base URL")

    def _send(self, resources: list[dict[str, Any]]) -> None:
        for res in resources:
            self._entries.append(
                transaction_entry(res, f"{self.url}/{res['resourceType']}/{res['id']}"))
            if len(self._entries) >= self.bundle_size:
                self._flush()

    def _flush(self) -> None:
        entries, self._entries = self._entries, []
        if entries:
            self._send_entries(entries)

    def _send_entries(self, entries: list[dict[str, Any]]) -> None:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        resp = self._post(bundle)
        if resp.status_code < 300:
            for e in entries:
                self.summary.written[e["resource"]["resourceType"]] += 1
        elif len(entries) > 1:
            mid = len(entries) // 2
            self._send_entries(entries[:mid])
            self._send_entries(entries[mid:])
        else:
            res = entries[0]["resource"]
            self.summary.failures.append(LoadFailure(
                res["resourceType"], res["id"], resp.status_code, _outcome(resp)))

    def _post(self, bundle: dict[str, Any]) -> httpx.Response:
        body = orjson.dumps(bundle)
        for attempt in range(self.max_retries + 1):
            self.summary.requests += 1
            try:
                resp = self.client.post(self.url, content=body, headers=self.headers)
            except httpx.TransportError as exc:
                if attempt == self.max_retries:
                    raise TransientLoadError(f"{self.url}: {type(exc).__name__} after "
                                             f"{attempt + 1} attempts") from None
                self.summary.retries += 1
                self._wait(attempt, None)
                continue
            if resp.status_code not in RETRY_STATUS:
                return resp
            if attempt == self.max_retries:
                raise TransientLoadError(f"{self.url} answered {resp.status_code} after "
                                         f"{attempt + 1} attempts; try again later")
            self.summary.retries += 1
            self._wait(attempt, resp.headers.get("Retry-After"))
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay)

    def close(self) -> LoadSummary:
        """Send the last, partly filled bundle."""
        self._flush()
        self.client.close()
        return super().close()


def _outcome(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return {"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "exception", "diagnostics": resp.text[:500]}]}
