"""`emr-migrate scaffold`: profile a source, analyse it and write a starter pack.

The pack holds one mapping per entity table, ``pack.yaml`` (name, version 0.1.0, ``columns:``
of every table, ``files:`` where a CSV file's name cannot be a table name, commented
``numbers:``, ``booleans:`` and ``units:`` suggestions: `migrate.scaffold.hints`) and a README.md
that summarises tables, keys, foreign keys and dictionaries. Files are 0600 in a 0700 folder
(`migrate.files`), and hold names, types, counts and shares only: never a value of the data
(unit spellings aside: see `migrate.scaffold.hints`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.errors import ConfigError, ExtractError
from migrate.files import private_dir, write_atomic
from migrate.scaffold.analyse import ForeignKey, Schema, TableInfo, analyse
from migrate.scaffold.hints import pack_hints
from migrate.scaffold.profile import Progress, profile_source_tables
from migrate.scaffold.render import mapping_text
from migrate.scaffold.yamltext import comment_text, slug, yaml_text

VERSION = "0.1.0"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass
class ScaffoldResult:
    """What `scaffold` wrote."""

    pack: Path
    name: str
    files: list[str] = field(default_factory=list)
    schema: Schema | None = None


def scaffold(source: dict[str, Any], out: Path, name: str | None = None,
             tables: list[str] | None = None, force: bool = False,
             progress: Progress | None = None) -> ScaffoldResult:
    """Write a starter pack for ``source`` (a setting as `migrate.config.parse_source`
    gives it) into the folder ``out``, which must be new or empty unless ``force``."""
    _check_out(out, force)
    pack = slug(name or out.resolve().name)
    profiled = profile_source_tables(source, tables, progress)
    if not profiled.tables:
        where = source.get("path") or "the database"
        raise ExtractError(f"no tables found in {where}: a CSV source needs *.csv files, a "
                           "database at least one table")
    if all(p.error for p in profiled.tables):
        raise ExtractError("no table could be read: " + "; ".join(
            f"{p.table}: {p.error}" for p in profiled.tables))
    schema = analyse(profiled)
    files = _csv_names(schema) if profiled.kind == "csv" else {}
    result = ScaffoldResult(out, pack, schema=schema)
    private_dir(out)
    if force:
        for stale in [*out.glob("*.yaml"), *out.glob("*.yml")]:
            stale.unlink()
    stems = _stems(schema)
    names = {table: f"{pack}.{stem}" for table, stem in stems.items()}
    for t in schema.tables:
        if t.resource:
            _write(out, f"{stems[t.name]}.yaml", mapping_text(t, schema, pack, names), result)
    _write(out, "pack.yaml", pack_yaml(schema, pack, files), result)
    _write(out, "README.md", readme(schema, pack), result)
    return result


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out}: the folder is not empty; choose a new folder, or pass "
                          "--force to overwrite the pack files in it")


def _write(out: Path, file: str, text: str, result: ScaffoldResult) -> None:
    write_atomic(out / file, text.encode("utf-8"))
    result.files.append(file)


def _stems(schema: Schema) -> dict[str, str]:
    """Each mapped table's file stem and mapping name: its slug, numbered when another table
    (``Visits``, ``visits``) or the pack's own ``pack.yaml`` has it already."""
    taken, stems = {"pack"}, {}
    for t in schema.tables:
        if t.resource:
            stems[t.name] = _unique(slug(t.name), taken, "-")
    return stems


def _unique(name: str, taken: set[str], sep: str) -> str:
    """``name``, or ``name<sep>2``, ``name<sep>3``... the first not in ``taken`` (added)."""
    found, n = name, 1
    while found in taken:
        n += 1
        found = f"{name}{sep}{n}"
    taken.add(found)
    return found


def _csv_names(schema: Schema) -> dict[str, str]:
    """Renames CSV tables whose file stem cannot be a table name; their ``files:`` entries
    (a new name numbered when another table has it: ``Lab Items`` beside ``lab_items``)."""
    files: dict[str, str] = {}
    taken = {t.name for t in schema.tables}
    for t in schema.tables:
        if _TABLE_NAME.fullmatch(t.name):
            continue
        new = re.sub(r"[^a-z0-9_]+", "_", t.name.lower()).strip("_") or "table"
        new = _unique(new if new[0].isalpha() else f"t_{new}", taken, "_")
        files[new] = f"{t.name}.csv"
        for fk in (fk for u in schema.tables for fk in u.foreign_keys):
            fk.table = new if fk.table == t.name else fk.table
            fk.ref_table = new if fk.ref_table == t.name else fk.ref_table
        t.name = new
    return files


