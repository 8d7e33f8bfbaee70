"""`reconcile` says where it wrote reconcile.json, as `run` says where run.json is."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from migrate.reconcile import reconcile, render_reconcile
from tests.conftest import make_settings

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}


class OneServer:
    """A target that holds exactly one Patient (the `TargetReader` calls reconcile makes)."""

    url = "http://fhir.test/fhir"
    by_identifier = False
    cfg = SimpleNamespace(identifier_system=None)

    def iter_keys(self, rtype: str) -> list[str]:
        return ["p1"] if rtype == "Patient" else []

    def count(self, rtype: str) -> int:
        return len(self.iter_keys(rtype))

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return dict(PATIENT) if (rtype, rid) == ("Patient", "p1") else None


def test_the_table_ends_with_where_reconcile_json_is(tmp_path: Path) -> None:
    nd = tmp_path / "nd"
    nd.mkdir()
    (nd / "Patient.ndjson").write_bytes(orjson.dumps(PATIENT) + b"\n")
    out = tmp_path / "out"
    settings = make_settings(tmp_path, "ndjson:unused", out)
    report = reconcile(settings, from_ndjson=nd, reader=OneServer())  # type: ignore[arg-type]
    assert report.ok
    assert report.path == out / "reconcile.json"
    assert orjson.loads(report.path.read_bytes())["status"] == "ok"
    assert "path" not in orjson.loads(report.path.read_bytes())
    lines = render_reconcile(report).splitlines()
    assert lines[-2:] == [f"reconcile_json: {out / 'reconcile.json'}",
                          "status: ok: the target holds exactly what the source says"]
