"""The command line: help that teaches, exit codes as documented, no patient data printed."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.state import StateStore
from tests.conftest import TEST_NAMESPACE
from tests.test_pipeline import PATIENT_YAML, VITALS_YAML, write


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0
    assert "Example:" in out
    assert f"emr-migrate {command}" in out


def test_top_level_help_lists_exit_codes() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Exit codes: 0 success, 1 data errors (a table over its quarantine threshold" in text
    assert "5 a sync's deletes stopped by the circuit breaker or suspended" in text
    assert "70 internal error (please report it)" in text


def test_validate_help_names_the_project_file_keys_that_exist() -> None:
    """It said thresholds come from `validate:` only; `thresholds:` sets the fallback rate."""
    from migrate.config import ProjectConfig, ThresholdConfig, ValidateConfig

    text = " ".join(invoke("validate", "--help")[1].split()).replace("- ", "-")
    named = re.findall(r"`(\w+): ?(\w*):?`", text)
    assert ("thresholds", "max_quarantine_rate") in named
    assert ("thresholds", "tables") in named
    sections = {"validate": ValidateConfig, "thresholds": ThresholdConfig}
    for section, key in named:
        field = ProjectConfig.model_fields.get(f"{section}_") or \
            ProjectConfig.model_fields[section]
        assert field.annotation is sections[section]
        assert not key or key in sections[section].model_fields
    for key in ("max_unmapped_code_rate", "max_dangling_references",
                "fail_on_critical_expectations"):
        assert key in text
        assert key in ValidateConfig.model_fields


def test_top_level_help_lists_every_exit_code_of_the_model() -> None:
    from migrate.errors import ExitCode

    text = " ".join(invoke("--help")[1].split())
    for code in ExitCode:
        assert f"{int(code)} {code.meaning}" in text


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "pack", {"patient.yaml": PATIENT_YAML, "vitals.yaml": VITALS_YAML})
    write(tmp_path / "src", {
        "people.csv": "pid,last,sex,dob\n1,Smithfield,F,1970-01-02\n2,Jonesbury,M,1971-03-04\n",
        "vitals.csv": "vid,pid,status,kg,active\n10,1,final,70.5,1\n"})
    cfg = tmp_path / "migration.yaml"
    cfg.write_text(f"version: 1\nmappings: pack\nsource: src\ntarget: ndjson:out/nd\n"
                   f"output: out\nidentity:\n  namespace: {TEST_NAMESPACE}\n", encoding="utf-8")
    return cfg


def test_run_succeeds_with_exit_0_and_prints_no_patient_values(project: Path) -> None:
    code, out, err = invoke("run", "-c", str(project), "--no-progress")
    assert code == 0, err
    assert "status: ok" in out
    assert "people" in out
    for phi in ("Smithfield", "Jonesbury", "1970-01-02", "1971-03-04"):
        assert phi not in out + err
    run = orjson.loads((project.parent / "out" / "run.json").read_bytes())
    assert run["resources"] == {"Observation": 1, "Patient": 2}


def test_flags_override_the_project_file(project: Path, tmp_path: Path) -> None:
    code, _, err = invoke("run", "-c", str(project), "--no-progress",
                          "--target", f"bundles:{tmp_path / 'b'}", "--bundle-size", "1")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "bundle-000001.json", "bundle-000002.json", "bundle-000003.json"]


def test_data_errors_over_the_threshold_exit_1(project: Path) -> None:
    people = project.parent / "src" / "people.csv"
    people.write_text(people.read_text() + "3,Brownstone,M,not-a-date\n")
    code, out, err = invoke("run", "-c", str(project), "--no-progress")
    assert code == 1
    assert "status: data-errors" in out
    assert "Brownstone" not in out + err
    assert "not-a-date" not in out + err
    code, _, _ = invoke("run", "-c", str(project), "--no-progress", "--max-quarantine-rate", "0.5")
    assert code == 0


def test_a_broken_pack_exits_2_and_lists_every_problem(project: Path) -> None:
    pack = project.parent / "pack"
    (pack / "patient.yaml").write_text(PATIENT_YAML.replace("birthDate", "birthdate")
                                       .replace("key: [pid]", "key: [pid]\nkeys: [x]"))
    code, _, err = invoke("run", "-c", str(project), "--no-progress")
    assert code == 2
    assert err == (
        "Error: the mapping pack has 1 problem(s):\n"
        f"  {pack / 'patient.yaml'}:4: keys: unknown key; valid keys: description, "
        "duplicate_keys, emit, filter, group, key, let, lookup, mapping, null_tokens, "
        "nullable_key, query, rules, source, sync\n")
    (pack / "patient.yaml").write_text(PATIENT_YAML.replace("birthDate", "birthdate"))
    code, _, err = invoke("check", str(pack))
    assert code == 2
    assert err == (
        "Error: the mapping pack has 1 problem(s):\n"
        f"  {pack / 'patient.yaml'}:11: emit[0].template.birthdate: Patient has no element "
        "'birthdate' (did you mean 'birthDate'?)\n")


def test_missing_settings_exit_2_with_what_to_do(tmp_path: Path) -> None:
    code, _, err = invoke("run", "--mappings", str(tmp_path))
    assert code == 2
    assert err == ("Error: missing setting(s): --source, --namespace (identity.namespace). "
                   "Give them as flags or in a project file (-c migration.yaml); "
                   "`emr-migrate init` writes one.\n")


def test_bad_target_exits_2(project: Path) -> None:
    code, _, err = invoke("run", "-c", str(project), "--target", "ftp://x")
    assert code == 2
    assert "target 'ftp://x' is not ndjson:DIR, bundles:DIR or an http(s):// FHIR base URL" in err


def test_unreachable_server_exits_4(project: Path) -> None:
    code, _, err = invoke("run", "-c", str(project), "--no-progress",
                          "--target", "http://127.0.0.1:9/fhir")
    assert code == 4
    assert err == "Error: cannot reach FHIR server http://127.0.0.1:9/fhir: ConnectError\n"


def test_init_writes_a_project_with_a_fresh_namespace(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    code, out, _ = invoke("init", str(path))
    assert code == 0
    assert out == f"wrote {path}\n"
    text = path.read_text()
    line = next(x for x in text.splitlines() if "namespace:" in x)
    assert uuid.UUID(line.split()[1]).version == 4
    code, _, err = invoke("init", str(path))
    assert code == 2
    assert "exists; not overwriting it" in err


def test_the_installed_command_exits_with_the_documented_codes(project: Path,
                                                                tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True,
                              text=True, cwd=tmp_path, check=False)

    assert run("check", str(tmp_path / "nowhere")).returncode == 2
    assert run("run", "--bogus-flag").returncode == 2
    ok = run("run", "-c", str(project), "--no-progress")
    assert ok.returncode == 0, ok.stderr
    people = project.parent / "src" / "people.csv"
    people.write_text(people.read_text() + "3,Brownstone,M,not-a-date\n")
    assert run("run", "-c", str(project), "--no-progress").returncode == 1
    assert run("run", "-c", str(project), "--target", "http://127.0.0.1:9/fhir").returncode == 4


def test_conflicts_lists_as_json_and_refuses_an_unknown_one_with_exit_2(project: Path) -> None:
    """No sync yet: no state store, exit 2 saying so. An empty store: an empty list, exit 0;
    a resolution naming no open conflict is a usage error that says what to give, without a
    traceback."""
    code, _, err = invoke("conflicts", "-c", str(project))
    assert code == 2
    assert err.startswith(f"Error: no state store at {project.parent / 'out' / 'state.sqlite'}")
    (project.parent / "out").mkdir()
    StateStore(f"sqlite:///{project.parent / 'out' / 'state.sqlite'}").engine.dispose()
    code, out, _ = invoke("conflicts", "-c", str(project), "--format", "json")
    assert (code, orjson.loads(out)) == (0, [])
    code, _, err = invoke("conflicts", "-c", str(project), "--take-source", "Patient/nope")
    assert code == 2
    assert err == ("Error: no open or reviewed conflict matches 'Patient/nope': give a conflict "
                   "number or Type/id from `emr-migrate conflicts --all`, or all\n")


def test_check_with_a_source_reads_its_headers_only(tmp_path: Path) -> None:
    """`check --source`: a column the pack reads and the export lacks is found before any run;
    the export here has headers only, so no row is needed."""
    from tests.conftest import REPO

    for csv in (REPO / "sample_data" / "synthea").glob("*.csv"):
        header = csv.read_text(encoding="utf-8").splitlines()[0]
        (tmp_path / csv.name).write_text(header.replace("BIRTHDATE", "BIRTH_DATE") + "\n",
                                         encoding="utf-8")
    pack = str(REPO / "mappings" / "synthea")
    code, _, err = invoke("check", pack, "--source", str(tmp_path))
    assert code == 2
    assert "patients.yaml:56: column 'BIRTHDATE' is not in " in err
    assert "Traceback" not in err
    (tmp_path / "patients.csv").write_text(
        (REPO / "sample_data" / "synthea" / "patients.csv").read_text(encoding="utf-8")
        .splitlines()[0] + "\n", encoding="utf-8")
    code, out, _ = invoke("check", pack, "--source", str(tmp_path))
    assert code == 0
    assert "all good" in out


def test_an_unforeseen_error_is_exit_70_without_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of ours: 'please report it', exit 70 (never 1, the data-errors code); --debug
    shows the traceback."""
    import migrate.mappers.pack

    def broken(*_args: object, **_kw: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(migrate.mappers.pack, "load_pack", broken)
    code, _, err = invoke("check", "mappings/synthea")
    assert code == 70
    assert err.startswith("Error: internal error (ZeroDivisionError); please report it")
    assert "Traceback" not in err
    result = CliRunner().invoke(cli, ["--debug", "check", "mappings/synthea"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_check_of_flags_written_as_a_new_user_writes_them_is_problems_not_a_crash(
        tmp_path: Path) -> None:
    """Issue 19: "0/1, Y/N, T/F booleans ... the natural way to write them crashed check"
    (a key YAML reads as a boolean was an internal error, exit 70)."""
    (tmp_path / "pack.yaml").write_text("name: flags\nnull_tokens: ['', 0]\n"
                                        "booleans: {true: [1, Y, T], false: [0, N, F]}\n")
    (tmp_path / "p.yaml").write_text(
        "mapping: p\nsource: patients\nkey: [ID]\nnull_tokens: [9]\n"
        "filter:\n  - {name: test, when: {in: [$TEST, [Y, 1]]}}\n"
        "emit:\n  - resource: Patient\n    when: {equals: [$ACTIVE, 1]}\n    template:\n"
        "      active: {boolean: {value: $ACTIVE, true: 1, false: 0}}\n"
        "      maritalStatus: {true: $M}\n")
    code, _, err = invoke("check", str(tmp_path))
    problem = (f"{tmp_path / 'p.yaml'}:12: emit[0].template.maritalStatus.true: the key 'true' "
               "is a YAML boolean or number, not a name; quote it or use a transform")
    assert (code, err.splitlines()) == (2, ["Error: the mapping pack has 1 problem(s):",
                                            f"  {problem}"])
