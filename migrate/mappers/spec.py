"""The mapping file model: the top-level keys of a mapping YAML, checked strictly.

Templates (``let``, ``emit[].template``) are free-form YAML checked by the compiler; everything
else is checked here, with unknown keys rejected, so a typo is an error with its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from migrate.errors import Problem
from migrate.files import inside, relative_problem
from migrate.mappers.ucum import ucum_problem

_STRICT = ConfigDict(extra="forbid", frozen=True)
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
# Semantic version text (https://semver.org): MAJOR.MINOR.PATCH, optional -pre and +build.
VERSION_PATTERN = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.\-]+)?(\+[0-9A-Za-z.\-]+)?$"
UNVERSIONED = "unversioned"


class GroupSpec(BaseModel):
    """Several rows to one resource: rows with equal ``by`` values form a group."""

    model_config = _STRICT
    by: list[str] = Field(min_length=1, description="Columns whose equal values form a group.")
    when: Any = Field(None, description="Only rows meeting this condition are grouped.")
    size: int | None = Field(None, ge=2, description="A group is complete at this many rows.")
    sorted: bool = Field(False, description="Rows arrive ordered by the group columns.")


class FilterSpec(BaseModel):
    """A declared rule that filters rows out (they are counted, never lost silently)."""

    model_config = _STRICT
    name: str = Field(pattern=NAME_PATTERN, description="Rule name shown in the counts.")
    when: Any = Field(description="Rows meeting this condition are filtered out.")


class RuleSpec(BaseModel):
    """A cross-column rule: rows meeting ``when`` (the violation) are quarantined or filtered."""

    model_config = _STRICT
    name: str = Field(pattern=NAME_PATTERN, description="Rule name: the quarantine code, or "
                      "the filter rule in the counts.")
    when: Any = Field(description="The violation: rows meeting this condition break the rule.")
    action: Literal["quarantine", "filter"] = Field(
        "quarantine", description="quarantine the row (code: the rule's name) or filter it "
        "(counted under the rule's name).")


class EmitSpec(BaseModel):
    """One resource a row (or group) becomes."""

    model_config = _STRICT
    name: str | None = Field(None, pattern=NAME_PATTERN, description="Emit name for refs.")
    resource: str = Field(description="FHIR R4 resource type, e.g. Patient.")
    profile: str | list[str] | None = Field(None, description="meta.profile canonical URL(s).")
    key: list[Any] | None = Field(None, description="Id key parts (default: the mapping key).")
    entity: str | None = Field(None, description="Id scope (default: the source table).")
    when: Any = Field(None, description="Emit only when this condition holds.")
    per: Literal["row", "group"] = Field("row", description="Once per row or once per group.")
    template: dict[str, Any] = Field(description="The resource body, as a template.")


class SyncSpec(BaseModel):
    """How re-syncs find changes in this mapping's table, and what a deleted row does."""

    model_config = _STRICT
    changes: Literal["snapshot", "watermark"] = Field(
        "snapshot", description="snapshot: read all rows and compare hashes; watermark: read "
        "rows whose change column is at or after the last synced value (minus the lag).")
    column: str | None = Field(None, description="The change column (watermark mode).")
    lag: int = Field(0, ge=0, description="Seconds re-read before the watermark (late commits).")
    on_delete: Literal["delete", "inactivate", "report"] = Field(
        "delete", description="A row gone from the source: delete its resources on the target, "
        "mark them inactive / entered-in-error, or only report it.")


