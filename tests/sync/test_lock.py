"""The sync lock of a state store: one holder at a time, named; gone with its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from migrate.sync.lock import StateStoreBusy, sync_lock
from tests.harness.postgres import PostgresServer, postgres_or_skip

HOLD = """
import sys, time, sqlalchemy as sa
from migrate.sync.lock import sync_lock
with sync_lock(sa.create_engine(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_in_child(url: str) -> subprocess.Popen[str]:
    """Another process that takes the lock and keeps it until killed."""
    child = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def refused_then_free_after_kill(url: str) -> str:
    """The message of a refusal while a child holds the lock; after kill -9 it is free."""
    engine = sa.create_engine(url)
    child = hold_in_child(url)
    try:
        with pytest.raises(StateStoreBusy) as busy, sync_lock(engine):
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
    with sync_lock(engine):  # no stale lock left by the killed holder
        pass
    engine.dispose()
    assert busy.value.exit_code == 2
    assert f"pid {child.pid} on host" in str(busy.value)
    return str(busy.value)


def test_sqlite_lock_refuses_a_second_holder_and_dies_with_the_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    message = refused_then_free_after_kill(url)
    assert f"another sync is running on the state store {url}" in message
    assert (tmp_path / "state.sqlite.lock").read_text() == ""  # the holder's name went too


def test_sqlite_lock_in_one_process_and_released(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with sync_lock(engine):
        with pytest.raises(StateStoreBusy, match=f"pid {os.getpid()}"), sync_lock(engine):
            pass
    with sync_lock(engine):
        pass
    with sync_lock(sa.create_engine("sqlite://")), sync_lock(sa.create_engine("sqlite://")):
        pass  # a private in-memory store needs no lock


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    yield from postgres_or_skip(tmp_path_factory.mktemp("pg"))


@pytest.mark.integration
def test_postgresql_lock_refuses_a_second_holder_and_dies_with_the_first(
        postgres: PostgresServer) -> None:
    url = postgres.url().replace("postgres@", "postgres:s3cret@")
    message = refused_then_free_after_kill(url)
    assert "s3cret" not in message
    assert "127.0.0.1" in message
