"""README.md keeps up with what ships: its `emr-migrate packs` line names every bundled pack."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_packs_comment_names_every_bundled_pack() -> None:
    bundled = sorted(p.parent.name for p in (ROOT / "mappings").glob("*/pack.yaml"))
    assert len(bundled) >= 3  # synthea, openemr and the tutorial's riverside
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    comment = re.search(r"^emr-migrate packs +# the installed packs: (.+)$", text, re.M)
    assert comment is not None
    assert comment.group(1).split(", ") == bundled
