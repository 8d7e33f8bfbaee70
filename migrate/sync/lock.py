"""One sync at a time on a state store, and state-store failures as user errors.

Two syncs on one store at once plan against each other's half-recorded state: writes are lost
and deletes are planned from a partial view. A sync therefore holds a lock for its whole run:

* SQLite file: ``fcntl.flock`` on ``<file>.lock`` beside it, which says who holds it (pid,
  host, since when);
* PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own, named after the holder.

Both die with the process (even ``kill -9``): the kernel drops the file lock, the server the
session's advisory lock when its connection closes. A second sync is refused at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from migrate.errors import ExitCode, MigrateError

_PG_KEY = int.from_bytes(hashlib.sha256(b"emr-migrate sync").digest()[:4], "big") & 0x7FFFFFFF
"""The advisory lock key of a sync (positive 32 bits: ``pg_locks.objid`` shows it as is)."""


class StateStoreBusy(MigrateError):
    """Another sync holds the state store."""

    exit_code = ExitCode.USAGE


class StateStoreError(MigrateError):
    """The state store failed (disk full, database gone): the sync stopped where it was."""

    exit_code = ExitCode.LOAD_FAILED


def store_name(engine: sa.Engine) -> str:
    """The store's URL without its password."""
    return engine.url.render_as_string(hide_password=True)


def holder() -> str:
    """Who takes a lock: pid, host and time."""
    since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on host {socket.gethostname()}, since {since}"


@contextlib.contextmanager
def sync_lock(engine: sa.Engine) -> Iterator[None]:
    """Hold the sync lock of the store behind ``engine`` for the ``with`` block; raise
    `StateStoreBusy` at once when another process holds it."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":  # private to this process
            yield
            return
        with _file_lock(f"{path}.lock", store_name(engine)):
            yield
    elif dialect == "postgresql":
        with _advisory_lock(engine):
            yield
    else:
        yield


@contextlib.contextmanager
def _file_lock(path: str, name: str) -> Iterator[None]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
            raise _busy(name, who or "a process that has not said who it is") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder().encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # the holder's name goes with the lock
    finally:
        os.close(fd)  # releases the flock, as the death of the process would


@contextlib.contextmanager
def _advisory_lock(engine: sa.Engine) -> Iterator[None]:
    name = store_name(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SELECT set_config('application_name', :n, false)"),
                     {"n": f"emr-migrate sync pid {os.getpid()} on host "
                           f"{socket.gethostname()}"[:63]})
        if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar():
            raise _busy(name, _pg_holder(conn))
        try:
            yield
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):  # a lost connection has lost it too
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})


def _pg_holder(conn: Any) -> str:
    row = conn.execute(sa.text(
        "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a "
        "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
        "AND l.objid = :k"), {"k": _PG_KEY}).first()
    if row is None:
        return "a session that has just let go; try again"
    app, addr = row
    held = app.removeprefix("emr-migrate sync ") if app else "an unnamed session"
    return f"{held} (connected from {addr})" if addr else held


def _busy(name: str, who: str) -> StateStoreBusy:
    return StateStoreBusy(
        f"another sync is running on the state store {name}: held by {who}. Two syncs at once "
        "would lose writes; wait for it to finish (or stop it), then run sync again.")
