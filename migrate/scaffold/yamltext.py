"""Names as the starter pack writes them: YAML scalars, comments, `$` references, file and
look-up names. Only names pass through here, never a value of the data."""

from __future__ import annotations

import json
import re

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLUMN_REF = re.compile(r"[A-Za-z_][\w.\- ]*")  # what `$name` can read (compiler.ref_name)
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def yaml_text(name: str) -> str:
    """A name as a YAML scalar: plain when safe, else JSON-quoted (JSON is YAML)."""
    if _PLAIN.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return json.dumps(name)


def ref(column: str) -> str:
    """``$column`` as a YAML scalar."""
    return yaml_text("$" + column)


def comment_text(name: str) -> str:
    """A name inside a YAML comment (one line, printable)."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def readable(column: str) -> bool:
    """True when a template can read the column as ``$column``."""
    return bool(_COLUMN_REF.fullmatch(column))


def slug(name: str) -> str:
    """A table name as a mapping or file name (``^[a-z0-9][a-z0-9_.-]*$``)."""
    out = re.sub(r"[^a-z0-9_.\-]+", "-", name.lower()).strip("-._")
    return out if out and out[0].isalnum() else f"t-{out or 'table'}"


def lookup_name(table: str, taken: set[str]) -> str:
    """A look-up name (a plain identifier) for a dictionary table, unique in the mapping."""
    base = re.sub(r"\W+", "_", table.lower()).strip("_") or "dictionary"
    base = base if not base[0].isdigit() else f"d_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name
