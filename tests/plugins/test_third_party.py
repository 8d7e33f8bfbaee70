"""A third-party distribution adds an extractor and a target through entry points alone
(issue 18, item 1): its strings resolve, `emr-migrate plugins` lists it, a whole run goes
through it, the test kit passes on it, MIGRATE_LOAD_PLUGINS leaves it out, and one that
fails to import is a clean ConfigError."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.config import parse_source, parse_target_setting
from migrate.errors import ConfigError, UnknownPluginError
from migrate.extractors.base import EXTRACTORS, open_extractor
from migrate.testing import ExtractorContract, FileTargetContract, LoaderContract
from tests.conftest import REPO, TEST_NAMESPACE
from tests.plugins.conftest import BROKEN_ENTRY_POINTS, install

GOLDEN_INPUT = REPO / "tests" / "golden" / "synthea" / "input"


def csv_to_jsonl(src: Path, dst: Path) -> Path:
    """Every ``TABLE.csv`` of ``src`` as ``TABLE.jsonl`` in ``dst`` (values kept as text)."""
    dst.mkdir(parents=True)
    for path in sorted(src.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh, \
                (dst / f"{path.stem}.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row) + "\n" for row in csv.DictReader(fh))
    return dst


def test_source_and_target_strings_resolve_to_the_plugin(jsonl_installed: Path,
                                                         tmp_path: Path) -> None:
    assert parse_source("jsonl:exports", tmp_path) == {
        "type": "jsonl", "path": str(tmp_path / "exports")}
    assert parse_target_setting("lines:out", tmp_path) == {
        "type": "lines", "path": str(tmp_path / "out")}
    assert parse_source("exports", tmp_path)["type"] == "csv"  # built-ins unchanged
    with pytest.raises(ConfigError, match=r"or lines:DIR$"):
        parse_target_setting("parquet:x", tmp_path)


def test_the_listing_shows_the_plugin_and_its_distribution(jsonl_installed: Path) -> None:
    done = CliRunner().invoke(cli, ["plugins"])
    assert done.exit_code == 0, done.output
    assert "  jsonl  (emr-migrate-jsonl 0.3.0)\n    --source: jsonl:DIR\n" in done.output
    assert "  lines  (emr-migrate-jsonl 0.3.0)\n" in done.output
    assert "    path (Path, required): Folder that receives the file.\n" in done.output
    assert "    file_name (str, 'resources.ndjson'): Name of the file written.\n" in done.output


def test_a_whole_run_goes_through_the_plugin(jsonl_installed: Path, tmp_path: Path) -> None:
    source = csv_to_jsonl(GOLDEN_INPUT, tmp_path / "jsonl")
    common = ["run", "--mappings", str(REPO / "mappings" / "synthea"), "--namespace",
              str(TEST_NAMESPACE), "--no-progress"]
    via_plugin = CliRunner().invoke(cli, [*common, "--source", f"jsonl:{source}", "--target",
                                          f"lines:{tmp_path / 'lines'}", "--out",
                                          str(tmp_path / "out1")])
    built_in = CliRunner().invoke(cli, [*common, "--source", str(GOLDEN_INPUT), "--target",
                                        f"ndjson:{tmp_path / 'nd'}", "--out",
                                        str(tmp_path / "out2")])
    assert via_plugin.exit_code == built_in.exit_code, via_plugin.output
    written = _resources([tmp_path / "lines" / "resources.ndjson"])
    assert len(written) > 50
    assert written == _resources(sorted((tmp_path / "nd").glob("*.ndjson")))
    run = json.loads((tmp_path / "out1" / "run.json").read_text(encoding="utf-8"))
    assert run["target"].startswith("lines:")


def _resources(files: list[Path]) -> list[Any]:
    lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    return sorted((json.loads(line) for line in lines),
                  key=lambda r: (r["resourceType"], r["id"]))


class TestJsonlPassesTheKit(ExtractorContract):
    @pytest.fixture
    def source(self, jsonl_installed: Path, tmp_path: Path) -> tuple[str, dict[str, Any]]:
        folder = tmp_path / "src"
        folder.mkdir()
        (folder / f"{self.table}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in self.rows), encoding="utf-8")
        return "jsonl", {"path": str(folder)}


class TestLinesPassesTheKit(LoaderContract, FileTargetContract):
    @pytest.fixture
    def target(self, jsonl_installed: Path, tmp_path: Path) -> dict[str, Any]:
        return {"type": "lines", "path": str(tmp_path / "lines")}


def test_the_allow_list_leaves_the_plugin_out(jsonl_installed: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATE_LOAD_PLUGINS", "some-other-plugins")
    EXTRACTORS.reset()
    assert "jsonl" not in EXTRACTORS.names()
    assert {"csv", "sql"} <= set(EXTRACTORS.names())  # our own always load
    with pytest.raises(UnknownPluginError, match="valid names: ccda, csv, sql$"):
        open_extractor("jsonl", path=str(tmp_path))
    assert parse_source("jsonl:x", tmp_path)["type"] == "csv"  # a folder named "jsonl:x"
    monkeypatch.setenv("MIGRATE_LOAD_PLUGINS", "emr-migrate-jsonl")
    EXTRACTORS.reset()
    assert "jsonl" in EXTRACTORS.names()


def test_a_plugin_that_fails_to_import_is_a_clean_config_error(site: Path,
                                                               tmp_path: Path) -> None:
    install(site, "emr-migrate-broken", "1.0", BROKEN_ENTRY_POINTS)
    assert parse_source("src", tmp_path)["type"] == "csv"  # not asked for: no error
    with pytest.raises(ConfigError) as err:
        open_extractor("broken")
    assert str(err.value).startswith(
        "extractor 'broken' (entry point 'tests.plugins.no_such_module:BrokenExtractor' of "
        "emr-migrate-broken 1.0) cannot be loaded: ModuleNotFoundError")
    done = CliRunner().invoke(cli, ["plugins"])
    assert done.exit_code == 2
    assert "  broken  (emr-migrate-broken 1.0)\n    cannot be loaded: " in done.output
    assert "Traceback" not in done.output
