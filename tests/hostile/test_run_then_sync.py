"""`run` and `sync` on one FHIR target, against the real sekmet (issue 16, case 9).

Seen: a `run` to the server between two syncs moved every version on from the one the state
store recorded (sekmet writes a new version for every PUT, even an identical one), so the next
sync took its own content for clinicians' edits: false conflicts, exit 6, for ever, `--force`
included. Here: `run` then `sync` ends in 0 conflicts and exit 0; a real edit on the target is a
conflict (exit 6) that `emr-migrate conflicts` lists without PHI; each way of resolving it, and
`--force`, lets the next sync exit 0 with the expected content on the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from migrate.cli import cli
from tests.conftest import REPO, TEST_NAMESPACE, TEST_SYSTEM
from tests.integration.test_sync import assert_target_equals, edit_csv, generate

pytestmark = pytest.mark.integration
EDITED = "EditedInTheNewEhr"


def emr(*args: str) -> Result:
    """One `emr-migrate` command, in-process."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(sekmet_server: Any, tmp_path: Path) -> dict[str, Any]:
    """A three-patient practice, a project file pointing at a freshly reset sekmet."""
    sekmet_server.reset()
    src = tmp_path / "src"
    generate(3, 7, src)
    yaml = tmp_path / "migration.yaml"
    yaml.write_text(
        f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\nsource: {src}\n"
        f"target: {{type: fhir-server, url: '{sekmet_server.base_url}', bundle_size: 100}}\n"
        f"output: {tmp_path / 'out'}\nidentity: {{namespace: {TEST_NAMESPACE}, "
        f"source_system: '{TEST_SYSTEM}'}}\n", encoding="utf-8")
    return {"server": sekmet_server, "src": src, "yaml": str(yaml), "tmp": tmp_path}


def sync(p: dict[str, Any], *extra: str) -> Result:
    return emr("sync", "-c", p["yaml"], "--no-progress", *extra)


