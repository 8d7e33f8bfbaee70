"""Helpers for the mapping-layer tests: write a small pack, load it, run rows through it."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from migrate.errors import MappingError
from migrate.mappers.engine import MappingRunner
from migrate.mappers.pack import MappingSettings, Pack, load_pack
from migrate.outcomes import Unit

NAMESPACE = uuid.UUID("6f1c3f5e-2a1b-4c7d-9e8f-0a1b2c3d4e5f")
SOURCE_SYSTEM = "urn:test:emr"
SETTINGS = MappingSettings(NAMESPACE, SOURCE_SYSTEM, "UTC")


def write_pack(
    root: Path, files: dict[str, str], concept_maps: dict[str, str] | None = None
) -> Path:
    """Write ``{file name: YAML}`` (dedented) and ``{map name: CSV}`` into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    if concept_maps:
        folder = root / "concept_maps"
        folder.mkdir(exist_ok=True)
        for name, text in concept_maps.items():
            (folder / f"{name}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run_rows(pack: Pack, mapping_name: str, rows: Iterable[dict[str, Any]]) -> list[Unit]:
    """Feed ``rows`` through the named mapping and flush its open groups."""
    mapping = next(m for m in pack.mappings if m.name == mapping_name)
    runner = MappingRunner(pack, mapping)
    return runner.feed(rows) + runner.finish()


@pytest.fixture
def make_pack(tmp_path: Path) -> Callable[..., Path]:
    """``make_pack({"a.yaml": yaml}, concept_maps={"gender": csv})`` -> the pack folder."""
    counter = iter(range(1_000))

    def make(files: dict[str, str], concept_maps: dict[str, str] | None = None) -> Path:
        return write_pack(tmp_path / f"pack{next(counter)}", files, concept_maps)

    return make


@pytest.fixture
def load(make_pack: Callable[..., Path]) -> Callable[..., Pack]:
    """Write a pack and load it with the test namespace (timezone UTC unless given)."""

    def do(files: dict[str, str], concept_maps: dict[str, str] | None = None,
           timezone: str = "UTC") -> Pack:
        settings = MappingSettings(NAMESPACE, SOURCE_SYSTEM, timezone)
        return load_pack(make_pack(files, concept_maps), settings)

    return do


@pytest.fixture
def problems_of(make_pack: Callable[..., Path]) -> Callable[..., tuple[Path, list[str]]]:
    """Write a pack that must not load; return its folder and ``str()`` of every problem."""

    def do(files: dict[str, str],
           concept_maps: dict[str, str] | None = None) -> tuple[Path, list[str]]:
        root = make_pack(files, concept_maps)
        with pytest.raises(MappingError) as info:
            load_pack(root, SETTINGS)
        return root, [str(p) for p in info.value.problems]

    return do


@pytest.fixture(name="run_rows")
def run_rows_fixture() -> Callable[[Pack, str, Iterable[dict[str, Any]]], list[Unit]]:
    """The :func:`run_rows` helper, as a fixture (conftest modules are not imported by tests)."""
    return run_rows


@pytest.fixture
def run_one(load: Callable[..., Pack]) -> Callable[..., list[Unit]]:
    """``run_one(mapping_yaml, rows)``: a pack of one mapping file ``m.yaml``, run over rows."""

    def do(mapping: str, rows: Iterable[dict[str, Any]], concept_maps: dict[str, str] | None = None,
           timezone: str = "UTC") -> list[Unit]:
        pack = load({"m.yaml": mapping}, concept_maps, timezone)
        return run_rows(pack, pack.mappings[0].name, rows)

    return do
