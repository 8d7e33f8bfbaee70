"""The sync loader reads ahead while the last flush's writes are still being sent, and hands
an idle writer whatever is planned."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from migrate.outcomes import EMITTED, Unit
from migrate.state import StateStore
from migrate.sync import loader as loader_module
from migrate.sync.loader import SyncLoader
from migrate.sync.writer import OutboxWriter
from tests.harness.standin import BundleAnswers, serving


class _HeldAnswers(BundleAnswers):
    """Answers a bundle only once the test releases it (a real server cannot be held
    mid-request on cue), every entry ``201 Created``."""

    release: threading.Event
    bundles: list[int]

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """Held until released; records the size of each bundle that arrives."""
        self.bundles.append(len(bundle["entry"]))
        self.release.wait(timeout=30)
        return [{"response": {"status": "201 Created", "etag": 'W/"1"'}}
                for _ in bundle["entry"]]


def _units(first: int, n: int) -> list[Unit]:
    return [Unit(mapping="m", keys=[{"Id": f"r{i}"}], outcome=EMITTED, row_hash=f"h{i}",
                 resources=[{"resourceType": "Patient", "id": f"p{i}"}])
            for i in range(first, first + n)]


def test_reading_goes_on_while_a_flush_is_sent_up_to_the_read_ahead_and_an_idle_writer_gets_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader_module, "FLUSH_EVERY", 2)
    release = threading.Event()
    handler = type("Held", (_HeldAnswers,), {"release": release, "bundles": []})
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    mapping: Any = SimpleNamespace(name="m", spec=SimpleNamespace(
        sync=SimpleNamespace(changes="snapshot", column=None, on_delete="delete")))
    with serving(handler) as url:
        writer = OutboxWriter(store, run, {"type": "fhir-server", "url": url,
                                           "bundle_size": 500})
        loader = SyncLoader(store, run, writer)
        try:
            loader.observe_units(mapping, _units(0, 2))  # 2 planned: flushed, the send held
            assert len(store.pending()) == 2
            t0 = time.perf_counter()
            for i in range(2, 2 * loader_module.READ_AHEAD, 2):  # 8 planned: read on
                loader.observe_units(mapping, _units(i, 2))
            assert time.perf_counter() - t0 < 5  # no wait for the held send
            assert len(store.pending()) == 2  # nothing more queued yet
            deadline = time.monotonic() + 10
            while not handler.bundles and time.monotonic() < deadline:  # the send arrives
                time.sleep(0.01)
            assert handler.bundles == [2]

            threading.Timer(0.5, release.set).start()
            t0 = time.perf_counter()
            loader.observe_units(mapping, _units(2 * loader_module.READ_AHEAD, 2))  # 10: flush
            assert time.perf_counter() - t0 >= 0.4  # it waited for the held send first
            writer.wait()
            loader.observe_units(mapping, _units(12, 1))  # the writer is idle: sent at once
            writer.wait()
        finally:
            release.set()
            writer.close()
    assert handler.bundles == [2, 10, 1]
    assert store.pending() == []
    stored = store.lookup(("Patient", f"p{i}") for i in range(13))
    assert len(stored) == 13
    assert {r.status for r in stored.values()} == {"live"}
    store.engine.dispose()
