"""Start a real ``sekmet-fhir`` FHIR R4 server for integration tests.

sekmet lives in its own virtualenv (``<repo>/.tools/sekmet-venv`` unless ``SEKMET_BIN`` points at
an existing ``sekmet`` executable) so its dependencies never mix with ours.  Each
:class:`SekmetServer` gets its own work directory, port, ``settings.yaml`` and SQLite database,
so parallel pytest workers do not interfere.

Behaviour of sekmet-fhir 0.1.1 worth knowing when writing tests (verified against the server):

* inbound ``strict`` validation is *structural only* (fhir.resources R4B pydantic models): wrong
  JSON types, unknown elements, missing required elements and malformed primitives are refused
  with 400, but code values (``status: foo``), profiles, extension URLs, UCUM codes and
  reference targets are not checked;
* every PUT writes a new version, even with identical content (``W/"1"`` then ``W/"2"``);
* transactions are atomic (one bad entry -> 400 OperationOutcome, nothing written);
* DELETE always answers 200 with an OperationOutcome, also for ids that never existed; a read of
  a deleted resource answers 410.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx
import yaml

from tests.harness.common import LOG_TAIL_LINES, free_port, port_is_free
from tests.harness.common import tail as log_tail

SEKMET_REQUIREMENT = "sekmet-fhir==0.1.1"
"""The pinned sekmet release the harness installs."""

REPO_ROOT = Path(__file__).resolve().parent.parents[1]
"""Repository root: two levels above this harness directory."""

DEFAULT_VENV = REPO_ROOT / ".tools" / "sekmet-venv"
FHIR_JSON = "application/fhir+json"
STOP_GRACE_SECONDS = 10.0
_MARKER_NAME = ".sekmet-harness-installed"
_PORT_RETRIES = 3
# sekmet reads these to override settings.yaml; the harness must not inherit them.
_SEKMET_ENV_OVERRIDES = ("SEKMET_CONFIG", "SEKMET_BASE_URL", "SEKMET_DB", "SEKMET_PUBLIC_URL",
                         "SEKMET_PORT")
_RESET_SNIPPET = "import sys\nfrom sekmet.fhir.store import Store\nStore(sys.argv[1]).reset()\n"


def ensure_sekmet() -> Path:
    """Return the path of a ``sekmet`` executable, installing sekmet-fhir if needed.

    Order: the ``SEKMET_BIN`` environment variable if set; else
    ``<repo>/.tools/sekmet-venv/bin/sekmet``, creating that virtualenv with ``sys.executable -m
    venv`` and ``pip install sekmet-fhir==0.1.1`` when it is missing.  A file lock makes parallel
    pytest workers wait for a single installation.
    """
    override = os.environ.get("SEKMET_BIN")
    if override:
        exe = Path(override)
        if not exe.is_file():
            raise FileNotFoundError(f"SEKMET_BIN={override!r} is not a file")
        return exe
    return ensure_venv(DEFAULT_VENV)


def ensure_venv(venv: Path, requirement: str = SEKMET_REQUIREMENT) -> Path:
    """Make sure ``venv`` holds ``requirement`` and return its ``bin/sekmet``.

    An installation counts as complete only once a marker file naming the requirement has been
    written, so an interrupted or differently pinned install is redone.
    """
    exe = venv / "bin" / "sekmet"
    if _installed(venv, requirement):
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _installed(venv, requirement):  # another worker may have finished meanwhile
                _install(venv, requirement)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return exe


def _installed(venv: Path, requirement: str) -> bool:
    """True when ``venv`` has a sekmet executable installed from ``requirement``."""
    marker = venv / _MARKER_NAME
    return ((venv / "bin" / "sekmet").is_file() and marker.is_file()
            and marker.read_text().strip() == requirement)


def _install(venv: Path, requirement: str) -> None:
    """Create ``venv`` (if needed) and pip-install ``requirement`` into it."""
    print(f"[sekmet harness] installing {requirement} into {venv} (one-off, takes a minute)",
          file=sys.stderr, flush=True)
    env = _clean_env()
    python = venv / "bin" / "python"
    steps: list[list[str]] = []
    if not python.is_file():
        steps.append([sys.executable, "-m", "venv", str(venv)])
    steps.append([str(python), "-m", "pip", "install", "--disable-pip-version-check", requirement])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise RuntimeError(
                f"Installing {requirement} into {venv} failed: {' '.join(cmd)} exited with "
                f"{proc.returncode}. Output tail:\n{tail}")
    if not (venv / "bin" / "sekmet").is_file():
        raise RuntimeError(f"pip install {requirement} succeeded but {venv}/bin/sekmet is missing")
    (venv / _MARKER_NAME).write_text(requirement + "\n")


def _clean_env() -> dict[str, str]:
    """Environment for sekmet subprocesses: none of our Python or sekmet overrides leak in."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", *_SEKMET_ENV_OVERRIDES}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONUNBUFFERED"] = "1"
    return env








