"""The state store: what was sent where, so re-syncs are incremental and loads resumable.

An SQLAlchemy database (an SQLite file by default; a PostgreSQL URL works too) with a versioned
schema. It holds keys and hashes, never patient values, except the payloads of writes in flight
(the outbox) and of dead letters and conflicts, which the consultant needs to act on.

Tables: see `migrate.state_schema`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from migrate.errors import ConfigError
from migrate.mappers.ids import digest
from migrate.redact import redact_url
from migrate.state_schema import (  # noqa: F401 - the tables are part of this module's API
    CONFLICT_RESOLUTIONS,
    CONFLICTS,
    DEAD_LETTERS,
    META,
    METADATA,
    OUTBOX,
    RESOURCES,
    RUNS,
    SENT_BY_RUN,
    SOURCE_ROWS,
    STAGED_ROWS,
    TABLE_READS,
    WATERMARKS,
    add_missing_columns,
)

if TYPE_CHECKING:
    from migrate.mappers.installed import PackIdentity

SCHEMA_VERSION = 1
_IN_SIZE = 500
_REPAIRED = "deleted-rows-forgotten"
"""Meta key: `StateStore.forget_deleted_rows` has run on this store."""
"""Keys per IN list of a state-store query."""
def content_hash(resource: dict[str, Any]) -> str:
    """Canonical hash of a resource: sorted keys, without server-managed ``meta`` members."""
    meta = resource.get("meta")
    if meta:
        kept = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated", "source")}
        resource = {**resource, "meta": kept} if kept else {
            k: v for k, v in resource.items() if k != "meta"}
    return digest(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS))


@dataclass
class StoredResource:
    """What the state store knows of one resource."""

    rtype: str
    rid: str
    mapping: str
    key_hash: str
    content_hash: str | None
    version: str | None
    status: str


def _private_sqlite(url: str) -> None:
    """An SQLite store file is created 0600 before SQLite opens it (it holds payloads)."""
    from pathlib import Path

    from migrate.files import private_file

    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not str(parsed.database).startswith("file:"):
        private_file(Path(str(parsed.database)))


class StateStore:
    """The state of one migration (one id namespace, one target)."""

    def __init__(self, url: str) -> None:
        self.url = url
        _private_sqlite(url)
        self.engine = sa.create_engine(url)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        METADATA.create_all(self.engine)
        for index in OUTBOX.indexes:  # create_all adds no index to a table of an older store
            index.create(self.engine, checkfirst=True)
        add_missing_columns(self.engine)  # nor a column
        with self.engine.begin() as conn:
            version = conn.execute(sa.select(META.c.value).where(META.c.key == "schema")).scalar()
            if version is None:
                conn.execute(META.insert().values(key="schema", value=str(SCHEMA_VERSION)))
            elif int(version) != SCHEMA_VERSION:
                raise ConfigError(f"state store {url} has schema version {version}; this "
                                  f"emr-migrate needs {SCHEMA_VERSION}")

    # -- identity ------------------------------------------------------------------------------
    def check_identity(self, fingerprint: str) -> None:
        """Refuse to run when the id namespace differs from the one this state was made with."""
        with self.engine.begin() as conn:
            known = conn.execute(sa.select(META.c.value).where(META.c.key == "identity")).scalar()
            if known is None:
                conn.execute(META.insert().values(key="identity", value=fingerprint))
            elif known != fingerprint:
                raise ConfigError(
                    "the id namespace or source system differs from the one this state store was "
                    "made with: re-running would create new resources instead of updating. Use "
                    "the original identity settings, or a new state store for a new migration.")

    # -- runs ------------------------------------------------------------------------------------
    def start_run(self, kind: str, target: str, pack: PackIdentity | None = None) -> int:
        """Record a run (and the mapping pack it runs, when given); returns its id. The target
        is recorded with its credentials masked (`migrate.redact`): a URL may carry them."""
        packed = ({"pack": pack.name, "pack_version": pack.version, "pack_source": pack.source}
                  if pack else {})
        with self.engine.begin() as conn:
            res = conn.execute(RUNS.insert().values(kind=kind, status="running",
                                                    started=time.time(),
                                                    target=redact_url(target),
                                                    **packed))
            return int(res.inserted_primary_key[0])

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any]) -> None:
        """Close a run with its outcome and counts."""
        with self.engine.begin() as conn:
            conn.execute(RUNS.update().where(RUNS.c.run_id == run_id).values(
                status=status, finished=time.time(), counts=orjson.dumps(counts).decode()))

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last runs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(RUNS).order_by(RUNS.c.run_id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    # -- resources and rows ----------------------------------------------------------------
    def resources_of(self, mapping: str | None = None,
                     status: str | None = "live") -> Iterator[StoredResource]:
        """Known resources, optionally of one mapping and status."""
        q = sa.select(RESOURCES)
        if mapping is not None:
            q = q.where(RESOURCES.c.mapping == mapping)
        if status is not None:
            q = q.where(RESOURCES.c.status == status)
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                yield StoredResource(r.rtype, r.rid, r.mapping, r.key_hash, r.content_hash,
                                     r.version, r.status)

    def lookup(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResource]:
        """Stored state of the given (type, id) pairs."""
        with self.engine.connect() as conn:
            return {(r[0], r[1]): StoredResource(*r) for r in self._rows_of(
                conn, "rtype, rid, mapping, key_hash, content_hash, version, status", keys)}

    def _rows_of(self, conn: Any, columns: str, keys: Iterable[tuple[str, str]]
                 ) -> Iterator[Any]:
        """``columns`` of the stored resources among ``keys`` (type, id), by primary key.

        One query per type and ``_IN_SIZE`` ids, ``rtype = ? AND rid IN (...)``: a row-value
        ``(rtype, rid) IN (...)`` makes SQLite scan the whole table for every list.
        """
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, rids in by_type.items():
            yield from self._select_in(
                conn, f"SELECT {columns} FROM {RESOURCES.name} WHERE rtype = ? AND rid",
                (rtype,), rids)

    def _select_in(self, conn: Any, sql: str, lead: tuple[Any, ...], values: list[str]
                   ) -> Iterator[Any]:
        """Rows of ``sql`` (ending in ``... = ? AND column``) completed with ``IN (...)`` over
        ``values``, ``_IN_SIZE`` at a time; ``lead`` fills the ``?`` before the list."""
        for i in range(0, len(values), _IN_SIZE):
            part = values[i:i + _IN_SIZE]
            in_list = f"{sql} IN ({', '.join('?' * len(part))})"
            yield from conn.exec_driver_sql(self._sql(in_list), (*lead, *part))

    def touch(self, run_id: int, seen: list[tuple[str, str, str, str]],
              rows: list[tuple[str, str, str]]) -> None:
        """Mark resources (type, id, mapping, key_hash) and rows (mapping, key, hash) as seen."""
        with self.engine.begin() as conn:
            self._touch(conn, run_id, seen, rows)

    def plan(self, run_id: int, seen: list[tuple[str, str, str, str]],
             settled: list[tuple[str, str, str]], staged: list[tuple[str, str, str]],
             writes: list[dict[str, Any]]) -> None:
        """Record one flush of a sync, in one transaction: resources (type, id, mapping, key
        hash) seen; the hash of rows (mapping, key hash, row hash) that need no write
        (``settled``); the ``writes`` queued; and the hash of the rows they come from
        (``staged``), recorded only when the last of their writes is acknowledged
        (`record_writes`). Until then such a row's hash is "": any later sync maps it again."""
        with self.engine.begin() as conn:
            self._touch(conn, run_id, seen, settled + [(m, k, "") for m, k, _ in staged])
            if staged:
                self._many(conn, f"DELETE FROM {STAGED_ROWS.name} WHERE mapping = ? AND "
                           "key_hash = ?", [(m, k) for m, k, _ in staged])
                self._many(conn, f"INSERT INTO {STAGED_ROWS.name} (mapping, key_hash, row_hash, "
                           "run_id) VALUES (?, ?, ?, ?)", [(*r, run_id) for r in staged])
            self.enqueue(run_id, writes, conn)

    def _touch(self, conn: Any, run_id: int, seen: list[tuple[str, str, str, str]],
               rows: list[tuple[str, str, str]]) -> None:
        if seen:
            self._many(conn, f"UPDATE {RESOURCES.name} SET last_run = ?, mapping = ?, "
                       "key_hash = ? WHERE rtype = ? AND rid = ?",
                       [(run_id, m, k, t, i) for t, i, m, k in seen])
        if rows:
            self._upsert_rows(conn, run_id, rows)

    def _settle(self, conn: Any, rows: set[tuple[str, str]]) -> None:
        """Record the staged hash of each of these rows (mapping, key hash) that has no write
        left pending: every write of the row is acknowledged."""
        idle = (f"NOT EXISTS (SELECT 1 FROM {OUTBOX.name} o WHERE o.mapping = ? AND "
                "o.key_hash = ? AND o.state = 'pending')")
        staged = (f"SELECT s.row_hash FROM {STAGED_ROWS.name} s WHERE s.mapping = ? "
                  "AND s.key_hash = ?")
        self._many(conn, f"UPDATE {SOURCE_ROWS.name} SET row_hash = ({staged}) WHERE mapping = ? "
                   f"AND key_hash = ? AND EXISTS ({staged}) AND {idle}", [r * 4 for r in rows])
        self._many(conn, f"DELETE FROM {STAGED_ROWS.name} WHERE mapping = ? AND key_hash = ? "
                   f"AND {idle}", [r * 2 for r in rows])

    def forget_rows(self, conn: Any, rows: list[tuple[str, str]]) -> None:
        """Rows (mapping, key hash) to map again on the next sync: their resources did not
        land, or were deleted or retired (a row that comes back is sent again)."""
        if rows:
            self._many(conn, f"UPDATE {SOURCE_ROWS.name} SET row_hash = '' WHERE mapping = ? "
                       "AND key_hash = ? AND row_hash <> ''", rows)
            self._many(conn, f"DELETE FROM {STAGED_ROWS.name} WHERE mapping = ? AND "
                       "key_hash = ?", rows)

    def forget_deleted_rows(self) -> None:
        """Once per store: rows whose resources a sync deleted are mapped again if they come
        back (repairs a store written before rows were forgotten at their delete)."""
        with self.engine.begin() as conn:
            if conn.execute(sa.select(META.c.value).where(META.c.key == _REPAIRED)).scalar():
                return
            rows = conn.exec_driver_sql(self._sql(
                f"SELECT DISTINCT mapping, key_hash FROM {RESOURCES.name} "
                "WHERE status = 'deleted'")).all()
            self.forget_rows(conn, [tuple(r) for r in rows])
            conn.execute(META.insert().values(key=_REPAIRED, value="1"))

    def row_hashes(self, mapping: str, keys: list[str], conn: Any = None) -> dict[str, str]:
        """The recorded row hash of each of these rows (key hashes) the store knows."""
        if conn is None:
            with self.engine.connect() as own:
                return self.row_hashes(mapping, keys, own)
        return dict(self._select_in(
            conn, f"SELECT key_hash, row_hash FROM {SOURCE_ROWS.name} WHERE mapping = ? "
            "AND key_hash", (mapping,), keys))

    def all_row_hashes(self, mapping: str) -> Iterator[tuple[list[str], list[str]]]:
        """Every recorded (key hash, row hash) of a mapping, as two lists a part."""
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(self._sql(
                f"SELECT key_hash, row_hash FROM {SOURCE_ROWS.name} WHERE mapping = ?"),
                (mapping,))
            for part in result.partitions(100_000):
                keys, hashes = zip(*part, strict=True)
                yield list(keys), list(hashes)

    def live_resources_before(self, mapping: str, run_id: int, reread_only: bool = False
                              ) -> Iterator[list[StoredResource]]:
        """Live resources of a mapping no write of run ``run_id`` touched, in parts; with
        ``reread_only``, only those whose source row that run recorded again."""
        sql = (f"SELECT rtype, rid, mapping, key_hash, content_hash, version, status "
               f"FROM {RESOURCES.name} WHERE mapping = ? AND status = 'live' AND last_run < ?")
        params: tuple[Any, ...] = (mapping, run_id)
        if reread_only:
            sql += (f" AND key_hash IN (SELECT key_hash FROM {SOURCE_ROWS.name} "
                    "WHERE mapping = ? AND last_run = ?)")
            params += (mapping, run_id)
        with self.engine.connect() as conn:
            for part in conn.exec_driver_sql(self._sql(sql), params).partitions(20_000):
                yield [StoredResource(*r) for r in part]

    def live_row_keys_before(self, run_id: int) -> Iterator[tuple[list[str], list[str]]]:
        """(mapping, key hash) of every live resource no write of run ``run_id`` touched, as
        two lists a part: one pass over the table for all mappings, two short columns a row
        (the delete check then fetches the few whose rows are gone, `live_resources_of_rows`)."""
        sql = (f"SELECT mapping, key_hash FROM {RESOURCES.name} "
               "WHERE status = 'live' AND last_run < ?")
        with self.engine.connect() as conn:
            for part in conn.exec_driver_sql(self._sql(sql), (run_id,)).partitions(100_000):
                mappings, keys = zip(*part, strict=True)
                yield list(mappings), list(keys)

    def live_resources_of_rows(self, mapping: str, key_hashes: list[str], run_id: int
                               ) -> list[StoredResource]:
        """The live resources of these rows (key hashes) no write of run ``run_id`` touched."""
        sql = (f"SELECT rtype, rid, mapping, key_hash, content_hash, version, status "
               f"FROM {RESOURCES.name} WHERE last_run < ? AND status = 'live' AND mapping = ? "
               "AND key_hash")
        with self.engine.connect() as conn:
            return [StoredResource(*r) for r in self._select_in(
                conn, sql, (run_id, mapping), list(dict.fromkeys(key_hashes)))]

    def _upsert_rows(self, conn: Any, run_id: int, rows: list[tuple[str, str, str]]) -> None:
        """Record row hashes in bulk: update the known rows, insert the new ones."""
        by_mapping: dict[str, list[str]] = {}
        for mapping, key, _ in rows:
            by_mapping.setdefault(mapping, []).append(key)
        known = {(mapping, k) for mapping, keys in by_mapping.items()
                 for k in self.row_hashes(mapping, keys, conn)}
        old = [(h, run_id, m, k) for m, k, h in rows if (m, k) in known]
        new = {(m, k): h for m, k, h in rows if (m, k) not in known}
        if old:
            self._many(conn, f"UPDATE {SOURCE_ROWS.name} SET row_hash = ?, last_run = ? "
                       "WHERE mapping = ? AND key_hash = ?", old)
        if new:
            self._many(conn, f"INSERT INTO {SOURCE_ROWS.name} (mapping, key_hash, row_hash, "
                       "last_run) VALUES (?, ?, ?, ?)",
                       [(m, k, h, run_id) for (m, k), h in new.items()])

    def _many(self, conn: Any, sql: str, params: list[tuple[Any, ...]]) -> None:
        """One statement over many parameter rows, straight to the driver: bulk state updates
        of a re-sync run at the database's speed, not at per-row statement compiling."""
        conn.exec_driver_sql(self._sql(sql), params)

    def _sql(self, sql: str) -> str:
        """``?`` placeholders in the driver's own style (qmark, format, numeric)."""
        style = self.engine.dialect.paramstyle
        if style == "qmark":
            return sql
        if style in ("format", "pyformat"):
            return sql.replace("%", "%%").replace("?", "%s")
        parts = sql.split("?")  # numeric: :1, :2, ...
        return "".join(f"{p}:{n}" for n, p in enumerate(parts[:-1], 1)) + parts[-1]

    def record_write(self, conn: Any, rtype: str, rid: str, mapping: str, key_hash: str,
                     chash: str | None, version: str | None, status: str, run_id: int) -> None:
        """Record an acknowledged write (inside the caller's transaction)."""
        self.record_writes(conn, run_id,
                           [(rtype, rid, mapping, key_hash, chash, version, status)], [])

    def record_writes(self, conn: Any, run_id: int,
                      writes: list[tuple[str, str, str, str, str | None, str | None, str]],
                      done: list[int]) -> None:
        """Record many acknowledged writes (type, id, mapping, key_hash, content hash, version,
        status) and remove their outbox entries (``done``: seq numbers), in bulk, inside the
        caller's transaction."""
        latest = {(w[0], w[1]): w for w in writes}  # the last write of a resource wins
        known = {(t, i) for t, i in self._rows_of(conn, "rtype, rid", latest)}
        old = [(m, k, c, v, st, run_id, t, i) for (t, i), (_, _, m, k, c, v, st) in latest.items()
               if (t, i) in known]
        new = [(t, i, m, k, c, v, st, run_id) for (t, i), (_, _, m, k, c, v, st) in latest.items()
               if (t, i) not in known]
        if old:
            self._many(conn, f"UPDATE {RESOURCES.name} SET mapping = ?, key_hash = ?, "
                       "content_hash = ?, version = ?, status = ?, last_run = ? "
                       "WHERE rtype = ? AND rid = ?", old)
        if new:
            self._many(conn, f"INSERT INTO {RESOURCES.name} (rtype, rid, mapping, key_hash, "
                       "content_hash, version, status, last_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       new)
        if done:
            # Done entries leave the outbox: it holds what is still to send (and the dead and
            # conflicting entries), so reading the next bundle never wades through history.
            self._many(conn, f"DELETE FROM {OUTBOX.name} WHERE seq = ?", [(seq,) for seq in done])
        rows = {(m, k) for _, _, m, k, _, _, st in writes if m and k and st == "live"}
        if rows:
            self._settle(conn, rows)

    # -- watermarks ----------------------------------------------------------------------------
    def watermark(self, mapping: str) -> str | None:
        """The committed watermark of a mapping."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(WATERMARKS.c.committed)
                                .where(WATERMARKS.c.mapping == mapping)).scalar()

    def set_pending_watermark(self, mapping: str, column: str, value: str | None,
                              run_id: int) -> None:
        """Remember the watermark a run reached; committed only once its writes are acked."""
        with self.engine.begin() as conn:
            _upsert(conn, WATERMARKS, {"mapping": mapping},
                    {"column": column, "pending": value, "pending_run": run_id})

    def commit_watermarks(self, run_id: int) -> None:
        """Promote the pending watermarks of a run whose writes are all acknowledged; a mapping
        with a write of that run refused (a dead letter) keeps its old watermark, so its rows
        are read again."""
        refused = sa.select(OUTBOX.c.mapping).where(OUTBOX.c.run_id == run_id,
                                                    OUTBOX.c.state.in_(("pending", "dead")),
                                                    OUTBOX.c.mapping.is_not(None))
        with self.engine.begin() as conn:
            conn.execute(WATERMARKS.update().where(WATERMARKS.c.pending_run == run_id,
                                                   WATERMARKS.c.pending.is_not(None),
                                                   WATERMARKS.c.mapping.not_in(refused))
                         .values(committed=WATERMARKS.c.pending, pending=None))

    # -- table reads ---------------------------------------------------------------------------
    def table_reads(self) -> dict[str, tuple[int, int]]:
        """Per mapping: rows read and quarantined by the sync its quarantine rate is held to."""
        with self.engine.connect() as conn:
            return {m: (r, q) for m, r, q in conn.execute(sa.select(
                TABLE_READS.c.mapping, TABLE_READS.c.read, TABLE_READS.c.quarantined))}

    def record_table_reads(self, run_id: int, reads: dict[str, tuple[int, int]]) -> None:
        """Record rows read and quarantined per mapping (the new baselines)."""
        with self.engine.begin() as conn:
            for mapping, (read, quarantined) in reads.items():
                _upsert(conn, TABLE_READS, {"mapping": mapping},
                        {"read": read, "quarantined": quarantined, "run_id": run_id})

    # -- outbox, dead letters, conflicts -------------------------------------------------------
    def enqueue(self, run_id: int, writes: list[dict[str, Any]], conn: Any = None) -> None:
        """Persist planned writes before any is sent (the resume point), in the caller's
        transaction when given."""
        if writes and conn is None:
            with self.engine.begin() as own:
                self.enqueue(run_id, writes, own)
        elif writes:
            conn.execute(OUTBOX.insert(), [{**w, "run_id": run_id, "state": "pending"}
                                           for w in writes])

    def pending(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Writes not yet acknowledged, oldest first."""
        q = sa.select(OUTBOX).where(OUTBOX.c.state == "pending").order_by(OUTBOX.c.seq)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        """Pending writes, open dead letters and unresolved conflicts."""
        with self.engine.connect() as conn:
            def n(q: Any) -> int:
                return int(conn.execute(q).scalar() or 0)
            return {
                "pending_writes": n(sa.select(sa.func.count()).select_from(OUTBOX)
                                    .where(OUTBOX.c.state == "pending")),
                "dead_letters": n(sa.select(sa.func.count()).select_from(DEAD_LETTERS)),
                "conflicts": n(sa.select(sa.func.count()).select_from(CONFLICTS)
                               .where(CONFLICTS.c.resolved.is_(False))),
                "resources_live": n(sa.select(sa.func.count()).select_from(RESOURCES)
                                    .where(RESOURCES.c.status == "live")),
            }

    def conflicts(self) -> list[dict[str, Any]]:
        """Unresolved conflicts."""
        with self.engine.connect() as conn:
            q = sa.select(CONFLICTS).where(CONFLICTS.c.resolved.is_(False))
            return [dict(r._mapping) for r in conn.execute(q)]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(DEAD_LETTERS))]


def _upsert(conn: Any, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    cond = [table.c[k] == v for k, v in key.items()]
    res = conn.execute(table.update().where(*cond).values(**values))
    if res.rowcount == 0:
        conn.execute(table.insert().values(**key, **values))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
