"""Read tables or declared queries from any database SQLAlchemy can reach, streamed.

Sessions are read-only where the database supports it (MySQL/MariaDB, PostgreSQL, SQLite), rows
stream through a server-side cursor, and every value is handed to the mappings as text, the way
a CSV export would give it: dates and datetimes in ISO form with a space before the time, as
MySQL and SQLite write them (naive datetimes stay naive; the
pack's time zone applies), DECIMAL exactly as stored, 16-byte binary UUIDs as UUID text, other
binary as UTF-8 (or hex when it is not text). MySQL zero dates arrive as ``0000-00-00`` (or
``0000-00-00 00:00:00``); packs list them as null tokens.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import Field

from migrate.errors import ExtractError
from migrate.extractors.base import (
    DEFAULT_CHUNK_SIZE,
    Batch,
    Extractor,
    ExtractorCapabilities,
    ReadAccount,
    RejectedRow,
)
from migrate.redact import redact_url
from migrate.registry import PluginOptions


class SqlOptions(PluginOptions):
    """Options of the ``sql`` extractor (``source: {type: sql, ...}``)."""

    url: str | None = Field(
        None, description="SQLAlchemy database URL, e.g. mysql+pymysql://user:${DB_PASS}@host/"
        "emr or sqlite:///emr.db (required unless a program passes engine=).")


class SqlExtractor(Extractor):
    """A database reached through an SQLAlchemy URL (or an ``Engine``).

    Tables are read with ``SELECT * FROM table`` (or the mapping's declared ``query``) using a
    server-side cursor, ``chunk_size`` rows at a time, so memory stays bounded.
    """

    name = "sql"
    Options = SqlOptions
    text_forms = ('a database URL (sqlite:///FILE, mysql+pymysql://..., postgresql://...)',)
    text_rank = 60
    capabilities = ExtractorCapabilities(queries=True, incremental=True, column_values=True,
                                         lists_tables=True)

    def __init__(self, url: str | None = None, engine: Any = None) -> None:
        import sqlalchemy as sa

        if engine is None and not url:
            raise ExtractError("the sql extractor needs a database URL")
        self.url = redact_url(url if url else engine.url.render_as_string(hide_password=False))
        self._accounts: dict[tuple[str, str | None], ReadAccount] = {}
        try:
            self.engine = engine or sa.create_engine(url)
            _make_read_only(self.engine)
            self._inspector = sa.inspect(self.engine)
        except Exception as exc:  # noqa: BLE001 - driver errors vary; report them uniformly
            raise ExtractError(f"cannot open database {self.url}: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0]}") from None

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """Any ``scheme://`` URL no earlier plugin claims is an SQLAlchemy database URL."""
        return {"url": text} if "://" in text else None

    def describe(self, table: str) -> str:
        """``table`` at the redacted URL."""
        return f"{table} ({self.url})"

    def columns(self, table: str) -> list[str]:
        """Column names of ``table`` from the database catalogue."""
        try:
            return [c["name"] for c in self._inspector.get_columns(table)]
        except Exception as exc:  # noqa: BLE001
            raise ExtractError(f"table {table!r} not found in {self.url} "
                               f"({type(exc).__name__})") from None

    def query_columns(self, query: str) -> list[str]:
        """Column names a declared query returns (runs it with no rows wanted)."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            result = conn.execute(sa.text(f"SELECT * FROM ({query}) AS q WHERE 1 = 0"))
            return list(result.keys())

    def estimate_rows(self, table: str, query: str | None = None) -> int | None:
        """``COUNT(*)`` of the table or query."""
        import sqlalchemy as sa

        sql = f"SELECT COUNT(*) FROM ({query}) AS q" if query else \
            f"SELECT COUNT(*) FROM {self._quote(table)}"
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())

    def _quote(self, table: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(table)

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        """Stream rows with a server-side cursor, ``chunk_size`` at a time, after counting
        them (``COUNT(*)`` of the same selection) so `account` can compare. A row holding text
        the driver cannot decode is rejected with its column, not the run."""
        import sqlalchemy as sa

        self._accounts.pop((table, query), None)
        inner, sql, params = self._selection(table, query, since)
        read = 0
        with self.engine.connect().execution_options(stream_results=True) as conn:
            expected = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM ({inner}) AS c"),
                                        params).scalar_one())
            result = conn.execute(sql, params)
            # SQLite decodes text as rows are fetched (maybe ahead of the part at hand):
            # batches are searched while undecodable values are seen and not yet found.
            keys, handled = list(result.keys()), Undecodable.seen
            for part in result.partitions(chunk_size):
                batch = Batch([{k: _text(v) for k, v in zip(keys, r, strict=True)}
                               for r in part], start=read)
                if Undecodable.seen > handled:
                    handled += _reject_undecodable(batch, self.describe(table))
                read += len(part)
                yield batch
        self._accounts[(table, query)] = _account(self.describe(table), read, expected)

    def _selection(self, table: str, query: str | None, since: tuple[str, str] | None
                   ) -> tuple[str, Any, dict[str, Any]]:
        """The SQL text of what is read (to count it), the statement that reads it, and its
        parameters."""
        import sqlalchemy as sa

        params: dict[str, Any] = {}
        inner = query or f"SELECT * FROM {self._quote(table)}"
        if since is not None:
            col = self.engine.dialect.identifier_preparer.quote(since[0])
            inner = f"SELECT * FROM ({inner}) AS q WHERE q.{col} >= :since"
            params["since"] = since[1].replace("T", " ")
        sql: Any = sa.text(inner) if query or since else \
            sa.select(sa.table(table, *[sa.column(c) for c in self.columns(table)]))
        return inner, sql, params

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        """Rows read against ``COUNT(*)`` taken when the read began. When this extractor did
        not read the table (the partitioned executor's workers did), a counting read of the
        whole selection, rows not converted."""
        if (table, query) not in self._accounts:
            import sqlalchemy as sa

            inner, sql, params = self._selection(table, query, None)
            with self.engine.connect().execution_options(stream_results=True) as conn:
                expected = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM ({inner}) AS c"),
                                            params).scalar_one())
                read = sum(len(p) for p in conn.execute(sql, params).partitions(
                    DEFAULT_CHUNK_SIZE * 4))
            self._accounts[(table, query)] = _account(self.describe(table), read, expected)
        return self._accounts.get((table, query))

    def column_values(self, table: str, column: str, query: str | None = None) -> Iterator[Any]:
        """Every value of one column, as text (the partitioned executor picks key ranges from
        them); only that column crosses the wire."""
        import sqlalchemy as sa

        col = self.engine.dialect.identifier_preparer.quote(column)
        inner = query or f"SELECT * FROM {self._quote(table)}"
        sql = sa.text(f"SELECT q.{col} FROM ({inner}) AS q")
        with self.engine.connect().execution_options(stream_results=True) as conn:
            for part in conn.execute(sql).partitions(DEFAULT_CHUNK_SIZE * 4):
                for (value,) in part:
                    yield _text(value)

    def tables(self) -> list[str]:
        """The database's tables (of its default schema), sorted."""
        import sqlalchemy as sa

        return sorted(sa.inspect(self.engine).get_table_names())

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()


def _make_read_only(engine: Any) -> None:
    """Every connection of the engine runs read-only (a migration never writes its source)."""
    from sqlalchemy import event

    name = engine.dialect.name
    statements = {
        "mysql": "SET SESSION TRANSACTION READ ONLY",
        "mariadb": "SET SESSION TRANSACTION READ ONLY",
        "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "sqlite": "PRAGMA query_only = ON",
    }
    sql = statements.get(name)
    if sql is None:
        return

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(sql)
        cur.close()
        if name == "sqlite":  # SQLite hands over any bytes as TEXT: decode them ourselves
            dbapi_conn.text_factory = _decode


class Undecodable:
    """A TEXT value whose bytes are not UTF-8 (SQLite stores whatever it is given); counted,
    so a batch is searched for them only when one was seen."""

    seen = 0

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.at = _bad_byte(raw)


def _bad_byte(raw: bytes) -> int:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def _decode(raw: bytes) -> str | Undecodable:
    """SQLite's text factory: UTF-8 text, or an `Undecodable` the extractor rejects."""
    try:
        return str(raw, "utf-8")
    except UnicodeDecodeError:
        Undecodable.seen += 1
        return Undecodable(raw)


def _reject_undecodable(batch: Batch, where: str) -> int:
    """Move the batch's rows holding an `Undecodable` value to its rejects; how many values
    were found."""
    found = 0
    kept: list[dict[str, Any]] = []
    for i, row in enumerate(batch.rows):
        bad = next((k for k, v in row.items() if isinstance(v, Undecodable)), None)
        if bad is None:
            kept.append(row)
            continue
        found += sum(isinstance(v, Undecodable) for v in row.values())
        value = row[bad]
        batch.rejects.append(RejectedRow(None, (
            f"{where}: row {batch.start + i + 1} of the read: column {bad!r} is not valid "
            f"utf-8 at byte {value.at}; fix the value in the database"),
            value.raw.decode("utf-8", "replace")))
    batch.rows = kept
    return found


def _account(where: str, read: int, expected: int) -> ReadAccount:
    """Rows read against the count taken when the read began."""
    if read < expected:
        return ReadAccount(expected_rows=expected, complete=False, problem=(
            f"{where}: read {read} rows but COUNT(*) was {expected} when the read began; "
            f"{expected - read} row(s) may be missing"))
    if read > expected:
        return ReadAccount(expected_rows=expected, problem=(
            f"{where}: read {read} rows, {read - expected} more than COUNT(*) ({expected}) "
            "when the read began (rows added during the read)"))
    return ReadAccount(expected_rows=expected)


def _text(value: Any) -> Any:
    """A database value as the text a CSV export would hold (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # as MySQL and SQLite write DATETIME text
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, Undecodable):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) == 16:
            return str(uuid.UUID(bytes=raw))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    return str(value)
