"""PHI at rest and on screen (issue 17): files that may hold patient data are 0600 in 0700
folders whatever the umask, a run warns about older, more open ones, and no command prints
or stores a source value (outside quarantine.ndjson and dead_letters.ndjson) without
--show-values. The main test greps every output of run, validate, profile and sync on the
bundled sample (sync against the real sekmet) for every patient's name, birth date, SSN,
address and identifier, plus a patient's name typed into a code column."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import REPO, SYNTHEA_PACK, TEST_NAMESPACE

SAMPLE = REPO / "sample_data" / "synthea"
PHI_COLUMNS = ("Id", "BIRTHDATE", "SSN", "DRIVERS", "PASSPORT", "FIRST", "LAST", "MAIDEN",
               "ADDRESS")
ALLOWED = {"quarantine.ndjson", "dead_letters.ndjson"}  # these keep the values, by design
COMMON = ["--mappings", str(SYNTHEA_PACK), "--source", "src", "--namespace", str(TEST_NAMESPACE),
          "--no-progress"]


def patients() -> list[dict[str, str]]:
    with (SAMPLE / "patients.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def planted_name() -> str:
    """A real patient's name, typed into another patient's MARITAL (a code column)."""
    second = patients()[1]
    return f"{second['FIRST']} {second['LAST']}"


def needles() -> set[str]:
    """Every PHI value of the sample's patients."""
    return {p[c] for p in patients() for c in PHI_COLUMNS if p[c]} | {planted_name()}


def plant(root: Path) -> None:
    """The sample copied to ``root/src``, with a name in the first patient's MARITAL."""
    shutil.copytree(SAMPLE, root / "src")
    rows = patients()
    rows[0]["MARITAL"] = planted_name()
    with (root / "src" / "patients.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def cli_run(root: Path, umask: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``emr-migrate ARGS`` in a fresh process under ``umask``, from ``root``."""
    code = f"import os, sys; os.umask({umask}); from migrate.cli import main; " \
           "sys.argv[0] = 'emr-migrate'; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=root, env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def run_all(root: Path, umask: int, base_url: str, *, validate: bool) -> dict[str, Any]:
    """run, validate, profile and sync on the planted sample; their console output."""
    plant(root)
    common = [*COMMON, "--source-system", f"urn:test:phi:{umask}"]  # its own ids on the server
    runs = {
        "run": cli_run(root, umask, "run", *common, "--out", "out/run", "--target",
                       "ndjson:target/ndjson", "--format", "json"),
        "profile": cli_run(root, umask, "profile", "--source", "src", "--write-suite",
                           "out/profile/suite.yaml"),
        "sync": cli_run(root, umask, "sync", *common, "--out", "out/sync", "--target", base_url),
    }
    if validate:
        runs["validate"] = cli_run(root, umask, "validate", *common, "--out", "out/validate")
    assert runs["run"].returncode == 0, runs["run"].stderr
    assert runs["profile"].returncode == 0, runs["profile"].stderr
    assert runs["sync"].returncode == 0, runs["sync"].stderr + runs["sync"].stdout
    assert runs.get("validate", runs["run"]).returncode in (0, 3)
    return runs


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, sekmet_server: Any) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("phi")
    return root, run_all(root, 0o022, sekmet_server.base_url, validate=True)


def leaks(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in text)


@pytest.mark.integration
def test_no_source_value_in_any_output(outputs: tuple[Path, dict]) -> None:
    root, runs = outputs
    values = needles()
    for name, proc in runs.items():
        assert leaks(proc.stdout + proc.stderr, values) == [], name
    files = [p for p in (root / "out").rglob("*") if p.is_file() and p.name not in ALLOWED]
    assert {p.name for p in files} >= {"run.json", "report.json", "report.html", "state.sqlite",
                                       "terminology_gaps.csv", "suite.yaml"}
    for path in files:
        assert leaks(path.read_bytes().decode("utf-8", "replace"), values) == [], path
    # the planted name was seen, and is shown masked: hash, length and shape
    run = orjson.loads(runs["run"].stdout)
    [gap] = [u for u in run["unmapped_codes"] if u["column"] == "MARITAL"]
    assert gap["code"].startswith("#")
    assert f"({len(planted_name())} chars, shape " in gap["code"]


@pytest.mark.integration
def test_every_file_is_0600_and_every_folder_0700_under_umask_022(
        outputs: tuple[Path, dict]) -> None:
    root, _ = outputs
    assert_private(root, ["out", "target"])


@pytest.mark.integration
def test_every_file_is_private_under_umask_000(tmp_path: Path, sekmet_server: Any) -> None:
    run_all(tmp_path, 0o000, sekmet_server.base_url, validate=False)
    assert_private(tmp_path, ["out", "target"])


