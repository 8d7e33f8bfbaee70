"""Incremental re-sync against a real sekmet-fhir server, in one scripted sequence.

Initial load; a sync with no change sends nothing; rows added, changed and deleted in several
tables, after which the target equals a fresh full load of the changed source; an edit made on
the target is reported as a conflict and not overwritten; and processes killed with SIGKILL at
several points end, after a re-run, in exactly the expected state.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from migrate.pipeline import run_pipeline
from migrate.sync import run_sync
from tests.conftest import REPO, TEST_NAMESPACE, TEST_SYSTEM, make_settings

pytestmark = pytest.mark.integration
TYPES = ["AllergyIntolerance", "CarePlan", "Condition", "Device", "Encounter", "ImagingStudy",
         "Immunization", "MedicationRequest", "Observation", "Organization", "Patient",
         "Practitioner", "Procedure", "SupplyDelivery"]


def generate(patients: int, seed: int, out: Path) -> None:
    """A practice from the project's own generator."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", REPO / "sample_data" / "generate.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate", module)  # dataclasses need the module registered
    spec.loader.exec_module(module)
    module.generate(patients, seed, out, progress=False)


def server_resources(base: str, rtype: str) -> dict[str, dict[str, Any]]:
    """Every resource of a type on the server, without meta."""
    out: dict[str, dict[str, Any]] = {}
    url: str | None = f"{base}/{rtype}?_count=1000"
    with httpx.Client(timeout=60) as client:
        while url:
            page = client.get(url).json()
            for entry in page.get("entry", []):
                res = entry.get("resource", {})
                if res.get("resourceType") == rtype:
                    res.pop("meta", None)
                    out[res["id"]] = res
            url = next((link["url"] for link in page.get("link", [])
                        if link["relation"] == "next"), None)
    return out


def expected_resources(src: Path, tmp: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """A fresh full load of ``src`` to NDJSON, without meta, by type and id."""
    out = tmp / f"expected-{len(list(tmp.iterdir()))}"
    run_pipeline(make_settings(src, f"ndjson:{out / 'nd'}", out))
    result: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TYPES}
    for path in (out / "nd").glob("*.ndjson"):
        for line in path.read_bytes().splitlines():
            res = orjson.loads(line)
            res.pop("meta", None)
            result[path.stem][res["id"]] = res
    return result


def assert_target_equals(base: str, src: Path, tmp: Path) -> None:
    expected = expected_resources(src, tmp)
    for rtype in TYPES:
        got = server_resources(base, rtype)
        assert set(got) == set(expected[rtype]), rtype
        diff = [rid for rid in got if got[rid] != expected[rtype][rid]]
        assert diff == [], f"{rtype}: {len(diff)} resources differ, e.g. {diff[:1]}"


