"""Look-ups (mapping key ``lookup:``): values of another table's rows, attached to each row.

Compile time (`lookup_columns`): ``$adm.admittime`` reads the look-up ``adm``'s column
``admittime``; such names are not columns of the mapping's own table, so they leave the
columns the pack reads from it and are checked against the look-up's ``columns`` instead. The
``match`` columns are read from the row, like any column.

Run time (`LookupAttacher`): before change detection, filters, rules and lets, each row gets
the values of its matching look-up row as columns ``<name>.<column>`` (with ``pick: collect``
a list per column, and ``<name>`` itself the list of matching rows as objects). The tables
are loaded once per run by `migrate.lookups.LookupStore`, which hands over a `LookupIndex`.
Keys are compared as text, exactly, after the pack's trimming and null tokens.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.outcomes import FILTERED, QUARANTINED, RowError, Unit

if TYPE_CHECKING:
    from migrate.mappers.compiler import Compiler
    from migrate.mappers.spec import LookupSpec, MappingSpec, PackSpec

Row = dict[str, Any]
Prepared = list[tuple[Row, tuple[Any, ...], Unit | None]]
MISS, AMBIGUOUS = "lookup-miss", "lookup-ambiguous"
UNREADABLE = "lookup-table-unreadable-lines"


def lookup_line(data: Any, name: str) -> int:
    """The line of look-up ``name`` in a mapping file's raw YAML (else the ``lookup:`` key)."""
    node = data.get("lookup") if isinstance(data, dict) else None
    lines = getattr(node, "key_lines", {})
    if name in lines:
        return int(lines[name])
    return data.line_of("lookup") if hasattr(data, "line_of") else 1


_OPTIONS = ("key", "columns", "order_by")  # the options naming columns of the look-up table


def option_lines(data: Any, name: str) -> dict[str, int]:
    """``{"NAME.columns": line, ...}``: the line of each column-naming option of look-up
    ``name`` (``key``, ``columns``, ``order_by``), as its keys in ``lookup_lines``."""
    node = data.get("lookup") if isinstance(data, dict) else None
    entry = node.get(name) if isinstance(node, dict) else None
    lines = getattr(entry, "key_lines", {})
    return {f"{name}.{opt}": int(lines[opt]) for opt in _OPTIONS if opt in lines}


def column_line(lk: LookupSpec, lines: dict[str, int], name: str, col: str) -> int | None:
    """The line of the option of look-up ``name`` that names column ``col`` (``columns:``
    for a misspelt ``columns: [long_titel]``), else of the look-up itself."""
    for opt in _OPTIONS:
        if col in getattr(lk, opt) and f"{name}.{opt}" in lines:
            return lines[f"{name}.{opt}"]
    return lines.get(name)


def lookup_columns(c: Compiler, spec: MappingSpec, data: Any, pack: PackSpec
                   ) -> dict[str, int]:
    """Move the look-up names the mapping reads out of ``c.columns`` (its own table's
    columns), check each against its look-up, and record the ``match`` columns as read.
    Returns the line of each look-up, and of each of its options naming columns
    (`option_lines`)."""
    if not spec.lookup:
        return {}
    lines = {name: lookup_line(data, name) for name in spec.lookup}
    for name in spec.lookup:
        lines.update(option_lines(data, name))
    for name, lk in spec.lookup.items():
        if name in spec.let:
            c.problem(lines[name], f"lookup.{name}", f"look-up {name!r} has the name of a let "
                      "value; rename one of them")
        _declared(c, name, lk, pack, lines)
    for col, line in list(c.columns.items()):
        head, _, tail = col.partition(".")
        lk = spec.lookup.get(head)
        if lk is None:
            continue
        del c.columns[col]
        if not tail and lk.pick != "collect":
            c.problem(line, f"${col}", f"${col} is a look-up with pick: {lk.pick}; read one "
                      f"of its columns as ${col}.COLUMN ({', '.join(lk.columns)})")
        elif tail and tail not in lk.columns:
            close = difflib.get_close_matches(tail, lk.columns, n=1, cutoff=0.6)
            hint = f"; did you mean ${head}.{close[0]}?" if close else ""
            c.problem(line, f"${col}", f"look-up {head!r} takes no column {tail!r} (its "
                      f"columns: {', '.join(lk.columns)}){hint}")
    for name, lk in spec.lookup.items():
        for item in lk.match:
            c.columns.setdefault(item[1:], lines[name])
    _collect_in_group(c, spec, data)
    return lines


