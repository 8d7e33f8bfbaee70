"""Load the Synthea pack's output into a real sekmet-fhir server, twice: no duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.pipeline import run_pipeline
from tests.conftest import make_settings
from tests.integration.test_synthea_10pt import expected_counts

pytestmark = pytest.mark.integration


def test_loading_twice_gives_the_same_counts(sekmet_server: Any, synthea_10pt: Path,
                                             tmp_path: Path) -> None:
    sekmet_server.reset()
    expected = expected_counts(synthea_10pt)
    target = {"type": "fhir-server", "url": sekmet_server.base_url, "bundle_size": 250}
    for attempt in (1, 2):
        out = tmp_path / f"run{attempt}"
        report = run_pipeline(make_settings(synthea_10pt, target, out))
        assert report.status == "ok"
        assert report.load["written"] == expected
        assert report.load["failed"] == 0
        assert sekmet_server.counts(sorted(expected)) == expected, f"after load {attempt}"


def test_the_server_holds_what_was_sent(sekmet_server: Any, synthea_10pt: Path,
                                        tmp_path: Path) -> None:
    """Ids on the server are exactly the ids in the NDJSON output, and content round-trips."""
    sekmet_server.reset()
    run_pipeline(make_settings(synthea_10pt, {"type": "fhir-server",
                                              "url": sekmet_server.base_url}, tmp_path / "a"))
    run_pipeline(make_settings(synthea_10pt, f"ndjson:{tmp_path / 'nd'}", tmp_path / "b"))
    lines = (tmp_path / "nd" / "Patient.ndjson").read_bytes().splitlines()
    sent = {p["id"]: p for p in map(orjson.loads, lines)}
    assert sekmet_server.ids("Patient") == set(sent)
    some_id = sorted(sent)[0]
    stored = sekmet_server.read("Patient", some_id)
    assert stored is not None
    assert stored["name"] == sent[some_id]["name"]
    assert stored["identifier"] == sent[some_id]["identifier"]
