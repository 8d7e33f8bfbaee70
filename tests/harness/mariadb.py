"""Start a private MariaDB server for integration tests (and load the OpenEMR test practice).

Each :class:`MariaDBServer` gets its own work directory holding the data directory (a copy of
a pristine one that ``mariadb-install-db`` makes once per machine, see
:func:`template_datadir`), the unix socket, the pid file and the error log, and listens on a
free TCP port of 127.0.0.1 only, so parallel pytest workers never share a server.  Grants stay
on: root connects without a password, and :meth:`MariaDBServer.create_readonly_user` makes
users that may only SELECT.  Needs Debian's ``mariadb-server`` (``mariadbd`` and
``mariadb-install-db``, or the older ``mysqld`` / ``mysql_install_db`` names).  A server starts
in about a second (plus 2-5 s for the one-off installation).

Server settings chosen to look like a typical OpenEMR host:

* ``sql_mode=NO_ENGINE_SUBSTITUTION`` only: no ``STRICT_*``, ``NO_ZERO_DATE`` or
  ``NO_ZERO_IN_DATE``, so ``'0000-00-00'`` dates are accepted as many real installs hold them;
* ``utf8mb4`` / ``utf8mb4_general_ci`` server character set, as the OpenEMR installer creates;
* ``time_zone=+00:00`` so TIMESTAMP columns give back exactly the naive text that was stored
  (no daylight-saving shifts); DATETIME columns are never converted anyway.

How values come back through PyMySQL (and SQLAlchemy, which passes them on unchanged, also
for reflected DATE/DATETIME columns): DATE / DATETIME / TIMESTAMP values arrive as
``datetime.date`` / ``datetime.datetime``, but zero or otherwise invalid ones (``0000-00-00``,
``2020-00-00``) arrive as the *string* MariaDB sent (``'0000-00-00'``,
``'0000-00-00 00:00:00'``), never as None; BINARY(16) arrives as ``bytes``; DECIMAL as
``decimal.Decimal`` (``Decimal('0.000000')`` for DECIMAL(12,6)).
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from tests.harness.common import free_port, port_is_free
from tests.harness.common import tail as log_tail

if TYPE_CHECKING:
    import pymysql
    import pytest

REPO_ROOT = Path(__file__).resolve().parent.parents[1]
"""Repository root: two levels above this harness directory."""

SQL_MODE = "NO_ENGINE_SUBSTITUTION"
CHARSET = "utf8mb4"
COLLATION = "utf8mb4_general_ci"
STOP_GRACE_SECONDS = 30.0
_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin",
                "/usr/local/mysql/bin", "/opt/mariadb/bin")
_SERVER_NAMES = ("mariadbd", "mysqld")
_INSTALL_NAMES = ("mariadb-install-db", "mysql_install_db")
_SOCKET_PATH_MAX = 100  # AF_UNIX paths are limited to 107 bytes on Linux
_PORT_RETRIES = 3
_LOG_FILE_SIZE = "16M"
_COMPLETE = ".harness-template-complete"


def find_binary(names: Sequence[str]) -> Path | None:
    """The first of ``names`` found on ``PATH`` or in the usual sbin/bin directories."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SEARCH_DIRS])
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return Path(found)
    return None


def mariadb_binaries() -> tuple[Path, Path]:
    """``(server, install_db)`` executables; FileNotFoundError when MariaDB is not installed."""
    server, install = find_binary(_SERVER_NAMES), find_binary(_INSTALL_NAMES)
    if server is None or install is None:
        raise FileNotFoundError(
            "MariaDB server binaries not found (mariadbd/mysqld and mariadb-install-db/"
            "mysql_install_db); install Debian's mariadb-server: apt-get install -y mariadb-server")
    return server, install


def mariadb_available() -> bool:
    """True when the MariaDB server binaries are installed."""
    try:
        mariadb_binaries()
    except FileNotFoundError:
        return False
    return True






def _user_args() -> list[str]:
    """``--user=root`` when running as root (mariadbd refuses to run as root otherwise)."""
    return ["--user=root"] if os.geteuid() == 0 else []


