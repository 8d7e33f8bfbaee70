"""Whole-mapping checks `check` makes beyond the file models and the template compiler.

Each finds, before any data is read, something that would otherwise fail or mislead at run
time (docs/mapping-spec.md, "Pitfalls").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from migrate.errors import Problem
from migrate.mappers.transform_base import is_transform

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler
    from migrate.mappers.pack import CompiledMapping
    from migrate.mappers.spec import MappingSpec, PackSpec


def no_lets(c: Compiler, spec: MappingSpec, deps: frozenset[str] | None, where: str,
            line: int) -> None:
    """A filter or group condition naming a let: it would read a column of that name."""
    for name in sorted(set(deps or ()) & set(spec.let)):
        c.problem(line, where, f"${name} names a let value, but filters and group conditions "
                  "run before let values exist and read columns only; write the condition on "
                  "the columns the let reads")


def declared_columns(mappings: list[CompiledMapping], pack: PackSpec,
                     problems: list[Problem]) -> None:
    """Columns read from a table that ``pack.yaml`` ``columns:`` says the source lacks."""
    for m in mappings:
        declared = pack.columns.get(m.table)
        if declared is None or m.spec.query:  # a query has columns of its own
            continue
        for col, line in m.columns_read():
            if col not in declared:
                close = difflib.get_close_matches(col, declared, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(Problem(m.file, line, "", f"column {col!r} is not among the "
                                        f"columns pack.yaml declares for table {m.table!r}"
                                        f"{hint}"))


def branches(node: dict[str, Any], where: str, line: int
             ) -> Iterator[tuple[dict[str, Any], str, int]]:
    """The objects a ``first_of`` or ``choose`` gives that are no transform: under a primitive
    element each is a misspelt transform (``birthDate: {first_of: [{dat: $DOB}]}``)."""
    for sub, swhere, sline in branch_objects(node, where, line):
        if not is_transform(sub, None):
            yield sub, swhere, sline


def branch_objects(node: dict[str, Any], where: str, line: int
                   ) -> Iterator[tuple[dict[str, Any], str, int]]:
    """Every object a ``first_of`` or ``choose`` may give (its items, its branches' values),
    with where and its line; nothing for any other node."""
    keys = [k for k in node if k != "$when"]
    arg = node.get(keys[0]) if len(keys) == 1 else None
    if keys == ["first_of"] and isinstance(arg, list):
        found = [(b, f"{where}.first_of[{i}]") for i, b in enumerate(arg)]
    elif keys == ["choose"] and isinstance(arg, list):
        found = [(b.get("value"), f"{where}.choose[{i}].value") for i, b in enumerate(arg)
                 if isinstance(b, dict)]
    else:
        return
    for sub, swhere in found:
        if isinstance(sub, dict):
            yield sub, swhere, getattr(sub, "line", line)
