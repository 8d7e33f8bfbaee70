"""Issue 19 review: ``emr-migrate scaffold`` on sources whose table names collide with the
pack's own files or with each other once made file and mapping names."""

from __future__ import annotations

from pathlib import Path

from migrate.mappers.pack import load_pack
from migrate.scaffold import scaffold
from tests.mappers.conftest import SETTINGS


def test_tables_whose_names_collide_each_get_a_mapping(tmp_path: Path) -> None:
    # A table "pack" was written to pack.yaml and then overwritten by the pack's own file;
    # "Visits" and "visits" shared visits.yaml; "Lab Items" was renamed onto lab_items: the
    # README promised mappings that were not there.
    src = tmp_path / "src"
    src.mkdir()
    for stem in ("pack", "Visits", "visits", "Lab Items", "lab_items"):
        (src / f"{stem}.csv").write_text("id,v\n1,a\n2,b\n", encoding="utf-8")
    result = scaffold({"type": "csv", "path": str(src)}, tmp_path / "p")
    pack = load_pack(tmp_path / "p", SETTINGS)
    assert sorted(m.name for m in pack.mappings) == [
        "p.lab_items", "p.lab_items_2", "p.pack-2", "p.visits", "p.visits-2"]
    assert sorted(m.table for m in pack.mappings) == [
        "Visits", "lab_items", "lab_items_2", "pack", "visits"]
    assert sorted(result.files) == [
        "README.md", "lab_items.yaml", "lab_items_2.yaml", "pack-2.yaml", "pack.yaml",
        "visits-2.yaml", "visits.yaml"]
