"""What a `run` to a FHIR server notes in the state store, and how the first sync uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import ConfigError
from migrate.loaders.recording import RecordingFhirServerLoader, open_run_loader, record_sent
from migrate.state import StateStore
from migrate.sync.runrecord import UNKNOWN_VERSION, guard_run_writes, sent_hash
from tests.conftest import make_settings


def test_the_last_note_of_a_resource_wins_and_guards_only_blind_writes(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    record_sent(store, 1, [("Patient", "p1", "h1"), ("Patient", "p1", "h2")])
    record_sent(store, 2, [("Patient", "p2", "h3")])
    with store.engine.connect() as conn:
        assert [sent_hash(conn, "Patient", i) for i in ("p1", "p2", "p3")] == ["h2", "h3", None]
    writes = [{"rtype": "Patient", "rid": rid, "method": method, "if_match": if_match}
              for rid, method, if_match in [("p1", "PUT", None), ("p2", "PUT", "4"),
                                            ("p3", "PUT", None), ("p2", "DELETE", None)]]
    guard_run_writes(store, writes)
    # Only a PUT without If-Match of a resource a run sent gets the unknown version.
    assert [w["if_match"] for w in writes] == [UNKNOWN_VERSION, "4", None, None]
    store.engine.dispose()


def test_a_run_to_a_server_records_in_the_sync_store_and_checks_its_identity(
        tmp_path: Path) -> None:
    target = {"type": "fhir-server", "url": "http://127.0.0.1:9/fhir"}
    settings = make_settings(tmp_path, target, tmp_path / "out")
    loader = open_run_loader(settings)
    assert isinstance(loader, RecordingFhirServerLoader)
    assert [r["kind"] for r in loader.store.runs()] == ["run"]
    loader.store.engine.dispose()
    loader.client.close()
    other = tmp_path / "other"
    other.mkdir()
    store = StateStore(f"sqlite:///{other / 'state.sqlite'}")
    store.check_identity("another migration")
    store.engine.dispose()
    with pytest.raises(ConfigError, match="id namespace or source system differs"):
        open_run_loader(make_settings(tmp_path, target, other))
    assert not isinstance(open_run_loader(make_settings(tmp_path, "ndjson:nd", tmp_path / "o")),
                          RecordingFhirServerLoader)
    assert not (tmp_path / "o" / "state.sqlite").exists()  # other targets: no state store
