"""FHIR Bulk Data ``$export`` over the one FHIR client: kick-off, status poll, file download.

The flow (https://hl7.org/fhir/uv/bulkdata/export.html):

1. **Kick-off:** ``GET [base]/$export`` (or ``Patient/$export``, ``Group/<id>/$export``) with
   ``Prefer: respond-async``; the server answers 202 with ``Content-Location``, the status URL.
2. **Status:** ``GET`` the status URL until it answers 200 with the manifest. While the export
   runs it answers 202 with ``X-Progress`` and, usually, ``Retry-After`` (seconds or an HTTP
   date), which is honoured; without one the poll backs off from 1 second up to the client's
   longest wait. A 4xx or 5xx other than throttling means the export failed.
3. **Files:** every ``output`` entry of the manifest is an NDJSON file, streamed to disk.

This module is the seam the Bulk extractor builds on; it reads no resources itself.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from migrate import files
from migrate.errors import LoadError, TransientLoadError
from migrate.http.retry import retry_after_seconds
from migrate.redact import redact_url

if TYPE_CHECKING:
    from migrate.http.client import FhirClient

log = logging.getLogger("migrate.http.bulk")
NDJSON = "application/fhir+ndjson"
POLL_RETRY = frozenset({408, 429, 502, 503, 504})
"""Throttling and gateway trouble while polling; a 500 with an OperationOutcome is a failure."""
MAX_REDIRECTS = 3
MIN_POLL = 1.0  # seconds between status polls at least (Retry-After: 0, a past date)


@dataclass(frozen=True)
class ExportFile:
    """One file of a manifest: its resource type, URL and (when the server says) line count."""

    type: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Manifest:
    """A completed export's manifest."""

    transaction_time: str
    request: str
    requires_access_token: bool
    output: tuple[ExportFile, ...]
    error: tuple[ExportFile, ...] = ()


def kick_off(client: FhirClient, level: str = "", resource_types: tuple[str, ...] = (),
             since: str | None = None) -> str:
    """Start an export; the status URL the server answers with."""
    params = {k: v for k, v in (("_type", ",".join(resource_types)), ("_since", since or ""),
                                ("_outputFormat", NDJSON)) if v}
    path = f"{level.strip('/')}/$export" if level else "$export"
    resp = client.get(path, params, headers={"Prefer": "respond-async"})
    where = redact_url(str(resp.request.url))
    status_url = resp.headers.get("Content-Location")
    if resp.status_code != 202 or not status_url:
        raise LoadError(f"{where} answered {resp.status_code} {_failure(resp)}, not 202 with a "
                        "Content-Location; the server did not start a Bulk Data export")
    return client.url(status_url)


def wait_for_manifest(client: FhirClient, status_url: str, timeout: float = 3600.0) -> Manifest:
    """Poll the status URL until the manifest comes (honouring ``Retry-After``).

    Raises:
        TransientLoadError: not complete within ``timeout`` seconds.
        LoadError: the export failed, or the answer is not a manifest.
    """
    deadline, polls = time.monotonic() + timeout, 0
    shown = redact_url(status_url)
    while True:
        resp = client.get(status_url, headers={"Accept": "application/json"},
                          retry_status=POLL_RETRY)
        if resp.status_code == 200:
            return read_manifest(client, resp)
        if resp.status_code != 202:
            raise LoadError(f"{shown} answered {resp.status_code} {_failure(resp)}: the export "
                            "failed")
        # the server's own words: printable ASCII only (no terminal escapes), and short
        progress = re.sub(r"[^\x20-\x7e]", "?", resp.headers.get("X-Progress", ""))[:80]
        hinted = retry_after_seconds(resp.headers.get("Retry-After"))
        wait = min(client.retry.max_wait,
                   max(MIN_POLL, hinted) if hinted is not None else 2.0 ** min(polls, 6))
        if time.monotonic() + wait > deadline:
            raise TransientLoadError(f"the export at {shown} was not complete after "
                                     f"{timeout:g} s (last progress: {progress!r}); "
                                     f"{client.advice}")
        log.info("export in progress (%s); next poll in %.1f s", progress or "?", wait)
        client.sleep(wait)
        polls += 1


