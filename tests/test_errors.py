"""One exit-code model: every code in `ExitCode`, verdicts mapped in one place, no stray numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from migrate.errors import (
    VERDICTS,
    ConfigError,
    ExitCode,
    InternalError,
    LoadError,
    MigrateError,
    OutputError,
    exit_code_for,
    exit_code_help,
)
from migrate.sync.loader import DeleteCircuitOpen
from migrate.sync.lock import StateStoreBusy, StateStoreError

ROOT = Path(__file__).resolve().parents[1]


def test_codes_keep_their_values() -> None:
    """Scripts and schedulers test these numbers: they never change."""
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "DATA_ERRORS": 1, "USAGE": 2, "VALIDATION_FAILED": 3, "LOAD_FAILED": 4,
        "SYNC_ABORTED": 5, "SYNC_CONFLICTS": 6, "INTERNAL": 70, "INTERRUPTED": 130}
    assert ExitCode.RECONCILE_MISMATCH is ExitCode.VALIDATION_FAILED


@pytest.mark.parametrize(("verdict", "code"), [
    ("ok", 0), ("data-errors", 1), ("load-errors", 4), ("dead-letters", 4),
    ("deletes-suspended", 5), ("conflicts", 6), ("GO", 0), ("NO-GO", 3), ("mismatch", 3)])
def test_each_verdict_has_its_code(verdict: str, code: int) -> None:
    assert exit_code_for(verdict) == code


def test_every_verdict_a_command_can_end_with_is_known() -> None:
    from migrate.report.validate_model import GO, NO_GO

    assert {GO, NO_GO, "ok", "data-errors", "load-errors"} <= set(VERDICTS)


def test_an_unknown_verdict_is_a_bug_not_a_silent_code() -> None:
    with pytest.raises(ValueError, match="no exit code for verdict 'running'"):
        exit_code_for("running")


@pytest.mark.parametrize(("error", "code"), [
    (ConfigError("x"), 2), (MigrateError("x"), 2), (LoadError("x"), 4), (OutputError("x"), 4),
    (InternalError(KeyError("k")), 70), (DeleteCircuitOpen("x"), 5), (StateStoreBusy("x"), 2),
    (StateStoreError("x"), 4)])
def test_errors_carry_codes_of_the_model(error: MigrateError, code: int) -> None:
    assert error.exit_code == code
    assert isinstance(error.exit_code, ExitCode)


def test_the_help_paragraph_lists_every_code_with_its_meaning() -> None:
    text = exit_code_help()
    assert text.startswith("Exit codes: 0 success, 1 data errors (")
    for code in ExitCode:
        assert f"{int(code)} {code.meaning}" in text


def test_the_documented_table_is_the_model() -> None:
    """docs/architecture.md's "Exit codes" table lists exactly the codes of `ExitCode`."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+?) \|$", section, re.MULTILINE)
    assert [(int(n), name) for n, name, _ in rows] == [(int(c), c.name) for c in ExitCode]
    assert [meaning for _, _, meaning in rows] == [c.meaning for c in ExitCode]


def _exit_number_sites(path: Path, root: Path = ROOT) -> list[str]:
    """``sys.exit(4)``, ``ctx.exit(6 if x else 0)``, ``SystemExit(1)``, ``exit_code = 5`` or
    ``EXIT_X = 3``: an exit number written outside migrate/errors.py."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        values: list[ast.AST] = []
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if name in ("exit", "_exit", "SystemExit", "Exit"):
                values = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.attr if isinstance(t, ast.Attribute) else getattr(t, "id", "")
                     for t in targets]
            if any(n == "exit_code" or n.startswith("EXIT_") for n in names):
                values = [node.value]
        for value in values:
            for sub in ast.walk(value):
                if isinstance(sub, ast.Constant) and type(sub.value) is int:
                    found.append(f"{path.relative_to(root)}:{sub.lineno}")
    return found


def test_no_exit_number_is_written_outside_the_model() -> None:
    sites = [site for path in sorted((ROOT / "migrate").rglob("*.py"))
             if path != ROOT / "migrate" / "errors.py" for site in _exit_number_sites(path)]
    assert sites == []


def test_the_exit_number_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "probe.py"
    bad.write_text("import sys\nEXIT_X = 5\n\n\nclass E:\n    exit_code = 6\n\n\n"
                   "def f(x):\n    sys.exit(3 if x else 0)\n    return x.status_code == 200\n",
                   encoding="utf-8")
    assert sorted(_exit_number_sites(bad, tmp_path)) == [
        "probe.py:10", "probe.py:10", "probe.py:2", "probe.py:6"]
