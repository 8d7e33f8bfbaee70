"""A re-sync maps again exactly the rows whose look-up values changed (a dictionary entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrate.sync import run_sync
from tests.conftest import make_settings
from tests.harness.standin import BundleAnswers, serving

LAB = """\
mapping: lab
source: labevents
key: [row_id]
lookup:
  item: {table: d_labitems, key: [itemid], match: [$itemid], columns: [label]}
emit:
  - resource: Observation
    template:
      status: final
      code: {text: $item.label}
      valueString: $value
"""


class _Accepted(BundleAnswers):
    """Every entry accepted; the bodies sent are kept."""

    sent: list[dict[str, Any]] = []

    def answers(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """201 for each entry."""
        _Accepted.sent.extend(e["resource"] for e in bundle["entry"] if "resource" in e)
        return [{"response": {"status": "201 Created", "etag": 'W/"1"'}}
                for _ in bundle["entry"]]


def test_a_changed_dictionary_entry_remaps_only_the_rows_using_it(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "lab.yaml").write_text(LAB, encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    (src / "labevents.csv").write_text("row_id,itemid,value\n1,A,1\n2,B,2\n3,A,3\n",
                                       encoding="utf-8")
    (src / "d_labitems.csv").write_text("itemid,label\nA,Sodium\nB,Potassium\n",
                                        encoding="utf-8")
    with serving(_Accepted) as url:
        settings = make_settings(src, {"type": "fhir-server", "url": url}, tmp_path / "out",
                                 mappings=pack)
        first = run_sync(settings).report
        (src / "d_labitems.csv").write_text("itemid,label\nA,Sodium\nB,Potassium [K+]\n",
                                            encoding="utf-8")
        _Accepted.sent.clear()
        second = run_sync(settings).report
    assert (first.tables[0].emitted, first.tables[0].unchanged) == (3, 0)
    assert (second.tables[0].emitted, second.tables[0].unchanged) == (3, 2)
    assert [(r["code"]["text"], r["valueString"]) for r in _Accepted.sent] == [
        ("Potassium [K+]", "2")]
