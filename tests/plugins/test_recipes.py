"""The recipes of docs/architecture.md name only what exists (the plugin in jsonl_plugin.py
walks their steps; this keeps the names they cite in step with the code)."""

from __future__ import annotations

import importlib
import re

import pytest

from migrate.extractors.base import Extractor
from migrate.loaders.base import Loader
from tests.conftest import REPO

DOC = REPO / "docs" / "architecture.md"


def recipe(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}\n")
    end = text.find("\n#", start + 4)
    return text[start:end if end > 0 else None]


@pytest.mark.parametrize(("title", "base", "hooks"), [
    ("Adding an extractor", Extractor,
     ["columns", "iter_batches", "describe", "from_text", "text_forms", "account", "Options",
      "capabilities"]),
    ("Adding a target", Loader,
     ["describe", "_send", "open", "close", "abort", "from_text", "text_forms", "Options",
      "capabilities"]),
])
def test_a_recipe_cites_hooks_and_modules_that_exist(title: str, base: type,
                                                     hooks: list[str]) -> None:
    text = recipe(title)
    for hook in hooks:
        assert f"`{hook}" in text, f"{title} does not mention {hook}"
        assert hasattr(base, hook), f"{base.__name__} has no {hook}"
    for dotted in re.findall(r"`(migrate(?:\.\w+)+)", text):
        module, _, attr = dotted.rpartition(".")
        try:
            importlib.import_module(dotted)
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module), attr), dotted
    assert "tests/plugins/jsonl_plugin.py" in text