def lookup_outcomes(spec: MappingSpec) -> set[str]:
    """The quarantine codes and filter rules a mapping's look-ups count rows under."""
    if not spec.lookup:
        return set()
    return {MISS, AMBIGUOUS, *(f"{MISS}.{name}" for name in spec.lookup)}


def _collect_in_group(c: Compiler, spec: MappingSpec, data: Any) -> None:
    """``group.by`` naming a ``pick: collect`` look-up: its value is a list per row, which
    cannot key a group (the run crashed on it)."""
    for col in spec.group.by if spec.group else []:
        lk = spec.lookup.get(col.partition(".")[0])
        if lk is not None and lk.pick == "collect":
            line = data.line_of("group") if hasattr(data, "line_of") else 1
            c.problem(line, "group.by", f"{col!r} is a list per row (look-up with pick: "
                      "collect); group by a look-up with pick one, first or last")


def _declared(c: Compiler, name: str, lk: LookupSpec, pack: PackSpec,
              lines: dict[str, int]) -> None:
    """Columns of the look-up table that pack.yaml ``columns:`` says the source lacks."""
    declared = pack.columns.get(lk.table)
    if declared is None:
        return
    for col, hint in _absent(lk, declared):
        c.problem(column_line(lk, lines, name, col), f"lookup.{name}",
                  f"column {col!r} is not among the columns pack.yaml declares for table "
                  f"{lk.table!r}{hint}")


def _absent(lk: LookupSpec, have: list[str] | set[str]) -> list[tuple[str, str]]:
    """The columns ``lk`` reads that are not in ``have``, each with a did-you-mean hint."""
    out = []
    for col in lk.read_columns:
        if col not in have:
            close = difflib.get_close_matches(col, sorted(have), n=1, cutoff=0.6)
            out.append((col, f"; did you mean {close[0]!r}?" if close else ""))
    return out


def lookup_problems(spec: MappingSpec, lines: dict[str, int],
                    have: dict[str, set[str] | str]) -> list[tuple[int | None, str]]:
    """Look-up tables and columns missing from the source, as (line, message): ``have`` maps
    a table to its columns, or to the reason they could not be read (an unknown table)."""
    out: list[tuple[int | None, str]] = []
    for name, lk in spec.lookup.items():
        cols = have.get(lk.table)
        if isinstance(cols, str):
            out.append((lines.get(name), f"look-up {name!r}: {cols}"))
            continue
        for col, hint in _absent(lk, cols) if cols is not None else []:
            out.append((column_line(lk, lines, name, col), f"look-up {name!r}: column "
                        f"{col!r} is not in look-up table {lk.table!r}{hint}"))
    return out


@dataclass
class LookupIndex:
    """One loaded look-up table: key (as text) -> the matching rows, in order.

    Each row is a tuple of the look-up's ``columns`` values (then its ``order_by`` values);
    with ``pick: first`` or ``last`` only the chosen row is kept.
    """

    rows: dict[tuple[str, ...], list[tuple[Any, ...]]]
    columns: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    name: str
    spec: LookupSpec
    match: tuple[str, ...]
    names: tuple[str, ...]  # the row columns written: <name>.<column>
    index: LookupIndex
    line: int


