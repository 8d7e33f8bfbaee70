"""The state store's tables (SQLAlchemy Core), kept apart from the store's queries.

Tables:
    meta         schema version, id-namespace fingerprint
    runs         one row per sync run: kind, status, times, counts, and the mapping pack it
                 ran (name, version, source); the pack columns are added to an older store
                 when it opens (`add_missing_columns`)
    source_rows  per mapping and row key: content hash, last run that saw it; the hash is set
                 only once every write of the row is acknowledged ("" until then)
    staged_rows  row hashes waiting for the acknowledgement of their rows' writes
    resources    per resource id: the row that made it, content hash and server version last
                 written, status (live, deleted, conflict)
    watermarks   per mapping: committed and pending values of its change column
    outbox       writes planned but not yet acknowledged by the target (resume point)
    table_reads  per mapping: rows read and quarantined by the last sync that deleted (the
                 baseline a later sync's quarantine rate is compared with)
    dead_letters writes the target refused, with its OperationOutcome
    conflicts    updates not applied because the target changed since our last write
    conflict_resolutions  how and when a conflict was closed (take-source, keep-target,
                 reviewed, overwritten); a new table, so older stores simply gain it
    sent_by_run  per resource id: the content hash an `emr-migrate run` to the target last
                 sent (recorded as it is sent; never taken for a delivery, only to recognise
                 our own content after a 412); a new table too
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

METADATA = sa.MetaData()

META = sa.Table("meta", METADATA, sa.Column("key", sa.String(64), primary_key=True),
                sa.Column("value", sa.Text, nullable=False))
RUNS = sa.Table(
    "runs", METADATA, sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started", sa.Float, nullable=False), sa.Column("finished", sa.Float),
    sa.Column("target", sa.Text), sa.Column("counts", sa.Text),
    sa.Column("pack", sa.String(128)), sa.Column("pack_version", sa.String(64)),
    sa.Column("pack_source", sa.Text))


def _row_hashes(name: str, run_column: str) -> sa.Table:
    """One source row's hash per (mapping, key hash), with the run that wrote it: recorded
    (``source_rows``) or staged until its writes are acknowledged (``staged_rows``)."""
    return sa.Table(
        name, METADATA, sa.Column("mapping", sa.String(128), primary_key=True),
        sa.Column("key_hash", sa.String(32), primary_key=True),
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column(run_column, sa.Integer, nullable=False))


SOURCE_ROWS = _row_hashes("source_rows", "last_run")
RESOURCES = sa.Table(
    "resources", METADATA, sa.Column("rtype", sa.String(64), primary_key=True),
    sa.Column("rid", sa.String(64), primary_key=True),
    sa.Column("mapping", sa.String(128), nullable=False),
    sa.Column("key_hash", sa.String(32), nullable=False),
    sa.Column("content_hash", sa.String(32)),
    sa.Column("version", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_run", sa.Integer, nullable=False),
    sa.Index("ix_resources_row", "mapping", "key_hash"))
WATERMARKS = sa.Table(
    "watermarks", METADATA, sa.Column("mapping", sa.String(128), primary_key=True),
    sa.Column("column", sa.String(128), nullable=False), sa.Column("committed", sa.Text),
    sa.Column("pending", sa.Text), sa.Column("pending_run", sa.Integer))
OUTBOX = sa.Table(
    "outbox", METADATA, sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("rtype", sa.String(64), nullable=False),
    sa.Column("rid", sa.String(64), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("if_match", sa.String(64)), sa.Column("payload", sa.LargeBinary),
    sa.Column("content_hash", sa.String(32)),
    sa.Column("mapping", sa.String(128)), sa.Column("key_hash", sa.String(32)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Index("ix_outbox_row", "mapping", "key_hash"))
STAGED_ROWS = _row_hashes("staged_rows", "run_id")
TABLE_READS = sa.Table(
    "table_reads", METADATA, sa.Column("mapping", sa.String(128), primary_key=True),
    sa.Column("read", sa.Integer, nullable=False),
    sa.Column("quarantined", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False))
DEAD_LETTERS = sa.Table(
    "dead_letters", METADATA, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer), sa.Column("rtype", sa.String(64)),
    sa.Column("rid", sa.String(64)), sa.Column("status", sa.Integer),
    sa.Column("outcome", sa.Text), sa.Column("payload", sa.LargeBinary),
    sa.Column("created", sa.Float))
CONFLICTS = sa.Table(
    "conflicts", METADATA, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer), sa.Column("rtype", sa.String(64)),
    sa.Column("rid", sa.String(64)), sa.Column("expected_version", sa.String(64)),
    sa.Column("actual_version", sa.String(64)), sa.Column("ours", sa.LargeBinary),
    sa.Column("theirs", sa.LargeBinary), sa.Column("resolved", sa.Boolean, default=False),
    sa.Column("created", sa.Float))
CONFLICT_RESOLUTIONS = sa.Table(
    "conflict_resolutions", METADATA, sa.Column("conflict_id", sa.Integer, primary_key=True),
    sa.Column("resolution", sa.String(16), nullable=False),
    sa.Column("resolved_at", sa.Float, nullable=False))
SENT_BY_RUN = sa.Table(
    "sent_by_run", METADATA, sa.Column("rtype", sa.String(64), primary_key=True),
    sa.Column("rid", sa.String(64), primary_key=True),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False))

# Columns added to a table after stores were made with it: nullable, so an older store gains
# them (ALTER TABLE ... ADD COLUMN) at the same schema version, its earlier rows NULL.
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"runs": ("pack", "pack_version", "pack_source")}


def add_missing_columns(engine: sa.Engine) -> None:
    """Give an older store the columns of `ADDED_COLUMNS` it lacks."""
    for table, names in ADDED_COLUMNS.items():
        for name in names:
            if name in _columns(engine, table):
                continue
            column = METADATA.tables[table].c[name]
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except DBAPIError:
                if name not in _columns(engine, table):  # else another process added it
                    raise


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}