def template_datadir(install_bin: Path, server_bin: Path) -> Path:
    """A pristine data directory made once by ``mariadb-install-db`` and copied per server.

    Installing takes 2-5 s, copying a fraction of that.  The template lives in the system
    temp directory, keyed by the binaries (path and modification time), so every pytest
    worker and later runs reuse it; a file lock makes concurrent workers wait for one
    installation, and only a finished one (marked complete) is used.  Root gets an empty
    password (``--auth-root-authentication-method=normal``).
    """
    stamp = f"{install_bin}:{server_bin}:{server_bin.stat().st_mtime_ns}:{_LOG_FILE_SIZE}"
    key = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    base = Path(tempfile.gettempdir()) / f"emr-migrate-mariadb-{os.geteuid()}"
    template = base / f"datadir-{key}"
    if (template / _COMPLETE).is_file():
        return template
    base.mkdir(parents=True, exist_ok=True)
    with (base / f"datadir-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (template / _COMPLETE).is_file():
                shutil.rmtree(template, ignore_errors=True)
                _install_db(install_bin, template, base / f"install-{key}.log")
                (template / _COMPLETE).write_text(stamp + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return template


def _install_db(install_bin: Path, datadir: Path, log: Path) -> None:
    """Run mariadb-install-db into ``datadir``; RuntimeError with the log tail on failure."""
    cmd = [str(install_bin), "--no-defaults", f"--datadir={datadir}",
           "--auth-root-authentication-method=normal", "--skip-test-db",
           f"--innodb-log-file-size={_LOG_FILE_SIZE}", *_user_args()]
    with log.open("wb") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False, cwd=log.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"{install_bin.name} failed with exit code {proc.returncode}; "
                           f"last lines of {log}:\n{log_tail(log)}")




def quote_identifier(name: str) -> str:
    """``name`` as a backtick-quoted MariaDB identifier."""
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    """``value`` as a single-quoted MariaDB string literal (for DDL that takes no parameters)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class _PortInUseError(RuntimeError):
    """The server exited because its port was taken between choosing and binding it."""


class MariaDBServer:
    """A ``mariadbd`` process with its own data directory, unix socket and TCP port.

    Use as a context manager (``with MariaDBServer(tmp) as server: ...``) or call :meth:`start`
    and :meth:`stop`.  :meth:`url` gives SQLAlchemy URLs (``mysql+pymysql://``) for any database
    and user; :meth:`execute` runs SQL as root.
    """

    host = "127.0.0.1"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        """Prepare (but do not start) a server in ``workdir``; ``port=None`` picks a free one."""
        self.workdir = Path(workdir).resolve()
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self.datadir = self.workdir / "data"
        self.log_path = self.workdir / "mariadbd.err"
        self.pid_path = self.workdir / "mariadbd.pid"
        self.tmpdir = self.workdir / "tmp"
        self.socket_path = self.workdir / "mariadbd.sock"
        self.server_bin: Path | None = None
        self.startup_seconds: float | None = None
        self._socket_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60, *, fresh: bool = True) -> Self:
        """Initialise the data directory if needed, start the server and wait for connections.

        ``fresh=True`` (default) wipes an existing data directory first; ``fresh=False`` keeps
        it, e.g. to test a restart.  Raises ``RuntimeError`` with the error-log tail on failure.
        """
        if self.running:
            raise RuntimeError(f"MariaDB server on port {self.port} is already running")
        self.server_bin, install_bin = mariadb_binaries()
        if self._fixed_port and not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} is already in use on {self.host}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(exist_ok=True)
        if fresh and self.datadir.exists():
            shutil.rmtree(self.datadir)
        if not (self.datadir / "mysql").is_dir():
            template = template_datadir(install_bin, self.server_bin)
            shutil.copytree(template, self.datadir, ignore=shutil.ignore_patterns(_COMPLETE))
        self._choose_socket_path()
        attempts = 1 if self._fixed_port else _PORT_RETRIES
        for attempt in range(1, attempts + 1):
            if not port_is_free(self.port):
                if self._fixed_port:
                    raise RuntimeError(f"port {self.port} is already in use on {self.host}")
                self.port = free_port()
            self._spawn(self.server_bin)
            try:
                self._wait_ready(timeout)
            except _PortInUseError:
                self._terminate()
                if attempt == attempts:
                    raise
                self.port = free_port()
            except BaseException:
                self._terminate()
                raise
            else:
                atexit.register(self.stop)
                return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _choose_socket_path(self) -> None:
        """Keep the socket in the work directory unless that path is too long for AF_UNIX."""
        wanted = self.workdir / "mariadbd.sock"
        if len(os.fsencode(wanted)) <= _SOCKET_PATH_MAX:
            self.socket_path = wanted
            return
        if self._socket_dir is None:
            self._socket_dir = Path(tempfile.mkdtemp(prefix="mdb-"))
        self.socket_path = self._socket_dir / "mariadbd.sock"

    def command(self, server_bin: Path) -> list[str]:
        """The ``mariadbd`` command line (``--no-defaults`` first: no my.cnf is read)."""
        return [
            str(server_bin), "--no-defaults",
            f"--datadir={self.datadir}", f"--port={self.port}", f"--socket={self.socket_path}",
            f"--bind-address={self.host}", f"--pid-file={self.pid_path}",
            f"--log-error={self.log_path}", f"--tmpdir={self.tmpdir}",
            f"--sql-mode={SQL_MODE}", f"--character-set-server={CHARSET}",
            f"--collation-server={COLLATION}", "--default-time-zone=+00:00",
            "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=2", "--skip-innodb-doublewrite",
            f"--innodb-log-file-size={_LOG_FILE_SIZE}", "--max-connections=200",
            *_user_args(),
        ]

    def _spawn(self, server_bin: Path) -> None:
        """Launch mariadbd; it writes to the error log, its own stdout/stderr go there too."""
        with self.log_path.open("ab") as log:
            log.write(f"\n=== harness: starting mariadbd on port {self.port} ===\n".encode())
            log.flush()
            self._proc = subprocess.Popen(self.command(server_bin), cwd=self.workdir,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)

    def _wait_ready(self, timeout: float) -> None:
        """Poll until root can connect, the server dies or time is up.

        The probe uses this server's own unix socket, so another server already listening on
        the port can never be mistaken for this one.
        """
        assert self._proc is not None
        started = time.monotonic()
        deadline = started + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                tail = log_tail(self.log_path)
                if "address already in use" in tail.lower() and not self._fixed_port:
                    raise _PortInUseError(f"port {self.port} was taken")
                raise RuntimeError(f"mariadbd exited with code {code} during startup; last "
                                   f"lines of {self.log_path}:\n{tail}")
            if self._accepts_root():
                self.startup_seconds = time.monotonic() - started
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not accept connections on port {self.port} "
                                   f"within {timeout:.0f}s; last lines of {self.log_path}:\n"
                                   f"{log_tail(self.log_path)}")
            time.sleep(0.1)

    def _accepts_root(self) -> bool:
        """True once root can log in through this server's own unix socket."""
        import pymysql

        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            try:
                raw.connect(str(self.socket_path))
            except OSError:
                return False
        try:
            pymysql.connect(unix_socket=str(self.socket_path), user="root",
                            connect_timeout=2).close()
        except pymysql.err.OperationalError:
            # PyMySQL leaves the failed socket to the garbage collector; collect it quietly
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
            return False
        return True

    def _terminate(self) -> None:
        """SIGTERM (clean InnoDB shutdown), kill after the grace period."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Stop the server (terminate, wait, kill after 30 s). Safe to call more than once."""
        atexit.unregister(self.stop)
        self._terminate()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> Self:
        """Start the server unless it is already running."""
        if not self.running:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the server."""
        self.stop()

    def __repr__(self) -> str:
        """Show host, port and whether the process is alive."""
        return f"MariaDBServer({self.host}:{self.port}, running={self.running})"

    # ------------------------------------------------------------------ SQL helpers

    def url(self, database: str | None = None, user: str = "root", password: str = "") -> str:
        """SQLAlchemy URL ``mysql+pymysql://user:password@127.0.0.1:PORT/database``.

        The password is URL-escaped; ``?charset=utf8mb4`` is appended so non-ASCII text
        round-trips whatever PyMySQL's default is.
        """
        from sqlalchemy.engine import URL

        url = URL.create("mysql+pymysql", username=user, password=password or None,
                         host=self.host, port=self.port, database=database,
                         query={"charset": CHARSET})
        return url.render_as_string(hide_password=False)

    def connect(self, database: str | None = None, user: str = "root",
                password: str = "") -> pymysql.connections.Connection[Any]:
        """A PyMySQL connection over TCP (autocommit on)."""
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database, charset=CHARSET, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] | None = None,
                database: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement as root and return its rows ([] for statements without rows)."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def execute_script(self, statements: Sequence[str], database: str | None = None) -> None:
        """Run several statements as root on one connection, in order."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
        finally:
            conn.close()

    def create_database(self, name: str, *, replace: bool = True) -> str:
        """Create database ``name`` (utf8mb4; dropped first when ``replace``) and return its URL."""
        statements = [f"DROP DATABASE IF EXISTS {quote_identifier(name)}"] if replace else []
        statements.append(f"CREATE DATABASE {quote_identifier(name)} "
                          f"CHARACTER SET {CHARSET} COLLATE {COLLATION}")
        self.execute_script(statements)
        return self.url(name)

    def create_readonly_user(self, name: str, password: str, database: str) -> str:
        """A user that may only SELECT from ``database`` (from 127.0.0.1 and the socket).

        Returns the SQLAlchemy URL for that user and database.
        """
        statements = []
        for host in ("%", "localhost"):
            account = f"{quote_string(name)}@{quote_string(host)}"
            statements += [f"CREATE OR REPLACE USER {account} IDENTIFIED BY "
                           f"{quote_string(password)}",
                           f"GRANT SELECT ON {quote_identifier(database)}.* TO {account}"]
        self.execute_script(statements)
        return self.url(database, user=name, password=password)


# ---------------------------------------------------------------------- OpenEMR practice

OPENEMR_DATABASE = "openemr"
OPENEMR_READONLY_USER = "emr_migrate_ro"
OPENEMR_READONLY_PASSWORD = "read-only-pw"


@dataclass
class OpenEMRDatabase:
    """The generated OpenEMR practice in a running :class:`MariaDBServer`."""

    server: MariaDBServer
    database: str
    url: str
    """Root URL (read-write)."""
    readonly_url: str
    """URL of a user with SELECT only: what a migration should use."""
    counts: dict[str, int] = field(default_factory=dict)
    """Rows written per table."""


def load_openemr(server: MariaDBServer, database: str = OPENEMR_DATABASE, *,
                 patients: int | None = None, seed: int | None = None) -> OpenEMRDatabase:
    """Create ``database`` on ``server`` with the OpenEMR schema and the generated practice.

    ``patients`` / ``seed`` default to the generator's defaults (40 patients, seed 20261125:
    the same practice as ``sample_data/openemr/openemr.sqlite``).  A read-only user
    (:data:`OPENEMR_READONLY_USER`) is created as well.
    """
    import sqlalchemy as sa

    gen = openemr_generator()
    url = server.create_database(database)
    engine = sa.create_engine(url)
    try:
        counts = gen.generate(engine, patients=gen.DEFAULT_PATIENTS if patients is None
                              else patients, seed=gen.DEFAULT_SEED if seed is None else seed,
                              create_schema=True)
    finally:
        engine.dispose()
    readonly = server.create_readonly_user(OPENEMR_READONLY_USER, OPENEMR_READONLY_PASSWORD,
                                           database)
    return OpenEMRDatabase(server=server, database=database, url=url, readonly_url=readonly,
                           counts=counts)


@contextmanager
def openemr_database(tmp_path_factory: pytest.TempPathFactory, *,
                     patients: int | None = None, seed: int | None = None,
                     database: str = OPENEMR_DATABASE) -> Iterator[OpenEMRDatabase]:
    """Start a private MariaDB, load the OpenEMR practice, yield it, stop the server.

    For fixtures::

        @pytest.fixture(scope="module")
        def openemr(tmp_path_factory):
            with openemr_database(tmp_path_factory) as db:
                yield db
    """
    with MariaDBServer(tmp_path_factory.mktemp("mariadb")) as server:
        yield load_openemr(server, database, patients=patients, seed=seed)


def openemr_generator() -> Any:
    """The ``sample_data/openemr/generate.py`` module (sample_data is not a package)."""
    import importlib.util
    import sys

    name = "_emr_migrate_openemr_generate"
    module = sys.modules.get(name)
    if module is None:
        path = REPO_ROOT / "sample_data" / "openemr" / "generate.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module
