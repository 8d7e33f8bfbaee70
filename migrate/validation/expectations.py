"""Source expectations: the YAML a pack declares, per table, about its source data.

A pack keeps them in ``expectations/*.yaml`` (the pack folder itself holds only mapping files).
Each file has a ``tables:`` mapping; every expectation names its kind and column in one key::

    version: 1
    tables:
      patients:
        key: [Id]                  # row keys shown for failing rows (default: the mapping's key)
        expect:
          - {not_null: Id, severity: critical}
          - {unique: Id, severity: critical}
          - {date: BIRTHDATE, format: "%Y-%m-%d", min: 1880-01-01, max: today}
          - {in_set: MARITAL, concept_map: marital-status, mostly: 0.95}
      encounters:
        expect:
          - {foreign_key: PATIENT, references: patients.Id, severity: critical}
      observations:
        expect:
          - {between: VALUE, where: {CODE: 8480-6}, min: 40, max: 300, mostly: 0.99}

Kinds: ``not_null``, ``unique`` (a column, or a list of columns unique together), ``in_set``
(``values`` or a pack ``concept_map``'s source codes), ``regex`` (``pattern``), ``date``
(``format``, a strftime format; optional ``min``/``max``, ISO dates or ``today``), ``between``
(numbers; ``min``/``max``), ``foreign_key`` (``references: table.column``). Common options:
``mostly`` (share of non-null values that must pass, default 1.0), ``severity`` (``critical``
or ``warning``, default ``warning``), ``where`` (only rows whose columns hold these values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from migrate.errors import ConfigError, Problem
from migrate.mappers.spec import read_checked

_STRICT = ConfigDict(extra="forbid", frozen=True)
KINDS = ("not_null", "unique", "in_set", "regex", "date", "between", "foreign_key")
CRITICAL, WARNING = "critical", "warning"
# Options each kind accepts besides the common ones.
_OPTIONS: dict[str, set[str]] = {
    "not_null": set(), "unique": set(), "in_set": {"values", "concept_map"},
    "regex": {"pattern"}, "date": {"format", "min", "max"}, "between": {"min", "max"},
    "foreign_key": {"references"},
}
_REQUIRED: dict[str, set[str]] = {"regex": {"pattern"}, "date": {"format"},
                                  "foreign_key": {"references"}}
_COMMON = {"mostly", "severity", "where", "name"}


class ExpectationSpec(BaseModel):
    """One expectation about one column (or a column list, for ``unique``)."""

    model_config = _STRICT
    not_null: str | None = Field(None, description="Column that must have a value.")
    unique: str | list[str] | None = Field(None, description="Column(s) unique (together).")
    in_set: str | None = Field(None, description="Column whose values are in a value set.")
    regex: str | None = Field(None, description="Column whose values match ``pattern``.")
    date: str | None = Field(None, description="Column of dates in ``format``.")
    between: str | None = Field(None, description="Column of numbers within min..max.")
    foreign_key: str | None = Field(None, description="Column whose values exist elsewhere.")
    values: list[str] | None = Field(None, description="in_set: the allowed values.")
    concept_map: str | None = Field(None, description="in_set: a pack concept map's codes.")
    pattern: str | None = Field(None, description="regex: the pattern (Python syntax).")
    format: str | None = Field(None, description="date: strftime format, e.g. %Y-%m-%d.")
    min: str | float | None = Field(None, description="Lowest value (date: ISO or today).")
    max: str | float | None = Field(None, description="Highest value (date: ISO or today).")
    references: str | None = Field(None, description="foreign_key: table.column.")
    where: dict[str, str | list[str]] | None = Field(
        None, description="Check only rows whose columns hold these values.")
    mostly: float = Field(1.0, ge=0, le=1, description="Share of values that must pass.")
    severity: Literal["critical", "warning"] = Field("warning")
    name: str | None = Field(None, description="A label for the report.")

    @model_validator(mode="after")
    def _one_kind(self) -> ExpectationSpec:
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (found "
                             f"{', '.join(kinds) or 'none'})")
        kind = kinds[0]
        given = {k for k in self.model_fields_set if k not in KINDS and k not in _COMMON}
        extra = given - _OPTIONS[kind]
        if extra:
            raise ValueError(f"{kind} does not take {', '.join(sorted(extra))}")
        missing = _REQUIRED.get(kind, set()) - given
        if missing:
            raise ValueError(f"{kind} needs {', '.join(sorted(missing))}")
        if kind == "in_set" and (self.values is None) == (self.concept_map is None):
            raise ValueError("in_set needs either 'values' or 'concept_map'")
        if kind == "foreign_key" and "." not in (self.references or ""):
            raise ValueError("references must be written table.column")
        return self

    @property
    def kind(self) -> str:
        """Which kind of expectation this is."""
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def columns(self) -> list[str]:
        """The column(s) it checks."""
        target = getattr(self, self.kind)
        return list(target) if isinstance(target, list) else [target]

    @property
    def where_values(self) -> dict[str, list[str]]:
        """``where`` with every value as a list of strings."""
        return {c: [str(x) for x in (v if isinstance(v, list) else [v])]
                for c, v in (self.where or {}).items()}

    def needed_columns(self) -> list[str]:
        """Columns of its own table it reads (checked columns and ``where`` columns)."""
        return list(dict.fromkeys([*self.columns, *self.where_values]))

    def referenced(self) -> tuple[str, str] | None:
        """``(table, column)`` a foreign key points to."""
        if self.references is None:
            return None
        table, _, column = self.references.rpartition(".")
        return table, column

    def describe(self) -> str:
        """A short human description, e.g. ``BIRTHDATE is a date %Y-%m-%d``."""
        if self.name:
            return self.name
        col = " + ".join(self.columns)
        text = {
            "not_null": f"{col} is not empty", "unique": f"{col} is unique",
            "in_set": f"{col} in {self.concept_map or 'the listed values'}",
            "regex": f"{col} matches {self.pattern}", "date": f"{col} is a date {self.format}",
            "between": f"{col} between {_bound(self.min)} and {_bound(self.max)}",
            "foreign_key": f"{col} exists in {self.references}",
        }[self.kind]
        if self.where:
            text += " where " + ", ".join(f"{c} in {v}" for c, v in self.where_values.items())
        return text


def _bound(value: Any) -> str:
    return "..." if value is None else str(value)


class TableExpectations(BaseModel):
    """The expectations of one source table."""

    model_config = _STRICT
    key: list[str] | None = Field(None, description="Columns naming a failing row.")
    expect: list[ExpectationSpec] = Field(default_factory=list)


class SuiteSpec(BaseModel):
    """One expectations file."""

    model_config = _STRICT
    version: Literal[1] = 1
    description: str | None = None
    tables: dict[str, TableExpectations] = Field(default_factory=dict)


def suite_files(path: Path) -> list[Path]:
    """The expectation files at ``path``: the file itself, or every YAML file of a folder."""
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path] if path.exists() else []


def read_suite(path: Path) -> SuiteSpec:
    """Read the expectations at ``path`` (file or folder), reporting every problem at once.

    Tables declared in two files are an error. A missing path gives an empty suite.
    """
    problems: list[Problem] = []
    tables: dict[str, TableExpectations] = {}
    origin: dict[str, str] = {}
    for file in suite_files(path):
        data, spec = read_checked(file, SuiteSpec, problems)
        for table, exp in (spec.tables.items() if spec else []):
            if table in tables:
                problems.append(Problem(str(file), data["tables"].line_of(table), table,
                                        f"table also declared in {origin[table]}"))
                continue
            tables[table], origin[table] = exp, str(file)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"the source expectations have {len(problems)} problem(s):\n{lines}")
    return SuiteSpec(tables=tables)
