"""Hostile syncs against a real sekmet-fhir server (issue 16, cases 1, 2 and 3).

A sync that fails mid-way, then a healthy one, delivers every resource; rows that come back
after a snapshot delete are re-created; two syncs on one state store cannot run at once (the
second is refused, nothing is lost, a killed holder leaves no stale lock), on SQLite and
PostgreSQL; deletes are suspended for a table read incompletely or with more quarantined rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from migrate.errors import MigrateError
from migrate.extractors.base import ReadAccount
from migrate.extractors.csv import CsvExtractor
from migrate.sync import run_sync
from migrate.sync.lock import StateStoreBusy
from migrate.sync.writer import OutboxWriter
from tests.conftest import REPO, TEST_NAMESPACE, TEST_SYSTEM, make_settings
from tests.harness.postgres import PostgresServer, postgres_or_skip
from tests.integration.test_sync import assert_target_equals, edit_csv, generate

pytestmark = pytest.mark.integration
ENCOUNTER = "synthea.encounter"


@pytest.fixture
def ws(sekmet_server: Any, tmp_path: Path) -> dict[str, Any]:
    """A fresh server, a 4-patient practice and its settings."""
    sekmet_server.reset()
    src = tmp_path / "src"
    generate(4, 11, src)
    return {"server": sekmet_server, "src": src, "tmp": tmp_path,
            "settings": settings_for(sekmet_server.base_url, src, tmp_path)}


def settings_for(base: str, src: Path, tmp: Path) -> Any:
    target = {"type": "fhir-server", "url": base, "bundle_size": 50, "max_retries": 0}
    return make_settings(src, target, tmp / "out")


def project_file(ws: dict[str, Any], state: str | None = None, extra: str = "") -> Path:
    """A migration.yaml for CLI runs of the same practice."""
    path = ws["tmp"] / "migration.yaml"
    path.write_text(
        f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\nsource: {ws['src']}\n"
        f"target: {{type: fhir-server, url: '{ws['server'].base_url}', bundle_size: 50}}\n"
        f"output: {ws['tmp'] / 'out'}\nidentity: {{namespace: {TEST_NAMESPACE}, "
        f"source_system: '{TEST_SYSTEM}'}}\n{extra}", encoding="utf-8")
    return path


def cli_sync(project: Path, *extra: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", "sync", "-c", str(project),
                           "--no-progress", *extra], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, check=False, timeout=300)


def drop_encounters(src: Path, n: int = 5) -> list[str]:
    """Remove the last ``n`` encounter rows; their ids."""
    gone: list[str] = []

    def cut(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        gone.extend(r["Id"] for r in rows[-n:])
        return rows[:-n]

    edit_csv(src / "encounters.csv", cut)
    return gone


def small_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many flushes per table, so a failure can come between two of them."""
    monkeypatch.setattr("migrate.sync.loader.ROWS_EVERY", 40)
    monkeypatch.setattr("migrate.sync.loader.FLUSH_EVERY", 40)