def assert_private(root: Path, folders: list[str], at_least: int = 20) -> None:
    """Every file under ``root/folder`` is 0600 and every folder 0700 (the folders too)."""
    seen = 0
    for top in folders:
        for path in [root / top, *(root / top).rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
            seen += 1
    assert seen >= at_least


def test_existing_open_outputs_and_project_file_are_warned_about(tmp_path: Path) -> None:
    plant(tmp_path)
    (tmp_path / "out").mkdir(mode=0o755)
    (tmp_path / "out").chmod(0o755)
    (tmp_path / "out" / "run.json").write_text("{}")
    (tmp_path / "out" / "run.json").chmod(0o644)
    project = tmp_path / "migration.yaml"
    project.write_text(f"version: 1\nmappings: {SYNTHEA_PACK}\nsource: src\n"
                       f"target: ndjson:target\noutput: out\nidentity:\n"
                       f"  namespace: {TEST_NAMESPACE}\n")
    project.chmod(0o644)
    proc = cli_run(tmp_path, 0o022, "run", "-c", "migration.yaml", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "readable by group or others" in line]
    assert len(warned) == 3, proc.stderr
    assert any("project file" in w and "migration.yaml" in w for w in warned)
    assert any("output folder" in w and "/out " in w for w in warned)
    assert any("run.json" in w for w in warned)
    assert leaks(proc.stderr, needles()) == []
    assert stat.S_IMODE((tmp_path / "out" / "run.json").stat().st_mode) == 0o600


def test_server_outcome_is_summarised_not_echoed() -> None:
    from migrate.loaders.acks import outcome_summary

    name = planted_name()
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "expression": ["Patient.name[0].family"],
         "diagnostics": f"family name '{name}' is not allowed"},
        {"severity": "error", "code": "value", "location": [f"Patient.name.where('{name}')"],
         "details": {"text": name}}]}
    text = outcome_summary(httpx.Response(422, json=outcome))
    assert name not in text
    assert name.split()[1] not in text
    assert text.startswith("OperationOutcome with 2 issue(s): error invalid at "
                           "Patient.name[0].family; error value")
    html = outcome_summary(httpx.Response(400, text=f"<p>{name}</p>",
                                          headers={"Content-Type": "text/html"}))
    assert name not in html
    assert "text/html" in html


def test_profile_never_lists_names_that_repeat(tmp_path: Path) -> None:
    """The payer-transition case: owner names seen 11 times each, under an innocent column
    name too, and identifiers that repeat in an event table."""
    names = [f"{p['FIRST']} {p['LAST']}" for p in patients()[:4]]
    ids = [p["Id"] for p in patients()[:4]]
    lines = ["OWNER_NAME,WHO,REF,PLAN"] + [f"{n},{n},{i},Self" for n, i in zip(
        names * 11, ids * 11, strict=True)]
    (tmp_path / "payer_transitions.csv").write_text("\n".join(lines) + "\n")
    for fmt in ("table", "json"):
        result = CliRunner().invoke(cli, ["profile", "--source", str(tmp_path), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert leaks(result.output, set(names) | set(ids)) == []
        assert "Self" in result.output  # a value that is no name is still listed


def test_dead_letters_and_state_store_are_private_under_umask_000(tmp_path: Path) -> None:
    """Written in this process: the dead-letter files (both writers) and an SQLite state store
    with its -wal and -shm files while it is open."""
    from migrate.loaders.deadletter import DeadLetter, DeadLetterWriter, write_dead_letters
    from migrate.state import StateStore

    letter = DeadLetter({"resourceType": "Patient", "id": "1"}, 422, None)
    old = os.umask(0)
    try:
        writer = DeadLetterWriter(tmp_path / "new" / "dead_letters.ndjson")
        writer.write(letter)
        writer.close()
        write_dead_letters(tmp_path / "replayed" / "dead_letters.ndjson", [letter])
        store = StateStore(f"sqlite:///{tmp_path / 'state' / 'state.sqlite'}")
        with store.engine.begin() as conn:  # WAL mode: -wal and -shm exist while it is open
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            names = {p.name for p in (tmp_path / "state").iterdir()}
            assert {"state.sqlite-wal", "state.sqlite-shm"} <= names
            assert_private(tmp_path, ["new", "replayed", "state"], at_least=5)
        store.engine.dispose()
    finally:
        os.umask(old)


def test_run_shows_unmapped_values_only_with_show_values(tmp_path: Path) -> None:
    plant(tmp_path)
    args = ["run", *COMMON, "--target", "ndjson:target", "--format", "json"]
    shown = cli_run(tmp_path, 0o022, *args, "--out", "shown", "--show-values")
    assert shown.returncode == 0, shown.stderr
    codes = {u["code"] for u in orjson.loads(shown.stdout)["unmapped_codes"]}
    assert planted_name() in codes
    stored = orjson.loads((tmp_path / "shown" / "run.json").read_bytes())["unmapped_codes"]
    assert planted_name() in {u["code"] for u in stored}
