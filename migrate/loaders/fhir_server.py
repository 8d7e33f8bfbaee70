"""Send bundles to a FHIR R4 server: concurrent, paced, retried, refusals set aside.

Write modes (``mode:`` of the target profile):

* ``transaction`` (default): transaction bundles of ``PUT Type/id`` with our deterministic ids.
  Atomic per bundle on most servers; loading twice leaves one copy.
* ``batch``: batch bundles of the same entries; the server answers per entry, and only the
  entries it refused are set aside (entries answered 429/5xx are sent again).
* ``conditional``: for servers that refuse client-assigned ids. Each resource gets an
  identifier ``{system: identifier_system, value: <our id>}`` and is sent as
  ``PUT Type?identifier=system|id`` without its id; references ``Type/id`` become conditional
  references ``Type?identifier=system|id``, which the server resolves.

Bundles go out on ``concurrency`` threads, at most ``rate_limit`` requests per second. A bundle
whose references point at resources still in flight waits until those are acknowledged (the
pack's mapping dependencies, or else every change to a new resource type, mark the waves).
Every request goes through the one FHIR client (`migrate.http.client`): timeouts, dropped
connections, 429 and 5xx are retried with backoff and jitter, honouring ``Retry-After``, up to
``max_retries`` times per request; then the load stops with :class:`TransientLoadError` (a
re-run is safe). A transaction refused for its content (4xx) is
resent as a batch (``on_refusal: batch``, default) or split in halves (``bisect``) so that only
the refused entries become dead letters, with the server's OperationOutcome. A resource counts
as written only when the answer acknowledges it (`migrate.loaders.acks`); a 2xx answer that
does not (a login page, the wrong Bundle) makes its entries dead letters with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from migrate.errors import ConfigError, LoadError, Problem
from migrate.http.client import FhirClient, RetryPolicy
from migrate.http.retry import RETRY_STATUS
from migrate.loaders import acks
from migrate.loaders.auth import AuthConfig, BearerAuthConfig, TargetAuth, make_auth
from migrate.loaders.base import (
    DEFAULT_BUNDLE_SIZE,
    Loader,
    LoaderCapabilities,
    LoadSummary,
)
from migrate.loaders.deadletter import DeadLetter
from migrate.loaders.entries import Entry, conditional_entry, put_entry
from migrate.redact import redact_url

log = logging.getLogger("migrate.loaders.fhir_server")
FHIR_JSON = "application/fhir+json"
HEADERS = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"}


class FhirServerTarget(BaseModel):
    """The target profile of a FHIR server (``target:`` in the project file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["fhir-server"] = Field("fhir-server", description="The target kind.")
    url: str = Field(description="FHIR base URL, e.g. https://ehr.example.org/fhir.")
    mode: Literal["transaction", "batch", "conditional"] = Field(
        "transaction", description="How resources are written (see docs/loading.md).")
    bundle_size: int = Field(DEFAULT_BUNDLE_SIZE, ge=1, le=10_000,
                             description="Entries per bundle.")
    concurrency: int = Field(4, ge=1, le=64, description="Bundles in flight at once.")
    rate_limit: float | None = Field(None, gt=0, description="Most requests per second.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for one answer.")
    max_retries: int = Field(6, ge=0, le=30, description="Retries of one request (budget).")
    max_wait: float = Field(300.0, gt=0, description="Longest single backoff, in seconds.")
    on_refusal: Literal["batch", "bisect"] = Field(
        "batch", description="How a refused transaction is narrowed down to its bad entries.")
    identifier_system: str = Field("urn:emr-migrate:resource-id",
                                   description="Identifier system of conditional mode.")
    auth: AuthConfig | None = Field(None, description="How to authenticate (none by default).")
    token_env: str = Field("MIGRATE_FHIR_TOKEN",  # noqa: S105 - a variable name
                           description="Bearer token variable used when auth is not set.")
    verify: bool = Field(True, description="Verify TLS certificates (keep on).")
    ca_bundle: str | None = Field(None, description="PEM file of CAs to trust instead.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def read_target_profile(options: dict[str, Any]) -> FhirServerTarget:
    """Check a fhir-server target profile, reporting every problem at once."""
    from migrate.mappers.spec import parse_model

    cfg, problems = parse_model(FhirServerTarget, {"type": "fhir-server", **options}, "target")
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"the fhir-server target has {len(problems)} problem(s):\n{lines}")
    return cfg  # type: ignore[no-any-return]


def open_client(cfg: FhirServerTarget, client: httpx.Client | None = None
                ) -> tuple[httpx.Client, TargetAuth | None]:
    """An HTTP client with the profile's TLS settings and timeouts, and its auth flow."""
    if client is None:
        verify: Any = cfg.verify
        if cfg.ca_bundle:
            import ssl

            try:
                verify = ssl.create_default_context(cafile=cfg.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"target ca_bundle {cfg.ca_bundle!r} is not a readable PEM "
                                  f"file of CA certificates ({type(exc).__name__})") from None
        client = httpx.Client(
            timeout=httpx.Timeout(cfg.timeout, connect=min(10.0, cfg.timeout)),
            verify=verify, limits=httpx.Limits(max_connections=cfg.concurrency + 2))
    auth_cfg = cfg.auth
    if auth_cfg is None and cfg.token_env in os.environ:
        auth_cfg = BearerAuthConfig(type="bearer", token_env=cfg.token_env)
    return client, make_auth(auth_cfg, client, cfg.url)


def fhir_client(cfg: FhirServerTarget, client: httpx.Client | None = None, *,
                retry: RetryPolicy | None = None, **options: Any) -> FhirClient:
    """The one FHIR client (`migrate.http.client`) with the profile's TLS settings, timeouts,
    auth and retry budget; ``options`` are further :class:`FhirClient` arguments."""
    http, auth = open_client(cfg, client)
    retry = retry or RetryPolicy(max_retries=cfg.max_retries, max_wait=cfg.max_wait)
    return FhirClient(cfg.url, http, auth=auth, retry=retry, **options)


class FhirServerLoader(Loader):
    """Writes to a FHIR server's base URL as the target profile says.

    Args:
        url: the FHIR base URL.
        client: an ``httpx.Client`` to use (tests pass one with a ``MockTransport``).
        **options: the other keys of :class:`FhirServerTarget`.
    """

    name = "fhir-server"
    Options = FhirServerTarget
    text_forms = ('an http(s):// FHIR base URL',)
    text_rank = 30
    capabilities = LoaderCapabilities(traces_sources=True)

    def __init__(self, url: str, client: httpx.Client | None = None, **options: Any) -> None:
        self.cfg = read_target_profile({"url": url, **options})
        self.url = self.cfg.url
        super().__init__()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.http = fhir_client(self.cfg, client, rate_limit=self.cfg.rate_limit,
                                stop=self._stop, headers=HEADERS, on_count=self._count,
                                advice="try again later (loading again is safe)")
        self.client, self.auth = self.http.http, self.http.auth  # its transport and auth flow
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: set[Future[None]] = set()
        self._error: BaseException | None = None
        self._entries: list[Entry] = []
        self._depends: dict[str, set[str]] | None = None
        self._since_barrier: set[str] = set()
        # Told of every resource the server positively acknowledged (a replay keeps the rest).
        self.on_acknowledged: Callable[[list[dict[str, Any]]], None] | None = None

    def __repr__(self) -> str:
        shown = redact_url(self.url)
        return f"FhirServerLoader({shown!r}, mode={self.cfg.mode!r}, auth={self.auth!r})"

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """An ``http(s)://`` FHIR base URL (the trailing slash dropped)."""
        return {"url": text.rstrip("/")} if text.startswith(("http://", "https://")) else None

    def describe(self) -> str:
        """The base URL, credentials masked (a password or a token in its query)."""
        return redact_url(self.url)

    def open(self) -> None:
        """Check that the server answers as a FHIR server before sending anything.

        429 and 5xx answers and timeouts are retried with the target's backoff; a refused
        connection or a TLS failure is reported at once.
        """
        try:
            resp = self.http.get("metadata", counted=False, retry_connect=False)
        except httpx.HTTPError as exc:  # a refused connection, a redirect loop
            raise LoadError(f"cannot reach FHIR server {redact_url(self.url)}: "
                            f"{type(exc).__name__}") from exc
        acks.check_capability_statement(resp, self.url)

    # ------------------------------------------------------------------ feeding

    def plan_order(self, depends: Any) -> None:
        """Use the pack's mapping dependencies to place the barriers between waves."""
        self._depends = {k: set(v) for k, v in depends.items()}

    def _send(self, resources: list[dict[str, Any]]) -> None:
        self._send_traced(resources, [None] * len(resources))

    def _send_traced(self, resources: list[dict[str, Any]],
                     sources: list[dict[str, Any] | None]) -> None:
        self._raise_if_failed()
        for res, src in zip(resources, sources, strict=True):
            self._order(res, src)
            entry = self._entry(res, src)
            if entry is None:
                continue
            self._entries.append(entry)
            if len(self._entries) >= self.cfg.bundle_size:
                self._flush()

    def _order(self, res: dict[str, Any], src: dict[str, Any] | None) -> None:
        """Wait for acknowledgements when this resource may refer to one still in flight."""
        since = self._since_barrier
        mapping = src.get("mapping") if src else None
        if self._depends is not None and mapping is not None:
            key = f"m:{mapping}"
            must_wait = any(f"m:{dep}" in since for dep in self._depends.get(mapping, ()))
        else:  # no dependency information: every new resource type starts a wave
            key = f"t:{res.get('resourceType')}"
            must_wait = key not in since and bool(since)
        if must_wait:
            self.barrier()
        since.add(key)

    def _entry(self, res: dict[str, Any], src: dict[str, Any] | None) -> Entry | None:
        entry = Entry(res, src)
        try:
            if self.cfg.mode == "conditional":
                entry.request = conditional_entry(res, self.cfg.identifier_system)
            else:
                entry.request = put_entry(res, self.url)
        except ValueError as exc:
            self._dead(entry, None, acks.outcome_of(str(exc), "required"))
            return None
        return entry

    def _flush(self) -> None:
        entries, self._entries = self._entries, []
        if not entries:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.cfg.concurrency, thread_name_prefix="fhir-load")
        while len(self._inflight) >= 2 * self.cfg.concurrency:  # bounded memory
            self._reap(wait(self._inflight, return_when=FIRST_COMPLETED).done)
        self._raise_if_failed()
        self._inflight.add(self._pool.submit(self._deliver, entries))

    def barrier(self) -> None:
        """Send the partial bundle and wait until every bundle sent so far is answered."""
        self._flush()
        if self._inflight:
            self._reap(wait(self._inflight).done)
        self._since_barrier.clear()
        self._raise_if_failed()

    def _reap(self, done: set[Future[None]]) -> None:
        for fut in done:
            self._inflight.discard(fut)
            if fut.cancelled():  # dropped after an earlier failure
                continue
            exc = fut.exception()
            if exc is not None and self._error is None:
                self._error = exc
                self._stop.set()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            if self._pool is not None:  # the run stops: drop queued bundles
                self._pool.shutdown(wait=False, cancel_futures=True)
            raise self._error

    def close(self) -> LoadSummary:
        """Send the last bundle, wait for every answer, and return the summary."""
        try:
            self.barrier()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self.http.close()
        return super().close()

    # ------------------------------------------------------------------ sending (threads)

    def _deliver(self, entries: list[Entry]) -> None:
        if self.cfg.mode == "batch":
            self._deliver_batch(entries)
        else:
            self._deliver_transaction(entries)

    def _deliver_transaction(self, entries: list[Entry]) -> None:
        resp = self._post("transaction", entries)
        if resp.status_code < 300:
            answer = acks.read_bundle_answer(resp, "transaction", len(entries), self.url)
            if answer.problem is None:
                self._written(entries)
            else:
                self._unacknowledged(entries, answer)
        elif len(entries) == 1:
            self._dead(entries[0], resp.status_code, _outcome(resp))
        elif self.cfg.on_refusal == "batch" and resp.status_code != 413:
            self._deliver_batch(entries)
        else:
            self._split(entries, self._deliver_transaction)

    def _deliver_batch(self, entries: list[Entry]) -> None:
        pending = entries
        for attempt in range(self.cfg.max_retries + 1):
            resp = self._post("batch", pending)
            if resp.status_code >= 300:  # the bundle as a whole was refused
                if len(pending) == 1:
                    self._dead(pending[0], resp.status_code, _outcome(resp))
                else:
                    self._split(pending, self._deliver_batch)
                return
            answer = acks.read_bundle_answer(resp, "batch", len(pending), self.url)
            if answer.problem is not None:
                self._unacknowledged(pending, answer)
                return
            again = []
            for entry, result in zip(pending, answer.entries, strict=True):
                if result.ok:
                    self._written([entry])
                elif result.status in RETRY_STATUS and attempt < self.cfg.max_retries:
                    again.append(entry)
                else:
                    self._dead(entry, result.status, result.outcome)
            if not again:
                return
            pending = again
            self.http.count_retry()
            self.http.sleep(self.http.backoff.delay(attempt))

    def _split(self, entries: list[Entry], send: Any) -> None:
        mid = len(entries) // 2
        send(entries[:mid])
        send(entries[mid:])

    def _post(self, kind: str, entries: list[Entry]) -> httpx.Response:
        body = orjson.dumps({"resourceType": "Bundle", "type": kind,
                             "entry": [e.request for e in entries]})

        def before() -> None:  # every attempt counts for the entries' dead letters
            for e in entries:
                e.attempts += 1

        return self.http.request("POST", self.url, content=body, before=before)

    # ------------------------------------------------------------------ results

    def _count(self, requests: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.summary.requests += requests
            self.summary.retries += retries

    def _written(self, entries: list[Entry]) -> None:
        with self._lock:
            for e in entries:
                self.summary.written[e.resource["resourceType"]] += 1
            if self.on_acknowledged is not None:
                self.on_acknowledged([e.resource for e in entries])

    def _unacknowledged(self, entries: list[Entry], answer: acks.BundleAnswer) -> None:
        """A 2xx answer that acknowledges nothing: every entry is a dead letter with why."""
        log.warning("%d resources not written: %s", len(entries), answer.problem)
        with self._lock:
            self.summary.not_acknowledged[answer.problem or ""] += len(entries)
        for entry in entries:  # one warning for the bundle, not one per resource
            self._dead(entry, answer.http_status, answer.outcome(), quiet=True)

    def _dead(self, entry: Entry, status: int | None, outcome: Any, quiet: bool = False) -> None:
        from migrate.loaders.base import LoadFailure

        res = entry.resource
        with self._lock:
            self.summary.failures.append(LoadFailure(
                res.get("resourceType", "?"), str(res.get("id")), status, outcome))
        if not quiet:
            log.warning("%s/%s refused (%s)", res.get("resourceType"), res.get("id"), status)
        if self.dead_letters is not None:
            self.dead_letters.write(DeadLetter(res, status, outcome, entry.source,
                                               entry.attempts))


def _outcome(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return acks.outcome_of(resp.text[:500], "exception")


def target_problems(node: Any, file: str, where: str) -> list[Problem]:
    """Problems of a ``type: fhir-server`` target node of a project file (else none)."""
    from migrate.mappers.spec import parse_model

    if not isinstance(node, dict) or node.get("type") != "fhir-server":
        return []
    _, problems = parse_model(FhirServerTarget, node, file)
    return [Problem(p.file, p.line, f"{where}.{p.where}" if p.where else where, p.message)
            for p in problems]