class LookupAttacher:
    """Attaches a mapping's look-up values to its rows (see the module docstring)."""

    def __init__(self, mapping_name: str, spec: MappingSpec, indexes: dict[str, LookupIndex],
                 lines: dict[str, int] | None = None) -> None:
        self.mapping = mapping_name
        self.plans = [_Plan(name, lk, tuple(m[1:] for m in lk.match),
                            tuple(f"{name}.{col}" for col in lk.columns), indexes[name],
                            (lines or {}).get(name, 1))
                      for name, lk in spec.lookup.items()]
        self.kept = 0  # misses kept (on_missing: keep) since the last `take_warnings`
        # Lines of its look-up tables that could not be read (a damaged CSV line): a row that
        # needed one misses; said once as a warning, and in each miss.
        self.unreadable = sum(ix.stats.get("rejected_lines", 0)
                              for ix in {id(ix): ix for ix in indexes.values()}.values())

    def take_warnings(self) -> dict[str, int]:
        """Warnings since the last call, by code: misses kept with null values
        (``lookup-miss``) and, once, the unreadable lines of the look-up tables."""
        found = {MISS: self.kept, UNREADABLE: self.unreadable}
        self.kept = self.unreadable = 0
        return {code: n for code, n in found.items() if n}

    def attach(self, prepared: Prepared, key_dict: Callable[[tuple[Any, ...]], dict[str, Any]]
               ) -> Prepared:
        """The chunk with look-up values on its rows; a row that misses (or is ambiguous)
        becomes a quarantined or filtered unit as its look-up says."""
        out: Prepared = []
        for row, key, unit in prepared:
            if unit is None:
                unit = self._row(row, key, key_dict)
            out.append((row, key, unit))
        return out

    def _row(self, row: Row, key: tuple[Any, ...],
             key_dict: Callable[[tuple[Any, ...]], dict[str, Any]]) -> Unit | None:
        errors: list[RowError] = []
        rule: str | None = None
        for p in self.plans:
            problem = self._attach(p, row)
            if problem is None:
                continue
            if problem.code == MISS and p.spec.on_missing == "filter":
                rule = rule or f"{MISS}.{p.name}"
            elif problem.code == MISS and p.spec.on_missing == "keep":
                self.kept += 1
            else:
                errors.append(problem)
        if errors:
            return Unit(self.mapping, [key_dict(key)], QUARANTINED, errors=errors)
        if rule is not None:
            return Unit(self.mapping, [key_dict(key)], FILTERED, rule=rule)
        return None

    def _attach(self, p: _Plan, row: Row) -> RowError | None:
        """Put one look-up's values on the row; the miss or ambiguity, if any."""
        values = [row.get(col) for col in p.match]
        found = None if None in values else p.index.rows.get(tuple(map(str, values)))
        collect = p.spec.pick == "collect"
        if not found:
            for n in p.names:
                row[n] = None
            if collect:
                row[p.name] = None
            if None in values:  # a null match value: no look-up, not a miss
                return None
            unread = p.index.stats.get("rejected_lines", 0)
            return RowError(MISS, f"no row of table {p.spec.table!r} has "
                            f"{', '.join(p.spec.key)} equal to this row's "
                            f"{', '.join(p.match)} (look-up {p.name!r})" + (
                                f"; {unread} line(s) of that table could not be read and "
                                "may hold it" if unread else ""),
                            column=p.match[0], value=values[0], line=p.line)
        if collect:
            width = len(p.names)
            for i, n in enumerate(p.names):
                row[n] = [r[i] for r in found]
            row[p.name] = [dict(zip(p.spec.columns, r[:width], strict=True)) for r in found]
            return None
        if len(found) > 1:
            for n in p.names:
                row[n] = None
            return RowError(AMBIGUOUS, f"{len(found)} rows of table {p.spec.table!r} match "
                            f"this row's {', '.join(p.match)} (look-up {p.name!r}, pick: one); "
                            "use pick first, last or collect, or a longer key",
                            column=p.match[0], value=values[0], line=p.line)
        first = found[0]
        for i, n in enumerate(p.names):
            row[n] = first[i]
        return None