class LookupSpec(BaseModel):
    """Values taken from another table by key (a related row, or a dictionary table).

    The values are attached to each row as columns ``<name>.<column>`` before filters, rules and
    lets run (`migrate.mappers.lookups`); the table is loaded once per run (`migrate.lookups`).
    """

    model_config = _STRICT
    table: str = Field(description="The look-up table (CSV stem, pack.yaml files entry, SQL "
                       "table).")
    key: list[str] = Field(min_length=1, description="Columns of the look-up table ...")
    match: list[str] = Field(min_length=1, description="... equal to these columns of the "
                             "current row ($COLUMN), in the same order.")
    columns: list[str] = Field(min_length=1, description="The columns taken (bounds memory).")
    pick: Literal["one", "first", "last", "collect"] = Field(
        "one", description="one: a second match quarantines (lookup-ambiguous); first or last "
        "by order_by; collect: every match, a list in order.")
    order_by: list[str] = Field(default_factory=list, description="Order of the matches for "
                                "first, last and collect.")
    on_missing: Literal["quarantine", "keep", "filter"] = Field(
        "quarantine", description="No match: quarantine (lookup-miss), keep (nulls and a "
        "warning) or filter (rule lookup-miss.<name>).")

    @field_validator("match")
    @classmethod
    def _match_columns(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"\$[A-Za-z_][\w\- ]*", str(item)):
                raise ValueError(f"match item {item!r} must be a column of the row, "
                                 "written $COLUMN")
        return value

    @model_validator(mode="after")
    def _shape(self) -> LookupSpec:
        found = []
        if len(self.match) != len(self.key):
            found.append(f"'match' has {len(self.match)} value(s) but 'key' has "
                         f"{len(self.key)}: give one match value per key column")
        if self.pick in ("first", "last") and not self.order_by:
            found.append(f"pick: {self.pick} needs 'order_by' (the columns that order the "
                         "matches)")
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def read_columns(self) -> list[str]:
        """The columns of the look-up table it reads: key, columns and order, each once."""
        return list(dict.fromkeys([*self.key, *self.columns, *self.order_by]))


class MappingSpec(BaseModel):
    """One mapping file: a source table and the resources its rows become."""

    model_config = _STRICT
    mapping: str = Field(pattern=NAME_PATTERN, description="Unique name, used by references.")
    description: str | None = None
    source: str = Field(description="Source table (a CSV file stem or an SQL table name).")
    query: str | None = Field(None, description="SQL query to read instead of the table.")
    key: list[str] = Field(min_length=1, description="Columns that identify a row.")
    nullable_key: list[str] = Field(
        default_factory=list, description="Key columns that may be empty (e.g. an end date)."
    )
    duplicate_keys: Literal["quarantine", "number"] = Field(
        "quarantine", description="Second row with a key seen before: quarantine it, or number it."
    )
    null_tokens: list[str] | dict[str, list[str]] | None = Field(
        None, description="Extra values read as null: a list for every column, or a mapping "
        "of column to list (e.g. OpenEMR's 0.00 for 'not measured' in measurement columns).")
    filter: list[FilterSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(
        default_factory=list, description="Cross-column rules, checked after the filters: "
        "a row meeting a rule's condition is quarantined or filtered under its name.")
    group: GroupSpec | None = None
    let: dict[str, Any] = Field(default_factory=dict, description="Named values per row.")
    emit: list[EmitSpec] = Field(min_length=1)
    sync: SyncSpec = Field(default_factory=SyncSpec)
    lookup: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
                 LookupSpec] = Field(
        default_factory=dict, description="Values taken from other tables by key, read as "
        "$NAME.COLUMN (see docs/mapping-spec.md section 15).")

    @field_validator("null_tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _token_list(v) for k, v in value.items()}
        return _token_list(value)

    @field_validator("let")
    @classmethod
    def _let_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not str(name).isidentifier():
                raise ValueError(f"let name {name!r} must be a plain name")
        return value


def _ucum_code(value: str) -> str:
    """A pack.yaml ``units`` target: a valid UCUM expression."""
    problem = ucum_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} is not a UCUM code: {problem}")
    return value


UcumCode = Annotated[str, AfterValidator(_ucum_code)]
class NumbersSpec(BaseModel):
    """``pack.yaml`` ``numbers:``: the separators of numbers written in the source."""

    model_config = _STRICT
    thousands: str | None = Field(None, description="The thousands separator (',', '.', ' ', "
                                  "\"'\"), groups of three digits checked; none by default.")
    decimal_mark: str = Field(".", description="The decimal mark: '.' (default) or ','.")

    @model_validator(mode="after")
    def _separators(self) -> NumbersSpec:
        problem = separator_problem(self.thousands, self.decimal_mark)
        if problem:
            raise ValueError(problem)
        return self


