"""Whole tables lost must fail the run (issue 16, case 6): per-table verdicts.

Each case copies the 25-patient sample practice, damages one table, runs the real CLI and
checks the exit code, that run.json's status matches it, what the summary names first, and
that every row is still accounted for.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import REPO, SYNTHEA_PACK, TEST_NAMESPACE

SAMPLE = REPO / "sample_data" / "synthea"


def damaged_copy(tmp_path: Path, table: str, column: str, value: str,
                 rows: int | None = None) -> Path:
    """The sample practice with ``column`` of ``table`` set to ``value`` (first ``rows``
    rows, or all)."""
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    path = src / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    for i, rec in enumerate(records):
        if rows is None or i < rows:
            rec[column] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return src


def project(tmp_path: Path, src: Path, thresholds: str = "") -> Path:
    path = tmp_path / "migration.yaml"
    path.write_text(
        f"version: 1\nmappings: {SYNTHEA_PACK}\nsource: {src}\n"
        f"target: ndjson:{tmp_path / 'out' / 'nd'}\noutput: {tmp_path / 'out'}\n"
        f"identity: {{namespace: {TEST_NAMESPACE}}}\n"
        f"thresholds:\n  max_quarantine_rate: 0.01\n{thresholds}", encoding="utf-8")
    return path


def migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def run_json(tmp_path: Path) -> dict[str, Any]:
    return orjson.loads((tmp_path / "out" / "run.json").read_bytes())


def table(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in run["tables"] if t["table"] == name)


def test_every_patient_quarantined_fails_the_run_and_names_the_table(tmp_path: Path) -> None:
    # 25 of 5,760 rows (0.4%) is under the run's 1%: the run said ok before.
    src = damaged_copy(tmp_path, "patients", "BIRTHDATE", "not a date")
    done = migrate("run", "-c", str(project(tmp_path, src)), "--no-progress")
    assert done.returncode == 1, done.stderr
    run = run_json(tmp_path)
    assert run["status"] == "data-errors"
    patients = table(run, "patients")
    assert (patients["read"], patients["emitted"], patients["quarantined"]) == (25, 0, 25)
    assert all(t["balanced"] for t in run["tables"])
    assert run["problems"][0].startswith("table 'patients' (mapping synthea.patient): had 25 "
                                         "rows and emitted none (25 quarantined")
    # Every Encounter now points at a Patient that is not there: named and counted.
    dangling = {(d["mapping"], d["references"]): d["count"]
                for d in run["dangling_references"]["by_mapping"]}
    assert dangling[("synthea.encounter", "synthea.patient")] == 379
    assert any("reference(s) point to quarantined rows" in p for p in run["problems"])
    summary = done.stdout.splitlines()
    tables = [line.split()[0] for line in summary[1:summary.index("")]]
    assert tables == [t["table"] for t in run["tables"]]  # in load order, not failing first
    assert tables[:2] == ["organizations", "patients"]
    assert summary[2].rstrip().endswith("NO")
    assert "status: data-errors" in done.stdout


def test_a_table_over_its_own_threshold_fails(tmp_path: Path) -> None:
    src = damaged_copy(tmp_path, "patients", "BIRTHDATE", "not a date", rows=2)
    settings = ("  tables: {patients: 0.05}\n  max_dangling_references: 100000\n")
    done = migrate("run", "-c", str(project(tmp_path, src, settings)), "--no-progress")
    assert done.returncode == 1, done.stderr
    run = run_json(tmp_path)
    assert run["status"] == "data-errors"
    assert run["problems"] == ["table 'patients' (mapping synthea.patient): 2 of 25 rows "
                               "quarantined (8.00%; the table may have 5.00%)"]
    assert run["rows"]["table_quarantine_rates"] == {"patients": 0.05}


def test_a_table_threshold_and_dangling_allowance_let_a_run_pass(tmp_path: Path) -> None:
    src = damaged_copy(tmp_path, "patients", "BIRTHDATE", "not a date", rows=2)
    settings = "  tables: {patients: 0.1}\n  max_dangling_references: 100000\n"
    done = migrate("run", "-c", str(project(tmp_path, src, settings)), "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    run = run_json(tmp_path)
    assert (run["status"], run["problems"]) == ("ok", [])
    assert run["dangling_references"]["total"] > 0  # counted even when allowed


def test_dangling_references_to_quarantined_rows_fail_over_the_default(tmp_path: Path) -> None:
    src = damaged_copy(tmp_path, "patients", "BIRTHDATE", "not a date", rows=1)
    settings = "  tables: {patients: 0.1}\n"
    done = migrate("run", "-c", str(project(tmp_path, src, settings)), "--no-progress")
    assert done.returncode == 1
    run = run_json(tmp_path)
    assert run["status"] == "data-errors"
    assert run["dangling_references"]["max"] == 0
    (problem,) = run["problems"]
    assert "reference(s) point to quarantined rows (the run may have 0)" in problem
    assert "synthea.encounter -> synthea.patient" in problem


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_table_threshold_out_of_range_is_a_config_error(tmp_path: Path, rate: float) -> None:
    path = project(tmp_path, SAMPLE, f"  tables: {{patients: {rate}}}\n")
    done = migrate("run", "-c", str(path), "--no-progress")
    assert done.returncode == 2
    assert "thresholds.tables.patients" in done.stderr
    assert "Traceback" not in done.stderr


def test_references_to_a_line_the_reader_set_aside_are_counted(tmp_path: Path) -> None:
    """A stray quote sets encounter line 6 aside (1 of 379, under every threshold): the
    rows referring to that encounter dangle, and the run says so (it said ok)."""
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    path = src / "encounters.csv"
    lines = path.read_bytes().split(b"\n")
    fields = lines[5].split(b",")
    fields[3] = b'"' + fields[3]
    lines[5] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    done = migrate("run", "-c", str(project(tmp_path, src)), "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    run = run_json(tmp_path)
    assert table(run, "encounters")["quarantined_by_cause"] == {"unparseable-row": 1}
    dangling = {d["mapping"]: d["count"] for d in run["dangling_references"]["by_mapping"]
                if d["references"] == "synthea.encounter"}
    assert sum(dangling.values()) > 0, run["dangling_references"]
    assert any("point to quarantined rows" in p for p in run["problems"])


def test_a_header_only_table_that_others_refer_to_fails_the_run(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    path = src / "patients.csv"
    path.write_bytes(path.read_bytes().split(b"\n")[0] + b"\n")
    done = migrate("run", "-c", str(project(tmp_path, src)), "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    problems = run_json(tmp_path)["problems"]
    assert any(p.startswith("table 'patients' (mapping synthea.patient) emitted nothing, but ")
               and "synthea.encounter" in p for p in problems), problems


def test_a_quote_left_in_a_key_quarantines_the_row_instead_of_a_new_id(tmp_path: Path) -> None:
    """``<uuid>",...``: CSV keeps the quote as a character; as part of the key it would give
    the row a new resource id (and a sync would delete the real one). It is quarantined."""
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    path = src / "encounters.csv"
    lines = path.read_bytes().split(b"\n")
    first, rest = lines[27].split(b",", 1)
    lines[27] = first + b'",' + rest
    path.write_bytes(b"\n".join(lines))
    done = migrate("run", "-c", str(project(tmp_path, src)), "--no-progress")
    run = run_json(tmp_path)
    assert table(run, "encounters")["quarantined_by_cause"] == {"suspect-key": 1}
    quarantine = (tmp_path / "out" / "quarantine.ndjson").read_text(encoding="utf-8")
    assert "the key holds a double quote" in quarantine
    assert done.returncode == 1  # the rows that refer to it now dangle, and say so
    assert run["dangling_references"]["total"] > 0
