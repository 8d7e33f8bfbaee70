"""docs/tutorial.md, followed by a test: every ``sh`` block runs, in order, as written.

The blocks run in one bash session (``set -euo pipefail``) in an empty folder, with the
repository's ``emr-migrate`` first on PATH and ``FHIR_BASE`` set to a real sekmet-fhir server; a
block right after ``<!-- not run by the test: reason -->`` (installing, starting a server of your
own) is skipped. The test then checks what the tutorial promises: the validation report says GO,
the load into the server is complete and reconciled, and how long the commands took.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

TUTORIAL = REPO / "docs" / "tutorial.md"
BLOCK = re.compile(r"(<!-- not run by the test[^>]*-->\s*)?```sh\n(.*?)```", re.S)


def tutorial_script() -> str:
    """The commands of the tutorial's ``sh`` blocks, in order (skipped blocks left out)."""
    blocks = [body for skip, body in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))
              if not skip]
    return "set -euo pipefail\n" + "\n".join(blocks)


def test_the_tutorial_has_commands_and_skips_only_the_setup() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    found = BLOCK.findall(text)
    assert len([b for s, b in found if not s]) >= 6
    skipped = [b for s, b in found if s]
    assert all("emr-migrate" not in b or "pip install" in b for b in skipped), \
        "a block the test skips runs emr-migrate: the test would not follow the tutorial"


@pytest.mark.integration
def test_following_the_tutorial(sekmet_server: Any, tmp_path: Path) -> None:
    sekmet_server.reset()
    env = {**os.environ, "FHIR_BASE": sekmet_server.base_url, "NO_COLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MIGRATE_TARGET", None)
    started = time.monotonic()
    done = subprocess.run(["bash", "-c", tutorial_script()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-4000:])
    day = tmp_path / "first-day"
    validation = json.loads((day / "report" / "report.json").read_text())
    assert validation["verdict"] == "GO"
    run = json.loads((day / "out" / "run.json").read_text())
    assert run["status"] == "ok"
    assert all(t["balanced"] and t["complete"] for t in run["tables"])
    reconciled = json.loads((day / "out" / "reconcile.json").read_text())
    assert reconciled["status"] == "ok"
    assert sekmet_server.count("Patient") == sum(t["emitted"] for t in run["tables"]
                                    if t["mapping"] == "riverside.patient")
    print(f"tutorial commands took {took:.1f} s")  # noqa: T201 - recorded in docs/tutorial.md


def test_the_pack_size_the_tutorial_records_is_measured() -> None:
    """The tutorial's figures for the riverside pack are what bench/pack_size.py counts."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from pack_size import measure
    finally:
        sys.path.remove(str(REPO / "bench"))
    size = measure(REPO / "mappings" / "riverside")
    text = TUTORIAL.read_text(encoding="utf-8")
    assert f"**{size.totals['mapping_lines']} mapping lines**" in text
    assert f"**{size.totals['concept_map_rows']} concept-map rows**" in text
