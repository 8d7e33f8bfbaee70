"""Stand-in FHIR endpoints for the few answers a real server cannot be made to give on cue
(an answer without a status, a send held mid-request, a login page or proxy in front of the
server that answers writes with 200). Everything else runs against sekmet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def fhir_answer(bundle: dict[str, Any], statuses: list[str] | None = None) -> dict[str, Any]:
    """What a real FHIR server answers to ``bundle``: a ``<type>-response`` Bundle with one
    entry per request entry, each with a status (``"200 OK"`` unless ``statuses`` says)."""
    codes = statuses or ["200 OK"] * len(bundle["entry"])
    return {"resourceType": "Bundle", "type": f"{bundle['type']}-response",
            "entry": [{"response": {"status": code}} for code in codes]}


class BundleAnswers(BaseHTTPRequestHandler):
    """Answers every POSTed bundle with the entries `answers` gives (a subclass says which)."""

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """The response entries for ``bundle``."""
        raise NotImplementedError

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        bundle = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"resourceType": "Bundle", "type": f"{bundle['type']}-response",
                           "entry": self.answers(bundle)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


CAPABILITY = {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
              "fhirVersion": "4.0.1", "format": ["json"]}
LOGIN_PAGE = b"<!doctype html><html><body><form action='/login'>Sign in</form></body></html>"


def _entries(bundle: dict[str, Any], status: str | int | None) -> list[dict[str, Any]]:
    return [{"response": {} if status is None else {"status": status}} for _ in bundle["entry"]]


LIES: dict[str, Any] = {
    # name: bundle -> (content type, body); every one is answered with HTTP 200 (a test may
    # add its own, returning (content type, body, status))
    "html": lambda b: ("text/html; charset=utf-8", LOGIN_PAGE),
    "empty-json": lambda b: ("application/json", b"{}"),
    "fewer-entries": lambda b: ("application/fhir+json", json.dumps(
        {**fhir_answer(b), "entry": fhir_answer(b)["entry"][:-1]}).encode()),
    "no-status": lambda b: ("application/fhir+json", json.dumps(
        {**fhir_answer(b), "entry": _entries(b, None)}).encode()),
    "entries-400": lambda b: ("application/fhir+json", json.dumps(
        {**fhir_answer(b), "entry": _entries(b, "400 Bad Request")}).encode()),
    # FHIR's response.status is a string; a number is a front imitating an answer
    "numeric-status": lambda b: ("application/fhir+json", json.dumps(
        {**fhir_answer(b), "entry": _entries(b, 200)}).encode()),
}
"""Answers a front (login page, WAF, proxy, broken server) gives with 200 to a bundle POST."""


class LyingFront(BaseHTTPRequestHandler):
    """Answers every GET like a FHIR server's ``/metadata`` (or, with ``html_on_get``, with a
    login page) and every POSTed bundle with the answer ``LIES[lie]`` makes: nothing is stored."""

    lie = "html"
    html_on_get = False
    posts = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.html_on_get:
            self._answer("text/html", LOGIN_PAGE)
        else:
            self._answer("application/fhir+json", json.dumps(CAPABILITY).encode())

    def do_POST(self) -> None:  # noqa: N802
        bundle = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).posts += 1
        self._answer(*LIES[self.lie](bundle))

    def _answer(self, ctype: str, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def lying_front(lie: str, *, html_on_get: bool = False) -> type[LyingFront]:
    """A `LyingFront` class answering bundles with ``LIES[lie]``."""
    return type(f"LyingFront_{lie}", (LyingFront,),
                {"lie": lie, "html_on_get": html_on_get, "posts": 0})


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port; yields the FHIR base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()
