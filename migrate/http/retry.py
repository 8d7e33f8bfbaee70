"""Pacing for the FHIR HTTP client: a shared request-rate limit and backoff with jitter.

Both are thread-safe and both sleep on a :class:`threading.Event`, so a loader that is stopping
(another bundle failed for good) wakes its senders at once instead of waiting out a backoff.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from email.utils import parsedate_to_datetime

from migrate.errors import LoadError
from migrate.redact import redact_url

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth sending again: timeouts, throttling and server trouble."""


class RateLimiter:
    """At most ``rate`` requests per second over all threads (None: no limit).

    Requests are spaced evenly (a token bucket of depth one): with ``rate=50`` a request may
    start every 20 ms.
    """

    def __init__(self, rate: float | None, stop: threading.Event | None = None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._stop = stop or threading.Event()

    def acquire(self) -> None:
        """Block until this thread may send its next request."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._stop.wait(start - now)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (delay in seconds, or an HTTP date) as seconds from now; None
    for no header and for one that is no delay (negative, NaN: the caller's backoff applies,
    a status poll must not turn into a tight loop)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None  # NaN compares False
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class Backoff:
    """Exponential backoff with jitter that honours ``Retry-After``.

    The n-th retry (n from 0) waits a random time between half and all of
    ``min(cap, base * 2**n)``, or the server's ``Retry-After`` if that is longer; no single
    wait is longer than ``max_wait`` seconds.
    """

    def __init__(self, base: float = 0.5, cap: float = 30.0, max_wait: float = 300.0) -> None:
        self.base, self.cap, self.max_wait = base, cap, max_wait
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt``."""
        ceiling = min(self.cap, self.base * 2 ** attempt)
        wait = self._rng.uniform(ceiling / 2, ceiling)
        hinted = retry_after_seconds(retry_after)
        if hinted is not None:
            wait = max(wait, hinted)
        return min(wait, self.max_wait)


def tls_problem(exc: BaseException) -> str | None:
    """Why TLS failed, when ``exc`` or an error that caused it is a TLS error; else None."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx -> httpcore -> ssl; bounded in case of a cycle
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            reason = seen.verify_message or seen.reason or "certificate verify failed"
            return f"the server's TLS certificate could not be verified: {reason}"
        if isinstance(seen, ssl.SSLError):
            return f"the TLS handshake with the server failed: {seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    return None


def raise_if_tls(exc: BaseException, url: str) -> None:
    """Raise a :class:`LoadError` saying what is wrong with TLS (not worth retrying).

    The TLS error stays the cause, so ``--debug`` shows it.
    """
    problem = tls_problem(exc)
    if problem:
        raise LoadError(f"{redact_url(url)}: {problem}; set ca_bundle in the target profile "
                        "(a PEM file of the CA that signed it) or fix the certificate") from exc
