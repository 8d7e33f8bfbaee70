"""docs/architecture.md's recipe "Adding a pack", walked: the distribution its code blocks
describe, installed as a dist-info with entry_points.txt on sys.path (no pip), runs by name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import REPO, TEST_NAMESPACE

DOC = REPO / "docs" / "architecture.md"


def recipe_files() -> dict[str, str]:
    """The recipe's code blocks by the file each names on its first line."""
    text = DOC.read_text(encoding="utf-8")
    recipe = text[text.index("### Recipe: adding a pack"):]
    recipe = recipe.split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]+\n# (\S+)\n(.*?)```", recipe, flags=re.DOTALL)
    return {name: body for name, body in blocks}


def install_from_recipe(site: Path) -> None:
    """Lay the recipe's files out as an installed distribution in ``site``."""
    files = recipe_files()
    project = tomllib.loads(files.pop("pyproject.toml"))["project"]
    for name, body in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(body, encoding="utf-8")
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n", encoding="utf-8")
    lines = [line for group, eps in project["entry-points"].items()
             for line in [f"[{group}]", *(f"{k} = {v}" for k, v in eps.items())]]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_recipe_has_its_files() -> None:
    assert set(recipe_files()) == {"clinic_pack/__init__.py", "clinic_pack/clinic/pack.yaml",
                                   "clinic_pack/clinic/patients.yaml", "pyproject.toml"}


def test_a_pack_made_by_the_recipe_runs_by_name(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_from_recipe(site)
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
