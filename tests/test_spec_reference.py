"""docs/mapping-spec.md is the complete reference of what a pack can say, read from the code.

Every key the pack loaders accept (the pydantic models of ``pack.yaml``, mapping files and
expectation files, walked recursively) has a row ``| `key` |`` in a key table under its
heading; every transform has a ``### `name` `` section naming each option its builder accepts
(found by compiling it with a recording stand-in for ``transform_base.options``); every
condition operator, template directive and concept-map column is shown; and the cheat sheet at
the top names every key, transform and condition. A key, option or operator added to the code
without its documentation fails here, with the place to document it.
"""

from __future__ import annotations

import re
import sys
import typing
from typing import Any
from unittest.mock import MagicMock

import pytest
from pydantic import BaseModel

import migrate.mappers.transforms  # noqa: F401 - registers every built-in transform
from migrate.mappers import compiler, conditions, terminology, transform_base
from migrate.mappers.spec import MappingSpec, PackSpec
from migrate.mappers.spec import _model_in as model_in  # the loaders' own walk
from migrate.validation.expectations import SuiteSpec
from tests.conftest import REPO

SPEC = REPO / "docs" / "mapping-spec.md"
HEADING = re.compile(r"^(#{1,4}) (.+)$", re.M)
KEY_ROW = re.compile(r"^\| `([^`]+)` \|([^|]*)\|", re.M)
CHEAT_SHEET = "## Cheat sheet"

# The heading of each top-level model's key table; a nested model (a field whose type is a
# model, a list or a map of models) has its table under "`<field>`" or "`<field>` entries".
ROOTS: dict[type[BaseModel], str] = {
    PackSpec: "### `pack.yaml`",
    MappingSpec: "## 4. Mapping file keys",
    SuiteSpec: "### `expectations/`",
}
# Nested models whose table lives with the story of their feature.
NESTED: dict[str, str] = {"group": "## 10. Several rows to one resource"}


def _sections() -> dict[str, str]:
    """Each heading line (with its #s) -> its text up to the next heading of any level."""
    text = SPEC.read_text(encoding="utf-8")
    found = list(HEADING.finditer(text))
    return {m.group(0): text[m.end():found[i + 1].start() if i + 1 < len(found) else len(text)]
            for i, m in enumerate(found)}


def _nested_heading(sections: dict[str, str], field: str) -> str | None:
    if field in NESTED:
        return NESTED[field]
    names = {f"`{field}`", f"`{field}` entries"}
    return next((h for h in sections if h.lstrip("#").strip() in names), None)


def _forms(annotation: Any) -> set[str]:
    """The container forms a field accepts at its top: ``list`` and/or ``map``."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (
        typing.Union, type(int | str)) else (annotation,)
    origins = {typing.get_origin(m) or m for m in members}
    return {name for kind, name in ((list, "list"), (dict, "map")) if kind in origins}


def _walk(model: type[BaseModel], heading: str, sections: dict[str, str]) -> list[str]:
    """Every problem of ``model``'s key table under ``heading``, and of its nested models."""
    if heading not in sections:
        return [f"{model.__name__}: no heading {heading!r} with its key table"]
    rows = dict(KEY_ROW.findall(sections[heading]))
    problems = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in rows:
            problems.append(f"{model.__name__}.{key}: no row '| `{key}` |' under {heading!r}")
            continue
        words = rows[key].lower()
        for form in _forms(field.annotation):
            if form not in words and not (form == "map" and "object" in words):
                problems.append(f"{model.__name__}.{key}: the type column under {heading!r} "
                                f"does not say that it takes a {form}")
        nested = model_in(field.annotation)
        if nested is not None:
            sub = _nested_heading(sections, key)
            problems += _walk(nested, sub, sections) if sub else [
                f"{model.__name__}.{key}: no heading '### `{key}`' (or '`{key}` entries') "
                f"with the key table of {nested.__name__}"]
    return problems


@pytest.mark.parametrize("model", list(ROOTS), ids=lambda m: m.__name__)
def test_every_key_the_loaders_accept_has_a_row(model: type[BaseModel]) -> None:
    assert _walk(model, ROOTS[model], _sections()) == []


class _Recorded(Exception):
    """Raised by the stand-in of ``options``: the option names a transform accepts."""

    def __init__(self, allowed: set[str]) -> None:
        super().__init__(sorted(allowed))
        self.allowed = allowed


