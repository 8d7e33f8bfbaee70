"""``emr-migrate scaffold``: the command's help and errors, and that its pack passes `check`
as written and `run` accounts for every row, on the bundled Synthea and OpenEMR samples, a
MIMIC-like CSV export and the same export in a real PostgreSQL."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.scaffold.mimic import MARKERS, write_mimic

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "4f2c9d7e-0a51-4c3e-9a63-2b8f5d1c7e90"
OPENEMR = f"sqlite:///{REPO / 'sample_data' / 'openemr' / 'openemr.sqlite'}"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def scaffold_check_run(source: str, tmp_path: Path) -> tuple[Path, dict]:
    """Scaffold ``source``, check the pack as written, run it; the pack and run.json."""
    pack = tmp_path / "pack"
    code, out = invoke("scaffold", "--source", source, "--out", str(pack), "--no-progress")
    assert code == 0, out
    code, out = invoke("check", str(pack), "--source", source)
    assert code == 0, out
    assert "all good" in out
    code, out = invoke("run", "--mappings", str(pack), "--source", source, "--namespace",
                       NAMESPACE, "--target", f"ndjson:{tmp_path / 'ndjson'}", "--out",
                       str(tmp_path / "out"), "--no-progress")
    assert code in (0, 1), out  # 1: over the quarantine threshold, still accounted
    report = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    for t in report["tables"]:
        assert t["balanced"], t
        assert t["read"] == t["emitted"] + t["filtered"] + t["quarantined"], t
    return pack, report


def test_help_has_an_example() -> None:
    code, out = invoke("scaffold", "--help")
    assert code == 0
    assert "Example:\n    emr-migrate scaffold --source ./export --out mappings/acme" in out
    assert "emr-migrate --help" not in out
    code, out = invoke("--help")
    assert "scaffold" in out


def test_synthea_sample(tmp_path: Path) -> None:
    _pack, report = scaffold_check_run(str(REPO / "sample_data" / "synthea"), tmp_path)
    assert report["status"] == "ok"
    assert len(report["tables"]) == 18
    assert report["resources"]["Patient"] == 25
    assert report["resources"]["Condition"] == 361


def test_openemr_sample_database(tmp_path: Path) -> None:
    pack, report = scaffold_check_run(OPENEMR, tmp_path)
    assert report["resources"]["Patient"] == 40
    assert "subject: $patient" in (pack / "form_encounter.yaml").read_text(encoding="utf-8")


def test_mimic_like_export(tmp_path: Path) -> None:
    export = write_mimic(tmp_path / "export")
    pack, report = scaffold_check_run(str(export), tmp_path)
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["labevents"]["quarantined_by_cause"] == {"unparseable-row": 1}
    assert sorted(by_table) == ["admissions", "diagnoses_icd", "labevents", "patients"]
    assert report["resources"] == {"Condition": 180, "Encounter": 60, "Observation": 210,
                                   "Patient": 30}
    text = "\n".join(p.read_text(encoding="utf-8") for p in pack.iterdir())
    assert not [m for m in MARKERS if m in text]
    assert {stat.S_IMODE(p.stat().st_mode) for p in pack.iterdir()} == {0o600}


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = invoke("scaffold", "--source", str(tmp_path / "empty"), "--out",
                       str(tmp_path / "p"))
    assert (code, out.strip()) == (2, f"Error: no tables found in {tmp_path / 'empty'}: a CSV "
                                      "source needs *.csv files, a database at least one table")
    code, out = invoke("scaffold", "--source",
                       "postgresql+psycopg://u:s3cret@127.0.0.1:1/db", "--out",
                       str(tmp_path / "p"))
    assert code == 2
    assert out.startswith("Error: cannot open database postgresql+psycopg://u:***@127.0.0.1:1")
    assert "s3cret" not in out
    assert "Traceback" not in out
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.yaml").write_text("x", encoding="utf-8")
    code, out = invoke("scaffold", "--source", str(REPO / "sample_data" / "synthea"), "--out",
                       str(tmp_path / "full"))
    assert code == 2
    assert "the folder is not empty; choose a new folder, or pass --force" in out
    assert not (tmp_path / "p").exists()


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.harness.postgres import postgres_or_skip

    yield from postgres_or_skip(tmp_path_factory.mktemp("pg"))


@pytest.mark.integration
def test_mimic_like_database_on_postgresql(postgres: object, tmp_path: Path) -> None:
    import pandas as pd
    import sqlalchemy as sa

    export = write_mimic(tmp_path / "export")
    url = postgres.fresh_database("mimic")  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    for csv_file in sorted(export.glob("*.csv")):
        frame = pd.read_csv(csv_file, on_bad_lines="skip").convert_dtypes()
        frame.to_sql(csv_file.stem, engine, index=False)
    engine.dispose()
    pack, report = scaffold_check_run(url, tmp_path)
    assert sorted(t["table"] for t in report["tables"]) == [
        "admissions", "diagnoses_icd", "labevents", "patients"]
    assert report["resources"]["Observation"] == 210
    readme = (pack / "README.md").read_text(encoding="utf-8")
    assert "- `labevents.itemid` -> `d_labitems.itemid`" in readme
    assert "- `d_icd`: code `icd_code`, label `long_title`, used by `diagnoses_icd.icd_code`" \
        in readme
    assert "source_format: sql" in (pack / "pack.yaml").read_text(encoding="utf-8")


@pytest.mark.integration
def test_openemr_on_mariadb(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The OpenEMR practice in a real MariaDB (zero dates, MySQL types), read by the
    read-only user a migration uses."""
    from tests.harness.mariadb import mariadb_available, openemr_database

    if not mariadb_available():
        pytest.skip("MariaDB is not installed")
    with openemr_database(tmp_path_factory) as db:
        pack, report = scaffold_check_run(db.readonly_url, tmp_path)
    assert report["resources"]["Patient"] == 40
    assert "source_format: sql" in (pack / "pack.yaml").read_text(encoding="utf-8")
    readme = (pack / "README.md").read_text(encoding="utf-8")
    assert "- `form_encounter.pid` -> `patient_data.id`" in readme
    assert "read-only-pw" not in "\n".join(p.read_text(encoding="utf-8")
                                           for p in pack.iterdir())
