"""The invariants the code cites are the ones docs/architecture.md defines, by number."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"\binvariants? (\d+)(?:\s*(?:-|–|and|,)\s*(\d+))?", re.IGNORECASE)


def _invariants() -> dict[int, str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Invariants", 1)[1].split("\n## ", 1)[0]
    return {int(n): title for n, title in re.findall(r"^(\d+)\. \*\*(.+?)\*\*", section, re.M)}


def test_invariants_are_numbered_one_to_n() -> None:
    numbers = sorted(_invariants())
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 8


def test_every_cited_invariant_is_defined() -> None:
    defined = _invariants()
    files = [*ROOT.joinpath("migrate").rglob("*.py"), *ROOT.joinpath("docs").glob("*.md"),
             ROOT / "README.md"]
    cited: list[tuple[str, int]] = []
    for path in files:
        for m in CITATION.finditer(path.read_text(encoding="utf-8")):
            cited += [(str(path.relative_to(ROOT)), int(n)) for n in m.groups() if n]
    assert len(cited) >= 8, "the code cites its invariants; the pattern lost them"
    undefined = [(f, n) for f, n in cited if n not in defined]
    assert not undefined


def test_citations_match_their_topic() -> None:
    """The modules that own an invariant cite it by its number."""
    defined = _invariants()
    owners = {"migrate/mappers/ids.py": (1, "identity"),
              "migrate/report/model.py": (2, "accounted"),
              "migrate/mappers/transforms.py": (3, "Mappings are data"),
              "migrate/mappers/pack.py": (4, "before data is read"),
              "migrate/extractors/base.py": (5, "Streaming")}
    for file, (n, words) in owners.items():
        assert f"invariant {n}" in (ROOT / file).read_text(encoding="utf-8"), file
        assert words.lower() in defined[n].lower(), (n, defined[n])