def pack_yaml(schema: Schema, pack: str, files: dict[str, str]) -> str:
    """``pack.yaml``: name, version, ``files:`` when needed, ``columns:`` of every table."""
    lines = ["# Starter pack written by emr-migrate scaffold: review every TODO in the mappings.",
             f"name: {pack}", f'version: "{VERSION}"',
             f"description: {json.dumps(f'Starter pack scaffolded from a {schema.kind} source')}",
             f"source_format: {schema.kind}"]
    if files:
        lines.append("files:")
        lines += [f"  {yaml_text(t)}: {json.dumps(f)}" for t, f in sorted(files.items())]
    readable = [t for t in schema.tables if not t.error]
    if readable:
        lines.append("columns:   # the source's columns: check refuses any other")
        lines += [f"  {yaml_text(t.name)}: [{', '.join(yaml_text(c.name) for c in t.columns)}]"
                  for t in readable]
    return "\n".join(lines + pack_hints(schema)) + "\n"


def readme(schema: Schema, pack: str) -> str:
    """The pack's README.md: tables, keys, foreign keys, dictionaries, notes. No values."""
    lines = [f"# {pack}: a starter pack", "",
             f"Written by `emr-migrate scaffold` from a {schema.kind} source. These files hold "
             "table and column names, types, counts and shares only, never a value of the data.",
             "Each template holds what FHIR requires (a status to choose is a literal marked "
             "`TODO: choose`) and the columns recognised: the main code, dates, a patient's "
             "name and birth date. Every mapping lists each column of its table with a TODO. "
             "Check the pack with `emr-migrate check PACK --source SOURCE`.", "",
             "## Tables", "", "| table | rows | unparseable lines | key | resource |",
             "| --- | --- | --- | --- | --- |"]
    lines += [_table_row(t) for t in schema.tables]
    lines += ["", "## Foreign keys (the values found in the other table's key: all, or all "
              "but a few orphans)", ""]
    lines += [_foreign_key_line(fk, schema) for t in schema.tables
              for fk in t.foreign_keys] or ["None found."]
    lines += ["", "## Dictionaries (offered as commented `lookup:` blocks)", ""]
    lines += [_dictionary_line(t, schema) for t in schema.tables if t.is_dictionary] or [
        "None found."]
    notes = [f"- `{_md(t.name)}`: {_md(t.key_note)}" for t in schema.tables
             if t.key_note not in ("", "unique", "unique pair")]
    notes += [f"- `{_md(t.name)}`: not read: {_md(t.error)}" for t in schema.tables if t.error]
    notes += [f"- `{_md(t.name)}.{_md(c.name)}`: {_md(n)}" for t in schema.tables
              for c in t.columns for n in c.notes]
    lines += ["", "## Notes", ""] + (notes or ["None."])
    return "\n".join(lines) + "\n"


def _foreign_key_line(fk: ForeignKey, schema: Schema) -> str:
    orphans = fk.orphans(schema.table(fk.ref_table).is_dictionary)
    return (f"- `{_md(fk.table)}.{_md(fk.column)}` -> `{_md(fk.ref_table)}."
            f"{_md(fk.ref_column)}`" + (f": {_md(orphans)}" if orphans else ""))


def _dictionary_line(t: TableInfo, schema: Schema) -> str:
    used = ", ".join(f"`{_md(fk.table)}.{_md(fk.column)}`" for fk in schema.referenced_by(t.name))
    return (f"- `{_md(t.name)}`: code `{_md(t.key[0])}`, label `{_md(t.label or '')}`, "
            f"used by {used}")


def _table_row(t: TableInfo) -> str:
    resource = t.resource or ("dictionary" if t.is_dictionary else "not mapped")
    return (f"| `{_md(t.name)}` | {t.rows} | {t.rejected} | {_md(', '.join(t.key))} "
            f"({_md(t.key_note or 'none')}) | {resource} |")


def _md(text: str) -> str:
    return comment_text(text).replace("|", "\\|").replace("`", "'")
