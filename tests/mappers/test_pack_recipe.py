"""docs/architecture.md's recipe "Adding a pack", walked: the distribution its code blocks
describe, installed as a dist-info with entry_points.txt on sys.path (no pip), runs by name."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import TEST_NAMESPACE
from tests.distributions import install_recipe, recipe_files

RECIPE = "### Recipe: adding a pack"

def test_the_recipe_has_its_files() -> None:
    assert set(recipe_files(RECIPE)) == {"clinic_pack/__init__.py", "clinic_pack/clinic/pack.yaml",
                                   "clinic_pack/clinic/patients.yaml", "pyproject.toml"}


def test_a_pack_made_by_the_recipe_runs_by_name(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_recipe(site, RECIPE)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("MIGRATE_LOAD_PLUGINS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text("id,last\n1,Smith\n2,Jones\n",
                                                      encoding="utf-8")
    runner = CliRunner()
    listed = runner.invoke(cli, ["packs", "--json"])
    assert listed.exit_code == 0, listed.output
    clinic = next(p for p in orjson.loads(listed.output) if p["name"] == "clinic")
    assert (clinic["version"], clinic["source"], clinic["mappings"]) == (
        "1.0.0", "clinic-pack 1.0.0", 1)
    checked = runner.invoke(cli, ["check", "clinic"])
    assert checked.exit_code == 0, checked.output
    result = runner.invoke(cli, ["run", "--mappings", "clinic", "--source", "export",
                                 "--namespace", str(TEST_NAMESPACE), "--no-progress"])
    assert result.exit_code == 0, result.output
    run = orjson.loads((tmp_path / "out" / "run.json").read_bytes())
    assert (run["pack"], run["pack_version"], run["pack_source"]) == (
        "clinic", "1.0.0", "clinic-pack 1.0.0")
    assert run["resources"] == {"Patient": 2}
