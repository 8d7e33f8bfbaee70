"""Random and mutated packs and project files (issue 17, "What it must do" 3).

Hypothesis starts from real files (part of mappings/synthea and sample_data/migration.yaml),
mutates them (keys deleted or renamed, values swapped for other types, random YAML, deep
nesting, anchors and aliases, unicode, huge numbers, raw bytes) and hands them to the loaders.
The only outcomes allowed are success or a `MigrateError` whose message has a location: the
file, and a line or a key. Any other exception fails the test. The runs are derandomized and
bounded, so the module finishes well under a minute and CI sees the same examples every time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.config import ProjectConfig, build_settings, read_project
from migrate.errors import ConfigError, MappingError, MigrateError
from migrate.mappers.pack import load_pack
from tests.conftest import REPO
from tests.mappers.conftest import SETTINGS

PACK_FILES = ["pack.yaml", "patients.yaml", "organizations.yaml", "providers.yaml",
              "encounters.yaml"]
FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=120,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_PACKS = settings(FUZZ, max_examples=90)  # each example reads five real mapping files
FUZZ_CHEAP = settings(FUZZ, max_examples=300)  # one small file per example
KNOWN_KEYS = ["mapping", "source", "key", "emit", "resource", "template", "let", "filter",
              "group", "when", "name", "by", "translate", "map", "from", "on_unmapped", "ref",
              "date", "datetime", "formats", "boolean", "$when", "$each", "files", "null_tokens",
              "timezone", "identity", "namespace", "target", "targets", "thresholds", "type",
              "path", "url", "sync", "changes", "column", "per", "entity", "profile", "value"]
WORDS = ["$Id", "$PATIENT", "$", "$$", "${HOME}", "${NOT_SET_X}", "true", "YES", "~", "null",
         "1e999", ".inf", "-.nan", "2024-02-30", "today", "../../etc/passwd", "/etc/passwd",
         "^(a+)+$", "(", "Patient", "synthea.patient", "quarantine", "keep", "csv", "sql",
         "fhir-server", "ndjson:out", "http://x?password=secret", "\u202e\u0000", "é", "🩺",
         "0b6f7c2e-5d1a-4e8b-9f3c-7a2d4c6e8b10", "deceasedBoolean", "valueQuantity"]
SNIPPETS = ["&a [1, 2, 3]", "*a", "*nowhere", "!!python/object/apply:os.system ['true']",
            "{a: &b [x], c: [*b, *b, *b]}", "!!binary AAAA", "'unterminated", "[" * 70 + "]" * 70,
            "{? [a]: b}", "!!set {a, b}", "? complex\n: key", "- a\n- b", "a: b: c", "\t- tab",
            "%YAML 1.1", "--- second document", "...", "|\n  block", "!!timestamp 2024-01-01",
            "<<: {merge: 1}", "9" * 400, "-" * 3, "!custom tag"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**40, 10**40), st.floats(),
    st.text(max_size=12), st.sampled_from(WORDS))
values = st.recursive(
    scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=6)), inner,
                        max_size=3)),
    max_leaves=8)


@pytest.fixture(scope="module")
def base_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real pack: a few synthea mappings with references between them, and its maps."""
    root = tmp_path_factory.mktemp("base") / "pack"
    root.mkdir()
    for name in PACK_FILES:
        shutil.copy(REPO / "mappings" / "synthea" / name, root / name)
    shutil.copytree(REPO / "mappings" / "synthea" / "concept_maps", root / "concept_maps")
    load_pack(root, SETTINGS)  # the unmutated pack checks
    return root


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder for the examples (hypothesis runs many per test call; each takes a subfolder)."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def positions(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a YAML tree (keys of dicts, indexes of lists)."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += positions(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += positions(value, (*path, i))
    return found


def mutate_tree(data: st.DataObject, tree: Any) -> Any:
    """One structural change at a random place: delete, rename, replace, swap type, nest."""
    path = data.draw(st.sampled_from(positions(tree)))
    if not path:
        return data.draw(values)
    parent = tree
    for part in path[:-1]:
        parent = parent[part]
    last, old = path[-1], parent[path[-1]]
    op = data.draw(st.sampled_from(["delete", "rename", "replace", "swap", "nest"]))
    if op == "delete":
        del parent[last]
    elif op == "rename" and isinstance(parent, dict):
        parent[data.draw(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)))] = \
            parent.pop(last)
    elif op == "swap":
        parent[last] = data.draw(st.sampled_from(
            [[old], str(old), {"x": old}, old[0] if isinstance(old, list) and old else None,
             list(old) if isinstance(old, dict) else 10**30]))
    elif op == "nest":
        depth = data.draw(st.integers(1, 90))
        for _ in range(depth):
            old = [old] if depth % 2 else {"k": old}
        parent[last] = old
    else:
        parent[last] = data.draw(values)
    return tree


