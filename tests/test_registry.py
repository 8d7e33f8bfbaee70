"""Plugin options checked by each plugin's ``Options`` model (issue 18, item 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrate.config import parse_source
from migrate.errors import ConfigError, ExitCode
from migrate.extractors.base import EXTRACTORS, open_extractor
from migrate.loaders.base import LOADERS, open_loader, parse_target
from migrate.loaders.null import NullLoader
from migrate.registry import Plugin, Registry
from tests.conftest import REPO


def test_every_problem_of_the_options_at_once_with_did_you_mean_and_types(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        open_loader({"type": "bundles", "path": str(tmp_path), "bundle_sise": 5,
                     "bundle_size": "many"})
    text = str(err.value)
    assert err.value.exit_code == ExitCode.USAGE
    assert "target: loader 'bundles' has no option 'bundle_sise'; did you mean " \
           "'bundle_size'?" in text
    assert "target.bundle_size: Input should be a valid integer" in text
    assert "(got str)" in text
    assert "many" not in text  # values are not echoed (they may be secrets)


def test_a_missing_option_is_named() -> None:
    with pytest.raises(ConfigError, match=r"source\.path: extractor 'csv' needs this option"):
        open_extractor("csv")


def test_an_option_with_no_close_match_lists_the_options(tmp_path: Path) -> None:
    problems = EXTRACTORS.option_problems("csv", {"path": str(tmp_path), "zzz": 1}, "source")
    assert problems == ["source: extractor 'csv' has no option 'zzz' "
                        "(options: path, encoding, delimiter, files)"]


def test_the_plugin_is_built_from_the_validated_values(tmp_path: Path) -> None:
    loader = open_loader({"type": "bundles", "path": str(tmp_path), "bundle_size": "7"})
    assert loader.bundle_size == 7  # type: ignore[attr-defined]
    assert isinstance(loader.path, Path)  # type: ignore[attr-defined]


def test_dependencies_are_keyword_arguments_outside_the_model() -> None:
    seen: list[Any] = []
    loader = LOADERS.create("null", {}, "target", observer=seen.append)
    assert isinstance(loader, NullLoader)
    loader.load([{"resourceType": "Patient", "id": "p"}])
    assert seen == [[{"resourceType": "Patient", "id": "p"}]]
    assert LOADERS.option_problems("null", {"observer": print}, "target") == [
        "target: loader 'null' has no option 'observer' (options: none)"]


@pytest.mark.parametrize("kind", ["ccda", "csv", "sql"])
def test_every_extractor_option_has_a_description(kind: str) -> None:
    model = EXTRACTORS.get(kind).Options
    assert model.model_config.get("extra") == "forbid"
    assert all(f.description for f in model.model_fields.values())


@pytest.mark.parametrize("kind", ["ndjson", "bundles", "fhir-server"])
def test_every_loader_option_has_a_description(kind: str) -> None:
    model = LOADERS.get(kind).Options
    assert model.model_config.get("extra") == "forbid"
    assert all(f.description for f in model.model_fields.values())


def test_built_ins_are_entry_points_of_emr_migrate() -> None:
    for registry, names in ((EXTRACTORS, ["ccda", "csv", "sql"]),
                            (LOADERS, ["bundles", "fhir-server", "ndjson", "null"])):
        assert set(names) <= set(registry.names())
        for name in names:
            assert registry.distribution(name).startswith("emr-migrate ")


def test_listing_names_imports_no_plugin() -> None:
    code = ("import sys; from migrate.loaders.base import LOADERS; "
            "from migrate.extractors.base import EXTRACTORS; "
            "assert 'fhir-server' in LOADERS.names() and 'sql' in EXTRACTORS.names(); "
            "print(sorted(m for m in sys.modules if m.startswith(('migrate.loaders.', "
            "'migrate.extractors.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO)
    assert done.stdout.strip() == "['migrate.extractors.base', 'migrate.loaders.base']"


class _Prefixed(Plugin):
    text_forms = ("jsonl:DIR",)

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        return {"path": text[6:]} if text.startswith("jsonl:") else None


class _CatchAll(Plugin):
    text_forms = ("a folder",)
    text_rank = 90

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        return {"path": text}


def test_strings_are_claimed_in_rank_order() -> None:
    registry: Registry[Any] = Registry("extractor")
    registry.register("folder", _CatchAll)
    registry.register("jsonl", _Prefixed)
    assert registry.from_text("jsonl:d", "source") == {"type": "jsonl", "path": "d"}
    assert registry.from_text("d", "source") == {"type": "folder", "path": "d"}


def test_a_string_no_plugin_claims_lists_every_form() -> None:
    registry: Registry[Any] = Registry("loader")
    registry.register("jsonl", _Prefixed)
    with pytest.raises(ConfigError, match=r"^target 'x' is not jsonl:DIR$"):
        registry.from_text("x", "target")
    with pytest.raises(ConfigError) as err:
        parse_target("csv:x")
    assert str(err.value) == ("target 'csv:x' is not ndjson:DIR, bundles:DIR or an http(s):// "
                              "FHIR base URL")


@pytest.mark.parametrize(("text", "expected"), [
    ("src", {"type": "csv", "path": "BASE/src"}),
    ("sqlite:///emr.db", {"type": "sql", "url": "sqlite:///BASE/emr.db"}),
    ("sqlite:////abs/emr.db", {"type": "sql", "url": "sqlite:////abs/emr.db"}),
    ("mysql+pymysql://u:p@h/emr", {"type": "sql", "url": "mysql+pymysql://u:p@h/emr"}),
    ("postgresql://u@h/emr", {"type": "sql", "url": "postgresql://u@h/emr"}),
])
def test_source_strings_resolve_as_before(text: str, expected: dict[str, str],
                                          tmp_path: Path) -> None:
    got = parse_source(text, tmp_path)
    assert got == {k: v.replace("BASE", str(tmp_path)) for k, v in expected.items()}


def test_the_executor_entry_points_load() -> None:
    from migrate.executors import EXECUTORS
    from migrate.plugins import entry_points

    points = {ep.name: ep for ep in entry_points("migrate.executors")}
    assert {"local", "dask"} <= set(points)
    for name, ep in points.items():
        assert ep.load() is EXECUTORS.get(name)


def test_a_registered_item_that_is_no_plugin_class_is_refused_by_name() -> None:
    registry: Registry[Any] = Registry("extractor")
    registry.register("odd", type("Odd", (), {"text_forms": ("odd:X",)}))
    with pytest.raises(ConfigError, match=r"extractor 'odd' .* is not a plugin class"):
        registry.create("odd", {}, "source")
    with pytest.raises(ConfigError, match=r"is not a plugin class"):
        registry.from_text("odd:x", "source")
