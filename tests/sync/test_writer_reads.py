"""After 412s the writer reads the resources in one batch of GETs, and reads them one by one
when that answer cannot be paired with what it asked (a stand-in answers on cue)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from migrate.state import StateStore, content_hash
from migrate.sync.writer import OutboxWriter
from tests.harness.standin import BundleAnswers, serving

OURS = {"resourceType": "Patient", "gender": "female"}


class _Target(BundleAnswers):
    """412 to every write; the batch of reads answered in full, or with one entry short."""

    short: ClassVar[bool] = False
    gets: ClassVar[list[str]] = []

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        entries = bundle["entry"]
        if entries[0]["request"]["method"] != "GET":
            return [{"response": {"status": "412 Precondition Failed"}} for _ in entries]
        found = [{"response": {"status": "200 OK"}, "resource": self._held(e["request"]["url"])}
                 for e in entries]
        return found[1:] if self.short else found

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).gets.append(self.path)
        body = json.dumps(self._held(self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def _held(url: str) -> dict[str, Any]:
        rid = url.rsplit("/", 1)[-1]
        return {**OURS, "id": rid, "meta": {"versionId": "5"}}


@pytest.mark.parametrize("short", [False, True], ids=["one-batch-of-reads", "unpairable"])
def test_412s_are_read_back_in_one_batch_or_one_by_one(tmp_path: Path, short: bool) -> None:
    _Target.short, _Target.gets = short, []
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": f"p{i}", "method": "PUT", "if_match": "1",
                         "payload": orjson.dumps({**OURS, "id": f"p{i}"}),
                         "content_hash": content_hash({**OURS, "id": f"p{i}"}),
                         "mapping": "m", "key_hash": f"k{i}"} for i in (1, 2, 3)])
    with serving(_Target) as url:
        writer = OutboxWriter(store, run, {"type": "fhir-server", "url": url, "mode": "batch"})
        try:
            writer.drain()
        finally:
            writer.close()
    # Our own content at version 5 each time: acknowledged, never a conflict.
    assert (writer.counts["acknowledged"], writer.counts["conflicts"]) == (3, 0)
    assert store.pending() == []
    assert {r.version for r in store.lookup([("Patient", f"p{i}") for i in (1, 2, 3)]).values()
            } == {"5"}
    assert len(_Target.gets) == (3 if short else 0)
    store.engine.dispose()
