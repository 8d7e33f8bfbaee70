"""A fault-injecting HTTP proxy for loader tests: 429, 503, dropped connections, slow replies.

Runs a threaded ``http.server`` on 127.0.0.1 in front of a real server (sekmet-fhir). Faults
are drawn from a seeded random generator, so a run is repeatable for a given request order::

    with FaultProxy(sekmet.base_url, Faults(rate_429=0.1, rate_drop=0.05, seed=7)) as proxy:
        load_into(proxy.base_url)
    proxy.injected  # Counter({'429': 6, 'drop': 3, ...})

Injection is bounded (``max_faults`` and ``window`` seconds after start) and the proxy shuts
itself down after ``lifetime`` seconds, so a forgotten proxy never outlives the test run. Every
``Authorization`` header it sees is recorded in ``authorizations``. URLs of the upstream in
response bodies (paging links) are rewritten to point at the proxy.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive",
        "content-encoding", "accept-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class Faults:
    """Rates (0..1, per request) of each fault; checked in this order, at most one per request.

    ``drop`` closes the socket before forwarding; ``drop_after`` forwards (the server does the
    work) and then closes the socket without answering, which tests idempotent retries.
    """

    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_drop_after: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after: str = "1"
    seed: int = 1
    max_faults: int = 1_000_000
    window: float = 3600.0
    lifetime: float = 900.0
    methods: frozenset[str] = frozenset({"POST", "PUT"})

    def pick(self, rng: random.Random) -> str | None:
        """The fault for one request, or None."""
        x = rng.random()
        for kind, rate in (("429", self.rate_429), ("503", self.rate_503),
                           ("drop", self.rate_drop), ("drop_after", self.rate_drop_after),
                           ("slow", self.rate_slow)):
            if x < rate:
                return kind
            x -= rate
        return None


class FaultProxy:
    """The proxy; ``base_url`` is the upstream's FHIR base with the proxy's host and port."""

    def __init__(self, upstream_base: str, faults: Faults | None = None) -> None:
        self.upstream_base = upstream_base.rstrip("/")
        parts = urlsplit(self.upstream_base)
        self.upstream_root = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.faults = faults or Faults()
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.authorizations: list[str] = []
        self._rng = random.Random(self.faults.seed)  # noqa: S311 - test faults
        self._lock = threading.Lock()
        self._started = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._client = httpx.Client(timeout=120.0)

    @property
    def base_url(self) -> str:
        """The FHIR base URL through the proxy."""
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def start(self) -> Self:
        """Listen on a free port in a background thread."""
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="faultproxy")
        self._thread.start()
        self._timer = threading.Timer(self.faults.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop listening (safe to call twice, from any thread)."""
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        self._client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def decide(self, method: str, path: str, auth: str | None) -> str | None:
        """Count the request, record its Authorization header and draw a fault."""
        with self._lock:
            self.requests += 1
            if auth:
                self.authorizations.append(auth)
            f = self.faults
            if (method not in f.methods or path.endswith("/metadata")
                    or sum(self.injected.values()) >= f.max_faults
                    or time.monotonic() - self._started > f.window):
                return None
            kind = f.pick(self._rng)
            if kind:
                self.injected[kind] += 1
            return kind

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> httpx.Response:
        """Send the request on to the upstream."""
        return self._client.request(method, self.upstream_root + path, headers=headers,
                                    content=body)

    def rewrite(self, body: bytes) -> bytes:
        """Upstream URLs in a body point at the proxy instead."""
        return body.replace(self.upstream_base.encode(), self.base_url.encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        try:
            self._serve()
        except OSError:  # the client went away (its timeout) or the proxy is stopping
            self.close_connection = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.proxy.decide(self.command, self.path, self.headers.get("Authorization"))
        if fault in ("429", "503"):
            self._reply(int(fault), {"Retry-After": self.proxy.faults.retry_after},
                        b'{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
                        b'"code":"throttled","diagnostics":"injected by the fault proxy"}]}')
            return
        if fault == "drop":
            self._drop()
            return
        if fault == "slow":
            time.sleep(self.proxy.faults.slow_seconds)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        try:
            resp = self.proxy.forward(self.command, self.path, headers, body)
        except httpx.HTTPError:
            self._reply(502, {}, b"upstream unreachable")
            return
        if fault == "drop_after":
            self._drop()
            return
        out = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP}
        self._reply(resp.status_code, out, self.proxy.rewrite(resp.content))

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
