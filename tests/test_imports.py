"""The package's import graph has no cycles, and importing the CLI stays light.

The graph is built with ``ast`` from every ``migrate/**.py``: imports at module level and
inside functions (both run), relative imports resolved, ``from pkg import module`` counted as
an import of the module, and importing ``pkg.module`` counted as importing ``pkg`` too (its
``__init__`` runs first). Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "migrate"

# Cycles tolerated, each as the set of modules of its strongly connected component: none.
ALLOWED_CYCLES: list[frozenset[str]] = []


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run: everywhere but under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _resolve_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``module`` imports when it runs (any function included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    targets: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = _resolve_base(node, module, path.name == "__init__.py")
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.add(sub if sub in known else base)
    return {t for t in targets | _parents(targets, module) if t in known and t != module}


def _parents(targets: set[str], module: str) -> set[str]:
    """The packages whose ``__init__`` importing ``targets`` runs, but ``module``'s own (they
    are already being imported when ``module`` runs)."""
    found = set()
    for target in targets:
        parts = target.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return {p for p in found if not module.startswith(p + ".")}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = module_names(root)
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def one_cycle(graph: dict[str, set[str]], component: frozenset[str]) -> list[str]:
    """One closed path through ``component``, for the failure message."""
    start = min(component)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & component):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                paths.append([*path, nxt])
    return [start]


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    found = [c for c in cycles(graph) if c not in ALLOWED_CYCLES]
    assert not found, "import cycles:\n" + "\n".join(
        " -> ".join(one_cycle(graph, c)) for c in found)


def test_the_allow_list_holds_only_cycles_that_exist() -> None:
    """An allowed cycle that is gone is taken off the list, so it cannot come back unseen."""
    present = cycles(import_graph())
    assert [c for c in ALLOWED_CYCLES if c not in present] == []


def test_the_graph_sees_function_level_relative_and_submodule_imports(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from migrate.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("from ..a import f\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from migrate import e\n")
    (pkg / "e.py").write_text("import migrate.d\n")
    graph = import_graph(tmp_path)
    assert graph["migrate.a"] == {"migrate.sub", "migrate.sub.b"}
    assert graph["migrate.sub.b"] == {"migrate.sub.c"}
    assert graph["migrate.sub.c"] == {"migrate.a"}
    assert graph["migrate.d"] == set()
    assert cycles(graph) == [frozenset({"migrate.a", "migrate.sub.b", "migrate.sub.c"})]
    assert one_cycle(graph, cycles(graph)[0]) == [
        "migrate.a", "migrate.sub.b", "migrate.sub.c", "migrate.a"]


def test_a_package_init_is_part_of_the_graph(tmp_path: Path) -> None:
    """``import pkg.sub.mod`` runs ``pkg/sub/__init__.py``: a cycle through it is a cycle."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from migrate.sub.run import go\n")
    (pkg / "sub" / "run.py").write_text("def go():\n    from migrate import spine\n")
    (pkg / "sub" / "record.py").write_text("")
    (pkg / "spine.py").write_text("def f():\n    from migrate.sub import record\n")
    graph = import_graph(tmp_path)
    assert graph["migrate.spine"] == {"migrate.sub", "migrate.sub.record"}
    assert graph["migrate.sub.run"] == {"migrate.spine"}
    assert cycles(graph) == [frozenset({"migrate.spine", "migrate.sub", "migrate.sub.run"})]


@pytest.mark.parametrize("module", ["migrate", "migrate.cli"])
def test_importing_stays_light(module: str) -> None:
    """Style rule 6: no test tooling nor heavy dependency (great-expectations alone takes
    seconds) is imported by ``import migrate`` or by the CLI before a command runs."""
    heavy = ["pytest", "great_expectations", "dask", "sqlalchemy", "pydantic", "pandas",
             "pyarrow", "httpx", "fhir"]
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == ""
