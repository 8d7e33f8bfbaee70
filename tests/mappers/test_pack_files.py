"""Pack file names: pack.yml is read like pack.yaml; folder names become valid pack names."""

from __future__ import annotations

from pathlib import Path

from migrate.mappers.pack import load_pack

MAPPING = """\
mapping: p.patient
source: people
key: [id]
emit:
  - resource: Patient
    template: {gender: {translate: {values: {M: male}, from: $sex, on_unmapped: keep, as: code}}}
"""


def test_pack_yml_is_the_pack_file(tmp_path: Path) -> None:
    (tmp_path / "pack.yml").write_text("name: clinic-a\ntimezone: America/Chicago\n")
    (tmp_path / "patient.yml").write_text(MAPPING)
    pack = load_pack(tmp_path)
    assert pack.spec.name == "clinic-a"
    assert [m.name for m in pack.mappings] == ["p.patient"]


def test_a_folder_name_becomes_a_valid_pack_name(tmp_path: Path) -> None:
    folder = tmp_path / "_Draft Pack (v2)"
    folder.mkdir()
    (folder / "patient.yaml").write_text(MAPPING)
    assert load_pack(folder).spec.name == "draft-pack-v2"
