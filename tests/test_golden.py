"""Golden-file tests of the Synthea pack: the exact resources four patients become.

Expected files are pretty-printed JSON so a changed mapping shows as a readable diff; rewrite
them with ``pytest tests/test_golden.py --update-golden`` and review ``git diff tests/golden``.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.pipeline import run_pipeline
from tests.conftest import REPO, SYNTHEA_PACK, make_settings

GOLDEN = Path(__file__).parent / "golden" / "synthea"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def produce(tmp: Path, source: Path = GOLDEN / "input", mappings: Path = SYNTHEA_PACK
            ) -> dict[str, str]:
    """Run a pack over a golden input; the output as {file name: pretty JSON}."""
    report = run_pipeline(make_settings(source, f"ndjson:{tmp / 'nd'}", tmp, mappings,
                                        max_quarantine_rate=1.0))
    files: dict[str, str] = {}
    for path in sorted((tmp / "nd").glob("*.ndjson")):
        items = sorted((orjson.loads(x) for x in path.read_bytes().splitlines()),
                       key=lambda r: r["id"])
        files[f"{path.stem}.json"] = _pretty(items)
    quarantine = [orjson.loads(x) for x in (tmp / "quarantine.ndjson").read_bytes().splitlines()]
    for record in quarantine:
        record["source"] = Path(record["source"]).name
        for reason in record["reasons"]:
            if reason["rule"]:
                reason["rule"] = str(Path(reason["rule"]).relative_to(REPO))
    files["quarantine.json"] = _pretty(quarantine)
    files["counts.json"] = _pretty({t.table: {k: v for k, v in t.as_dict().items()
                                              if k not in ("source", "table")}
                                    for t in report.tables})
    return files


def test_synthea_pack_golden(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    compare(produce(tmp_path), GOLDEN / "expected", request.config.getoption("--update-golden"))


def compare(got: dict[str, str], expected_dir: Path, update: bool) -> None:
    """Assert ``got`` equals the files of ``expected_dir`` (rewrite them with ``update``)."""
    if update:
        expected_dir.mkdir(exist_ok=True)
        for old in expected_dir.glob("*.json"):
            old.unlink()
        for name, text in got.items():
            (expected_dir / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(expected_dir.glob("*.json"))}
    assert sorted(got) == sorted(expected), "output files differ from the golden set"
    diffs = []
    for name in sorted(got):
        if got[name] != expected[name]:
            diffs.extend(difflib.unified_diff(expected[name].splitlines(), got[name].splitlines(),
                                              f"expected/{name}", f"actual/{name}", lineterm="",
                                              n=2))
    assert not diffs, "\n".join(diffs[:200])


def test_golden_counts_show_the_injected_defects() -> None:
    counts = json.loads((GOLDEN / "expected" / "counts.json").read_text())
    assert counts["encounters"]["quarantined_by_cause"] == {"unmapped-code": 1}
    assert counts["conditions"]["quarantined_by_cause"] == {"bad-date": 1}
    assert counts["supplies"]["emitted"] == 5
    assert all(t["balanced"] for t in counts.values())
    supplies = json.loads((GOLDEN / "expected" / "SupplyDelivery.json").read_text())
    assert len({s["id"] for s in supplies}) == 5
