"""Review of issue 18: third-party plugins that misbehave must end in a clean message (exit
2), never a traceback, and never leak an option declared secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.config import parse_source
from migrate.extractors.base import EXTRACTORS
from tests.conftest import REPO, TEST_NAMESPACE
from tests.distributions import install
from tests.plugins.test_third_party import GOLDEN_INPUT, csv_to_jsonl

HOSTILE = "tests.plugins.hostile_plugin"


def _install(site: Path, *names: str) -> None:
    classes = {"vault": "VaultExtractor", "crashing": "CrashingExtractor",
               "lying": "LyingExtractor", "bigbatch": "BigBatchExtractor",
               "shortread": "ShortReadExtractor", "sloppy": "SloppyExtractor"}
    lines = "".join(f"{n} = {HOSTILE}:{classes[n]}\n" for n in names)
    install(site, "emr-migrate-hostile", "0.1", f"[migrate.extractors]\n{lines}")
    EXTRACTORS.reset()


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["run", "--mappings", str(REPO / "mappings" / "synthea"),
                                    "--namespace", str(TEST_NAMESPACE), "--no-progress",
                                    *args])


def _run_golden(site: Path, tmp_path: Path, kind: str, *args: str) -> object:
    """The golden Synthea input, as JSON lines, run through the hostile extractor ``kind``
    into ndjson under ``tmp_path`` (run.json in ``tmp_path/out``)."""
    _install(site, kind)
    source = csv_to_jsonl(GOLDEN_INPUT, tmp_path / "jsonl")
    return _run("--source", f"{kind}:{source}", "--target", f"ndjson:{tmp_path / 'nd'}",
                "--out", str(tmp_path / "out"), *args)


def test_allow_list_entries_may_carry_spaces_and_capitals(jsonl_installed: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("MIGRATE_LOAD_PLUGINS", "some-other, EMR_Migrate_JSONL ")
    EXTRACTORS.reset()
    assert "jsonl" in EXTRACTORS.names()


def test_a_plugin_whose_from_text_raises_does_not_break_other_sources(site: Path,
                                                                      tmp_path: Path) -> None:
    _install(site, "crashing")
    assert parse_source("exports", tmp_path)["type"] == "csv"
    done = _run("--source", "nowhere-at-all", "--out", str(tmp_path / "out"))
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output


def test_a_plugin_whose_from_text_answers_no_options_is_a_clean_error(site: Path,
                                                                       tmp_path: Path) -> None:
    _install(site, "sloppy")
    done = _run("--source", "sloppy:x", "--out", str(tmp_path / "out"))
    assert "Traceback" not in done.output
    assert done.exit_code == 2, done.output
    assert "'sloppy'" in done.output


def test_a_secret_option_stays_out_of_run_json_and_output(site: Path, tmp_path: Path) -> None:
    _install(site, "vault")
    project = tmp_path / "migration.yaml"
    project.write_text(
        f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\n"
        f"source: {{type: vault, path: {GOLDEN_INPUT}, token: hunter2-sekrit}}\n"
        f"target: ndjson:{tmp_path / 'nd'}\noutput: {tmp_path / 'out'}\n"
        f"identity: {{namespace: {TEST_NAMESPACE}}}\n", encoding="utf-8")
    done = CliRunner().invoke(cli, ["run", "-c", str(project), "--no-progress"])
    assert done.exit_code in (0, 1), done.output
    assert "hunter2" not in done.output
    run = (tmp_path / "out" / "run.json").read_text(encoding="utf-8")
    assert "hunter2" not in run
    assert json.loads(run)["source"] == str(GOLDEN_INPUT)
    listing = CliRunner().invoke(cli, ["plugins"])
    assert "hunter2" not in listing.output


def test_a_capability_declared_but_not_implemented_is_a_clean_error(site: Path,
                                                                     tmp_path: Path) -> None:
    done = _run_golden(site, tmp_path, "lying")
    assert "Traceback" not in done.output
    assert done.exit_code == 2, done.output
    assert "lying" in done.output


def test_rows_read_beyond_the_table_are_not_silently_counted(site: Path,
                                                             tmp_path: Path) -> None:
    done = _run_golden(site, tmp_path, "bigbatch", "--chunk-size", "7")
    assert "Traceback" not in done.output
    assert done.exit_code != 0, done.output


def test_a_read_short_of_the_extractors_own_count_is_incomplete(site: Path,
                                                                tmp_path: Path) -> None:
    done = _run_golden(site, tmp_path, "shortread")
    assert done.exit_code == 1, done.output
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    patients = next(t for t in run["tables"] if t["table"] == "patients")
    assert patients["complete"] is False
    assert "5 row(s) may be missing" in patients["read_problem"]