class BooleansSpec(BaseModel):
    """``pack.yaml`` ``booleans:``: the default token lists of the ``boolean`` transform."""

    model_config = _STRICT
    true: list[str] = Field(min_length=1, description="Texts read as true (compared in "
                            "lower case).")
    false: list[str] = Field(min_length=1, description="Texts read as false (compared in "
                             "lower case).")

    @model_validator(mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {str(k).lower() if isinstance(k, bool) else k: v for k, v in value.items()}
        for k in ("true", "false"):
            if isinstance(out.get(k), str | int | bool):  # one token alone: a one-item list
                out[k] = [out[k]]
            if isinstance(out.get(k), list):
                out[k] = [w.lower() for w in token_texts(out[k], words=True)]
        if isinstance(out.get("true"), list) and isinstance(out.get("false"), list):
            both = sorted(set(out["true"]) & set(out["false"]))
            if both:
                raise ValueError(f"{both} are both true and false")
        return out


class PackSpec(BaseModel):
    """``pack.yaml``: what the pack is for, and defaults for its mappings."""

    model_config = _STRICT
    name: str = Field(pattern=NAME_PATTERN)
    version: str | None = Field(
        None, pattern=VERSION_PATTERN, description="The pack's semantic version (1.4.0): "
        "required for an installed pack, optional for a folder (then reported as unversioned).")
    description: str | None = None
    source_format: str | None = Field(None, description="What kind of source the pack reads.")
    null_tokens: list[str] = Field(default_factory=lambda: [""])
    timezone: str | None = Field(None, description="Default zone of naive datetimes.")
    numbers: NumbersSpec | None = Field(None, description="Default separators of the "
                                        "decimal, integer and quantity transforms.")
    booleans: BooleansSpec | None = Field(None, description="Default token lists of the "
                                          "boolean transform.")
    files: dict[str, str] = Field(default_factory=dict, description="Table -> CSV file name.")
    columns: dict[str, list[str]] = Field(
        default_factory=dict, description="Table -> the columns the source has, when the pack "
        "knows them: `check` then refuses any other column a mapping of that table reads.")
    units: dict[str, UcumCode] = Field(
        default_factory=dict, description="The pack's own unit spellings -> UCUM codes "
        "(`{MCG: ug}`), tried first by `quantity`; each code is checked by UCUM's grammar.")
    lookup_memory_mb: StrictFloat = Field(  # finite (.inf crashed the run), not a boolean
        256, gt=0, allow_inf_nan=False, description="Memory bound of all look-up tables "
        "of a run together (MB); past it the run stops with an error naming the look-up.")

    @field_validator("null_tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        return _token_list(value)

    @field_validator("files")
    @classmethod
    def _files_inside_source(cls, value: dict[str, str]) -> dict[str, str]:
        """A file name is relative to the source folder and stays inside it."""
        for table, name in value.items():
            problem = relative_problem(name)
            if problem:
                raise ValueError(f"{table}: {problem}")
        return value


def token_texts(items: list[Any], words: bool = False) -> list[Any]:
    """A token list as the texts the author wrote: YAML reads ``0`` as a number, the token is
    the text ``0``. With ``words`` (case-insensitive lists) a YAML boolean is its word.

    Raises:
        ValueError: an item whose text YAML did not keep (null, a float, a case-sensitive
            boolean), naming it and how to quote it.
    """
    out: list[Any] = []
    for x in items:
        if isinstance(x, bool) and not words:
            raise ValueError(f"{str(x).lower()} is a YAML boolean; quote the token as the source "
                             f"writes it ('{str(x).lower()}', 'TRUE')")
        if x is None:
            raise ValueError("an item is null (YAML reads an empty item, null, NULL and ~ as "
                             "nothing); quote the token as the source writes it ('NULL')")
        if isinstance(x, float):
            raise ValueError(  # noqa: TRY004 - pydantic reports ValueErrors, not TypeErrors
                f"{x} is a YAML number whose text is not kept (0.00 is read as "
                             "0.0); quote it as the source writes it ('0.00')")
        if isinstance(x, dict | list):
            raise ValueError(  # noqa: TRY004 - pydantic reports ValueErrors, not TypeErrors
                "an item is a YAML object or list; give texts ([Y, 1, yes])")
        out.append(str(x).lower() if isinstance(x, bool) else str(x) if isinstance(x, int)
                   else x)
    return out


def _token_list(value: Any) -> Any:
    """A null-token list as texts; one token may be given alone (``null_tokens: {BP: 0}``)."""
    if isinstance(value, str | int | float | bool):
        value = [value]
    return token_texts(value) if isinstance(value, list) else value


def separator_problem(thousands: Any, decimal_mark: Any) -> str | None:
    """What is wrong with a pair of number separators, or None."""
    if decimal_mark not in (".", ","):
        return f"decimal_mark must be '.' or ',', not {decimal_mark!r}"
    if thousands is None:
        return None
    if not isinstance(thousands, str) or len(thousands) != 1 or thousands in "0123456789+-eE":
        return f"thousands must be one character such as ',', '.', ' ' or \"'\", not {thousands!r}"
    if thousands == decimal_mark:
        return f"thousands and decimal_mark are both {thousands!r}"
    return None


def parse_model(model: type[BaseModel], data: Any, file: str) -> tuple[Any, list[Problem]]:
    """Validate ``data`` against ``model``; every error becomes a Problem with file and line."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = [_problem(file, data, err, model) for err in exc.errors()]
        return None, sorted(problems, key=lambda p: (p.line or 0, p.where))


def _allowed_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The keys valid at ``loc`` (best effort: walks nested models and lists of models)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        by_key = {f.alias or name: f for name, f in (fields or {}).items()}
        if part not in by_key:
            return []
        current = _model_in(by_key[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return sorted(f.alias or name for name, f in fields.items())


def _model_in(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _problem(file: str, data: Any, err: Any, model: type[BaseModel]) -> Problem:
    loc = [str(p) for p in err["loc"]]
    line, node = getattr(data, "line", None), data
    for part in err["loc"]:
        if isinstance(node, dict) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
            line = getattr(node, "line", line) if isinstance(node, dict) else line
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        valid = _allowed_keys(model, list(err["loc"])[:-1])
        msg = "unknown key" + (f"; valid keys: {', '.join(valid)}" if valid else "")
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] == "value_error":  # our own validators' messages, without pydantic's prefix
        msg = msg.removeprefix("Value error, ")
    elif err["type"] == "string_type" and loc and loc[-1] == "[key]":
        msg = ("a key must be a name; YAML read this one as a number or a boolean (1, true): "
               "quote it")
    return Problem(file, line, ".".join(loc), msg)


def read_checked(path: Any, model: type[BaseModel],
                 problems: list[Problem]) -> tuple[Any, Any]:
    """Read a YAML file and check it against ``model``: (raw data with lines, model or None).

    Syntax errors and every model error are appended to ``problems``.
    """
    from migrate.errors import MappingError
    from migrate.mappers.yamlio import read_yaml

    try:
        data = read_yaml(path)
    except MappingError as exc:
        problems.extend(exc.problems)
        return None, None
    spec, errs = parse_model(model, data, str(path))
    problems.extend(errs)
    return data, spec


def read_pack_spec(root: Path, problems: list[Problem]) -> PackSpec:
    """The pack's ``pack.yaml`` (or ``pack.yml``), checked; problems go to ``problems``.

    Without the file, the pack is named after its folder.
    """
    path = root / "pack.yaml"
    if not path.exists() and (root / "pack.yml").exists():
        path = root / "pack.yml"
    if not path.exists():
        name = re.sub(r"[^a-z0-9_.\-]+", "-", root.name.lower()).strip("-._") or "pack"
        return PackSpec(name=name)
    if not inside(path, root):
        problems.append(Problem(str(path), None, "", "a link to a file outside the pack; copy "
                                "the file into the pack instead"))
        return PackSpec(name="pack")
    _data, spec = read_checked(path, PackSpec, problems)
    return spec or PackSpec(name="pack")
