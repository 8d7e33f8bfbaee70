"""The state store on its own: schema version, identity guard, outbox, watermarks, rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from migrate.errors import ConfigError
from migrate.state import RESOURCES, SCHEMA_VERSION, SOURCE_ROWS, StateStore, content_hash
from tests.harness.postgres import PostgresServer, postgres_available


def exercise(store: StateStore) -> None:
    store.check_identity("fp-1")
    with pytest.raises(ConfigError, match="id namespace or source system differs"):
        store.check_identity("fp-2")
    run = store.start_run("sync", "http://ehr/fhir")
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": None,
                         "payload": b"{}", "content_hash": "h1", "mapping": "m",
                         "key_hash": "k1"}])
    assert [w["rid"] for w in store.pending()] == ["p1"]
    with store.engine.begin() as conn:
        store.record_write(conn, "Patient", "p1", "m", "k1", "h1", "1", "live", run)
    store.touch(run, [("Patient", "p1", "m", "k1")], [("m", "k1", "rowhash")])
    store.touch(run, [], [("m", "k1", "rowhash2"), ("m", "k2", "rowhash3")])
    found = store.lookup([("Patient", "p1"), ("Patient", "nope")])
    assert list(found) == [("Patient", "p1")]
    assert found[("Patient", "p1")].version == "1"
    assert store.row_hashes("m", ["k1", "k2", "k3"]) == {"k1": "rowhash2", "k2": "rowhash3"}
    # Bulk recording: an update of a known resource, an insert, and a resource written twice
    # in one bundle (the last write wins); the outbox entry is acknowledged with them.
    with store.engine.begin() as conn:
        store.record_writes(conn, run, [("Patient", "p1", "m", "k1", "h2", "2", "live"),
                                        ("Patient", "p2", "m", "k2", "h3", "1", "live"),
                                        ("Patient", "p2", "m", "k2", "h4", "2", "live")],
                            [w["seq"] for w in store.pending()])
    assert store.pending() == []
    found = store.lookup([("Patient", "p1"), ("Patient", "p2")])
    assert [(r.content_hash, r.version) for r in found.values()] == [("h2", "2"), ("h4", "2")]
    later = store.start_run("sync", "http://ehr/fhir")
    store.touch(later, [("Patient", "p2", "m", "k2")], [("m", "k2", "rowhash3")])  # same hash
    with store.engine.connect() as conn:
        assert dict(conn.execute(sa.select(SOURCE_ROWS.c.key_hash, SOURCE_ROWS.c.last_run))
                    .all()) == {"k1": run, "k2": later}
        assert dict(conn.execute(sa.select(RESOURCES.c.rid, RESOURCES.c.last_run))
                    .all()) == {"p1": run, "p2": later}
    # What a re-sync reads in bulk: every recorded row of a mapping, and the live resources
    # no write of a run touched (of rows that run recorded again, with reread_only).
    assert [sorted(zip(*part, strict=True)) for part in store.all_row_hashes("m")] == \
        [[("k1", "rowhash2"), ("k2", "rowhash3")]]
    assert [[r.rid for r in part] for part in store.live_resources_before("m", later)] == [["p1"]]
    assert list(store.live_resources_before("m", later, reread_only=True)) == []
    # The delete check of mappings read in full: (mapping, key) of all of them in one pass,
    # then the whole records of the rows asked for (a key asked twice answers once).
    assert list(store.live_row_keys_before(later)) == [(["m"], ["k1"])]
    assert [r.rid for r in store.live_resources_of_rows("m", ["k1", "k1", "k9"], later)] == \
        ["p1"]
    assert store.live_resources_of_rows("m", ["k2"], later) == []  # p2: written by `later`
    assert store.live_resources_of_rows("other", ["k1"], later) == []
    store.touch(later, [], [("m", "k1", "rowhash2")])  # k1 re-read; p1 not written
    assert [[r.rid for r in part]
            for part in store.live_resources_before("m", later, reread_only=True)] == [["p1"]]
    assert list(store.all_row_hashes("nothing")) == []
    store.set_pending_watermark("m", "last_updated", "2024-01-01 10:00:00", run)
    assert store.watermark("m") is None
    store.commit_watermarks(run)
    assert store.watermark("m") == "2024-01-01 10:00:00"
    store.finish_run(run, "done", {"bundles": 1})
    store.finish_run(later, "failed", {})
    assert [r["status"] for r in store.runs()] == ["failed", "done"]
    assert store.counts()["resources_live"] == 2
    store.engine.dispose()


def test_sqlite_state_store(tmp_path: Path) -> None:
    exercise(StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"))


def test_a_second_store_on_the_same_file_sees_the_same_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    exercise(StateStore(url))
    again = StateStore(url)
    assert again.counts()["resources_live"] == 2
    assert again.watermark("m") == "2024-01-01 10:00:00"
    again.engine.dispose()


def test_schema_version_is_checked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    store = StateStore(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema'")
    store.engine.dispose()
    with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}"):
        StateStore(url)


def test_content_hash_ignores_server_meta() -> None:
    ours = {"resourceType": "Patient", "id": "p", "meta": {"profile": ["x"]}, "gender": "male"}
    theirs = {**ours, "meta": {"profile": ["x"], "versionId": "7", "lastUpdated": "2024"}}
    assert content_hash(ours) == content_hash(theirs)
    assert content_hash(ours) != content_hash({**ours, "gender": "female"})


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed (scripts/test.sh installs "
                    "them)")
    with PostgresServer(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.mark.integration
def test_postgresql_state_store(postgres: PostgresServer) -> None:
    exercise(StateStore(postgres.url()))


def test_a_store_made_before_conflict_resolutions_gains_the_table(tmp_path: Path) -> None:
    """The table is new, not a changed one: an existing store opens at the same schema
    version and can record resolutions."""
    from migrate.state import CONFLICT_RESOLUTIONS

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    store = StateStore(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE conflict_resolutions")
    store.engine.dispose()
    again = StateStore(url)
    with again.engine.begin() as conn:
        conn.execute(CONFLICT_RESOLUTIONS.insert().values(conflict_id=1, resolution="reviewed",
                                                          resolved_at=1.0))
        assert conn.execute(sa.select(sa.func.count()).select_from(CONFLICT_RESOLUTIONS)
                            ).scalar() == 1
    again.engine.dispose()
