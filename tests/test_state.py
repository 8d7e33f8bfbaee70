"""The state store on its own: schema version, identity guard, outbox, watermarks, rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from migrate.errors import ConfigError
from migrate.state import (
    OUTBOX,
    RESOURCES,
    RUNS,
    SCHEMA_VERSION,
    SOURCE_ROWS,
    STAGED_ROWS,
    StateStore,
    content_hash,
)
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


def write(rid: str, key: str, mapping: str = "m") -> dict[str, object]:
    return {"rtype": "Patient", "rid": rid, "method": "PUT", "if_match": None,
            "payload": b"{}", "content_hash": f"c-{rid}", "mapping": mapping, "key_hash": key}


def ack(store: StateStore, run: int, *rids: str) -> None:
    """Acknowledge the pending writes of these resources, as the outbox writer does."""
    done = [w for w in store.pending() if w["rid"] in rids]
    with store.engine.begin() as conn:
        store.record_writes(conn, run, [(w["rtype"], w["rid"], w["mapping"], w["key_hash"],
                                         w["content_hash"], "1", "live") for w in done],
                            [w["seq"] for w in done])


def exercise_acks(store: StateStore) -> None:
    run = store.start_run("sync", "http://ehr/fhir")
    # k0 needs no write: settled now. k1 makes two resources: its hash waits for both acks.
    store.plan(run, [], [("m", "k0", "h0")], [("m", "k1", "h1")],
               [write("p1", "k1"), write("p2", "k1")])
    assert store.row_hashes("m", ["k0", "k1"]) == {"k0": "h0", "k1": ""}
    ack(store, run, "p1")
    assert store.row_hashes("m", ["k1"]) == {"k1": ""}  # p2 still pending
    ack(store, run, "p2")
    assert store.row_hashes("m", ["k1"]) == {"k1": "h1"}
    # A row one of whose writes is refused (forgotten, as a dead letter does) stays unsettled
    # even when its other write is acknowledged afterwards.
    store.plan(run, [], [], [("m", "k2", "h2")], [write("p3", "k2"), write("p4", "k2")])
    with store.engine.begin() as conn:
        store.forget_rows(conn, [("m", "k2")])
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.rid == "p3").values(state="dead"))
    ack(store, run, "p4")
    assert store.row_hashes("m", ["k2"]) == {"k2": ""}
    # A flush whose writes cannot be stored records none of its rows either.
    with pytest.raises(sa.exc.DBAPIError):
        store.plan(run, [("Patient", "p1", "m", "k1")], [("m", "k5", "h5")], [],
                   [{**write("p5", "k5"), "rtype": None}])
    assert store.row_hashes("m", ["k5"]) == {}
    # A mapping with a refused write of the run keeps its watermark; the others move on.
    store.set_pending_watermark("m", "updated", "2024-02-01", run)
    store.set_pending_watermark("n", "updated", "2024-03-01", run)
    store.commit_watermarks(run)
    assert (store.watermark("m"), store.watermark("n")) == (None, "2024-03-01")
    # A row whose resource was deleted is mapped again when it comes back.
    with store.engine.begin() as conn:
        store.record_write(conn, "Patient", "p1", "m", "k1", None, "2", "deleted", run)
    store.forget_deleted_rows()  # a store from before rows were forgotten at their delete
    assert store.row_hashes("m", ["k0", "k1"]) == {"k0": "h0", "k1": ""}
    store.touch(run, [], [("m", "k1", "h1")])  # a row still there that lost one resource
    store.forget_deleted_rows()  # repaired once: not mapped again at every sync
    assert store.row_hashes("m", ["k1"]) == {"k1": "h1"}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(STAGED_ROWS)).scalar() == 0
    assert store.table_reads() == {}
    store.record_table_reads(run, {"m": (100, 1)})
    store.record_table_reads(run, {"m": (120, 0), "n": (5, 0)})
    assert store.table_reads() == {"m": (120, 0), "n": (5, 0)}
    store.engine.dispose()


def test_sqlite_row_hashes_wait_for_acknowledgement(tmp_path: Path) -> None:
    exercise_acks(StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}"))


@pytest.mark.integration
def test_postgresql_row_hashes_wait_for_acknowledgement(postgres: PostgresServer) -> None:
    exercise_acks(StateStore(postgres.fresh_database("acks")))


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


def test_a_store_made_before_the_pack_columns_gains_them(tmp_path: Path) -> None:
    """An existing store (runs without pack columns) opens, keeps its runs, and records the
    pack of the runs that follow."""
    from migrate.mappers.installed import PackIdentity

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "kind VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, "
                             "started FLOAT NOT NULL, finished FLOAT, target TEXT, counts TEXT)")
        conn.exec_driver_sql("INSERT INTO runs (kind, status, started, target) "
                             "VALUES ('sync', 'done', 1.0, 'http://ehr/fhir')")
    old.dispose()
    store = StateStore(url)
    store.start_run("sync", "http://ehr/fhir",
                    PackIdentity("synthea", "1.0.0", "emr-migrate 0.1.0"))
    runs = store.runs()
    assert [(r["pack"], r["pack_version"], r["pack_source"]) for r in runs] == [
        ("synthea", "1.0.0", "emr-migrate 0.1.0"), (None, None, None)]
    store.engine.dispose()
    again = StateStore(url)  # opening a store that has them changes nothing
    assert len(again.runs()) == 2
    again.engine.dispose()


def test_a_run_records_its_target_without_credentials(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("run", "https://svc:Pa55word@ehr.test/fhir?access_token=TOK123")
    with store.engine.begin() as conn:
        target = conn.execute(sa.select(RUNS.c.target).where(RUNS.c.run_id == run)).scalar()
    assert "Pa55word" not in target
    assert "TOK123" not in target
    assert target.startswith("https://svc:")
