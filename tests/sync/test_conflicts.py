"""Own content after a 412, and conflicts listed and resolved, on an SQLite state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.errors import ConfigError
from migrate.loaders.recording import record_sent
from migrate.state import CONFLICTS, StateStore, content_hash
from migrate.sync.conflicts import (
    ACKNOWLEDGED,
    ADOPTED,
    CREATE,
    close_overwritten,
    list_conflicts,
    open_conflict_keys,
    own_content,
    resolve,
)
from migrate.sync.runrecord import UNKNOWN_VERSION

OLD = {"resourceType": "Patient", "id": "p1", "gender": "female"}
NEW = {**OLD, "birthDate": "1970-01-01"}
EDITED = {**OLD, "gender": "other"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield s
    s.engine.dispose()


def _last_written(store: StateStore, version: str = "1") -> tuple[int, dict[str, Any]]:
    """p1 written as OLD at ``version``; an update to NEW queued with If-Match on it."""
    run = store.start_run("sync", "test")
    with store.engine.begin() as conn:
        store.record_write(conn, "Patient", "p1", "m", "k1", content_hash(OLD), version, "live",
                           run)
    store.touch(run, [], [("m", "k1", "row1")])
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": version,
                         "payload": orjson.dumps(NEW), "content_hash": content_hash(NEW),
                         "mapping": "m", "key_hash": "k1"}])
    return run, store.pending()[0]


def _on_server(resource: dict[str, Any], version: str) -> dict[str, Any]:
    return {**resource, "meta": {"versionId": version, "lastUpdated": "2026-01-01T00:00:00Z"}}


def _own(store: StateStore, run: int, w: dict[str, Any], current: Any) -> str | None:
    with store.engine.begin() as conn:
        return own_content(store, conn, run, w, current)


def test_what_we_would_write_is_acknowledged(store: StateStore) -> None:
    run, w = _last_written(store)
    assert _own(store, run, w, _on_server(NEW, "3")) == ACKNOWLEDGED
    assert store.pending() == []
    stored = store.lookup([("Patient", "p1")])[("Patient", "p1")]
    assert (stored.content_hash, stored.version) == (content_hash(NEW), "3")


def test_what_we_last_wrote_at_a_moved_version_is_adopted_and_sent_again(
        store: StateStore) -> None:
    """A `run` wrote our own content again (version 1 -> 2): no conflict; the update stays
    queued with If-Match on the server's version."""
    run, w = _last_written(store)
    assert _own(store, run, w, _on_server(OLD, "2")) == ADOPTED
    assert [(p["rid"], p["if_match"]) for p in store.pending()] == [("p1", "2")]
    assert store.lookup([("Patient", "p1")])[("Patient", "p1")].version == "2"


@pytest.mark.parametrize(("current", "why"), [
    (_on_server(EDITED, "2"), "an edit on the target"),
    (None, "gone from the target"),
    (_on_server(OLD, "1"), "the version refused: adopting it would loop"),
])
def test_anything_else_is_not_ours(store: StateStore, current: Any, why: str) -> None:
    run, w = _last_written(store)
    assert _own(store, run, w, current) is None, why
    assert [(p["rid"], p["if_match"]) for p in store.pending()] == [("p1", "1")]


def _conflict(store: StateStore, actual: str | None = "2") -> int:
    """What the writer leaves for a real conflict on p1 (we wrote 1, the target has 2)."""
    run, w = _last_written(store)
    with store.engine.begin() as conn:
        conn.execute(CONFLICTS.insert().values(
            run_id=run, rtype="Patient", rid="p1", expected_version="1", actual_version=actual,
            ours=w["payload"], theirs=orjson.dumps(EDITED), resolved=False, created=1.0))
        store.record_write(conn, "Patient", "p1", "m", "k1", None, "1", "conflict", run)
    store.touch(run, [], [("m", "k1", "")])
    return run


def test_listing_names_keys_not_content(store: StateStore) -> None:
    _conflict(store)
    [c] = list_conflicts(store)
    assert (c.id, c.rtype, c.rid, c.mapping, c.key_hash) == (1, "Patient", "p1", "m", "k1")
    assert (c.expected_version, c.actual_version, c.resolution) == ("1", "2", None)
    assert "gender" not in str(c.as_dict())
    assert store.counts()["conflicts"] == 1


@pytest.mark.parametrize(("how", "status", "chash"), [
    ("take-source", "live", None),                # the next sync sends NEW with If-Match 2
    ("keep-target", "live", content_hash(NEW)),   # NEW counts as delivered: nothing is sent
    ("reviewed", "conflict", None),               # held as it is
])
def test_each_resolution_closes_the_conflict_and_sets_what_the_next_sync_does(
        store: StateStore, how: str, status: str, chash: str | None) -> None:
    _conflict(store)
    assert [c.rid for c in resolve(store, "Patient/p1", how)] == ["p1"]
    assert store.counts()["conflicts"] == 0
    assert list_conflicts(store) == []
    [closed] = list_conflicts(store, include_resolved=True)
    assert closed.resolution == how
    stored = store.lookup([("Patient", "p1")])[("Patient", "p1")]
    assert (stored.status, stored.content_hash) == (status, chash)
    assert stored.version == ("1" if how == "reviewed" else "2")
    assert store.row_hashes("m", ["k1"]) == {"k1": ""}  # mapped again next time
    if how != "reviewed":
        with pytest.raises(ConfigError, match="no open or reviewed conflict matches 'all'"):
            resolve(store, "all", how)


