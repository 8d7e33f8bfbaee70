"""docs/architecture.md's recipe "Adding a transform", walked: the distribution its code blocks
describe, installed as a dist-info on sys.path (no pip), used by a pack in a whole run."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.mappers.transform_base import TRANSFORMS
from tests.conftest import TEST_NAMESPACE
from tests.distributions import install_recipe, recipe_files

RECIPE = "### Adding a transform"
PACK = {
    "pack.yaml": 'name: phones\nversion: "0.1.0"\n',
    "patients.yaml": (
        "mapping: phones.patient\nsource: patients\nkey: [id]\nemit:\n"
        "  - resource: Patient\n    template:\n"
        "      identifier: [{system: 'urn:clinic:mrn', value: $id}]\n"
        "      telecom: [{system: phone, value: {us_phone: $phone}}]\n"),
}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The recipe's distribution installed in a folder on sys.path; forgotten afterwards."""
    folder = tmp_path / "site"
    install_recipe(folder, RECIPE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("MIGRATE_LOAD_PLUGINS", raising=False)
    importlib.invalidate_caches()
    TRANSFORMS.reset()
    yield folder
    monkeypatch.undo()
    sys.modules.pop("clinic_transforms", None)
    importlib.invalidate_caches()
    TRANSFORMS.reset()


def _project(tmp_path: Path) -> None:
    for name, body in PACK.items():
        (tmp_path / "phones" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "phones" / name).write_text(body, encoding="utf-8")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text(
        "id,phone\n1,555-123-4567\n2,+1 (555) 765 4321\n3,12345\n", encoding="utf-8")


def _run(tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [
        "run", "--mappings", "./phones", "--source", str(tmp_path / "export"),
        "--target", f"ndjson:{tmp_path / 'ndjson'}", "--out", str(tmp_path / "out"),
        "--namespace", str(TEST_NAMESPACE), "--no-progress"])
    return result.exit_code, result.output


def test_the_recipe_has_its_files() -> None:
    assert set(recipe_files(RECIPE)) == {"clinic_transforms/__init__.py", "pyproject.toml"}


def test_a_transform_made_by_the_recipe_runs_in_a_pack(site: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _project(tmp_path)
    code, output = _run(tmp_path)
    assert code == 1, output  # one row of three quarantined: over the 1% threshold
    run = orjson.loads((tmp_path / "out" / "run.json").read_bytes())
    assert run["resources"] == {"Patient": 2}
    phones = sorted(orjson.loads(line)["telecom"][0]["value"] for line in
                    (tmp_path / "ndjson" / "Patient.ndjson").read_text().splitlines())
    assert phones == ["(555) 123-4567", "(555) 765-4321"]
    [bad] = [orjson.loads(line) for line in
             (tmp_path / "out" / "quarantine.ndjson").read_text().splitlines()]
    assert bad["rows"] == [{"id": "3"}]
    assert (bad["reasons"][0]["code"], bad["reasons"][0]["column"]) == ("bad-phone", "phone")


def test_the_transform_is_listed_and_its_options_are_checked(site: Path, tmp_path: Path) -> None:
    listed = CliRunner().invoke(cli, ["plugins"])
    assert listed.exit_code == 0, listed.output
    assert "us_phone" in listed.output
    _project(tmp_path)
    pack = tmp_path / "phones" / "patients.yaml"
    pack.write_text(PACK["patients.yaml"].replace("{us_phone: $phone}",
                                                  "{us_phone: {value: $phone, area: 555}}"))
    checked = CliRunner().invoke(cli, ["check", str(tmp_path / "phones")])
    assert checked.exit_code == 2, checked.output
    assert "patients.yaml:8" in checked.output
    assert "unknown option 'area'" in checked.output


def test_without_the_distribution_a_pack_using_it_does_not_check(tmp_path: Path) -> None:
    TRANSFORMS.reset()
    _project(tmp_path)
    checked = CliRunner().invoke(cli, ["check", str(tmp_path / "phones")])
    assert checked.exit_code == 2, checked.output
    assert "patients.yaml:8" in checked.output
    assert "us_phone" in checked.output


def test_a_built_in_transform_cannot_be_taken_over(site: Path, tmp_path: Path) -> None:
    dist = next(site.glob("*.dist-info"))
    (dist / "entry_points.txt").write_text(
        "[migrate.transforms]\ndate = clinic_transforms:us_phone\n", encoding="utf-8")
    TRANSFORMS.reset()
    from migrate.mappers import transforms  # noqa: F401 - the built-ins are registered

    assert TRANSFORMS.get("date").__module__ == "migrate.mappers.transforms"
