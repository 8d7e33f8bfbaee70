"""The runnable examples of docs/mapping-spec.md, each a golden test.

Every folder of ``tests/golden/spec/`` is one example: ``pack/`` (a small pack), ``input/`` (CSV
files) and ``expected/`` (what the pack makes of them, as `tests.test_golden.produce` writes
it: one ``<ResourceType>.json`` per type, ``quarantine.json`` and ``counts.json``). The spec
shows the example's files: a line ``<!-- example: <folder>/<file> -->`` right before a fenced
block whose text is that file of ``pack/`` or ``input/``, so the documentation cannot drift
from what runs. Rewrite the expected files with ``--update-golden`` and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_golden import compare, produce

SPEC = REPO / "docs" / "mapping-spec.md"
EXAMPLES = Path(__file__).parent / "golden" / "spec"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "pack").is_dir())
CITED = re.compile(r"<!-- example: ([\w.\-]+)/([\w./\-]+) -->\n+```[a-z]*\n(.*?)```", re.S)


def _cited() -> list[tuple[str, str, str]]:
    return CITED.findall(SPEC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_example_output(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    folder = EXAMPLES / name
    got = produce(tmp_path, folder / "input", folder / "pack")
    compare(got, folder / "expected", request.config.getoption("--update-golden"))


@pytest.mark.parametrize("name", NAMES)
def test_example_is_shown_in_the_spec(name: str) -> None:
    assert any(cited == name for cited, _, _ in _cited()), \
        f"docs/mapping-spec.md shows no file of example {name} (<!-- example: {name}/FILE -->)"


def test_every_shown_example_is_the_file_that_runs() -> None:
    cited = _cited()
    assert cited, "docs/mapping-spec.md cites no example"
    for name, file, text in cited:
        folder = EXAMPLES / name
        path = next((p for p in (folder / "pack" / file, folder / "input" / file)
                     if p.is_file()), None)
        assert path is not None, f"example {name}: no file {file} in pack/ or input/"
        assert text.strip() == path.read_text(encoding="utf-8").strip(), \
            f"docs/mapping-spec.md shows {name}/{file} differently from the file that runs"
