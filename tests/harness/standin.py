"""Stand-in FHIR endpoints for the few answers a real server cannot be made to give on cue
(an answer without a status, a send held mid-request). Everything else runs against sekmet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


@contextmanager
def serving(handler: type[BundleAnswers]) -> Iterator[str]:
    """Serve ``handler`` on a free local port; yields the FHIR base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()
