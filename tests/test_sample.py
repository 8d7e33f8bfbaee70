"""``migrate.sample`` and ``emr-migrate sample``: the bundled sample as a project folder that
runs with the installed pack by name (entry points faked; the wheel test runs the real ones)."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.config import read_project
from migrate.errors import ConfigError, InternalError
from migrate.sample import project_text, write_sample
from tests.conftest import REPO

SAMPLE = REPO / "sample_data"


def test_the_sample_project_is_standalone_with_a_fresh_namespace(tmp_path: Path) -> None:
    project = write_sample(tmp_path / "demo", SAMPLE)
    again = write_sample(tmp_path / "other", SAMPLE)
    cfg, other = read_project(project), read_project(again)
    assert (cfg.mappings, cfg.source, cfg.target, cfg.output) == (
        "synthea", "export", "ndjson:out/ndjson", "out")
    assert cfg.identity.namespace != other.identity.namespace
    assert cfg.identity.namespace != read_project(SAMPLE / "migration.yaml").identity.namespace
    assert stat.S_IMODE(project.stat().st_mode) == 0o600
    csvs = sorted(p.name for p in (SAMPLE / "synthea").glob("*.csv"))
    assert sorted(p.name for p in (tmp_path / "demo" / "export").iterdir()) == csvs
    assert (tmp_path / "demo" / "export" / "patients.csv").read_bytes() == (
        SAMPLE / "synthea" / "patients.csv").read_bytes()
    # patient rows (synthetic here, real in a copy of this layout): private files and folders
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "demo" / "export").iterdir()} \
        == {0o600}
    assert stat.S_IMODE((tmp_path / "demo" / "export").stat().st_mode) == 0o700


def test_a_folder_that_is_not_empty_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="demo exists and is not an empty folder"):
        write_sample(tmp_path / "demo", SAMPLE)


def test_a_changed_sample_project_layout_is_caught(tmp_path: Path) -> None:
    with pytest.raises(InternalError):
        project_text("version: 1\nmappings: x\n", uuid.uuid4(), tmp_path / "m.yaml")


def test_the_sample_runs_with_the_pack_by_name(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # the pack named by the installed metadata (an editable install: the repository's folder)
    project = write_sample(tmp_path / "demo", SAMPLE)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "-c", str(project), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = orjson.loads((tmp_path / "demo" / "out" / "run.json").read_bytes())
    assert (report["rows"]["read"], report["resources_total"]) == (5760, 5568)
    assert (report["pack"], report["pack_version"]) == ("synthea", "1.0.0")


def test_sample_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["sample", "-h"])
    doc = result.output.split("Options:")[0].rstrip().splitlines()
    assert doc[-4:] == ["  Example:", "    emr-migrate sample demo",
                        "    emr-migrate sample --name riverside hospital",
                        "    emr-migrate run -c demo/migration.yaml     # -> demo/out/ndjson, "
                        "demo/out/run.json"]


def test_an_unknown_sample_is_refused_with_the_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sample 'nope'; samples: riverside, synthea"):
        write_sample(tmp_path / "demo", SAMPLE, name="nope")
    assert not (tmp_path / "demo").exists()
