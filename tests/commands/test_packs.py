"""``emr-migrate packs``: the installed packs as a table or JSON (entry points faked)."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

import migrate.mappers.installed as installed
from migrate.cli import cli


@pytest.fixture
def two_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Installed packs ``beta`` (2 mappings, 1.2.0) and ``alpha`` (unversioned, bad key)."""
    folders = {"beta": tmp_path / "beta", "alpha": tmp_path / "alpha"}
    for folder in folders.values():
        folder.mkdir()
    (folders["beta"] / "pack.yaml").write_text("name: beta\nversion: 1.2.0\ndescription: >\n"
                                               "  Beta's\n  source.\n", encoding="utf-8")
    (folders["beta"] / "a.yaml").write_text("x", encoding="utf-8")
    (folders["beta"] / "b.yml").write_text("x", encoding="utf-8")
    (folders["alpha"] / "pack.yaml").write_text("name: alpha\nverison: 1\n", encoding="utf-8")
    eps = [EntryPoint(name, f"pathlib:{name}", "migrate.packs") for name in folders]
    monkeypatch.setattr(installed, "entry_points", lambda group: eps)
    monkeypatch.setattr(EntryPoint, "load", lambda self: lambda: folders[self.name])
    return folders


def test_packs_lists_name_version_mappings_source_and_description(two_packs: dict) -> None:
    result = CliRunner().invoke(cli, ["packs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "NAME   VERSION      MAPPINGS  SOURCE   DESCRIPTION",
        "alpha  unversioned  0         unknown",
        "beta   1.2.0        2         unknown  Beta's source.",
    ]
    assert lines[3].startswith(f"warning: alpha: {two_packs['alpha'] / 'pack.yaml'}:2: verison:")


def test_packs_json(two_packs: dict) -> None:
    result = CliRunner().invoke(cli, ["packs", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert [(p["name"], p["version"], p["mappings"], p["path"]) for p in got] == [
        ("alpha", "unversioned", 0, str(two_packs["alpha"])),
        ("beta", "1.2.0", 2, str(two_packs["beta"]))]
    assert got[1]["description"] == "Beta's source."
    assert got[1]["problems"] == []
    assert len(got[0]["problems"]) == 1


def test_packs_with_none_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installed, "entry_points", lambda group: [])
    result = CliRunner().invoke(cli, ["packs"])
    assert (result.exit_code, result.output) == (
        0, "no installed packs (a distribution declares one under migrate.packs)\n")


def test_packs_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["packs", "-h"])
    assert result.exit_code == 0
    doc = result.output.split("Options:")[0].rstrip()
    assert doc.splitlines()[-4:] == [
        "  Example:", "    emr-migrate packs", "    emr-migrate packs --json",
        "    emr-migrate run --mappings synthea --source ./export"]


def test_a_pack_that_cannot_be_loaded_is_listed_with_why_and_exit_2(
        two_packs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPoint(name, f"pathlib:{name}", "migrate.packs")
           for name in ("alpha", "beta", "broken")]
    monkeypatch.setattr(installed, "entry_points", lambda group: eps)

    def load(self: EntryPoint) -> object:
        if self.name == "broken":
            raise ImportError("no module named broken_pack")
        return lambda: two_packs[self.name]

    monkeypatch.setattr(EntryPoint, "load", load)
    result = CliRunner().invoke(cli, ["packs"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "\nbroken " in result.output
    assert "warning: broken: pack 'broken' (unknown, entry point pathlib:broken): could not " \
           "be loaded (ImportError: no module named broken_pack)" in result.output
    result = CliRunner().invoke(cli, ["packs", "--json"])
    assert result.exit_code == 2
    got = json.loads(result.output.split("\nError:")[0])
    assert [p["name"] for p in got] == ["alpha", "beta", "broken"]
    assert got[2]["path"] is None
    assert len(got[2]["problems"]) == 1
