"""The spine asks a plugin's declared capabilities, never the object (issue 18, item 1).

The pipeline, the executors, the dry run's coverage and the sync must not discover what an
extractor, a loader, a validator or an executor can do with ``getattr``/``hasattr``, nor by
comparing a plugin's method with a base class's: a capability is declared on the class
(`ExtractorCapabilities`, `LoaderCapabilities`) and the base class declares every optional
method with a default.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from migrate.extractors.base import Extractor, ExtractorCapabilities
from migrate.loaders.base import Loader, LoaderCapabilities

ROOT = Path(__file__).resolve().parents[1] / "migrate"
SPINE = sorted([ROOT / "pipeline.py", ROOT / "stages.py", ROOT / "outcomes.py",
                ROOT / "validation" / "coverage.py", ROOT / "validation" / "dryrun.py",
                *(ROOT / "executors").glob("*.py"), *(ROOT / "sync").glob("*.py")])
PLUGIN = re.compile(r"\b(ext|extractor|load|loader|validator|executor|runner)\b", re.I)
BASES = {"Extractor", "Loader", "Validator", "Executor"}


def probes(source: str) -> list[str]:
    """Each capability probe in ``source``: a getattr/hasattr on a plugin object, or a
    comparison of a plugin's method with a base class's."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and node.args
                and PLUGIN.search(ast.unparse(node.args[0]))):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and isinstance(s.value, ast.Name)
                   and s.value.id in BASES for s in sides):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", [p for p in SPINE if p.exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_spine_asks_declarations_not_objects(path: Path) -> None:
    assert probes(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", [
    'query_columns = getattr(ext, "query_columns", None)',
    'x = getattr(self.loader, "load_raw", None)',
    'ok = hasattr(self.executor, "results")',
    'many = getattr(validator, "validate_many", None)',
    "traced = type(self.loader)._send_traced is not Loader._send_traced",
    "same = type(e).tables == Extractor.tables",
])
def test_the_probe_finder_finds_each_kind_of_probe(snippet: str) -> None:
    """The check above would catch a probe coming back (it is not vacuous)."""
    assert len(probes(snippet)) == 1


def test_every_declared_capability_has_a_base_class_method() -> None:
    """Each capability's method has a declared default on the base class, so a plugin that
    does not declare it is never probed and one that does overrides a known name."""
    methods = {"queries": "query_columns", "column_values": "column_values",
               "value_counts": "column_counts", "selected_reads": "iter_selected",
               "lists_tables": "tables", "split_lines": "split_rejected",
               "reports_source": "source_report", "locates_rows": "locate"}
    for method in methods.values():
        assert callable(getattr(Extractor, method))
    assert not hasattr(Extractor, "cleans_columns")
    assert set(methods) | {"clean_columns", "incremental", "closed_references"} == set(
        ExtractorCapabilities.__dataclass_fields__)
    for method in ("_send_traced", "load_raw", "extract_since", "unchanged_rows",
                   "observe_units"):
        assert callable(getattr(Loader, method))
    assert set(LoaderCapabilities.__dataclass_fields__) == {
        "traces_sources", "raw_resources", "row_hashes", "incremental", "observes_units"}


def test_builtins_declare_what_they_implement() -> None:
    """A built-in that declares a capability overrides its method (and one that overrides
    it declares it): the declaration and the code cannot drift apart."""
    from migrate.extractors.csv import CsvExtractor
    from migrate.extractors.sql import SqlExtractor
    from migrate.loaders.fhir_server import FhirServerLoader
    from migrate.loaders.ndjson import NdjsonLoader
    from migrate.loaders.recording import RecordingFhirServerLoader
    from migrate.sync.loader import SyncLoader

    ext_methods = {"queries": ["query_columns"], "column_values": ["column_values"],
                   "value_counts": ["column_counts"], "selected_reads": ["iter_selected"],
                   "lists_tables": ["tables"], "split_lines": ["split_rejected"]}
    for cls in (CsvExtractor, SqlExtractor):
        for cap, names in ext_methods.items():
            for name in names:
                overridden = getattr(cls, name) is not getattr(Extractor, name)
                assert overridden == getattr(cls.capabilities, cap), (cls.name, cap)
    load_methods = {"traces_sources": ["_send_traced"], "raw_resources": ["load_raw"],
                    "incremental": ["extract_since", "unchanged_rows"],
                    "observes_units": ["observe_units"]}
    for lcls in (FhirServerLoader, NdjsonLoader, SyncLoader, RecordingFhirServerLoader):
        for cap, names in load_methods.items():
            for name in names:
                overridden = getattr(lcls, name) is not getattr(Loader, name)
                assert overridden == getattr(lcls.capabilities, cap), (lcls.name, cap)


SPINE_PACKAGES = ("migrate.pipeline", "migrate.stages", "migrate.outcomes", "migrate.executors",
                  "migrate.mappers.engine", "migrate.mappers.chunked", "migrate.sync")


def _imports(path: Path) -> set[str]:
    """Every migrate module ``path`` imports, at any level (inside functions too), except
    under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
              and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in found if n.startswith("migrate")}


def test_the_spine_has_no_import_cycle() -> None:
    """pipeline -> executors -> stages -> mappers.engine, and sync -> pipeline, one way only
    (an import inside a function counts: it is a cycle all the same)."""
    modules = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(
        ".__init__"): p for p in ROOT.rglob("*.py")}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: set() for m in modules}
    for m, path in modules.items():
        for name in _imports(path):
            target = owner(name)
            parts = (target or "").split(".")
            # a submodule imports its parent packages too (not its own package's __init__)
            for n in range(2, len(parts) + 1):
                pkg = ".".join(parts[:n])
                if pkg in modules and pkg != m and not m.startswith(pkg + "."):
                    graph[m].add(pkg)
    spine = [m for m in modules if m.startswith(SPINE_PACKAGES)]
    for start in spine:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                assert nxt != start, f"{start} imports itself back through its imports"
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)


OUTCOME_TYPES = {"Unit", "EMITTED", "FILTERED", "QUARANTINED", "UNCHANGED", "RowError", "Batch",
                 "RejectedRow"}


def test_stages_take_the_outcome_types_from_the_core_module() -> None:
    """`migrate.outcomes` holds the types every stage shares; no stage takes them from another
    stage's module (the engine, the compiler and the extractor base only re-export them, for
    the modules of their own package)."""
    wrong = []
    for path in ROOT.rglob("*.py"):
        package = ".".join(("migrate", *path.relative_to(ROOT).parts[:-1]))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ImportFrom) and node.module != "migrate.outcomes"
                    and (node.module or "").startswith("migrate.")
                    and node.module.rpartition(".")[0] != package):
                taken = {a.name for a in node.names} & OUTCOME_TYPES
                if taken:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {sorted(taken)} "
                                 f"from {node.module}")
    assert wrong == []
