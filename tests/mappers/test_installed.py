"""Packs addressed by name (``migrate.mappers.installed``): entry points given as a parameter,
plus one test of the real installed metadata (emr-migrate's own packs)."""

from __future__ import annotations

import logging
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from migrate.errors import ConfigError, MappingError
from migrate.mappers.installed import (
    identify,
    installed_packs,
    pack_source,
    pack_version,
    resolve_mappings,
)
from migrate.plugins import entry_points

MODULE = "fake_pack_dist"


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A module whose functions give two pack folders (one unversioned) and a non-folder."""
    site = tmp_path / "site"
    (site / "fake_pack_dist" / "alpha").mkdir(parents=True)
    (site / "fake_pack_dist" / "bare").mkdir()
    (site / "fake_pack_dist" / "alpha" / "pack.yaml").write_text(
        "name: alpha\nversion: 2.1.0\n", encoding="utf-8")
    (site / "fake_pack_dist" / "bare" / "pack.yaml").write_text("name: bare\n",
                                                                encoding="utf-8")
    (site / "fake_pack_dist" / "__init__.py").write_text(textwrap.dedent("""
        from importlib.resources import files
        def alpha():
            return files(__name__) / "alpha"
        def bare():
            return files(__name__) / "bare"
        def nowhere():
            return "/nonexistent/pack"
        """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, MODULE, raising=False)
    eps = [EntryPoint("alpha", f"{MODULE}:alpha", "migrate.packs"),
           EntryPoint("bare", f"{MODULE}:bare", "migrate.packs"),
           EntryPoint("nowhere", f"{MODULE}:nowhere", "migrate.packs")]
    return {"eps": eps, "alpha": site / MODULE / "alpha", "cwd": tmp_path / "cwd"}


def test_a_name_resolves_to_the_installed_pack(packs: dict) -> None:
    packs["cwd"].mkdir()
    assert resolve_mappings("alpha", packs["cwd"], packs["eps"]) == packs["alpha"]


def test_a_path_stays_a_path_even_when_a_pack_has_its_name(packs: dict, tmp_path: Path) -> None:
    base = tmp_path / "cwd"
    assert resolve_mappings("./alpha", base, packs["eps"]) == base / "alpha"
    assert resolve_mappings("x/alpha", base, packs["eps"]) == base / "x" / "alpha"
    assert resolve_mappings("/abs/alpha", base, packs["eps"]) == Path("/abs/alpha")
    assert resolve_mappings(Path("alpha"), base, packs["eps"]) == base / "alpha"


def test_a_folder_of_the_name_wins_over_the_pack_with_a_warning(
        packs: dict, caplog: pytest.LogCaptureFixture) -> None:
    (packs["cwd"] / "alpha").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="migrate.mappers.installed"):
        got = resolve_mappings("alpha", packs["cwd"], packs["eps"])
    assert got == (packs["cwd"] / "alpha").resolve()
    assert "not the installed pack of that name" in caplog.text


def test_a_folder_that_is_no_pack_name_gives_no_warning(
        packs: dict, caplog: pytest.LogCaptureFixture) -> None:
    (packs["cwd"] / "mine").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="migrate.mappers.installed"):
        assert resolve_mappings("mine", packs["cwd"], packs["eps"]) == packs["cwd"] / "mine"
    assert caplog.text == ""


def test_an_unknown_name_lists_the_installed_packs_with_did_you_mean(packs: dict) -> None:
    packs["cwd"].mkdir()
    with pytest.raises(ConfigError) as info:
        resolve_mappings("alpah", packs["cwd"], packs["eps"])
    assert info.value.exit_code == 2
    message = str(info.value)
    assert "'alpah' is neither a folder in" in message
    assert "installed packs: alpha, bare, nowhere" in message
    assert "did you mean 'alpha'?" in message


def test_an_installed_pack_must_declare_its_version(packs: dict) -> None:
    packs["cwd"].mkdir()
    with pytest.raises(ConfigError, match=r"bare/pack.yaml: version: is missing; installed "
                       r"pack 'bare'"):
        resolve_mappings("bare", packs["cwd"], packs["eps"])


def test_a_folder_pack_may_be_unversioned(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("name: mine\n", encoding="utf-8")
    assert pack_version(tmp_path) == "unversioned"
    (tmp_path / "pack.yaml").write_text("name: mine\nversion: 1.2\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"pack.yaml:2: version"):
        pack_version(tmp_path)


def test_an_entry_point_that_gives_no_folder_is_a_config_error(packs: dict) -> None:
    packs["cwd"].mkdir()
    with pytest.raises(ConfigError, match=r"pack 'nowhere' \(unknown, entry point "
                       r"fake_pack_dist:nowhere\): gives /nonexistent/pack, which is not a "
                       r"folder"):
        resolve_mappings("nowhere", packs["cwd"], packs["eps"])
    assert [p.name for p in installed_packs(packs["eps"])] == ["alpha", "bare"]


def test_identity_names_the_distribution_or_the_folder(packs: dict, tmp_path: Path) -> None:
    got = identify(packs["alpha"], packs["eps"])
    assert (got.name, got.version, got.source) == ("alpha", "2.1.0", "unknown")
    (tmp_path / "mine").mkdir()
    assert pack_source(tmp_path / "mine", packs["eps"]) == f"folder {tmp_path / 'mine'}"


def test_the_built_in_packs_are_installed_by_name() -> None:
    """Real metadata: passes once emr-migrate is (re)installed from this tree (pip install -e)."""
    names = {ep.name: ep for ep in entry_points("migrate.packs")}
    assert {"synthea", "openemr"} <= set(names), (
        "emr-migrate's migrate.packs entry points are missing: reinstall (pip install -e .)")
    for name in ("synthea", "openemr"):
        got = identify(resolve_mappings(name, Path("/nonexistent")))
        assert (got.name, got.version) == (name, "1.0.0")
        assert got.source.startswith("emr-migrate ")
