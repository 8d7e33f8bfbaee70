"""Deterministic generator of a small OpenEMR practice, written into MariaDB/MySQL or SQLite.

The database has OpenEMR 8.2's column names and types for the 21 core tables a migration reads
(``schema.sql``) plus a minimal ``list_options``.  The practice: two facilities (a service
location and a billing location), an admin user and four providers (one retired in 2019),
three payers (Medicare, Aetna, NY Medicaid), and ``--patients`` patients with coverage
history, encounters, vitals, problems, allergies, medications, prescriptions, immunizations,
lab orders with results, and fee-sheet billing lines, from 2014 to 2025-06-30.

Time zone: every DATETIME/TIMESTAMP value is a *naive local time of America/New_York*, as
OpenEMR stores them (``procedure_report.date_collected_tz`` / ``date_report_tz`` hold the UTC
offset of those local times, ``-0500`` or ``-0400``).  DATE columns are local calendar dates.

Quirks of real installs, on purpose: zero dates (``'0000-00-00'`` in DATE columns such as
``prescriptions.end_date``, ``insurance_data.date`` / ``date_end`` / ``subscriber_DOB``;
``'0000-00-00 00:00:00'`` in ``patient_data.deceased_date`` and ``lists.begdate``; SQLite gets
the same text); empty strings in optional text columns; soft deletes (``lists.activity = 0``,
``forms.deleted = 1`` over still-present ``form_vitals`` rows, ``immunizations
.added_erroneously = 1``); unmeasured vitals stored as ``0.000000``; ICD-9 codes on problems
recorded before October 2015; encounter numbers that differ from ``form_encounter.id``.

Determinism: all randomness comes from ``random.Random(seed)`` (uuids too; no ``uuid4``, no
clock), so the same ``--patients`` and ``--seed`` always give the same rows.

Usage::

    python sample_data/openemr/generate.py --patients 40 --seed 20261125 \\
        --url sqlite:///sample_data/openemr/openemr.sqlite --create-schema
    python sample_data/openemr/generate.py --url mysql+pymysql://root@127.0.0.1:3306/openemr \\
        --create-schema
    python sample_data/openemr/generate.py --patients 10000 --seed 1 --sql-out practice.sql \\
        --create-schema     # then: mariadb openemr < practice.sql (streamed, flat memory)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import oe_orders  # noqa: E402 - the sibling modules live next to this script
import oe_schema  # noqa: E402
from oe_clinical import add_history  # noqa: E402
from oe_people import (  # noqa: E402
    add_coverage,
    add_patient,
    backgrounds,
    pick_deceased,
    pubpids,
)
from oe_practice import EXPORT_TIME, ZERO_DATE, ZERO_DATETIME, Practice  # noqa: E402

DEFAULT_PATIENTS = 40
DEFAULT_SEED = 20261125
BATCH_SIZE = 500
PATIENT_BATCH = 500
"""Patients per piece of :func:`iter_practice`."""
SQL_STATEMENT_BYTES = 1 << 20
"""Upper bound (about) of one multi-row INSERT in :func:`write_sql`."""
SCHEMA_SQL = oe_schema.SCHEMA_SQL
TIME_ZONE = "America/New_York"
"""The zone of every naive datetime in the practice."""

Rows = dict[str, list[dict[str, Any]]]

__all__ = ["BATCH_SIZE", "DEFAULT_PATIENTS", "DEFAULT_SEED", "EXPORT_TIME", "PATIENT_BATCH",
           "SCHEMA_SQL", "TIME_ZONE", "ZERO_DATE", "ZERO_DATETIME", "create_schema", "generate",
           "generate_practice", "iter_practice", "load_sql", "main", "sql_literal",
           "sql_statements", "table_names", "write_practice", "write_sql"]


def table_names() -> list[str]:
    """The tables of schema.sql in file order (21 OpenEMR tables, then list_options)."""
    return list(oe_schema.load_schema())


def generate_practice(patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED) -> Rows:
    """Every row of the practice, per table (all tables of schema.sql, some maybe empty).

    Values are Python objects: ``datetime`` / ``date`` (naive local), ``Decimal`` for DECIMAL
    columns, 16-byte ``bytes`` for the ``uuid`` columns, ``str`` for zero dates.
    """
    practice: Rows = {name: [] for name in table_names()}
    for piece in iter_practice(patients, seed):
        for name, rows in piece.items():
            practice[name].extend(rows)
    return practice


def iter_practice(patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, *,
                  batch_patients: int = PATIENT_BATCH) -> Iterator[Rows]:
    """The rows of :func:`generate_practice` in pieces, so memory does not grow with the practice.

    The first piece also holds the reference data (list options, facilities, users, payers,
    the lab catalogue); each piece then holds every row of the next ``batch_patients`` patients.
    Concatenated per table, the pieces are exactly ``generate_practice(patients, seed)``.
    """
    if patients < 0:
        raise ValueError("patients must be >= 0")
    if batch_patients < 1:
        raise ValueError("batch_patients must be >= 1")
    names = table_names()
    pr = Practice(seed)
    pr.add_reference_data()
    oe_orders.add_procedure_catalogue(pr)
    deceased = pick_deceased(pr, patients)
    mrns = pubpids(pr, patients)
    origins = backgrounds(pr, patients)
    for pid in range(1, patients + 1):
        patient = add_patient(pr, pid, mrns[pid - 1], pid in deceased, origins[pid - 1])
        add_coverage(pr, patient)
        add_history(pr, patient)
        if pid % batch_patients == 0 and pid < patients:
            yield {name: pr.rows.pop(name, []) for name in names}
    yield {name: pr.rows.pop(name, []) for name in names}


def create_schema(engine: Any, *, drop: bool = False) -> None:
    """Create the tables of schema.sql (MariaDB/MySQL as written, SQLite translated)."""
    oe_schema.create_schema(engine, drop=drop)


def _sqlite_value(value: Any) -> Any:
    """Datetimes as 'YYYY-MM-DD HH:MM:SS' text (MySQL's form), dates ISO, Decimal as text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _batches(rows: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    """``rows`` in slices of ``size``."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def write_practice(engine: Any, practice: Rows, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Insert the rows with SQLAlchemy Core in one transaction; returns rows per table.

    Rows of a table are grouped by the columns they set, so columns a row leaves out keep
    their database default.  Raises ValueError for a column schema.sql does not have.
    """
    import sqlalchemy as sa

    schema = oe_schema.load_schema()
    sqlite = engine.dialect.name == "sqlite"
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, rows in practice.items():
            counts[name] = len(rows)
            if not rows:
                continue
            known = set(schema[name].column_names)
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(tuple(row), []).append(row)
            for columns, group in groups.items():
                unknown = sorted(set(columns) - known)
                if unknown:
                    raise ValueError(f"{name} has no column(s) {', '.join(unknown)}")
                statement = sa.table(name, *(sa.column(c) for c in columns)).insert()
                for batch in _batches(group, batch_size):
                    if sqlite:
                        batch = [{k: _sqlite_value(v) for k, v in row.items()} for row in batch]
                    conn.execute(statement, list(batch))
    return counts


# MariaDB/MySQL string escapes, as PyMySQL writes them (so a dump loads to the same rows).
_SQL_ESCAPES = {0: "\\0", 10: "\\n", 13: "\\r", 26: "\\Z", 34: '\\"', 39: "\\'",
                92: "\\\\"}


def sql_literal(value: Any) -> str:
    """``value`` as a MariaDB/MySQL literal, written the way PyMySQL escapes parameters."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.translate(_SQL_ESCAPES) + "'"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return f"'{text}.{value.microsecond:06d}'" if value.microsecond else f"'{text}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, bytes):
        return f"_binary X'{value.hex()}'"
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError(f"{text} cannot be stored in MariaDB/MySQL")
        return text if "e" in text else text + "e0"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def _insert_lines(name: str, rows: Sequence[dict[str, Any]], known: set[str],
                  max_bytes: int) -> Iterator[str]:
    """Multi-row INSERT statements for ``rows``, one per line, each about ``max_bytes`` at most.

    Rows are grouped by the columns they set, as :func:`write_practice` does.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for columns, group in groups.items():
        unknown = sorted(set(columns) - known)
        if unknown:
            raise ValueError(f"{name} has no column(s) {', '.join(unknown)}")
        head = (f"INSERT INTO {oe_schema.quote_mysql(name)} "
                f"({', '.join(map(oe_schema.quote_mysql, columns))}) VALUES ")
        values: list[str] = []
        size = len(head)
        for row in group:
            text = "(" + ",".join(map(sql_literal, row.values())) + ")"
            if values and size + len(text) > max_bytes:
                yield head + ",".join(values) + ";\n"
                values, size = [], len(head)
            values.append(text)
            size += len(text) + 1
        if values:
            yield head + ",".join(values) + ";\n"


def write_sql(out: IO[str], patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, *,
              create_schema: bool = False, drop: bool = False,
              max_bytes: int = SQL_STATEMENT_BYTES) -> dict[str, int]:
    """Write the practice as a MariaDB/MySQL SQL script (UTF-8 text) to ``out``; rows per table.

    The practice is generated piece by piece (:func:`iter_practice`), so memory stays flat for
    any number of patients. Each INSERT is one line ending in ``;`` (newlines in values are
    escaped), after a header that sets the character set and a ``sql_mode`` allowing zero
    dates. ``create_schema`` writes the CREATE TABLE statements first (``drop``: DROP TABLE IF
    EXISTS before them). Load it with ``mariadb DB < file.sql`` or :func:`load_sql`; the rows
    are those :func:`write_practice` inserts.
    """
    schema = oe_schema.load_schema()
    out.write(f"-- OpenEMR sample practice: {patients} patients, seed {seed} "
              "(sample_data/openemr/generate.py)\n"
              "SET NAMES utf8mb4;\nSET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';\n")
    if create_schema:
        if drop:
            for name in reversed(list(schema)):
                out.write(f"DROP TABLE IF EXISTS {oe_schema.quote_mysql(name)};\n")
        for statement in oe_schema.mysql_statements(schema):
            out.write(statement.rstrip().rstrip(";") + ";\n")
    counts = {name: 0 for name in schema}
    for piece in iter_practice(patients, seed):
        for name, rows in piece.items():
            counts[name] += len(rows)
            if rows:
                known = set(schema[name].column_names)
                out.writelines(_insert_lines(name, rows, known, max_bytes))
    return counts


def sql_statements(path: Path) -> Iterator[str]:
    """The statements of an SQL script of :func:`write_sql`, without their ``;``, streamed.

    A statement ends with ``;`` at the end of a line; comment and blank lines between
    statements are skipped.
    """
    pending: list[str] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not pending and (line.startswith("--") or not line.strip()):
                continue
            pending.append(line)
            if line.rstrip().endswith(";"):
                yield "".join(pending).rstrip().rstrip(";")
                pending = []
    if "".join(pending).strip():
        raise ValueError(f"{path} ends inside a statement")


def load_sql(target: Any, path: Path) -> int:
    """Run an SQL script of :func:`write_sql` on ``target`` (URL or Engine), streamed.

    Everything runs in one transaction on one DB-API connection (no parameter parsing, so a
    ``%`` in a value is just a character). Returns the number of statements run.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(target) if isinstance(target, str) else target
    count = 0
    try:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            for statement in sql_statements(path):
                cursor.execute(statement)
                count += 1
            cursor.close()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
    finally:
        if isinstance(target, str):
            engine.dispose()
    return count


