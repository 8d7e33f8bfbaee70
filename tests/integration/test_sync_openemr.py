"""Re-sync of the OpenEMR sample: a watermark table, shrinking rows, the delete circuit breaker."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from migrate.sync import run_sync
from migrate.sync.loader import DeleteCircuitOpen
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def oe(sekmet_server: Any, tmp_path: Path) -> dict[str, Any]:
    sekmet_server.reset()
    db = tmp_path / "openemr.sqlite"
    shutil.copy(REPO / "sample_data" / "openemr" / "openemr.sqlite", db)
    target = {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 500}
    settings = make_settings({"type": "sql", "url": f"sqlite:///{db}"}, target,
                             tmp_path / "out", mappings=REPO / "mappings" / "openemr")
    first = run_sync(settings)
    assert first.status == "ok"
    return {"db": db, "settings": settings, "server": sekmet_server}


def sql(db: Path, statement: str) -> list[Any]:
    with sqlite3.connect(db) as conn:
        return conn.execute(statement).fetchall()


def table_stats(result: Any, table: str) -> Any:
    return next(t for t in result.report.tables if t.table == table)


def test_watermark_reads_only_rows_changed_since_the_last_sync(oe: dict[str, Any]) -> None:
    db, server = oe["db"], oe["server"]
    (latest,) = sql(db, "SELECT MAX(last_updated) FROM patient_data")[0]
    pid_new, pid_quiet = (r[0] for r in sql(db, "SELECT pid FROM patient_data ORDER BY pid "
                                                 "LIMIT 2"))
    sql(db, f"UPDATE patient_data SET fname = 'Renamed', last_updated = "
            f"datetime('{latest}', '+1 hour') WHERE pid = {pid_new}")
    # Changed without touching last_updated: a watermark sync does not see it (by design).
    sql(db, f"UPDATE patient_data SET fname = 'Unseen' WHERE pid = {pid_quiet}")
    result = run_sync(oe["settings"])
    stats = table_stats(result, "patient_data")
    in_lag = sql(db, f"SELECT COUNT(*) FROM patient_data WHERE last_updated >= "
                     f"datetime('{latest}', '-600 seconds')")[0][0]
    assert stats.read == in_lag < 40
    assert result.plan.get("update") == 1
    names = {p["name"][0]["given"][0] for p in server_resources(server, "Patient")}
    assert "Renamed" in names
    assert "Unseen" not in names


def test_a_reading_removed_from_a_row_deletes_its_observation(oe: dict[str, Any]) -> None:
    db, server = oe["db"], oe["server"]
    before = server.count("Observation")
    vid = sql(db, "SELECT v.id FROM form_vitals v JOIN forms f ON f.form_id = v.id AND "
                  "f.formdir = 'vitals' WHERE v.activity = 1 AND f.deleted = 0 AND "
                  "v.weight > 0 AND v.height > 0 ORDER BY v.id LIMIT 1")[0][0]
    sql(db, f"UPDATE form_vitals SET weight = 0 WHERE id = {vid}")
    result = run_sync(oe["settings"])
    assert result.plan.get("gone-delete") == 1
    assert result.writes["deleted"] == 1
    assert server.count("Observation") == before - 1


def test_the_circuit_breaker_stops_a_mass_delete(oe: dict[str, Any]) -> None:
    db, server = oe["db"], oe["server"]
    before = server.count("Immunization")
    sql(db, "DELETE FROM immunizations WHERE id % 3 = 0")
    with pytest.raises(DeleteCircuitOpen, match=r"more than 2% of Immunization: \d+ of"):
        run_sync(oe["settings"])
    assert server.count("Immunization") == before
    result = run_sync(oe["settings"], confirm_deletes=True)
    assert server.count("Immunization") == before - result.writes["deleted"]
    assert result.writes["deleted"] > 0


def server_resources(server: Any, rtype: str) -> list[dict[str, Any]]:
    import httpx

    page = httpx.get(f"{server.base_url}/{rtype}?_count=1000", timeout=60).json()
    return [e["resource"] for e in page.get("entry", [])
            if e.get("resource", {}).get("resourceType") == rtype]
