"""The outbox writer's background drain: what stops it reaches the caller, and nothing is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from migrate.errors import TransientLoadError
from migrate.state import StateStore
from migrate.sync.writer import OutboxWriter
from tests.harness.common import free_port
from tests.harness.standin import BundleAnswers, fhir_answer, serving


def test_a_failed_background_drain_is_raised_by_wait_and_the_write_stays_pending(
        tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": None,
                         "payload": b'{"resourceType": "Patient", "id": "p1"}',
                         "content_hash": "h1", "mapping": "m", "key_hash": "k1"}])
    # Nothing listens on this port: a real connection refusal, with no retry budget.
    target = {"type": "fhir-server", "url": f"http://127.0.0.1:{free_port()}/fhir",
              "max_retries": 0}
    writer = OutboxWriter(store, run, target)
    writer.start_drain()
    with pytest.raises(TransientLoadError, match="ConnectError after 1 attempts"):
        writer.wait()
    writer.wait()  # the error is handed over once
    writer.close()
    assert [w["rid"] for w in store.pending()] == ["p1"]  # sent again by the next run
    assert writer.counts["bundles"] == 0
    store.engine.dispose()


class _Answers(BundleAnswers):
    """Bundle answers that lack ``response.status``: no real server answers like that, which
    is why this endpoint is a stand-in."""

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """The first entry without a status, the others with a status that is not a code."""
        return [{"response": {}} if i == 0 else {"response": {"status": "OK"}}
                for i, _ in enumerate(bundle["entry"])]


def test_an_answer_without_a_status_is_a_dead_letter_not_a_success(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": f"p{i}", "method": "PUT", "if_match": None,
                         "payload": b'{"resourceType": "Patient"}', "content_hash": "h",
                         "mapping": "m", "key_hash": f"k{i}"} for i in (1, 2)])
    with serving(_Answers) as url:
        writer = OutboxWriter(store, run, {"type": "fhir-server", "url": url})
        try:
            writer.drain()
        finally:
            writer.close()
    assert (writer.counts["created"], writer.counts["updated"]) == (0, 0)
    assert writer.counts["dead_letters"] == 2
    letters = store.dead_letters()
    assert [(d["rid"], d["status"]) for d in letters] == [("p1", 0), ("p2", 0)]
    assert "has no status (response.status: None)" in letters[0]["outcome"]
    assert "(response.status: 'OK')" in letters[1]["outcome"]
    assert store.pending() == []
    store.engine.dispose()


def test_a_throttled_bundle_is_sent_again_after_retry_after_and_timed(tmp_path: Path) -> None:
    """The writer sends through the one FHIR client: its Retry-After, its round-trip clock."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": None,
                         "payload": b'{"resourceType": "Patient", "id": "p1"}',
                         "content_hash": "h1", "mapping": "m", "key_hash": "k1"}])
    answers = [httpx.Response(429, headers={"Retry-After": "6"})]

    def server(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop(0)
        return httpx.Response(200, json=fhir_answer(orjson.loads(request.content),
                                                    ["201 Created"]))

    writer = OutboxWriter(store, run, {"type": "fhir-server", "url": "http://ehr.test/fhir"},
                          client=httpx.Client(transport=httpx.MockTransport(server)))
    waits: list[float] = []
    writer.http.sleep = waits.append  # type: ignore[method-assign]
    writer.drain()
    writer.close()
    assert len(waits) == 1
    assert waits[0] >= 6
    assert writer.counts["created"] == 1
    assert (writer.http.stats.requests, writer.http.stats.retries) == (2, 1)
    assert writer.timing["server_s"] > 0
    assert store.pending() == []
    store.engine.dispose()