def read_manifest(client: FhirClient, resp: httpx.Response) -> Manifest:
    """The manifest a 200 status answer carries; a :class:`LoadError` if it is none."""
    body = client.json(resp)
    outputs = body.get("output")
    if not isinstance(outputs, list) or not all(_is_file(f) for f in outputs):
        raise LoadError(f"{redact_url(str(resp.request.url))} answered 200 with JSON that is "
                        "not a Bulk Data manifest (no list of output files with type and url)")
    errors = body.get("error") if isinstance(body.get("error"), list) else []
    return Manifest(
        transaction_time=str(body.get("transactionTime", "")),
        request=str(body.get("request", "")),
        requires_access_token=body.get("requiresAccessToken") is not False,
        output=tuple(_file(f) for f in outputs),
        error=tuple(_file(f) for f in errors if _is_file(f)))


def download(client: FhirClient, url: str, dest: Path, *, credentials: bool = True) -> int:
    """Stream the file at ``url`` to ``dest`` (see :meth:`FhirClient.download`).

    A connection dropped mid-file starts the file again, within the client's retry budget.
    """
    for attempt in range(client.retry.max_retries + 1):
        try:
            return _download_once(client, url, dest, credentials)
        except httpx.TransportError as exc:
            if attempt == client.retry.max_retries:
                raise TransientLoadError(f"{redact_url(url)}: {type(exc).__name__} during the "
                                         f"download after {attempt + 1} attempts; "
                                         f"{client.advice}") from None
            client.count_retry()
            client.sleep(client.backoff.delay(attempt))
    raise AssertionError("unreachable")


def _download_once(client: FhirClient, url: str, dest: Path, credentials: bool) -> int:
    """One attempt; whatever stops it (a drop, a full disk) leaves no part of the file."""
    resp = _open_file(client, url, credentials)
    try:
        size = 0
        with files.open_partial(dest) as out, files.writing(dest):
            for chunk in resp.iter_bytes():
                out.write(chunk)
                size += len(chunk)
    except BaseException:
        files.discard(dest)
        raise
    finally:
        resp.close()
    files.commit(dest)
    return size


def _open_file(client: FhirClient, url: str, credentials: bool) -> httpx.Response:
    """The streamed 200 answer for a file, following at most a few redirects (credentials
    only ever go to the FHIR server's own origin)."""
    for _ in range(MAX_REDIRECTS + 1):
        resp = client.request("GET", url, headers={"Accept": NDJSON}, stream=True,
                              credentials=credentials)
        location = resp.headers.get("Location")
        if resp.status_code in (301, 302, 303, 307, 308) and location:
            resp.close()
            url = str(resp.request.url.join(location))
            continue
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if resp.status_code == 200 and "html" not in ctype:
            return resp
        resp.close()
        raise LoadError(f"{redact_url(url)} answered {resp.status_code} "
                        f"{ctype or 'no content type'}, not an NDJSON export file")
    raise LoadError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects")


def _is_file(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("type"), str) \
        and isinstance(item.get("url"), str)


def _file(item: dict[str, Any]) -> ExportFile:
    count = item.get("count")
    return ExportFile(item["type"], item["url"], count if isinstance(count, int) else None)


def _failure(resp: httpx.Response) -> str:
    """The content type of a refusal, and its OperationOutcome's issue codes (never its text:
    it may quote data)."""
    ctype = resp.headers.get("Content-Type", "no content type").split(";")[0].strip()
    try:
        body = orjson.loads(resp.read())
    except orjson.JSONDecodeError:
        return ctype
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ctype
    issues = body.get("issue")
    if not isinstance(issues, list):
        return ctype
    codes = sorted({str(i.get("code")) for i in issues if isinstance(i, dict)})
    return f"{ctype} (OperationOutcome: {', '.join(codes) or 'no issue code'})"