def generate(target: Any, patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, *,
             create_schema: bool = False, drop: bool = False,
             batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Generate the practice into ``target`` (an SQLAlchemy URL or Engine); rows per table.

    ``create_schema`` creates the tables first (``drop`` drops existing ones before).
    """
    import sqlalchemy as sa

    engine = sa.create_engine(target) if isinstance(target, str) else target
    try:
        if create_schema:
            oe_schema.create_schema(engine, drop=drop)
        return write_practice(engine, generate_practice(patients, seed), batch_size)
    finally:
        if isinstance(target, str):
            engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate into the database at ``--url``; prints rows per table."""
    parser = argparse.ArgumentParser(
        description="Write a deterministic OpenEMR-shaped practice into MariaDB/MySQL or "
                    "SQLite (naive datetimes are America/New_York local time).")
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS,
                        help=f"number of patients (default {DEFAULT_PATIENTS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED})")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url",
                       help="SQLAlchemy URL, e.g. sqlite:///practice.sqlite or "
                            "mysql+pymysql://user:pw@127.0.0.1:3306/openemr")
    where.add_argument("--sql-out", type=Path, metavar="FILE",
                       help="write a MariaDB/MySQL SQL script instead (streamed, flat memory; "
                            "load it with: mariadb openemr < FILE)")
    parser.add_argument("--create-schema", action="store_true",
                        help="create the tables of schema.sql first (with --sql-out: write "
                             "the CREATE TABLE statements)")
    parser.add_argument("--drop", action="store_true",
                        help="with --create-schema: drop existing tables of the same names")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if args.drop and not args.create_schema:
        parser.error("--drop needs --create-schema")
    if args.sql_out is not None:
        partial = args.sql_out.with_name(args.sql_out.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            counts = write_sql(out, args.patients, args.seed, create_schema=args.create_schema,
                               drop=args.drop)
        partial.replace(args.sql_out)  # complete files only
    else:
        counts = generate(args.url, args.patients, args.seed, create_schema=args.create_schema,
                          drop=args.drop)
    if not args.quiet:
        width = max(map(len, counts))
        for name, count in counts.items():
            print(f"{name:<{width}}  {count:>6}")
        print(f"{'total':<{width}}  {sum(counts.values()):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
