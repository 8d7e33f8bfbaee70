"""The one FHIR HTTP client: load, sync, reconcile and Bulk ``$export`` all talk through it.

It wraps an ``httpx.Client`` (the transport seam: tests pass one with a ``MockTransport``) and
adds what every caller of a FHIR server needs, once:

* **Retries** of timeouts, dropped connections, 429 and 5xx with exponential backoff and
  jitter, honouring ``Retry-After`` (seconds or an HTTP date), up to a budget
  (:class:`RetryPolicy`); past it a :class:`~migrate.errors.TransientLoadError`.
* **Pacing:** at most ``rate_limit`` requests per second over all threads.
* **A stop event:** once set, nothing more is sent and every wait ends at once.
* **Authentication as a transport layer:** an ``httpx.Auth`` flow (`migrate.loaders.auth`),
  sent only to the base URL's origin. A link, status URL or file URL on another host is fetched
  without credentials, and redirects are never followed by httpx (:meth:`FhirClient.download`
  follows a few itself, with credentials only on the same origin).
* **Plain failures:** TLS problems explained and not retried; 401/403 stop at once; every URL
  in a message passes `migrate.redact`.
* **Counts** of requests, retries and seconds spent in round trips (:class:`HttpStats`).
* **JSON-body checks** (:meth:`FhirClient.json`): a 200 HTML page is not an answer. Whether a
  write was acknowledged stays the business of `migrate.loaders.acks`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from migrate.errors import LoadError, TransientLoadError
from migrate.http import bulk
from migrate.http.retry import RETRY_STATUS, Backoff, RateLimiter, raise_if_tls
from migrate.redact import redact_url

log = logging.getLogger("migrate.http")
FHIR_JSON = "application/fhir+json"
DEFAULT_HEADERS = {"Accept": FHIR_JSON}
CREDENTIALS_REFUSED = "the server refused our credentials; check the target's auth settings"


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long, one request is retried.

    The n-th retry (n from 0) waits between half and all of ``min(cap, base * 2**n)`` seconds,
    or the server's ``Retry-After`` when longer; no single wait exceeds ``max_wait``.
    """

    max_retries: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_wait: float = 300.0


