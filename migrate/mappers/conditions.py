"""Conditions in mapping files: a small, closed set of operators (no expression strings).

::

    {present: $COL}            value is not null (a list: all present)
    {absent: $COL}             value is null
    {equals: [$A, "x"]}        equal as text
    {not_equals: [$A, "x"]}
    {in: [$A, [x, y]]}         one of the listed literals
    {not_in: [$A, [x, y]]}
    {matches: [$A, "^re$"]}    regular expression search
    {in_map: [$A, map-name]}   the value has an entry in that concept map
    {lt: [$END, $START]}       less than (also le, gt, ge): numbers, dates, date-times
    {all: [c1, c2]}  {any: [c1, c2]}  {not: c}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migrate.mappers.compare import compile_comparison
from migrate.mappers.regex import PatternError, compile_pattern

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler, Cond, Scope

OPERATORS = ("present", "absent", "equals", "not_equals", "in", "not_in", "matches",
             "in_map", "lt", "le", "gt", "ge", "all", "any", "not")


def compile_condition(c: Compiler, node: Any, where: str, line: int) -> Cond:
    """Compile one condition node, reporting problems through the compiler."""
    if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in OPERATORS:
        c.problem(line, where, f"a condition is one of {', '.join(OPERATORS)} "
                               "(e.g. {present: $COL})")
        return lambda s: False
    ((op, arg),) = node.items()
    return _BUILDERS[op](c, arg, f"{where}.{op}", line)


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def _present(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    fns = [c.value(a, where, line) for a in (arg if isinstance(arg, list) else [arg])]
    return lambda s: all(f(s) not in (None, "", [], {}) for f in fns)


def _absent(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    present = _present(c, arg, where, line)
    return lambda s: not present(s)


def _pair(c: Compiler, arg: Any, where: str, line: int) -> tuple[Any, Any] | None:
    if not isinstance(arg, list) or len(arg) != 2:
        c.problem(line, where, "takes a list of two items, e.g. [$COL, value]")
        return None
    for node in arg:  # a collect look-up's value is a list: it never equals one value
        if isinstance(node, str) and node[1:].partition(".")[0] in c.collect_columns and (
                node.startswith("$") and not node.startswith("$$")):
            c.problem(line, where, f"{node} is a list per row (look-up with pick: collect); "
                      "compare one value: a look-up with pick one, first or last")
            return None
    return arg[0], arg[1]


def _equals(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    pair = _pair(c, arg, where, line)
    if pair is None:
        return lambda s: False
    a, b = c.value(pair[0], where, line), c.value(pair[1], where, line)
    for col, lit in ((pair[0], pair[1]), (pair[1], pair[0])):
        if isinstance(lit, bool) and _is_column(c, col):
            word = str(lit).lower()
            c.problem(line, where, f"{word} is a YAML boolean, compared as the text "
                      f"{str(lit)!r}; quote it ('{word}') for the word")
    return lambda s: _text(a(s)) == _text(b(s))


def _is_column(c: Compiler, node: Any) -> bool:
    """True when ``node`` reads a column (a column is text: it never equals a boolean)."""
    return isinstance(node, str) and node.startswith("$") and node[1:] not in c.var_names


def _not_equals(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    eq = _equals(c, arg, where, line)
    return lambda s: not eq(s)


def _in(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    pair = _pair(c, arg, where, line)
    if pair is None or not isinstance(pair[1], list):
        if pair is not None:
            c.problem(line, where, "the second item must be a list of values")
        return lambda s: False
    a = c.value(pair[0], where, line)
    for x in pair[1] if _is_column(c, pair[0]) else ():
        if isinstance(x, bool):
            c.problem(line, where, f"{str(x).lower()} in the list is a YAML boolean, compared "
                      f"as the text {str(x)!r}; quote it ('{str(x).lower()}') for the word")
    allowed = frozenset(str(x) for x in pair[1])
    return lambda s: _text(a(s)) in allowed


def _not_in(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    inside = _in(c, arg, where, line)
    return lambda s: not inside(s)


def _matches(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    pair = _pair(c, arg, where, line)
    if pair is None:
        return lambda s: False
    try:
        rx = compile_pattern(str(pair[1]))
    except PatternError as exc:
        c.problem(line, where, f"bad regular expression: {exc}")
        return lambda s: False
    a = c.value(pair[0], where, line)

    def run(s: Scope) -> bool:
        v = a(s)
        return v is not None and rx.search(str(v)) is not None

    return run


def _in_map(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    pair = _pair(c, arg, where, line)
    if pair is None:
        return lambda s: False
    cmap = c.context.concept_map(str(pair[1]))
    if cmap is None:
        c.problem(line, where, f"no concept map {pair[1]!r} in the pack's concept_maps/")
        return lambda s: False
    a = c.value(pair[0], where, line)

    def run(s: Scope) -> bool:
        v = a(s)
        return v is not None and cmap.get(str(v)) is not None

    return run


def _many(c: Compiler, arg: Any, where: str, line: int) -> list[Cond] | None:
    if not isinstance(arg, list) or not arg:
        c.problem(line, where, "takes a non-empty list of conditions")
        return None
    return [compile_condition(c, a, f"{where}[{i}]", getattr(a, "line", line))
            for i, a in enumerate(arg)]


def _all(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    conds = _many(c, arg, where, line) or []
    return lambda s: all(f(s) for f in conds)


def _any(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    conds = _many(c, arg, where, line) or []
    return lambda s: any(f(s) for f in conds)


def _not(c: Compiler, arg: Any, where: str, line: int) -> Cond:
    inner = compile_condition(c, arg, where, getattr(arg, "line", line))
    return lambda s: not inner(s)


def _comparison(op: str) -> Callable[[Compiler, Any, str, int], Cond]:
    def build(c: Compiler, arg: Any, where: str, line: int) -> Cond:
        pair = _pair(c, arg, where, line)
        if pair is None:
            return lambda s: False
        return compile_comparison(c, op, pair, where, line)

    return build


_BUILDERS: dict[str, Callable[[Compiler, Any, str, int], Cond]] = {
    "present": _present, "absent": _absent, "equals": _equals, "not_equals": _not_equals,
    "in": _in, "not_in": _not_in, "matches": _matches, "in_map": _in_map,
    "lt": _comparison("lt"), "le": _comparison("le"), "gt": _comparison("gt"),
    "ge": _comparison("ge"), "all": _all, "any": _any, "not": _not,
}