def _recording_options(c: Any, arg: Any, where: str, line: int, allowed: set[str],
                       required: set[str], shorthand: str | None = "value") -> None:
    raise _Recorded(set(allowed))


def _built_in_transforms() -> list[str]:
    return [n for n in transform_base.TRANSFORMS.names()
            if transform_base.TRANSFORMS.distribution(n).startswith("emr-migrate ")]


def _transform_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Each built-in transform's options, as its builder declares them to ``options``.

    A builder that takes no options (``format``, ``first_of``, ``literal``, ...) never calls
    it: compiled with a stand-in compiler it returns, and has none.
    """
    builders = {n: transform_base.TRANSFORMS.get(n) for n in _built_in_transforms()}
    real = transform_base.options
    for module in {sys.modules[b.__module__] for b in builders.values()} | {transform_base}:
        if vars(module).get("options") is real:
            monkeypatch.setattr(module, "options", _recording_options)
    stub = MagicMock(group=True, expected=None, var_names=set())
    found = {}
    for name, builder in builders.items():
        try:
            builder(stub, {}, name, 1)
            found[name] = set()
        except _Recorded as rec:
            found[name] = rec.allowed
    return found


def test_the_recording_finds_the_options_of_a_transform(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    found = _transform_options(monkeypatch)
    assert found["date"] >= {"value", "formats", "min", "max"}
    assert found["translate"] >= {"from", "map", "on_unmapped"}
    assert found["literal"] == set()


def test_every_transform_has_a_section_naming_its_options(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    sections = _sections()
    problems = []
    for name, allowed in sorted(_transform_options(monkeypatch).items()):
        body = sections.get(f"### `{name}`")
        if body is None:
            problems.append(f"transform {name}: no section '### `{name}`' in section 7")
            continue
        problems += [f"transform {name}: its section does not name option `{opt}`"
                     for opt in sorted(allowed) if f"`{opt}`" not in body]
    assert problems == []


def test_every_condition_operator_has_a_row() -> None:
    body = _sections()["## 6. Conditions"]
    missing = [op for op in conditions.OPERATORS if f"| `{{{op}:" not in body]
    assert missing == [], f"section 6 has no row '| `{{OP: ...}}` |' for {missing}"


def test_every_template_directive_has_a_section() -> None:
    headings = [h for h in _sections() if h.startswith("### ")]
    missing = [d for d in compiler.DIRECTIVES if not any(f"`{d}`" in h for h in headings)]
    assert missing == [], f"section 5 has no '### ' heading naming {missing}"


def test_the_declared_directives_are_those_the_compiler_reads() -> None:
    source = (REPO / "migrate" / "mappers" / "compiler.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\"(\$[a-z_]+)\"", source))
    assert read == {d for d in compiler.DIRECTIVES if d.startswith("$")}


def test_every_concept_map_column_has_a_row() -> None:
    body = _sections()["### The CSV format"]
    rows = {k for k, _ in KEY_ROW.findall(body)}
    columns = set(terminology.REQUIRED_COLUMNS + terminology.OPTIONAL_COLUMNS)
    assert columns - rows == set()


def _all_keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        nested = model_in(field.annotation)
        keys |= _all_keys(nested) if nested is not None else set()
    return keys


def test_the_cheat_sheet_names_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    sections = _sections()
    assert next(iter(sections)) == "# Mapping language reference"
    assert list(sections)[1] == CHEAT_SHEET, "the cheat sheet comes right after the title"
    sheet = sections[CHEAT_SHEET]
    assert len(sheet.strip().splitlines()) <= 90, "the cheat sheet is one printed page"
    wanted = {
        "pack.yaml key": _all_keys(PackSpec),
        "mapping key": _all_keys(MappingSpec),
        "transform": set(_transform_options(monkeypatch)),
        "condition": set(conditions.OPERATORS),
        "directive": set(compiler.DIRECTIVES),
    }
    missing = [f"{kind} {name}" for kind, names in wanted.items() for name in sorted(names)
               if not re.search(rf"`[{{]?{re.escape(name)}[`:]", sheet)]
    assert missing == [], f"the cheat sheet does not name: {', '.join(missing)}"




def _anchors(text: str) -> set[str]:
    """The anchors of the headings, as GitHub makes them (a repeated one gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for m in HEADING.finditer(text):
        slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def test_every_link_inside_the_reference_reaches_a_heading() -> None:
    text = SPEC.read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links - _anchors(text) == set()
