"""Installed distributions for tests, without pip: a ``NAME-VERSION.dist-info`` folder
(METADATA and entry_points.txt) in a folder on sys.path, which `importlib.metadata` reads like
any installed package's; and the distributions the recipes of docs/architecture.md describe."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.conftest import REPO

DOC = REPO / "docs" / "architecture.md"


def install(site: Path, name: str, version: str, entry_points: str) -> None:
    """Write ``NAME-VERSION.dist-info`` with its METADATA and entry points into ``site``."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


def recipe_files(heading: str) -> dict[str, str]:
    """The code blocks of the recipe under ``heading`` (up to the next ``## ``), by the file
    each names on its first line."""
    text = DOC.read_text(encoding="utf-8")
    recipe = text[text.index(heading):].split("\n## ", 1)[0]
    return dict(re.findall(r"```[a-z]+\n# (\S+)\n(.*?)```", recipe, flags=re.DOTALL))


def install_recipe(site: Path, heading: str) -> None:
    """Lay the recipe's files out in ``site``, installed as the distribution its
    pyproject.toml block declares."""
    files = recipe_files(heading)
    project = tomllib.loads(files.pop("pyproject.toml"))["project"]
    for name, body in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(body, encoding="utf-8")
    lines = [line for group, eps in project["entry-points"].items()
             for line in [f"[{group}]", *(f"{k} = {v}" for k, v in eps.items())]]
    install(site, project["name"], project["version"], "\n".join(lines) + "\n")