def mutate_text(data: st.DataObject, text: str) -> bytes:
    """One change to the text itself: a snippet at a line, a cut, raw bytes, a BOM."""
    lines = text.splitlines(keepends=True) or [""]
    at = data.draw(st.integers(0, len(lines)))
    op = data.draw(st.sampled_from(["snippet", "cut", "bytes", "bom", "indent"]))
    if op == "snippet":
        indent = " " * data.draw(st.sampled_from([0, 2, 4, 6]))
        key = data.draw(st.sampled_from([*KNOWN_KEYS, "- ", ""]))
        sep = "" if key in ("- ", "") else ": "
        lines.insert(at, f"{indent}{key}{sep}{data.draw(st.sampled_from(SNIPPETS))}\n")
    elif op == "cut":
        return "".join(lines)[: data.draw(st.integers(0, len(text)))].encode()
    elif op == "bytes":
        raw = "".join(lines).encode()
        cut = data.draw(st.integers(0, len(raw)))
        return raw[:cut] + data.draw(st.binary(min_size=1, max_size=6)) + raw[cut:]
    elif op == "bom":
        return b"\xff\xfe" + "".join(lines).encode("utf-16-le")
    elif at < len(lines):
        lines[at] = "   " + lines[at]
    return "".join(lines).encode()


def mutated_bytes(data: st.DataObject, path: Path) -> bytes:
    """The file at ``path`` after one tree change or one text change (or both)."""
    text = path.read_text(encoding="utf-8")
    kind = data.draw(st.sampled_from(["tree", "text", "both"]))
    if kind != "text":
        tree = mutate_tree(data, yaml.safe_load(text))
        text = yaml.safe_dump(tree, allow_unicode=data.draw(st.booleans()), sort_keys=False)
    return mutate_text(data, text) if kind != "tree" else text.encode("utf-8")


def assert_located(exc: MigrateError, files: list[Path], keys: list[str]) -> None:
    """The message names a file, with a line or a key (never only what went wrong)."""
    if isinstance(exc, MappingError):
        assert exc.problems
        for p in exc.problems:
            assert p.file, p
            assert any(p.file.startswith(str(f)) for f in files), p
            assert p.line or p.where or Path(p.file).is_relative_to(files[0]), p
        return
    text = str(exc)
    assert any(str(f) in text for f in files) or any(k in text for k in keys), text


@FUZZ_PACKS
@given(data=st.data(), name=st.sampled_from(PACK_FILES))
def test_mutated_packs_check_or_say_where(base_pack: Path, scratch: Path,
                                          data: st.DataObject, name: str) -> None:
    """A pack with one mutated file loads, or fails with a located MappingError."""
    root = scratch / f"p{time.monotonic_ns()}"
    shutil.copytree(base_pack, root)
    (root / name).write_bytes(mutated_bytes(data, base_pack / name))
    started = time.perf_counter()
    try:
        load_pack(root, SETTINGS)
    except MigrateError as exc:
        assert_located(exc, [root], [])
    assert time.perf_counter() - started < 5


@FUZZ_CHEAP
@given(tree=values)
def test_random_yaml_as_a_mapping_file_says_where(base_pack: Path, scratch: Path,
                                                  tree: Any) -> None:
    """Any YAML value at all as a mapping file is refused with its file and a line or key."""
    root = scratch / f"p{time.monotonic_ns()}"
    root.mkdir()
    shutil.copy(base_pack / "pack.yaml", root / "pack.yaml")
    (root / "random.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
    try:
        load_pack(root, SETTINGS)
    except MigrateError as exc:
        assert_located(exc, [root], [])


PROJECT_KEYS = [*ProjectConfig.model_fields, "validate", "--mappings", "--source",
                "--namespace", "source:", "target:", "extractor", "loader"]


@FUZZ_CHEAP
@given(data=st.data())
def test_mutated_project_files_build_or_say_where(scratch: Path, data: st.DataObject) -> None:
    """A mutated migration.yaml gives settings, or a ConfigError naming the file or key."""
    project = scratch / f"m{time.monotonic_ns()}.yaml"
    project.write_bytes(mutated_bytes(data, REPO / "sample_data" / "migration.yaml"))
    try:
        build_settings(read_project(project), project.parent)
    except ConfigError as exc:
        assert_located(exc, [project], PROJECT_KEYS)


# -- crashes the fuzzing found, each kept as a plain regression test ---------------------------
def test_a_list_as_a_key_is_a_located_problem(base_pack: Path, scratch: Path) -> None:
    """`? [a]: b` (a YAML complex key) was a TypeError (unhashable type: 'list')."""
    root = scratch / "complex-key"
    shutil.copytree(base_pack, root)
    (root / "patients.yaml").write_text("mapping: {? [a]: b}\n", encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_pack(root, SETTINGS)
    assert (f"{root / 'patients.yaml'}:1: YAML syntax: a key must be a plain name, not a list "
            "or mapping") in str(err.value)
    project = scratch / "complex-key.yaml"
    project.write_text("version: 1\nmappings: {? [a]: b}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{project}:2: YAML syntax: a key must be a plain"):
        read_project(project)