def test_a_reviewed_conflict_can_still_be_decided(store: StateStore) -> None:
    _conflict(store)
    resolve(store, "all", "reviewed")
    resolve(store, "Patient/p1", "take-source")
    [closed] = list_conflicts(store, include_resolved=True)
    assert closed.resolution == "take-source"
    assert store.lookup([("Patient", "p1")])[("Patient", "p1")].status == "live"


def test_taking_the_source_of_a_resource_deleted_on_the_target_creates_it_again(
        store: StateStore) -> None:
    _conflict(store, actual=None)
    resolve(store, "1", "take-source")
    assert store.lookup([("Patient", "p1")])[("Patient", "p1")].status == "deleted"


def test_unknown_selector_or_resolution_is_a_clear_error(store: StateStore) -> None:
    _conflict(store)
    with pytest.raises(ConfigError, match="no open or reviewed conflict matches 'Patient/nope'"):
        resolve(store, "Patient/nope", "take-source")
    with pytest.raises(ConfigError, match="unknown resolution 'ignore'"):
        resolve(store, "all", "ignore")
    assert store.counts()["conflicts"] == 1


def test_a_write_that_lands_closes_the_conflicts_it_overwrote(store: StateStore) -> None:
    _conflict(store)
    keys = open_conflict_keys(store)
    assert keys == {("Patient", "p1")}
    with store.engine.begin() as conn:
        close_overwritten(conn, keys, [("Patient", "other", "m", "k9", "h", "1", "live")])
    assert store.counts()["conflicts"] == 1
    with store.engine.begin() as conn:
        close_overwritten(conn, keys, [("Patient", "p1", "m", "k1", "h", "3", "live")])
    assert store.counts()["conflicts"] == 0
    assert keys == set()
    assert list_conflicts(store, include_resolved=True)[0].resolution == "overwritten"


def test_what_a_run_last_sent_at_a_moved_version_is_adopted_too(store: StateStore) -> None:
    """sync wrote OLD; a `run` sent RUN (another source state); the target holds RUN."""
    run_content = {**OLD, "gender": "unknown"}
    run, w = _last_written(store)
    record_sent(store, 99, [("Patient", "p1", content_hash(run_content))])
    assert _own(store, run, w, _on_server(run_content, "2")) == ADOPTED
    stored = store.lookup([("Patient", "p1")])[("Patient", "p1")]
    assert (stored.version, stored.content_hash) == ("2", content_hash(run_content))
    assert _own(store, run, {**w, "if_match": "2"}, _on_server(EDITED, "3")) is None


def test_a_resource_only_a_run_wrote_and_that_is_not_there_is_created(
        store: StateStore) -> None:
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT",
                         "if_match": UNKNOWN_VERSION, "payload": orjson.dumps(NEW),
                         "content_hash": content_hash(NEW), "mapping": "m", "key_hash": "k1"}])
    assert _own(store, run, store.pending()[0], None) == CREATE
    assert [p["if_match"] for p in store.pending()] == [None]


@pytest.mark.integration
def test_on_a_postgresql_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same record, adoption, guard and resolution on a team's PostgreSQL state store."""
    from migrate.sync.runrecord import guard_run_writes
    from tests.harness.postgres import PostgresServer, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed (scripts/test.sh installs "
                    "them)")
    with PostgresServer(tmp_path_factory.mktemp("pg")) as server:
        store = StateStore(server.url())
        try:
            run_content = {**OLD, "gender": "unknown"}
            run, w = _last_written(store)
            record_sent(store, 99, [("Patient", "p1", content_hash(run_content))])
            assert _own(store, run, w, _on_server(run_content, "2")) == ADOPTED
            writes = [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": None}]
            guard_run_writes(store, writes)
            assert writes[0]["if_match"] == UNKNOWN_VERSION
            with store.engine.begin() as conn:
                conn.execute(CONFLICTS.insert().values(
                    run_id=run, rtype="Patient", rid="p1", expected_version="2",
                    actual_version="3", ours=w["payload"], theirs=b"{}", resolved=False,
                    created=1.0))
            assert [c.mapping for c in list_conflicts(store)] == ["m"]
            resolve(store, "all", "reviewed")
            resolve(store, "all", "keep-target")
            assert store.counts()["conflicts"] == 0
            assert list_conflicts(store, include_resolved=True)[0].resolution == "keep-target"
        finally:
            store.engine.dispose()
