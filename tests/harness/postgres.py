"""A private PostgreSQL server for tests (Debian's postgresql package), on a temp datadir.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` system user that Debian's package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from tests.harness.common import free_port


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def postgres_available() -> bool:
    """True when the server binaries are installed."""
    return _bin_dir() is not None


class PostgresServer:
    """``with PostgresServer(tmp) as pg: engine = create_engine(pg.url())``."""

    def __init__(self, workdir: Path) -> None:
        bindir = _bin_dir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        # pytest's temp folders are private to root; the server user needs its own folder.
        self.bindir, self.workdir = bindir, Path(tempfile.mkdtemp(prefix="emr-migrate-pg-"))
        self.workdir.chmod(0o755)
        self.datadir = self.workdir / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _as_owner(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start(self, timeout: float = 60) -> PostgresServer:
        """initdb, start, wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        subprocess.run(self._as_owner([str(self.bindir / "initdb"), "-D", str(self.datadir),
                                       "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                       check=True, capture_output=True)
        with (self.workdir / "postgres.log").open("wb") as log:
            self.proc = subprocess.Popen(self._as_owner([
                str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.workdir)]), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    time.sleep(0.3)
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start: "
                           + (self.workdir / "postgres.log").read_text()[-2000:])

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def fresh_database(self, name: str) -> str:
        """Drop and create database ``name``; its SQLAlchemy URL."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        engine.dispose()
        return self.url(name)


def postgres_or_skip(workdir: Path) -> Iterator[PostgresServer]:
    """A started server for a fixture to yield from; skips the tests when PostgreSQL is not
    installed."""
    import pytest

    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed (scripts/test.sh installs "
                    "them)")
    with PostgresServer(workdir) as server:
        yield server