# -- case 2: a failed sync, then a healthy one ---------------------------------------------------
def test_state_store_failing_mid_sync_then_resync_delivers_everything(
        ws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The state store fills up (disk full) while writes are being planned: nothing it had not
    stored may be taken for delivered by the next sync."""
    from migrate.state import StateStore

    small_flushes(monkeypatch)
    real, calls = StateStore.enqueue, {"n": 0}

    def full_disk(self: StateStore, run_id: int, writes: list[dict[str, Any]],
                  *rest: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the first big flush of writes
            raise sa.exc.OperationalError("INSERT INTO outbox", {},
                                          Exception("database or disk is full"))
        real(self, run_id, writes, *rest)

    monkeypatch.setattr(StateStore, "enqueue", full_disk)
    with pytest.raises(MigrateError) as failed:
        run_sync(ws["settings"])
    assert failed.value.exit_code == 4
    assert "state store" in str(failed.value)
    assert "disk is full" in str(failed.value)
    verdict = orjson.loads((ws["tmp"] / "out" / "run.json").read_bytes())
    assert (verdict["status"], verdict["exit_code"]) == ("failed", 4)  # as the CLI exits
    monkeypatch.setattr(StateStore, "enqueue", real)
    healed = run_sync(ws["settings"])
    assert healed.status == "ok", healed.as_dict()
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])
    again = run_sync(ws["settings"])
    assert again.writes["bundles"] == 0
    assert set(again.plan) == {"unchanged-rows"}


def test_server_dying_mid_sync_then_resync_delivers_everything(
        ws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The target stops after three bundles; once it is back, one sync completes the load."""
    server = ws["server"]
    small_flushes(monkeypatch)
    real, sent = OutboxWriter._post, {"n": 0}

    def dying(self: OutboxWriter, bundle: dict[str, Any], **kw: Any) -> Any:
        sent["n"] += 1
        if sent["n"] == 4:
            server.stop()
        return real(self, bundle, **kw)

    monkeypatch.setattr(OutboxWriter, "_post", dying)
    with pytest.raises(MigrateError) as failed:
        run_sync(ws["settings"])
    assert failed.value.exit_code == 4
    monkeypatch.setattr(OutboxWriter, "_post", real)
    server.start(fresh=False)
    healed = run_sync(settings_for(server.base_url, ws["src"], ws["tmp"]))
    assert healed.status == "ok", healed.as_dict()
    assert_target_equals(server.base_url, ws["src"], ws["tmp"])


# -- case 2: rows that come back --------------------------------------------------------------
def test_rows_restored_after_a_snapshot_delete_are_recreated(ws: dict[str, Any]) -> None:
    server, src = ws["server"], ws["src"]
    first = run_sync(ws["settings"])
    encounters = first.report.resources["Encounter"]
    kept = ws["tmp"] / "encounters.csv.orig"
    shutil.copy(src / "encounters.csv", kept)
    drop_encounters(src)
    cut = run_sync(ws["settings"], confirm_deletes=True)
    assert cut.writes["deleted"] == 5, cut.as_dict()
    assert server.count("Encounter") == encounters - 5
    shutil.copy(kept, src / "encounters.csv")
    restored = run_sync(ws["settings"])
    assert restored.status == "ok"
    assert restored.plan.get("create") == 5, restored.plan
    assert server.count("Encounter") == encounters
    assert_target_equals(server.base_url, src, ws["tmp"])


# -- case 1 (sync part): deletes suspended -------------------------------------------------------
def test_deletes_suspended_for_an_incomplete_read(ws: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A stray quote swallowed 5 encounter rows; the reader says the read is incomplete."""
    server, src = ws["server"], ws["src"]
    run_sync(ws["settings"])
    before = server.count("Encounter")
    drop_encounters(src)
    real = CsvExtractor.account

    def incomplete(self: CsvExtractor, table: str, query: str | None = None) -> Any:
        if table == "encounters":
            return ReadAccount(complete=False, problem="encounters.csv: 5 lines unaccounted for")
        return real(self, table, query)

    monkeypatch.setattr(CsvExtractor, "account", incomplete)
    result = run_sync(ws["settings"], confirm_deletes=True)
    # An incomplete read fails the run as well (exit 1): the table's verdict comes first.
    assert result.status == "data-errors", result.as_dict()
    assert result.report.problems()[0].startswith("table 'encounters' (mapping "
                                                  f"{ENCOUNTER}): read incomplete")
    assert result.plan["deletes-suspended"] == 5
    assert result.writes["deleted"] == 0
    assert "incomplete" in result.suspended[ENCOUNTER]
    assert "5 lines unaccounted for" in result.suspended[ENCOUNTER]
    assert server.count("Encounter") == before


def test_deletes_suspended_when_a_row_could_not_be_read_though_the_rate_did_not_rise(
        ws: dict[str, Any]) -> None:
    """A bad row is fixed and a stray quote breaks another: the quarantine rate is the same,
    but the broken row has no readable key and looks gone. Nothing may be deleted."""
    server, src = ws["server"], ws["src"]
    loose = make_settings(src, ws["settings"].target, ws["tmp"] / "out",
                          table_quarantine_rates={"encounters": 0.5},
                          max_dangling_references=100_000)

    def bad_class(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[3]["ENCOUNTERCLASS"] = "bogusclass"
        return rows

    kept = ws["tmp"] / "encounters.csv.orig"
    shutil.copy(src / "encounters.csv", kept)
    edit_csv(src / "encounters.csv", bad_class)
    first = run_sync(loose)
    assert any(t.table == "encounters" and t.quarantined for t in first.report.tables)
    before = server.count("Encounter")
    shutil.copy(kept, src / "encounters.csv")  # the bad row fixed ...
    lines = (src / "encounters.csv").read_bytes().split(b"\n")
    fields = lines[8].split(b",")
    fields[3] = b'"' + fields[3]  # ... and a stray quote opens a field of another row
    lines[8] = b",".join(fields)
    (src / "encounters.csv").write_bytes(b"\n".join(lines))
    second = run_sync(loose, max_delete_share=0.5)  # the breaker is not what holds it
    assert second.writes["deleted"] == 0, second.as_dict()
    assert second.plan["deletes-suspended"] == 1, second.plan
    assert "could not be read" in second.suspended[ENCOUNTER]
    assert second.status == "deletes-suspended"
    assert server.count("Encounter") == before + 1  # the fixed row is created, none deleted


def test_deletes_suspended_when_the_quarantine_rate_rises(ws: dict[str, Any]) -> None:
    """5 rows vanish and one more is unreadable (what a stray quote does): no Encounter is
    deleted, the CLI exits 5 naming the mapping and why; once the export is whole again the
    rows are simply there, and a genuine delete on clean data goes through."""
    server, src = ws["server"], ws["src"]
    run_sync(ws["settings"])
    before = server.count("Encounter")
    kept = ws["tmp"] / "encounters.csv.orig"
    shutil.copy(src / "encounters.csv", kept)
    drop_encounters(src)

    def break_one(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[0]["START"] = "the 31st of Smarch"
        return rows

    edit_csv(src / "encounters.csv", break_one)
    # The table may quarantine that much (its own threshold): only the deletes stop.
    loose = "thresholds: {tables: {encounters: 0.5}, max_dangling_references: 1000}\n"
    out = cli_sync(project_file(ws, extra=loose), "--max-delete-share", "1")
    assert out.returncode == 5, out.stdout + out.stderr
    assert f"deletes suspended for {ENCOUNTER}" in out.stdout
    assert "quarantine rate rose" in out.stdout
    assert "Smarch" not in out.stdout + out.stderr  # no source values
    assert server.count("Encounter") == before
    shutil.copy(kept, src / "encounters.csv")
    whole = run_sync(ws["settings"])
    assert whole.status == "ok", whole.as_dict()
    assert not whole.writes["bundles"]
    drop_encounters(src, 1)
    genuine = run_sync(ws["settings"], confirm_deletes=True)
    assert genuine.status == "ok"
    assert genuine.writes["deleted"] == 1
    assert server.count("Encounter") == before - 1


# -- case 3: one sync at a time -----------------------------------------------------------------
@pytest.fixture
def held_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Makes the next in-process sync stop before its first bundle until the event is set."""
    release, real = threading.Event(), OutboxWriter._post

    def held(self: OutboxWriter, bundle: dict[str, Any], **kw: Any) -> Any:
        assert release.wait(60)
        return real(self, bundle, **kw)

    monkeypatch.setattr(OutboxWriter, "_post", held)
    yield release
    release.set()


def start_sync(settings: Any, **kw: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run_sync(settings, **kw)
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    return thread, box


def wait_for_lock(path: Path) -> None:
    import time

    deadline = time.monotonic() + 60
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, "the first sync never took the lock"
        time.sleep(0.05)


def test_second_sync_on_sqlite_store_is_refused_and_nothing_lost(
        ws: dict[str, Any], held_sync: threading.Event) -> None:
    thread, box = start_sync(ws["settings"])
    wait_for_lock(ws["tmp"] / "out" / "state.sqlite.lock")
    second = cli_sync(project_file(ws))
    held_sync.set()
    thread.join(120)
    assert second.returncode == 2, second.stdout + second.stderr
    assert "another sync is running" in second.stderr
    assert "state.sqlite" in second.stderr
    assert f"pid {os.getpid()}" in second.stderr
    assert "Traceback" not in second.stderr
    assert "error" not in box, box
    assert box["result"].status == "ok"
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])


def test_two_first_syncs_on_a_new_store_do_not_race_to_create_it(ws: dict[str, Any]) -> None:
    """Both start on an output folder with no state store yet: the lock is taken before the
    store's tables are created, so the loser is refused (exit 2), never a failed store."""
    project = project_file(ws)
    cmd = [sys.executable, "-m", "migrate", "sync", "-c", str(project), "--no-progress"]
    both = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    done = [(p.wait(300), *p.communicate()) for p in both]
    codes = sorted(code for code, _, _ in done)
    messages = "".join(out + err for _, out, err in done)
    assert codes in ([0, 0], [0, 2]), messages
    assert "already exists" not in messages
    assert "Traceback" not in messages
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])