def edit_csv(path: Path, change: Any) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    rows = change(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def change_source(src: Path) -> None:
    """Add, change and delete rows in several tables."""
    def patients(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[0]["ADDRESS"] = "1 New Street"
        new = dict(rows[1], Id="00000000-aaaa-bbbb-cccc-000000000001", FIRST="Newcomer12")
        return [*rows, new]

    def conditions(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        active = next(r for r in rows if not r["STOP"])
        active["STOP"] = "2024-04-01"
        return rows

    def observations(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        systolic = next(r for r in rows if r["CODE"] == "8480-6")  # one row of a BP pair
        systolic["VALUE"] = str(float(systolic["VALUE"]) + 1)
        victim = next(i for i, r in enumerate(rows) if r["CODE"] == "8302-2")
        return rows[:victim] + rows[victim + 1:]

    def immunizations(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return rows[1:]

    edit_csv(src / "patients.csv", patients)
    edit_csv(src / "conditions.csv", conditions)
    edit_csv(src / "observations.csv", observations)
    edit_csv(src / "immunizations.csv", immunizations)


@pytest.fixture
def workspace(sekmet_server: Any, tmp_path: Path) -> dict[str, Any]:
    sekmet_server.reset()
    src = tmp_path / "src"
    generate(6, 7, src)  # a small practice keeps the many loads of this module quick
    target = {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 100}
    settings = make_settings(src, target, tmp_path / "out")
    return {"server": sekmet_server, "src": src, "settings": settings, "tmp": tmp_path}


@pytest.mark.parametrize("rows_every", [None, 40], ids=["default", "flush-every-40-rows"])
def test_sync_sequence(workspace: dict[str, Any], rows_every: int | None,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default flush size, and with row marks flushed every 40 rows (many flushes
    per table), the same plan and the same target."""
    if rows_every is not None:
        monkeypatch.setattr("migrate.sync.loader.ROWS_EVERY", rows_every)
    server, src, settings, tmp = (workspace[k] for k in ("server", "src", "settings", "tmp"))
    base = server.base_url

    t0 = time.perf_counter()
    first = run_sync(settings)
    wall = time.perf_counter() - t0
    assert first.status == "ok"
    assert first.writes["batch_fallbacks"] == 0  # every bundle went as one transaction
    # The split of the wall time: the target's round trips, and the part spent held up by them.
    assert 0 < first.timing["server_s"] < wall
    assert 0 < first.timing["blocked_s"] < wall
    assert first.writes["created"] == sum(first.report.resources.values())
    assert first.plan == {"create": sum(first.report.resources.values())}
    assert_target_equals(base, src, tmp)

    again = run_sync(settings)
    assert again.writes["bundles"] == 0
    assert again.timing["server_s"] == 0  # nothing sent, no round trip
    assert set(again.plan) == {"unchanged-rows"}  # nothing mapped again, groups included
    assert sum(t.unchanged for t in again.report.tables) == again.plan["unchanged-rows"]

    change_source(src)
    changed = run_sync(settings)
    assert changed.status == "ok"
    assert changed.plan["create"] == 1
    assert changed.plan["update"] == 3  # the moved patient, the resolved condition, a BP pair
    assert changed.plan["gone-delete"] == 2  # one observation, one immunization
    assert changed.writes["deleted"] == 2
    assert changed.writes["batch_fallbacks"] == 0  # updates with If-Match pass in transactions
    assert_target_equals(base, src, tmp)


def test_an_edit_on_the_target_is_a_conflict_not_overwritten(workspace: dict[str, Any]) -> None:
    server, src, settings = workspace["server"], workspace["src"], workspace["settings"]
    run_sync(settings)
    ids = sorted(server.ids("Patient"))
    patient = server.read("Patient", ids[0])
    source_id = patient["identifier"][0]["value"]
    bystander_id = server.read("Patient", ids[1])["identifier"][0]["value"]
    patient["name"][0]["family"] = "EditedInTheNewEhr"
    patient.pop("meta")
    assert httpx.put(f"{server.base_url}/Patient/{patient['id']}", json=patient,
                     headers={"Content-Type": "application/fhir+json"}).status_code == 200

    def move(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for r in rows:
            if r["Id"] in (source_id, bystander_id):
                r["CITY"] = "Zzyzx Test City"
        return rows

    edit_csv(src / "patients.csv", move)
    result = run_sync(settings)
    assert result.status == "conflicts", result.as_dict()
    assert result.writes["conflicts"] == 1
    # The 412 refused the whole transaction; resent as a batch, the other update landed.
    assert result.writes["batch_fallbacks"] == 1
    assert result.writes["updated"] == 1
    assert server.read("Patient", ids[1])["address"][0]["city"] == "Zzyzx Test City"
    kept = server.read("Patient", patient["id"])
    assert kept["name"][0]["family"] == "EditedInTheNewEhr"
    assert kept["address"][0]["city"] != "Zzyzx Test City"
    again = run_sync(settings)
    assert again.plan.get("conflict-kept") == 1
    assert again.writes["bundles"] == 0
    forced = run_sync(settings, force=True)
    assert forced.writes["updated"] == 1
    assert server.read("Patient", patient["id"])["address"][0]["city"] == "Zzyzx Test City"


@pytest.mark.parametrize("fault", ["before-send:1", "after-send:2", "after-send:9"])
def test_killed_sync_finishes_on_rerun(workspace: dict[str, Any], fault: str) -> None:
    server, src, tmp = workspace["server"], workspace["src"], workspace["tmp"]
    project = tmp / "migration.yaml"
    project.write_text(
        f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\nsource: {src}\n"
        f"target: {{type: fhir-server, url: '{server.base_url}', bundle_size: 100}}\n"
        f"output: {tmp / 'out'}\nidentity: {{namespace: {TEST_NAMESPACE}, "
        f"source_system: '{TEST_SYSTEM}'}}\n", encoding="utf-8")

    def sync(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run([sys.executable, "-m", "migrate", "sync", "-c", str(project),
                               "--no-progress"], env={**os.environ, **env}, capture_output=True,
                              text=True, check=False, timeout=600)

    killed = sync({"MIGRATE_FAULT": fault})
    assert killed.returncode == -9, killed.stderr
    if fault.startswith("after-send:9"):
        change_source(src)  # the source moves on while the load was down
    rerun = sync({})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_target_equals(server.base_url, src, tmp)
    quiet = sync({})
    assert "writes: bundles" not in quiet.stdout
    assert "pending_writes 0" in quiet.stdout
    # The wall time, and how much of it the target took: the re-run sent what was left.
    times = [tuple(map(float, re.search(
        r"^time: ([\d.]+)s, ([\d.]+)s of it waiting for the target$", out, re.M).groups()))
        for out in (rerun.stdout, quiet.stdout)]
    assert all(0 <= waiting <= wall for wall, waiting in times)
    assert times[0][1] > 0


def test_a_row_that_fails_today_keeps_what_it_made(workspace: dict[str, Any]) -> None:
    """A row quarantined on a re-sync (here a broken date) is neither re-sent nor taken for
    gone: its resources stay on the target, and the unchanged rows around it stay too."""
    server, src, settings = workspace["server"], workspace["src"], workspace["settings"]
    first = run_sync(settings)
    careplans = first.report.resources["CarePlan"]
    assert len(server.ids("CarePlan")) == careplans

    def break_one(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[0]["START"] = "the 31st of Smarch"  # not part of the key (Id)
        return rows

    edit_csv(src / "careplans.csv", break_one)
    again = run_sync(settings)
    table = next(t for t in again.report.tables if t.table == "careplans")
    assert sum(table.quarantined.values()) == 1
    assert table.unchanged == table.read - 1
    assert not [k for k in again.plan if k.startswith("gone-")], again.plan
    assert again.writes["bundles"] == 0
    assert len(server.ids("CarePlan")) == careplans
