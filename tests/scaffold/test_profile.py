"""migrate/scaffold/profile.py: the pair pass is bounded and says when it gave up."""

from __future__ import annotations

from pathlib import Path

import pytest

import migrate.scaffold.profile as scaffold_profile
from migrate.extractors.csv import CsvExtractor


def write(tmp_path: Path, rows: list[str]) -> CsvExtractor:
    (tmp_path / "t.csv").write_text("a,b,c\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return CsvExtractor(tmp_path)


def test_unique_pairs(tmp_path: Path) -> None:
    ext = write(tmp_path, ["1,x,p", "1,y,p", "2,x,q", "2,y,q"])
    pairs, capped = scaffold_profile.find_unique_pairs(ext, "t", ["a", "b", "c"])
    assert (pairs, capped) == ([("a", "b"), ("b", "c")], False)


def test_pairs_past_the_cap_are_unknown_and_said(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaffold_profile, "MAX_DISTINCT", 2)
    ext = write(tmp_path, ["1,x,p", "1,y,p", "2,x,q", "2,y,q"])
    assert scaffold_profile.find_unique_pairs(ext, "t", ["a", "b"]) == ([], True)


def test_progress_reports_rows_per_table(tmp_path: Path) -> None:
    write(tmp_path, ["1,x,p", "2,y,q"])
    seen: list[tuple[str, int]] = []
    profiled = scaffold_profile.profile_source_tables(
        {"type": "csv", "path": str(tmp_path)}, progress=lambda t, n: seen.append((t, n)))
    assert seen == [("t", 0), ("t", 2)]
    assert profiled.tables[0].rows == 2
