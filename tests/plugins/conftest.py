"""Expose tests/plugins/jsonl_plugin.py as an installed distribution, without pip: a
``.dist-info`` folder (METADATA and entry_points.txt) in a temporary folder on sys.path,
which `importlib.metadata` reads like any installed package's."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.executors import EXECUTORS
from migrate.extractors.base import EXTRACTORS
from migrate.loaders.base import LOADERS
from tests.distributions import install

JSONL_ENTRY_POINTS = """\
[migrate.extractors]
jsonl = tests.plugins.jsonl_plugin:JsonlExtractor

[migrate.loaders]
lines = tests.plugins.jsonl_plugin:LinesLoader
"""
BROKEN_ENTRY_POINTS = """\
[migrate.extractors]
broken = tests.plugins.no_such_module:BrokenExtractor
"""


def _forget() -> None:
    for registry in (EXTRACTORS, LOADERS, EXECUTORS):
        registry.reset()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder on sys.path, read by the registries afresh (and forgotten after)."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("MIGRATE_LOAD_PLUGINS", raising=False)
    importlib.invalidate_caches()
    _forget()
    yield folder
    monkeypatch.undo()
    importlib.invalidate_caches()
    _forget()


@pytest.fixture
def jsonl_installed(site: Path) -> Path:
    """The distribution emr-migrate-jsonl 0.3.0 is installed."""
    install(site, "emr-migrate-jsonl", "0.3.0", JSONL_ENTRY_POINTS)
    return site
