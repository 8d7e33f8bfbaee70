"""The OpenEMR test schema, read from ``schema.sql`` (the one source of truth) for two dialects.

``schema.sql`` holds MariaDB/MySQL ``CREATE TABLE`` statements, one column or key per line.
:func:`load_schema` parses them into :class:`Table` descriptions (column names and declared
types in order, primary key, unique keys, indexes).  MariaDB/MySQL get the statements as
written; SQLite gets a translation (:func:`sqlite_statements`):

* integer types -> ``INTEGER``; ``varchar(n)`` / ``char(n)`` keep their name; text types and
  ``enum(...)`` -> ``TEXT``; ``binary(16)`` -> ``BLOB``; ``date`` / ``datetime`` /
  ``timestamp`` -> ``DATE`` / ``DATETIME`` / ``TIMESTAMP``; ``decimal(p,s)`` -> ``DECIMAL(p,s)``;
* ``AUTO_INCREMENT``, ``ON UPDATE CURRENT_TIMESTAMP``, engine and charset clauses are dropped;
  ``NOT NULL`` and literal defaults are kept; keys become ``CREATE [UNIQUE] INDEX``.

All type names chosen for SQLite are ones SQLAlchemy reflects without warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMA_SQL = HERE / "schema.sql"

_CREATE = re.compile(r"CREATE TABLE `(?P<name>\w+)` \((?P<body>.*?)\n\)(?P<tail>[^;]*);", re.S)
_COLUMN = re.compile(
    r"^`(?P<name>[^`]+)`\s+(?P<type>\w+(?:\s*\((?:[^()']|'[^']*')*\))?(?:\s+unsigned)?)"
    r"\s*(?P<options>.*)$", re.I)
_KEY = re.compile(r"^(?P<kind>PRIMARY KEY|UNIQUE KEY|KEY)\s*(?:`(?P<name>\w+)`)?\s*"
                  r"\((?P<cols>[^)]*)\)$", re.I)
_DEFAULT = re.compile(r"\bDEFAULT\s+('(?:[^']|'')*'|[-\w.]+)", re.I)
_INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint"}
_TEXT_TYPES = {"text", "tinytext", "mediumtext", "longtext", "enum", "set"}
_BLOB_TYPES = {"binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"}


@dataclass(frozen=True)
class Column:
    """One column as declared in schema.sql."""

    name: str
    type: str
    """Declared type, verbatim: ``varchar(255)``, ``enum('0','1')``, ``VARCHAR( 50 )``."""
    options: str
    """The rest of the line: ``NOT NULL DEFAULT 0``, ``DEFAULT NULL``, ..."""

    @property
    def base_type(self) -> str:
        """Lower-case type name without arguments (``varchar``, ``enum``, ``binary``)."""
        return re.split(r"[\s(]", self.type, maxsplit=1)[0].lower()

    @property
    def type_args(self) -> str:
        """The parenthesised arguments without spaces (``(255)``, ``(12,6)``) or ''."""
        match = re.search(r"\(.*\)", self.type)
        return re.sub(r"\s+", "", match.group(0)) if match else ""

    @property
    def nullable(self) -> bool:
        """False for ``NOT NULL`` columns."""
        return "NOT NULL" not in self.options.upper()

    @property
    def default(self) -> str | None:
        """The DEFAULT clause's SQL literal (``NULL``, ``0``, ``''``, ``CURRENT_TIMESTAMP``)."""
        match = _DEFAULT.search(self.options)
        return match.group(1) if match else None


@dataclass(frozen=True)
class Table:
    """One table of schema.sql."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique_keys: tuple[tuple[str, tuple[str, ...]], ...]
    indexes: tuple[tuple[str, tuple[str, ...]], ...]
    statement: str
    """The CREATE TABLE statement as written (MariaDB/MySQL dialect)."""

    @property
    def column_names(self) -> list[str]:
        """Column names in declaration order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