def set_city(src: Path, source_id: str, city: str) -> None:
    """Move one patient in the source export."""
    def move(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for r in rows:
            if r["Id"] == source_id:
                r["CITY"] = city
        return rows

    edit_csv(src / "patients.csv", move)


def edit_on_target(server: Any) -> tuple[str, str]:
    """A clinician renames the first patient in the new EHR: (resource id, source id)."""
    import httpx

    rid = sorted(server.ids("Patient"))[0]
    patient = server.read("Patient", rid)
    patient["name"][0]["family"] = EDITED
    patient.pop("meta")
    assert httpx.put(f"{server.base_url}/Patient/{rid}", json=patient,
                     headers={"Content-Type": "application/fhir+json"}).status_code == 200
    return rid, patient["identifier"][0]["value"]


def conflict(p: dict[str, Any]) -> tuple[str, str]:
    """Sync, edit on the target, move the same patient in the source: a real conflict."""
    assert sync(p).exit_code == 0
    rid, source_id = edit_on_target(p["server"])
    set_city(p["src"], source_id, "Zzyzx Test City")
    result = sync(p)
    assert result.exit_code == 6, result.output
    assert "status: conflicts" in result.output
    assert run_status(p) == "conflicts"  # run.json says what the exit code says
    return rid, source_id


def run_status(p: dict[str, Any]) -> str:
    """The status run.json records."""
    import orjson

    return str(orjson.loads((p["tmp"] / "out" / "run.json").read_bytes())["status"])


def test_run_then_sync_has_no_false_conflicts(project: dict[str, Any]) -> None:
    """run, sync, run again (every version moves on), change a row, sync: exit 0, 0 conflicts,
    the change on the server, and the target equal to a fresh load of the source."""
    p, server = project, project["server"]
    assert emr("run", "-c", p["yaml"], "--no-progress").exit_code == 0
    first = sync(p)
    assert first.exit_code == 0, first.output
    assert emr("run", "-c", p["yaml"], "--no-progress").exit_code == 0
    rid = sorted(server.ids("Patient"))[0]
    set_city(p["src"], server.read("Patient", rid)["identifier"][0]["value"], "Newtown")
    after = sync(p)
    assert after.exit_code == 0, after.output
    assert "conflicts 0" in after.output
    assert "adopted 1" in after.output  # the run's version of our own content, taken over
    assert server.read("Patient", rid)["address"][0]["city"] == "Newtown"
    assert_target_equals(server.base_url, p["src"], p["tmp"])
    listed = emr("conflicts", "-c", p["yaml"])
    assert listed.exit_code == 0, listed.output
    assert sync(p).exit_code == 0


def test_a_run_of_an_older_source_between_syncs_is_still_our_own_content(
        project: dict[str, Any]) -> None:
    """sync (city A), the source moves (B), `run` writes B, the source moves again (C), sync:
    the target holds B, neither what the last sync wrote nor what this one writes, yet ours
    (the run's): exit 0 and C on the server, not a conflict."""
    p, server = project, project["server"]
    assert sync(p).exit_code == 0
    rid = sorted(server.ids("Patient"))[0]
    source_id = server.read("Patient", rid)["identifier"][0]["value"]
    set_city(p["src"], source_id, "Bville")
    assert emr("run", "-c", p["yaml"], "--no-progress").exit_code == 0
    set_city(p["src"], source_id, "Ctown")
    after = sync(p)
    assert after.exit_code == 0, after.output
    assert server.read("Patient", rid)["address"][0]["city"] == "Ctown"
    assert_target_equals(server.base_url, p["src"], p["tmp"])


def test_an_edit_made_between_a_run_and_the_first_sync_is_a_conflict_not_overwritten(
        project: dict[str, Any]) -> None:
    """The first sync after a `run` knows no version of what the run wrote: it must not PUT
    blindly over an edit made since (before, it overwrote every one, exit 0)."""
    p, server = project, project["server"]
    assert emr("run", "-c", p["yaml"], "--no-progress").exit_code == 0
    rid, _ = edit_on_target(server)
    first = sync(p)
    assert first.exit_code == 6, first.output
    assert "conflicts 1" in first.output
    assert server.read("Patient", rid)["name"][0]["family"] == EDITED
    listed = emr("conflicts", "-c", p["yaml"])
    assert f"Patient/{rid}" in listed.output
    assert emr("conflicts", "-c", p["yaml"], "--keep-target", "all").exit_code == 0
    assert sync(p).exit_code == 0
    assert server.read("Patient", rid)["name"][0]["family"] == EDITED


def test_a_run_whose_write_never_landed_is_created_by_the_first_sync(
        project: dict[str, Any]) -> None:
    p, server = project, project["server"]
    assert emr("run", "-c", p["yaml"], "--no-progress").exit_code == 0
    rid = sorted(server.ids("Patient"))[0]
    server.delete("Patient", rid)
    first = sync(p)
    assert first.exit_code == 0, first.output
    assert "recreated 1" in first.output
    assert_target_equals(server.base_url, p["src"], p["tmp"])


def test_a_real_edit_is_a_listed_conflict_without_phi(project: dict[str, Any]) -> None:
    rid, source_id = conflict(project)
    listed = emr("conflicts", "-c", project["yaml"])
    assert listed.exit_code == 6, listed.output
    assert f"Patient/{rid}" in listed.output
    assert "mapping synthea.patient " in listed.output
    for phi in (EDITED, "Zzyzx", source_id):
        assert phi not in listed.output
    assert sync(project).exit_code == 6  # held, still open
    assert project["server"].read("Patient", rid)["name"][0]["family"] == EDITED


@pytest.mark.parametrize("how", ["--take-source", "--keep-target", "--mark-reviewed"])
def test_each_resolution_lets_the_next_sync_pass(project: dict[str, Any], how: str) -> None:
    p, server = project, project["server"]
    rid, source_id = conflict(p)
    resolved = emr("conflicts", "-c", p["yaml"], how, f"Patient/{rid}")
    assert resolved.exit_code == 0, resolved.output
    after = sync(p)
    assert after.exit_code == 0, after.output
    assert run_status(p) == "ok"
    held = server.read("Patient", rid)
    if how == "--take-source":
        assert held["name"][0]["family"] != EDITED
        assert held["address"][0]["city"] == "Zzyzx Test City"
        assert_target_equals(server.base_url, p["src"], p["tmp"])
    else:
        assert held["name"][0]["family"] == EDITED
        assert held["address"][0]["city"] != "Zzyzx Test City"
    assert sync(p).exit_code == 0
    assert emr("conflicts", "-c", p["yaml"]).exit_code == 0
    if how == "--keep-target":  # until the source row changes again
        set_city(p["src"], source_id, "Second City")
        assert sync(p).exit_code == 0
        assert server.read("Patient", rid)["address"][0]["city"] == "Second City"


def test_force_clears_the_conflicts_it_overwrote(project: dict[str, Any]) -> None:
    p, server = project, project["server"]
    rid, _ = conflict(p)
    forced = sync(p, "--force")
    assert forced.exit_code == 0, forced.output
    assert server.read("Patient", rid)["address"][0]["city"] == "Zzyzx Test City"
    assert server.read("Patient", rid)["name"][0]["family"] != EDITED
    assert sync(p).exit_code == 0
    assert emr("conflicts", "-c", p["yaml"]).exit_code == 0
    assert_target_equals(server.base_url, p["src"], p["tmp"])
