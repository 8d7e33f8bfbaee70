"""The wheel holds the packs and the sample, and the README's main job runs from it alone.

Builds the wheel from a copy of the sources, installs it in a fresh virtualenv outside the
repository (which sees the already-installed dependencies through a .pth file: no network for
them), and from an empty folder, with PYTHONPATH unset: `emr-migrate sample` then `emr-migrate
run` on the packaged sample with the packaged pack, and `emr-migrate packs`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from migrate.pipeline import run_pipeline
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.wheel
SOURCES = ["pyproject.toml", "setup.py", "README.md", "migrate", "mappings", "sample_data"]


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout, or a failure with its output."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def copy_sources(dest: Path) -> Path:
    """The files a build reads, so that the build leaves nothing in the repository."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    dest.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, dest / name)
    return dest


def fresh_venv(root: Path) -> Path:
    """A virtualenv at ``root`` that sees this interpreter's site-packages after its own."""
    sh(sys.executable, "-m", "venv", root, cwd=root.parent)
    python = root / "bin" / "python"
    own = sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
             cwd=root).strip()
    (Path(own) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                        encoding="utf-8")
    return python


def build_and_install(tmp: Path) -> Path:
    """Build the wheel and install it (no dependencies) in a fresh venv; its python."""
    python = fresh_venv(tmp / "venv")
    src = copy_sources(tmp / "src")
    if sh(python, "-c", "import importlib.util as u; print(u.find_spec('wheel') is None)",
          cwd=tmp).strip() == "True":  # setuptools < 70.1 builds wheels with `wheel`
        sh(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "wheel", cwd=tmp)
    sh(python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
       "--no-build-isolation", "-w", tmp / "dist", src, cwd=tmp)
    [wheel] = (tmp / "dist").glob("emr_migrate-*.whl")
    # --ignore-installed: the editable install that the .pth makes visible is not this one
    sh(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
       "--no-index", "--ignore-installed", wheel, cwd=tmp)
    return python


def test_the_readme_job_runs_from_the_wheel_alone(tmp_path: Path) -> None:
    python = build_and_install(tmp_path)
    venv = python.parent.parent
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cli = venv / "bin" / "emr-migrate"
    where = sh(python, "-c", "import migrate, migrate_packs, migrate_sample; print(migrate."
               "__file__, migrate_packs.synthea(), migrate_sample.folder())", cwd=empty, env=env)
    assert all(p.startswith(str(venv)) for p in where.split()), where

    sh(cli, "sample", "demo", cwd=empty, env=env)
    sh(cli, "run", "-c", "demo/migration.yaml", "--no-progress", cwd=empty, env=env)
    run = json.loads((empty / "demo" / "out" / "run.json").read_text())
    repo = run_pipeline(make_settings(REPO / "sample_data" / "synthea",
                                      f"ndjson:{tmp_path / 'nd'}", tmp_path / "repo-out"))
    assert (run["status"], run["rows"]["read"], run["resources_total"]) == ("ok", 5760, 5568)
    assert run["rows"]["read"] == repo.read
    assert run["resources"] == dict(sorted(repo.resources.items()))
    assert (run["pack"], run["pack_version"]) == ("synthea", "1.0.0")
    assert run["pack_source"].startswith("emr-migrate ")

    packs = json.loads(sh(cli, "packs", "--json", cwd=empty, env=env))
    assert [(p["name"], p["version"], p["source"].split()[0]) for p in packs] == [
        ("ccda", "1.0.0", "emr-migrate"), ("openemr", "1.0.0", "emr-migrate"),
        ("riverside", "1.0.0", "emr-migrate"),
        ("synthea", "1.0.0", "emr-migrate")]
    assert all(p["path"].startswith(str(venv)) for p in packs)
    assert [p.name for p in empty.iterdir()] == ["demo"]  # and nothing else was written