@dataclass
class HttpStats:
    """What a client has done: requests sent (attempts), retries, seconds in round trips."""

    requests: int = 0
    retries: int = 0
    seconds: float = 0.0


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Same scheme, host and port: the only place our credentials may go."""
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class FhirClient:
    """Requests to one FHIR server, retried, paced, authenticated and counted.

    Args:
        base_url: the FHIR base URL (relative paths are resolved against it).
        http: the ``httpx.Client`` to send with (its timeouts and TLS settings apply).
        auth: an ``httpx.Auth`` flow, used only for URLs of the base URL's origin.
        retry: the retry budget and backoff.
        rate_limit: most requests per second over all threads (None: no limit).
        stop: an event that, once set, stops every sender (a shared one stops many clients).
        headers: headers of every request (default ``Accept: application/fhir+json``).
        advice: what a budget-exhausted message tells the user to do.
        on_count: told ``(requests, retries)`` as they happen (a loader's summary).
    """

    def __init__(self, base_url: str, http: httpx.Client | None = None, *,
                 auth: httpx.Auth | None = None, retry: RetryPolicy | None = None,
                 rate_limit: float | None = None, stop: threading.Event | None = None,
                 headers: Mapping[str, str] | None = None, advice: str = "try again later",
                 on_count: Callable[[int, int], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http if http is not None else httpx.Client(timeout=60.0)
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.stop = stop or threading.Event()
        self.limiter = RateLimiter(rate_limit, self.stop)
        self.backoff = Backoff(self.retry.base, self.retry.cap, self.retry.max_wait)
        self.headers = dict(DEFAULT_HEADERS if headers is None else headers)
        self.advice = advice
        self.on_count = on_count
        self.stats = HttpStats()
        self._origin = httpx.URL(self.base_url)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FhirClient({redact_url(self.base_url)!r}, auth={self.auth!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

    def url(self, path: str) -> str:
        """``path`` as an absolute URL: itself when absolute, else under the base URL."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the stop event is set (tests replace this)."""
        self.stop.wait(seconds)

    # ------------------------------------------------------------------ sending

    def request(self, method: str, url: str = "", *, content: bytes | None = None,
                params: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None,
                before: Callable[[], None] | None = None, counted: bool = True,
                retry_connect: bool = True, stream: bool = False, credentials: bool = True,
                retry_status: frozenset[int] = RETRY_STATUS) -> httpx.Response:
        """Send until answered, retrying dropped connections and ``retry_status`` answers.

        ``before`` runs before each attempt (after pacing); ``counted=False`` leaves the
        request out of the request count (retries are always counted). A refused connection
        is reported at once (the httpx error is raised) when ``retry_connect`` is False. With
        ``stream`` the body is not read: close the response. ``credentials=False`` sends the
        request without our auth flow even to the server's own origin.

        Raises:
            TransientLoadError: the retry budget is spent.
            LoadError: stopped, credentials refused (401/403), or TLS failed.
        """
        full = self.url(url)
        for attempt in range(self.retry.max_retries + 1):
            self._before_attempt(before, counted)
            req = self.http.build_request(method, full, content=content, params=params,
                                          headers={**self.headers, **(headers or {})})
            answer = self._attempt(req, stream=stream, retry_connect=retry_connect,
                                   credentials=credentials)
            if isinstance(answer, httpx.Response):
                if answer.status_code not in retry_status:
                    return answer
                problem = f" answered {answer.status_code}"
                retry_after = answer.headers.get("Retry-After")
                answer.close()
            else:
                problem, retry_after = f": {answer}", None
            shown = redact_url(str(req.url))
            if attempt == self.retry.max_retries:
                raise TransientLoadError(f"{shown}{problem} after {attempt + 1} attempts; "
                                         f"{self.advice}")
            self._count(retries=1)
            log.info("%s%s; retry %d of %d", shown, problem, attempt + 1, self.retry.max_retries)
            self.sleep(self.backoff.delay(attempt, retry_after))
        raise AssertionError("unreachable")

    def get(self, url: str = "", params: Mapping[str, str] | None = None,
            **kw: Any) -> httpx.Response:
        """``GET`` with retries (see :meth:`request`)."""
        return self.request("GET", url, params=params, **kw)

    def post(self, url: str, content: bytes, **kw: Any) -> httpx.Response:
        """``POST`` of a FHIR JSON body with retries (see :meth:`request`)."""
        headers = {"Content-Type": FHIR_JSON, **kw.pop("headers", {})}
        return self.request("POST", url, content=content, headers=headers, **kw)

    def _before_attempt(self, before: Callable[[], None] | None, counted: bool) -> None:
        if self.stop.is_set():
            raise LoadError("stopped: another request to the server failed")
        self.limiter.acquire()
        if before is not None:
            before()
        if counted:
            self._count(requests=1)

    def _attempt(self, req: httpx.Request, *, stream: bool, retry_connect: bool,
                 credentials: bool) -> httpx.Response | str:
        """One exchange: the response, or the name of the transport error worth a retry."""
        auth = self._auth_for(req.url) if credentials else None
        t0 = time.perf_counter()
        try:
            resp = self.http.send(req, auth=auth, stream=stream, follow_redirects=False)
        except httpx.TransportError as exc:
            raise_if_tls(exc, self.base_url)
            if not retry_connect and isinstance(exc, httpx.ConnectError):
                raise
            return type(exc).__name__
        finally:
            with self._lock:
                self.stats.seconds += time.perf_counter() - t0
        if resp.status_code in (401, 403):
            resp.close()
            raise LoadError(f"{redact_url(str(req.url))} answered {resp.status_code}: "
                            f"{CREDENTIALS_REFUSED}")
        return resp

    def _auth_for(self, url: httpx.URL) -> httpx.Auth | httpx._client.UseClientDefault | None:
        """Our credentials for the base URL's origin; none for any other host."""
        if not same_origin(url, self._origin):
            return None
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    def _count(self, requests: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.retries += retries
        if self.on_count is not None:
            self.on_count(requests, retries)

    def count_retry(self) -> None:
        """Count a retry the caller made itself (a batch's throttled entries sent again)."""
        self._count(retries=1)

    # ------------------------------------------------------------------ answers

    def json(self, resp: httpx.Response, resource_type: str | None = None) -> dict[str, Any]:
        """The JSON object a 200 answer carries (a FHIR ``resource_type`` when given).

        Anything else (another status, an HTML login page, JSON of another kind) is a
        :class:`LoadError` naming the URL, the status and the content type, never the body.
        """
        try:
            body = orjson.loads(resp.content) if resp.status_code == 200 else None
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict) and resource_type in (None, body.get("resourceType")):
            return body
        ctype = resp.headers.get("Content-Type", "no content type").split(";")[0].strip()
        what = f"a FHIR {resource_type}" if resource_type else "a JSON object"
        raise LoadError(f"{redact_url(str(resp.request.url))} answered {resp.status_code} "
                        f"{ctype}, not {what}; the target is not answering as a FHIR server")

    # ------------------------------------------------------------------ Bulk Data

    def bulk_export(self, resource_types: tuple[str, ...] = (), *, level: str = "",
                    since: str | None = None, timeout: float = 3600.0) -> bulk.Manifest:
        """Run a FHIR Bulk Data ``$export`` and return its manifest (see `migrate.http.bulk`).

        Args:
            resource_types: ``_type`` (all types the server exports when empty).
            level: ``""`` (system), ``"Patient"`` or ``"Group/<id>"``.
            since: ``_since`` (a FHIR instant).
            timeout: seconds to wait for the export to complete.
        """
        status_url = bulk.kick_off(self, level, resource_types, since)
        return bulk.wait_for_manifest(self, status_url, timeout)

    def download(self, url: str, dest: Path, *, credentials: bool = True) -> int:
        """Stream an export file to ``dest`` (written 0600 under a temporary name, renamed
        when complete); the number of bytes. ``credentials=False`` (a manifest saying
        ``requiresAccessToken: false``) sends no credentials at all."""
        return bulk.download(self, url, dest, credentials=credentials)
