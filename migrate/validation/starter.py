"""Write a starter expectations file from a source profile (`emr-migrate profile --write-suite`).

Guesses, meant to be edited: an ``Id``-like column that is filled and unique becomes the key
(not null and unique, critical); a column named after another table (``PATIENT``,
``PATIENTID``, ``patient_id``) becomes a foreign key to that table's key; date columns get
their format and a range their own values pass; filled columns get ``not_null``; small code
lists whose every value was seen at least ``min_count`` times get ``in_set`` (never a column
that may identify a person: see `migrate.report.profile`). Numbers get a comment with their
observed range (a useful range depends on what the column measures).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from migrate.files import private_dir, write_atomic
from migrate.report.profile import ColumnProfile, TableProfile

MAX_SET = 20
_KEY_NAMES = ("id", "uuid", "key")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def key_column(p: TableProfile) -> str | None:
    """The column that looks like the table's key: Id-like, filled and unique."""
    for c in p.columns:
        filled = c.rows - c.nulls
        if c.name.lower() in _KEY_NAMES and filled == p.rows and len(c.counts) == filled \
                and not c.capped and p.rows:
            return c.name
    return None


def _stem(table: str) -> str:
    t = table.lower()
    return t[:-3] + "y" if t.endswith("ies") else t[:-1] if t.endswith("s") else t


def _foreign_key(col: str, keys: dict[str, str], own: str) -> str | None:
    name = re.sub(r"[_ ]?id$", "", col.lower()) if col.lower() not in _KEY_NAMES else ""
    for table, key in keys.items():
        if table != own and name and name == _stem(table):
            return f"{table}.{key}"
    return None


def starter_expectations(p: TableProfile, keys: dict[str, str],
                         min_count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Expectations and comment lines for one table."""
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    key = keys.get(p.table)
    for c in p.columns:
        if c.name == key:
            out += [{"not_null": c.name, "severity": "critical"},
                    {"unique": c.name, "severity": "critical"}]
            continue
        ref = _foreign_key(c.name, keys, p.table)
        if ref:
            out.append({"foreign_key": c.name, "references": ref})
        out.extend(_column_expectations(c, min_count))
        low, high = c.bounds()
        if c.kind in ("integer", "decimal") and low is not None:
            notes.append(f"{c.name}: numbers from {low} to {high}; add a 'between' check "
                         "if a range is known")
    return out, notes


def _column_expectations(c: ColumnProfile, min_count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if c.rows and c.nulls == 0:
        out.append({"not_null": c.name})
    if c.kind in ("date", "datetime") and c.date_format:
        out.append({"date": c.name, "format": c.date_format, **_date_bounds(c)})
    elif c.kind == "text" and 0 < len(c.counts) <= MAX_SET and not c.capped \
            and not c.sensitive \
            and min(c.counts.values()) >= min_count:
        out.append({"in_set": c.name, "values": sorted(c.counts)})
    return out


def _date_bounds(c: ColumnProfile) -> dict[str, str]:
    """``min``/``max`` a date column's own values pass: 1900-01-01 and today when they hold.

    A column with dates after today (a date-shifted export) gets the end of the year of its
    latest date, one before 1900 the start of the year of its earliest: a whole year, so no
    one's own date is written. Without a known range (a format not starting with the year)
    there are no bounds: a guess could fail the whole column.
    """
    low, high = str(c.low or "")[:10], str(c.high or "")[:10]
    if not (_ISO_DATE.fullmatch(low) and _ISO_DATE.fullmatch(high)):
        return {}
    today, year = dt.date.today().isoformat(), int(high[:4])
    # a datetime bound is midnight: a datetime column ends at the next year's first instant
    last = f"{year}-12-31" if c.kind == "date" else f"{year + 1}-01-01"
    return {"min": "1900-01-01" if low >= "1900-01-01" else f"{low[:4]}-01-01",
            "max": "today" if high <= today else last}


def render_suite(profiles: list[TableProfile], min_count: int, source: str) -> str:
    """The text of an expectations file (flow-style lines, readable and easy to edit)."""
    keys = {p.table: k for p in profiles if (k := key_column(p))}
    lines = ["# Starter source expectations written by `emr-migrate profile --write-suite`",
             f"# from {source}. Review every line: these are guesses from the data.",
             "version: 1", "tables:"]
    for p in profiles:
        if p.error or not p.columns:
            continue
        exps, notes = starter_expectations(p, keys, min_count)
        lines.append(f"  {_flow(p.table)}:")
        lines.extend(f"    # {n}" for n in notes)
        lines.append("    expect:" + ("" if exps else " []"))
        lines.extend(f"      - {_flow(e)}" for e in exps)
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    text = str(yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False,
                              allow_unicode=True))
    return text.strip().removesuffix("...").strip()


def write_suite(profiles: list[TableProfile], path: Path, min_count: int, source: str) -> None:
    """Write the starter file (its folder is created)."""
    private_dir(path.parent)
    write_atomic(path, render_suite(profiles, min_count, source).encode())
