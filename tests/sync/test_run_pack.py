"""A sync records the mapping pack it ran (name, version, source) with its run in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrate.state import StateStore
from migrate.sync import run_sync
from migrate.sync.run import default_state_url
from tests.conftest import make_settings
from tests.harness.standin import BundleAnswers, serving


class _Created(BundleAnswers):
    """Every entry created, version 1."""

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """201 for each entry."""
        return [{"response": {"status": "201 Created", "etag": 'W/"1"'}}
                for _ in bundle["entry"]]


def test_a_sync_records_its_pack_in_the_state_store(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text("name: tiny\nversion: 3.2.1\n", encoding="utf-8")
    (pack / "patient.yaml").write_text(
        "mapping: tiny.patient\nsource: people\nkey: [pid]\nemit:\n  - resource: Patient\n"
        "    template: {identifier: [{system: urn:tiny, value: $pid}]}\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "people.csv").write_text("pid\n1\n2\n", encoding="utf-8")
    with serving(_Created) as url:
        settings = make_settings(tmp_path / "src", {"type": "fhir-server", "url": url},
                                 tmp_path / "out", mappings=pack)
        result = run_sync(settings)
    assert result.report.pack_version == "3.2.1"
    store = StateStore(default_state_url(settings))
    [run] = store.runs()
    assert (run["kind"], run["pack"], run["pack_version"], run["pack_source"]) == (
        "sync", "tiny", "3.2.1", f"folder {pack}")
    store.engine.dispose()