def test_killed_sync_leaves_no_stale_lock_on_sqlite(ws: dict[str, Any]) -> None:
    project = project_file(ws)
    killed = cli_sync(project, env={"MIGRATE_FAULT": "after-send:2"})
    assert killed.returncode == -9, killed.stderr
    rerun = cli_sync(project)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    yield from postgres_or_skip(tmp_path_factory.mktemp("pg"))


def wait_for_advisory_lock(url: str) -> None:
    import time

    engine = sa.create_engine(url)
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while not conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = "
                                       "'advisory' AND granted").scalar():
            assert time.monotonic() < deadline, "the first sync never took the lock"
            time.sleep(0.05)
    engine.dispose()


def test_second_sync_on_postgresql_store_is_refused_and_nothing_lost(
        ws: dict[str, Any], postgres: PostgresServer, held_sync: threading.Event) -> None:
    url = postgres.fresh_database("sync_lock")
    thread, box = start_sync(ws["settings"], state_url=url)
    wait_for_advisory_lock(url)
    with pytest.raises(StateStoreBusy) as refused:
        run_sync(ws["settings"], state_url=url)
    held_sync.set()
    thread.join(120)
    message = str(refused.value)
    assert refused.value.exit_code == 2
    assert "another sync is running" in message
    assert "/sync_lock" in message
    assert f"pid {os.getpid()}" in message
    assert "127.0.0.1" in message
    assert "error" not in box, box
    assert box["result"].status == "ok"
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])


def test_killed_sync_leaves_no_stale_lock_on_postgresql(ws: dict[str, Any],
                                                        postgres: PostgresServer) -> None:
    url = postgres.fresh_database("sync_kill")
    project = project_file(ws)
    killed = cli_sync(project, "--state", url, env={"MIGRATE_FAULT": "after-send:2"})
    assert killed.returncode == -9, killed.stderr
    rerun = cli_sync(project, "--state", url)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_target_equals(ws["server"].base_url, ws["src"], ws["tmp"])
