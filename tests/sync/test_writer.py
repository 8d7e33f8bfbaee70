"""The outbox writer's background drain: what stops it reaches the caller, and nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import TransientLoadError
from migrate.state import StateStore
from migrate.sync.writer import OutboxWriter
from tests.harness.common import free_port


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