def _strip_comments(text: str) -> str:
    """schema.sql without its ``--`` comment lines."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _names(cols: str) -> tuple[str, ...]:
    """```a`,`b``` -> ('a', 'b')."""
    return tuple(c.strip().strip("`") for c in cols.split(",") if c.strip())


def parse_schema(text: str) -> dict[str, Table]:
    """Parse CREATE TABLE statements (one column or key per line) into :class:`Table` objects."""
    tables: dict[str, Table] = {}
    for match in _CREATE.finditer(_strip_comments(text)):
        columns: list[Column] = []
        primary: tuple[str, ...] = ()
        unique: list[tuple[str, tuple[str, ...]]] = []
        indexes: list[tuple[str, tuple[str, ...]]] = []
        for raw in match.group("body").splitlines():
            line = raw.strip().rstrip(",").strip()
            if not line:
                continue
            col = _COLUMN.match(line)
            if col:
                columns.append(Column(col.group("name"), col.group("type").strip(),
                                      col.group("options").strip()))
                continue
            key = _KEY.match(line)
            if key is None:
                raise ValueError(f"cannot parse line of table {match.group('name')}: {line!r}")
            kind, names = key.group("kind").upper(), _names(key.group("cols"))
            if kind == "PRIMARY KEY":
                primary = names
            elif kind == "UNIQUE KEY":
                unique.append((key.group("name") or "_".join(names), names))
            else:
                indexes.append((key.group("name") or "_".join(names), names))
        name = match.group("name")
        tables[name] = Table(name, tuple(columns), primary, tuple(unique), tuple(indexes),
                             match.group(0))
    if not tables:
        raise ValueError("no CREATE TABLE statement found")
    return tables


def load_schema(path: Path = SCHEMA_SQL) -> dict[str, Table]:
    """The tables of ``schema.sql`` in file order."""
    return parse_schema(path.read_text(encoding="utf-8"))


def mysql_statements(tables: dict[str, Table] | None = None) -> list[str]:
    """The CREATE TABLE statements for MariaDB/MySQL, as written in schema.sql."""
    return [t.statement for t in (tables or load_schema()).values()]


def sqlite_type(column: Column) -> str:
    """The SQLite column type standing in for a MariaDB type (see the module docstring)."""
    base = column.base_type
    if base in _INTEGER_TYPES:
        return "INTEGER"
    if base in ("varchar", "char"):
        return base.upper() + column.type_args
    if base in _TEXT_TYPES:
        return "TEXT"
    if base in _BLOB_TYPES:
        return "BLOB"
    if base in ("date", "datetime", "timestamp", "time"):
        return base.upper()
    if base in ("decimal", "numeric"):
        return "DECIMAL" + column.type_args
    if base in ("float", "double", "real"):
        return base.upper()
    raise ValueError(f"no SQLite type for {column.name} {column.type}")


def _quote(name: str) -> str:
    """A double-quoted SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_mysql(name: str) -> str:
    """A backtick-quoted MariaDB/MySQL identifier."""
    return "`" + name.replace("`", "``") + "`"


_backtick = quote_mysql


def sqlite_statements(tables: dict[str, Table] | None = None) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for SQLite (index names prefixed by table)."""
    statements: list[str] = []
    for table in (tables or load_schema()).values():
        lines = []
        for col in table.columns:
            parts = [_quote(col.name), sqlite_type(col)]
            if not col.nullable:
                parts.append("NOT NULL")
            if col.default is not None:
                parts.append(f"DEFAULT {col.default}")
            lines.append("  " + " ".join(parts))
        if table.primary_key:
            lines.append(f"  PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})")
        statements.append(f"CREATE TABLE {_quote(table.name)} (\n" + ",\n".join(lines) + "\n)")
        for unique, keys in (("UNIQUE ", table.unique_keys), ("", table.indexes)):
            for index, cols in keys:
                statements.append(
                    f"CREATE {unique}INDEX {_quote(table.name + '_' + index)} ON "
                    f"{_quote(table.name)} ({', '.join(map(_quote, cols))})")
    return statements


def create_schema(engine: Any, *, drop: bool = False) -> None:
    """Create every table of schema.sql through an SQLAlchemy engine (MariaDB/MySQL or SQLite).

    ``drop=True`` drops existing tables of the same names first.
    """
    tables = load_schema()
    dialect = engine.dialect.name
    if dialect in ("mysql", "mariadb"):
        statements = mysql_statements(tables)
        quote = _backtick
    elif dialect == "sqlite":
        statements = sqlite_statements(tables)
        quote = _quote
    else:
        raise ValueError(f"unsupported database dialect {dialect!r} (MariaDB, MySQL or SQLite)")
    with engine.begin() as conn:
        if drop:
            for name in reversed(list(tables)):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)}")
        for sql in statements:
            conn.exec_driver_sql(sql)
