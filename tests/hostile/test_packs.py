"""Hostile packs never win (issue 17): no hang, no blow-up, no read outside the pack.

Each attack is a small pack written by the test; each must end within a second with a
`MappingError` (exit 2 from the CLI) naming the file, and never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from migrate.errors import MappingError
from migrate.mappers.pack import load_pack
from tests.mappers.conftest import SETTINGS, run_rows, write_pack

PATIENT = """\
    mapping: t.patient
    source: people
    key: [ID]
    emit:
      - resource: Patient
        template:
          gender: {translate: {map: gender, from: $SEX, as: code, on_unmapped: {code: unknown}}}
    """
GENDER = "source_code,target_system,target_code,target_display\nF,,female,\nM,,male,\n"


def laughs(levels: int) -> str:
    """A mapping file of a few hundred bytes that expands to 9**levels values."""
    lines = ['x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]")
    return "mapping: t.bomb\nsource: people\nkey: [ID]\n" + "\n".join(lines) + "\n"


def problems_of(pack: Path) -> str:
    started = time.process_time()  # CPU time: the machine may be busy with other work
    with pytest.raises(MappingError) as err:
        load_pack(pack, SETTINGS)
    assert time.process_time() - started < 1.0
    return str(err.value)


@pytest.mark.parametrize("levels", [8, 9, 12])
def test_billion_laughs_is_refused_at_once(tmp_path: Path, levels: int) -> None:
    pack = write_pack(tmp_path / "p", {"bomb.yaml": laughs(levels)})
    assert (pack / "bomb.yaml").stat().st_size < 1200
    text = problems_of(pack)
    assert f"{pack / 'bomb.yaml'}: more than 200,000 values once its anchors and aliases" in text


def test_nesting_3000_deep_is_refused_with_its_line(tmp_path: Path) -> None:
    deep = "mapping: t.deep\nsource: people\nkey: [ID]\nemit: " + "[" * 3000 + "]" * 3000
    pack = write_pack(tmp_path / "p", {"deep.yaml": deep})
    assert f"{pack / 'deep.yaml'}:4: nested more than 64 levels deep" in problems_of(pack)


def test_a_huge_yaml_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "p", {"big.yaml": "# x\n" * (2 << 20)})
    assert "more than the 4,194,304 a YAML file may have" in problems_of(pack)


def test_catastrophic_regex_runs_in_linear_time(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "p", {"p.yaml": textwrap.dedent(PATIENT) + textwrap.dedent("""\
        filter:
          - name: evil
            when: {matches: [$NOTE, "^(a+)+$"]}
        """)}, None)
    (pack / "concept_maps").mkdir()
    (pack / "concept_maps" / "gender.csv").write_text(GENDER, encoding="utf-8")
    loaded = load_pack(pack, SETTINGS)
    started = time.process_time()
    units = run_rows(loaded, "t.patient",
                     [{"ID": str(i), "SEX": "F", "NOTE": "a" * 35 + "!"} for i in range(200)])
    assert time.process_time() - started < 1.0
    assert [u.outcome for u in units] == ["emitted"] * 200


def test_back_references_are_refused_by_check(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "p", {"p.yaml": textwrap.dedent(PATIENT) + textwrap.dedent("""\
        filter:
          - name: evil
            when: {matches: [$NOTE, "(a)\\\\1"]}
        """)}, {"gender": GENDER})
    assert "no back-references" in problems_of(pack)


@pytest.mark.parametrize("name", ["/etc/passwd", "../../etc/passwd", "a/../../x.csv", ""])
def test_pack_files_must_stay_inside_the_source_folder(tmp_path: Path, name: str) -> None:
    pack = write_pack(tmp_path / "p", {"pack.yaml": f"name: t\nfiles: {{people: '{name}'}}\n",
                                       "p.yaml": PATIENT}, {"gender": GENDER})
    text = problems_of(pack)
    assert f"{pack / 'pack.yaml'}:2: files" in text
    assert "relative to the source folder" in text or "stay inside the source folder" in text


def test_a_concept_map_linking_outside_the_pack_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("source_code,target_system,target_code,target_display\nroot:x:0:0,,f,\n",
                      encoding="utf-8")
    pack = write_pack(tmp_path / "p", {"p.yaml": PATIENT})
    (pack / "concept_maps").mkdir()
    (pack / "concept_maps" / "gender.csv").symlink_to(secret)
    text = problems_of(pack)
    assert f"{pack / 'concept_maps' / 'gender.csv'}: a link to a file outside the pack" in text
    assert "root:x" not in text


def test_a_mapping_file_linking_outside_the_pack_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(textwrap.dedent(PATIENT), encoding="utf-8")
    pack = write_pack(tmp_path / "p", {}, {"gender": GENDER})
    (pack / "p.yaml").symlink_to(outside)
    assert "p.yaml: a link to a file outside the pack" in problems_of(pack)


def test_check_reports_a_bomb_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "p", {"bomb.yaml": laughs(9)})
    done = subprocess.run([sys.executable, "-m", "migrate", "check", str(pack)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "anchors and aliases" in done.stderr
    assert "Traceback" not in done.stderr
