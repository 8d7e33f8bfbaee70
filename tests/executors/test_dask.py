"""The Dask executor against the in-process one: identical files, identical state.

Real Dask clusters: a LocalCluster started by the executor, and a cluster started here whose
scheduler address is given as on an existing cluster. The sources carry defects (a ragged
line, a repeated key, a bad date, an empty key), so quarantine ordering is compared too.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.pipeline import run_pipeline
from tests.conftest import REPO, make_settings
from tests.integration.test_sync import assert_target_equals, generate

pytestmark = pytest.mark.integration


def with_defects(src: Path) -> Path:
    """Defects in the table the executor cuts into ranges, and in another one."""
    path = src / "observations.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames or []), list(reader)
    rows.insert(40, dict(rows[10]))  # the same key twice
    rows[55]["DATE"] = "2019-02-30T10:00:00Z"  # no such day
    rows[70]["PATIENT"] = ""  # an empty key column
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[:100])
        fh.write("a,ragged,line\n")
        writer.writerows(rows[100:])
    return src


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("dask") / "src"
    generate(12, 3, src)
    return with_defects(src)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """An 'existing' cluster: two worker processes and a scheduler address."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


def run(src: Path | dict[str, Any], out: Path, **extra: Any) -> dict[str, Any]:
    settings = make_settings(src, f"ndjson:{out / 'nd'}", out, **extra)
    report = run_pipeline(settings)
    return {"report": report, "run": json.loads((out / "run.json").read_text())}


def assert_same_output(local: Path, dask: Path) -> None:
    names = sorted(p.name for p in (local / "nd").glob("*.ndjson"))
    assert names == sorted(p.name for p in (dask / "nd").glob("*.ndjson"))
    assert len(names) > 5
    for name in names:
        assert (local / "nd" / name).read_bytes() == (dask / "nd" / name).read_bytes(), name
    assert (local / "quarantine.ndjson").read_bytes() == (dask / "quarantine.ndjson").read_bytes()
    a, b = (json.loads((p / "run.json").read_text()) for p in (local, dask))
    for key in ("rows", "tables", "resources", "resources_total", "warnings", "unmapped_codes"):
        assert a[key] == b[key], key
    assert not (dask / ".parts").exists()  # part files are cleaned up


def test_csv_output_is_identical(source: Path, tmp_path: Path, cluster: str) -> None:
    local = run(source, tmp_path / "local")
    quarantined = local["report"].quarantined
    assert quarantined >= 4  # the defects are there, and counted
    ours = run(source, tmp_path / "dask", executor="dask", workers=2, partitions=3)
    assert ours["run"]["executor"]["name"] == "dask:LocalCluster (2 workers)"
    assert ours["run"]["executor"]["partitions"]["synthea.observation"] == 3
    assert_same_output(tmp_path / "local", tmp_path / "dask")
    # the same on a cluster that was already running, reached by its address
    remote = run(source, tmp_path / "remote", executor="dask", scheduler=cluster, partitions=4)
    assert remote["run"]["executor"]["name"] == f"dask:{cluster} (2 workers)"
    assert_same_output(tmp_path / "local", tmp_path / "remote")


def test_sql_output_is_identical(tmp_path: Path, cluster: str) -> None:
    db = REPO / "sample_data" / "openemr" / "openemr.sqlite"
    src = {"type": "sql", "url": f"sqlite:///{db}"}
    opts = {"mappings": REPO / "mappings" / "openemr", "timezone": "America/New_York"}
    local = run(src, tmp_path / "local", **opts)
    ours = run(src, tmp_path / "dask", executor="dask", scheduler=cluster, partitions=3, **opts)
    assert local["report"].read == ours["report"].read > 2000
    assert max(ours["run"]["executor"]["partitions"].values()) == 3
    assert_same_output(tmp_path / "local", tmp_path / "dask")


def test_cli_runs_dask_and_reports_bad_settings(source: Path, tmp_path: Path) -> None:
    base = ["run", "--mappings", str(REPO / "mappings" / "synthea"), "--source", str(source),
            "--namespace", "0b6f5c52-2f53-4c39-9d3e-6f6f0f2a7b11", "--no-progress",
            "--target", f"ndjson:{tmp_path / 'nd'}"]  # never the default out/ of the cwd
    bad = CliRunner().invoke(cli, [*base, "--executor", "spark"])
    assert bad.exit_code == 2
    assert "'spark' is not one of 'local', 'dask'" in bad.output
    down = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "o1"),
                                    "--scheduler", "tcp://127.0.0.1:9"])
    assert down.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in down.output
    ok = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "o2"), "--target",
                                  f"ndjson:{tmp_path / 'o2' / 'nd'}", "--executor", "dask",
                                  "--workers", "1", "--max-quarantine-rate", "0"])
    assert ok.exit_code == 1, ok.output  # the 4 injected defects exceed a 0% threshold
    assert "quarantined rows: 4 of 3353" in ok.output


def test_sync_on_dask_keeps_the_state_store_consistent(sekmet_server: Any, tmp_path: Path,
                                                       cluster: str) -> None:
    from migrate.sync import run_sync
    from tests.integration.test_sync import change_source

    sekmet_server.reset()
    src = tmp_path / "src"
    generate(6, 7, src)
    target = {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 100}
    on_dask = make_settings(src, target, tmp_path / "out", executor="dask", scheduler=cluster,
                            partitions=3)
    in_process = make_settings(src, target, tmp_path / "out")

    first = run_sync(on_dask)  # the full load, mapped on the cluster
    assert first.status == "ok"
    assert first.plan == {"create": sum(first.report.resources.values())}
    assert_target_equals(sekmet_server.base_url, src, tmp_path)
    again = run_sync(in_process)  # the state it recorded is exactly what is on the server
    assert again.writes["bundles"] == 0
    assert again.state == first.state

    change_source(src)
    changed = run_sync(on_dask)  # the same plan as in-process (tests/integration/test_sync.py)
    assert (changed.plan["create"], changed.plan["update"], changed.plan["gone-delete"]) == \
        (1, 3, 2)
    assert changed.writes["deleted"] == 2
    assert_target_equals(sekmet_server.base_url, src, tmp_path)
    settled = run_sync(in_process)
    assert settled.writes["bundles"] == 0
    assert settled.state == changed.state