class _PortInUseError(RuntimeError):
    """The server exited because its port was taken between choosing and binding it."""


class SekmetServer:
    """A sekmet-fhir server process with its own work directory, port and database.

    Use as a context manager (``with SekmetServer(tmp) as server: ...``) or call :meth:`start`
    and :meth:`stop`.  ``base_url`` is the FHIR base, e.g. ``http://127.0.0.1:PORT/fhir``.
    """

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        """Prepare (but do not start) a server in ``workdir``; ``port=None`` picks a free one."""
        self.workdir = Path(workdir).resolve()
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self.log_path = self.workdir / "sekmet.log"
        self.settings_path = self.workdir / "settings.yaml"
        self.data_dir = self.workdir / "data"
        self.db_path = self.data_dir / "sekmet.db"
        self.exe: Path | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """FHIR base URL without a trailing slash."""
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def settings(self) -> dict[str, Any]:
        """The settings.yaml content for this server (see sekmet/config.py for the schema)."""
        return {
            "base_url": self.base_url,
            "host": "127.0.0.1",
            "port": self.port,
            "data_dir": str(self.data_dir),
            "log_inbound": False,  # no traffic log: keeps the database small and writes fast
            "simulator": {"enabled": False},  # else it rewrites orders/tasks/claims by itself
            "validation": {"inbound": "strict"},  # structurally invalid resources -> 400
            "server_auth": {"types": ["none"]},
        }

    def start(self, timeout: float = 60, *, fresh: bool = True) -> Self:
        """Start the server and wait until ``/fhir/metadata`` answers 200.

        ``fresh=True`` (default) wipes the data directory first; ``fresh=False`` keeps it, e.g.
        to test a restart.  Raises ``RuntimeError`` with the log tail if startup fails.
        """
        if self.running:
            raise RuntimeError(f"sekmet server on port {self.port} is already running")
        self.exe = ensure_sekmet()
        self._close_client()  # the port may change below
        self.workdir.mkdir(parents=True, exist_ok=True)
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        attempts = 1 if self._fixed_port else _PORT_RETRIES
        for attempt in range(1, attempts + 1):
            if not port_is_free(self.port):
                if self._fixed_port:
                    raise RuntimeError(f"port {self.port} is already in use on 127.0.0.1")
                self.port = free_port()
            self.settings_path.write_text(yaml.safe_dump(self.settings(), sort_keys=False))
            self._spawn(self.exe)
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

    def _spawn(self, exe: Path) -> None:
        """Launch ``sekmet serve`` with output appended to the log file."""
        self._log = self.log_path.open("ab")
        self._log.write(f"\n=== harness: starting sekmet on port {self.port} ===\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            [str(exe), "serve", "-c", str(self.settings_path)],
            cwd=self.workdir, env=_clean_env(), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT)

    def _wait_ready(self, timeout: float) -> None:
        """Poll the metadata endpoint until it answers, the process dies or time runs out."""
        assert self._proc is not None
        started = time.monotonic()
        deadline = started + timeout
        url = f"{self.base_url}/metadata"
        with httpx.Client(timeout=2.0) as probe:
            while True:
                code = self._proc.poll()
                if code is not None:
                    tail = log_tail(self.log_path)
                    if "address already in use" in tail.lower() and not self._fixed_port:
                        raise _PortInUseError(f"port {self.port} was taken")
                    raise RuntimeError(
                        f"sekmet exited with code {code} during startup; last lines of "
                        f"{self.log_path}:\n{tail}")
                try:
                    if probe.get(url).status_code == 200:
                        self.startup_seconds = time.monotonic() - started
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"sekmet did not answer {url} within {timeout:.0f}s; last lines of "
                        f"{self.log_path}:\n{log_tail(self.log_path)}")
                time.sleep(0.1)

    def _terminate(self) -> None:
        """Terminate the process (kill after the grace period) and close the log file."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the server (terminate, wait, kill after 10 s). Safe to call more than once."""
        atexit.unregister(self.stop)
        self._close_client()
        self._terminate()

    def _close_client(self) -> None:
        """Close the cached httpx client, if any."""
        if self._client is not None:
            self._client.close()
            self._client = None

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
        """Show the base URL and whether the process is alive."""
        return f"SekmetServer({self.base_url!r}, running={self.running})"

    # ------------------------------------------------------------------ HTTP helpers

    @property
    def client(self) -> httpx.Client:
        """An httpx client whose relative URLs resolve against the FHIR base (``"Patient"``)."""
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url + "/", timeout=120.0,
                headers={"Accept": FHIR_JSON, "Content-Type": FHIR_JSON})
        return self._client

    def count(self, resource_type: str) -> int:
        """Number of current (not deleted) resources of a type, via ``_summary=count``."""
        resp = self.client.get(resource_type, params={"_summary": "count"})
        resp.raise_for_status()
        return int(resp.json()["total"])

    def counts(self, types: Iterable[str]) -> dict[str, int]:
        """:meth:`count` for several resource types."""
        return {t: self.count(t) for t in types}

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        """The current resource, or None if it does not exist (404) or was deleted (410)."""
        resp = self.client.get(f"{resource_type}/{resource_id}")
        if resp.status_code in (404, 410):
            return None
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result

    def delete(self, resource_type: str, resource_id: str) -> None:
        """Delete a resource. sekmet answers 200 even if it did not exist."""
        self.client.delete(f"{resource_type}/{resource_id}").raise_for_status()

    def post_bundle(self, bundle: Mapping[str, Any],
                    headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST a transaction or batch Bundle to the FHIR base; the response is not checked."""
        return self.client.post(self.base_url, json=dict(bundle), headers=dict(headers or {}))

    def put_bundle(self, resources: Iterable[Mapping[str, Any]],
                   bundle_type: str = "transaction") -> dict[str, Any]:
        """Bundle ``PUT Type/id`` entries (resources need ``id``) and return the response Bundle.

        Raises ``httpx.HTTPStatusError`` if the server refuses the Bundle as a whole.
        """
        resp = self.post_bundle(put_bundle(self.base_url, resources, bundle_type))
        resp.raise_for_status()
        result: dict[str, Any] = resp.json()
        return result

    def iter_ids(self, resource_type: str, page_size: int = 1000) -> Iterator[str]:
        """Yield the ids of all current resources of a type (``_elements=id``, next links)."""
        resp = self.client.get(resource_type,
                               params={"_elements": "id", "_count": str(page_size)})
        while True:
            resp.raise_for_status()
            page = resp.json()
            for entry in page.get("entry", []):
                if entry.get("search", {}).get("mode", "match") == "match":
                    yield entry["resource"]["id"]
            url = next((link["url"] for link in page.get("link", [])
                        if link.get("relation") == "next"), None)
            if url is None:
                return
            resp = self.client.get(url)

    def ids(self, resource_type: str) -> set[str]:
        """The ids of all current resources of a type."""
        return set(self.iter_ids(resource_type))

    def reset(self) -> None:
        """Delete all resources, history and logs while the server keeps running (0.2-0.5 s).

        Uses sekmet's own ``Store.reset()`` through the sekmet venv's Python, falling back to
        ``sekmet reset --yes`` (~1.6 s) when there is no such interpreter.  Afterwards the
        database is emptier than after a fresh start: the 6 ``Basic`` SubscriptionTopic
        resources sekmet seeds at startup are gone too (re-seeded only when a subscription
        feature asks for them), and version ids restart at 1.
        """
        if self.exe is None:
            raise RuntimeError("reset() needs a started server")
        python = self.exe.parent / "python"
        if python.is_file():
            cmd = [str(python), "-c", _RESET_SNIPPET, str(self.db_path)]
        else:
            cmd = [str(self.exe), "reset", "--yes", "-c", str(self.settings_path)]
        proc = subprocess.run(cmd, cwd=self.workdir, env=_clean_env(), capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"sekmet reset failed ({proc.returncode}):\n"
                               f"{(proc.stdout + proc.stderr)[-4000:]}")


def put_bundle(base_url: str, resources: Iterable[Mapping[str, Any]],
               bundle_type: str = "transaction") -> dict[str, Any]:
    """Build a transaction/batch Bundle of ``PUT Type/id`` entries with absolute fullUrls."""
    entries = []
    for res in resources:
        ref = f"{res['resourceType']}/{res['id']}"
        entries.append({"fullUrl": f"{base_url}/{ref}", "resource": dict(res),
                        "request": {"method": "PUT", "url": ref}})
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
