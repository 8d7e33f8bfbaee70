"""Failed runs must not look finished (issue 16, case 7): disk full, database gone, kill -9.

A run writes ``run.json`` saying ``running`` before it reads a row, and ``failed`` with the
reason and exit code when it stops on an error; output files carry a ``.partial`` name until
complete. Each case first leaves an earlier successful run in the same folder, to show that
its verdict does not survive next to the failed run's files.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import REPO, SYNTHEA_PACK, TEST_NAMESPACE
from tests.harness.mariadb import MariaDBServer, load_openemr, mariadb_available

SAMPLE = REPO / "sample_data" / "synthea"


def project(tmp_path: Path, source: str | Path = SAMPLE, mappings: Path = SYNTHEA_PACK,
            extra: str = "") -> Path:
    path = tmp_path / "migration.yaml"
    path.write_text(
        f"version: 1\nmappings: {mappings}\nsource: '{source}'\n"
        f"target: ndjson:{tmp_path / 'out' / 'nd'}\noutput: {tmp_path / 'out'}\n"
        f"identity: {{namespace: {TEST_NAMESPACE}}}\n{extra}", encoding="utf-8")
    return path


def migrate(*args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # the file size limit stands in for a full disk (EFBIG)
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True,
                          text=True, timeout=300, check=False, preexec_fn=limit)


def run_json(tmp_path: Path) -> dict[str, Any]:
    return orjson.loads((tmp_path / "out" / "run.json").read_bytes())


def outputs(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "out" / "nd").iterdir())


def earlier_ok_run(tmp_path: Path, cfg: Path) -> None:
    done = migrate("run", "-c", str(cfg), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert run_json(tmp_path)["status"] == "ok"


def test_disk_full_fails_with_exit_4_and_leaves_no_file_that_looks_finished(
        tmp_path: Path) -> None:
    cfg = project(tmp_path)
    earlier_ok_run(tmp_path, cfg)
    # Observation.ndjson outgrows 1 MB; run.json (a few KB) still fits.
    done = migrate("run", "-c", str(cfg), "--no-progress", limit_bytes=1 << 20)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert "Observation.ndjson: the disk is full" in done.stderr
    run = run_json(tmp_path)
    assert (run["status"], run["exit_code"]) == ("failed", 4)
    assert "Observation.ndjson: the disk is full" in run["error"]
    assert outputs(tmp_path) == []  # no half-written file passes for a finished one
    assert (tmp_path / "out" / "run.json").stat().st_mode & 0o777 == 0o600


def test_killed_run_says_running_and_its_files_are_marked_partial(tmp_path: Path) -> None:
    cfg = project(tmp_path, extra="chunk_size: 20\n")
    earlier_ok_run(tmp_path, cfg)
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "run", "-c", str(cfg),
                             "--no-progress"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    nd = tmp_path / "out" / "nd"
    deadline = time.monotonic() + 60
    while not list(nd.glob("Observation.ndjson.partial")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_json(tmp_path)["status"] == "running"
    names = outputs(tmp_path)
    assert names
    assert all(n.endswith(".ndjson.partial") for n in names), names
    # The next run clears what the killed one left and finishes.
    done = migrate("run", "-c", str(cfg), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert run_json(tmp_path)["status"] == "ok"
    assert not [n for n in outputs(tmp_path) if n.endswith(".partial")]
    assert not list((tmp_path / "out").glob("*.partial"))


@pytest.mark.integration
@pytest.mark.skipif(not mariadb_available(), reason="needs Debian's mariadb-server")
def test_database_gone_mid_run_fails_naming_the_table(tmp_path: Path) -> None:
    from migrate.config import parse_source
    from migrate.errors import ExtractError
    from migrate.extractors.sql import SqlExtractor
    from migrate.pipeline import run_pipeline
    from tests.conftest import make_settings

    server = MariaDBServer(tmp_path / "db").start()
    try:
        load_openemr(server)
        url = server.url("openemr")
        pack = REPO / "mappings" / "openemr"
        out = tmp_path / "out"
        settings = make_settings(parse_source(url, REPO), f"ndjson:{out / 'nd'}", out,
                                 mappings=pack, chunk_size=2)

        class Dying(SqlExtractor):
            """Stops the real server once the first table has been read."""

            def iter_batches(self, *args: Any, **kwargs: Any) -> Any:
                yield from super().iter_batches(*args, **kwargs)
                server.stop()

        ext = Dying(url)
        with pytest.raises(ExtractError) as err:
            run_pipeline(settings, extractor=ext)
    finally:
        server.stop()
        shutil.rmtree(tmp_path / "db", ignore_errors=True)
    message = str(err.value)
    assert message.startswith("lost the source while reading ")
    assert "OperationalError" in message
    assert "run it again once the source is back" in message
    run = orjson.loads((out / "run.json").read_bytes())
    assert (run["status"], run["exit_code"]) == ("failed", err.value.exit_code)
    assert run["error"] == str(err.value)
    assert not (out / "nd").exists() or not list((out / "nd").glob("*.ndjson"))
