"""A private on-disk spool of the rows read from every document, deduplicated by (table, key).

Documents are read once, one at a time; their rows go to an SQLite file so that memory stays
flat in the number of documents and each table can then be read in first-seen order. A row
seen again (same table and key, from another document) keeps its first place; its values
become those of the latest document (``rank``: the document's effective time, then its place
in the file order), and ``documents`` counts the distinct documents holding it.

The spool lives in a folder made by `tempfile.mkdtemp` (mode 0700) as a file of mode 0600, and
both are removed by `Spool.close` (or, failing that, when the object is collected).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from migrate.outcomes import RejectedRow

_SCHEMA = """
CREATE TABLE rows (tbl TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
                   rank TEXT NOT NULL, doc INTEGER NOT NULL, docs INTEGER NOT NULL,
                   ref TEXT, vals TEXT NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
CREATE INDEX rows_order ON rows (tbl, seq);
CREATE TABLE rejects (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, line INTEGER,
                      message TEXT NOT NULL, raw TEXT);
CREATE INDEX rejects_tbl ON rejects (tbl, seq);
CREATE TABLE seen (sha TEXT PRIMARY KEY) WITHOUT ROWID;
"""
# A row met again: it keeps its place (seq); met again in the same document (one fact
# stated twice, e.g. in Medications and Medications Administered), the values of both are
# kept, the later's where both have one (vals hold no nulls); from another document, the
# later-ranked document's values win; a document not counted yet for it adds one to
# ``docs`` (all right-hand sides read the old row).
_UPSERT = """
INSERT INTO rows (tbl, key, seq, rank, doc, docs, ref, vals) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (tbl, key) DO UPDATE SET
  docs = docs + (doc != excluded.doc),
  vals = CASE WHEN excluded.doc = doc THEN json_patch(vals, excluded.vals)
              WHEN excluded.rank >= rank THEN excluded.vals ELSE vals END,
  ref = CASE WHEN excluded.rank >= rank THEN excluded.ref ELSE ref END,
  rank = max(rank, excluded.rank),
  doc = excluded.doc
"""


class SpooledRow(NamedTuple):
    """A row as spooled: its key, values, the number of documents holding it, and (for a
    document row) where its file can be read again."""

    key: str
    values: dict[str, Any]
    documents: int
    ref: str | None


class Spool:
    """The rows and rejects of one source, on disk in a private temporary folder."""

    def __init__(self, parent: str | Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="emr-migrate-ccda-", dir=parent))
        path = self.folder / "spool.sqlite"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(path, isolation_level=None)
        self._finalizer = weakref.finalize(self, _remove, self.db, self.folder)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self.db.execute("BEGIN")
        self._seq = 0
        self._added: Counter[str] = Counter()  # occurrences offered per table

    def first_time(self, sha256: str) -> bool:
        """True the first time a document's SHA-256 is offered (False: a byte-identical
        duplicate of one offered before)."""
        cur = self.db.execute("INSERT OR IGNORE INTO seen (sha) VALUES (?)", (sha256,))
        return cur.rowcount == 1

    def add(self, table: str, key: str, values: dict[str, Any], rank: str, doc: int,
            ref: str | None = None) -> None:
        """Spool one row of ``table`` read from document number ``doc`` (ranked ``rank``);
        ``ref`` is where a document row's file can be read again."""
        self._seq += 1
        self._added[table] += 1
        present = {c: v for c, v in values.items() if v is not None}  # absent = None
        self.db.execute(_UPSERT, (table, key, self._seq, rank, doc, ref,
                                  orjson.dumps(present).decode()))

    def reject(self, table: str, line: int | None, message: str, raw: str | None) -> None:
        """Spool a document or entry of ``table`` set aside, with why."""
        self.db.execute("INSERT INTO rejects (tbl, line, message, raw) VALUES (?, ?, ?, ?)",
                        (table, line, message, raw))

    def commit(self) -> None:
        """Make what was spooled so far readable (ends the write transaction)."""
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def count(self, table: str) -> tuple[int, int]:
        """(rows, rejects) of ``table``."""
        rows = self.db.execute("SELECT count(*) FROM rows WHERE tbl = ?", (table,)).fetchone()
        bad = self.db.execute("SELECT count(*) FROM rejects WHERE tbl = ?",
                              (table,)).fetchone()
        return int(rows[0]), int(bad[0])

    def rows(self, table: str, size: int) -> Iterator[list[SpooledRow]]:
        """The rows of ``table`` in first-seen order, ``size`` at a time."""
        cur = self.db.execute("SELECT key, vals, docs, ref FROM rows WHERE tbl = ? "
                              "ORDER BY seq", (table,))
        while part := cur.fetchmany(size):
            yield [SpooledRow(k, orjson.loads(v), int(d), r) for k, v, d, r in part]

    def values(self, table: str, key: str) -> dict[str, Any] | None:
        """The spooled values of one row (the latest document's), or None."""
        got = self.db.execute("SELECT vals FROM rows WHERE tbl = ? AND key = ?",
                              (table, key)).fetchone()
        return orjson.loads(got[0]) if got else None

    def rejects(self, table: str) -> Iterator[RejectedRow]:
        """The documents or entries of ``table`` set aside, in the order they were met."""
        cur = self.db.execute("SELECT line, message, raw FROM rejects WHERE tbl = ? "
                              "ORDER BY seq", (table,))
        for line, message, raw in cur:
            yield RejectedRow(line, message, raw)

    def merged(self) -> dict[str, int]:
        """Per table: row occurrences folded into a row read before, from another document
        or from the same one (occurrences added minus rows kept), tables with none left
        out."""
        cur = self.db.execute("SELECT tbl, count(*) FROM rows GROUP BY tbl")
        rows = {t: int(n) for t, n in cur}
        return {t: n - rows.get(t, 0) for t, n in sorted(self._added.items())
                if n > rows.get(t, 0)}

    def patients(self) -> dict[str, int]:
        """Patient groups: how many, the most documents one patient is in, and how many
        identifiers (root and extension) are shared by more than one person."""
        groups, most = self.db.execute(
            "SELECT count(*), coalesce(max(docs), 0) FROM rows WHERE tbl = 'patients'"
        ).fetchone()
        shared = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM rows WHERE tbl = 'patients' AND "
            "json_extract(vals, '$.id_root') IS NOT NULL GROUP BY json_extract(vals, "
            "'$.id_root'), json_extract(vals, '$.id_extension') HAVING count(*) > 1)"
        ).fetchone()[0]
        return {"groups": int(groups), "documents_per_patient_max": int(most),
                "same_id_other_person": int(shared)}

    def close(self) -> None:
        """Close the database and remove the spool folder with everything in it."""
        self._finalizer()


def _remove(db: sqlite3.Connection, folder: Path) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
