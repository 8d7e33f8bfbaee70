"""Project file and run settings: strict keys, precedence, environment secrets, paths."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import migrate
from migrate.config import build_settings, read_project
from migrate.errors import ConfigError

NS = "0b6f7c2e-5d1a-4e8b-9f3c-7a2d4c6e8b10"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "migration.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_keys_are_all_reported_with_lines(tmp_path: Path) -> None:
    path = write(tmp_path, f"version: 1\nmapings: x\nidentity:\n  namespace: {NS}\n"
                           "  sourcesystem: y\n")
    with pytest.raises(ConfigError) as err:
        read_project(path)
    assert str(err.value) == (
        "project file has 2 problem(s):\n"
        f"  {path}:2: mapings: unknown key; valid keys: bundle_size, chunk_size, identity, "
        "mappings, output, source, target, targets, thresholds, timezone, validate, version\n"
        f"  {path}:5: identity.sourcesystem: unknown key; valid keys: namespace, source_system")


def test_paths_are_read_from_the_project_folder_and_flags_win(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    path = write(tmp_path, f"version: 1\nmappings: pack\nsource: src\ntarget: bundles:b\n"
                           f"identity:\n  namespace: {NS}\nchunk_size: 10\nbundle_size: 7\n")
    (tmp_path / "pack").mkdir()  # a bare name is a folder only when it exists, else a pack name
    monkeypatch.chdir(tmp_path.parent)
    s = build_settings(read_project(path), tmp_path)
    assert s.mappings == tmp_path / "pack"
    assert s.source == {"type": "csv", "path": str(tmp_path / "src")}
    assert s.target == {"type": "bundles", "path": str(tmp_path / "b"), "bundle_size": 7}
    assert s.namespace == uuid.UUID(NS)
    assert s.source_system == f"urn:uuid:{NS}"
    assert (s.chunk_size, s.timezone, s.max_quarantine_rate) == (10, None, 0.01)
    s = build_settings(read_project(path), tmp_path, source="sqlite:///db.sqlite", chunk_size=5,
                       target="ndjson:nd", max_quarantine_rate=0.0)
    assert s.source == {"type": "sql", "url": f"sqlite:///{tmp_path.parent / 'db.sqlite'}"}
    assert s.target == {"type": "ndjson", "path": str(tmp_path.parent / "nd")}
    assert (s.chunk_size, s.max_quarantine_rate) == (5, 0.0)


def test_secrets_come_from_the_environment(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, f"version: 1\nsource: mysql+pymysql://u:${{DB_PASS}}@h/emr\n"
                           f"identity: {{namespace: {NS}}}\n")
    with pytest.raises(ConfigError, match="environment variable DB_PASS is not set"):
        read_project(path)
    monkeypatch.setenv("DB_PASS", "pw")
    assert read_project(path).source == "mysql+pymysql://u:pw@h/emr"


def test_a_bad_namespace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="identity.namespace 'nope' is not a UUID"):
        build_settings(None, tmp_path, mappings="m", source="s", namespace="nope")


def test_public_api_is_exported_and_sorted() -> None:
    assert migrate.__all__ == sorted(migrate.__all__)
    for name in migrate.__all__:
        assert getattr(migrate, name) is not None


def test_importing_migrate_loads_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = ("import sys, migrate; heavy = [m for m in ('fhir.resources', 'great_expectations', "
            "'pandas', 'sqlalchemy', 'httpx', 'click') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mappings_may_name_an_installed_pack(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import migrate.mappers.installed as installed

    pack = tmp_path / "site" / "thepack"
    pack.mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: thepack\nversion: 1.0.0\n", encoding="utf-8")
    ep = EntryPoint("thepack", "pathlib:Path", "migrate.packs")
    monkeypatch.setattr(installed, "entry_points", lambda group: [ep])
    monkeypatch.setattr(EntryPoint, "load", lambda self: lambda: pack)
    path = write(tmp_path, f"version: 1\nmappings: thepack\nsource: src\n"
                           f"identity:\n  namespace: {NS}\n")
    assert build_settings(read_project(path), tmp_path).mappings == pack
    assert build_settings(None, tmp_path, mappings="thepack", source="src",
                          namespace=NS).mappings == pack
    with pytest.raises(ConfigError, match=r"'thepak' is neither a folder in .* nor an "
                       r"installed pack \(installed packs: thepack\); did you mean 'thepack'\?"):
        build_settings(None, tmp_path, mappings="thepak", source="src", namespace=NS)
