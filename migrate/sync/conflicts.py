"""Conflicts: telling our own content from a clinician's edit, listing and resolving them.

A ``412`` to an update with ``If-Match`` says the target's version moved on since the one the
state store recorded. That alone does not mean someone edited the resource: an ``emr-migrate
run`` to the same target writes a new version of every resource (sekmet, like many servers,
makes a new version even for an identical PUT), and a crash can lose an acknowledgement. So the
writer reads the resource and compares its content (server-set ``meta`` ignored, the same
`content_hash` the store keeps) with what we know to be ours:

* equal to what this write sends: our own write, acknowledged late (`ACKNOWLEDGED`);
* equal to what a sync last wrote, or to what an `emr-migrate run` last sent
  (`migrate.sync.runrecord`): nobody changed it, only its version moved; the server's version
  is adopted and the same write is sent again with ``If-Match`` on it (`ADOPTED`);
* nothing, after a write with ``If-Match`` on `UNKNOWN_VERSION` (a resource a `run` sent that
  no sync wrote yet): the run's write never landed; it is sent again as a create (`CREATE`);
* anything else is a real conflict, kept for review.

Both equalities are of whole content: a resource that differs in any element from what we
wrote is never taken for ours, so no edit made on the target is overwritten by this rule.

Open conflicts count against a sync (exit code 6) until resolved: ``take-source`` (the next
sync overwrites the target, with ``If-Match`` on the version seen in the conflict),
``keep-target`` (the target's version is accepted as ours; nothing is sent until the source
row changes again), ``reviewed`` (left as it is and held, no longer reported), or ``overwritten``
(a write of the resource landed: ``sync --force``). Listings carry keys, hashes, versions and
times, never the resources themselves (no PHI).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from migrate.errors import ConfigError
from migrate.state import (
    CONFLICT_RESOLUTIONS,
    CONFLICTS,
    OUTBOX,
    RESOURCES,
    SOURCE_ROWS,
    StateStore,
    content_hash,
)
from migrate.sync.runrecord import UNKNOWN_VERSION, sent_hash

ACKNOWLEDGED = "acknowledged"
ADOPTED = "adopted"
CREATE = "recreated"
RESOLUTIONS = ("take-source", "keep-target", "reviewed")
"""What a person can decide; ``overwritten`` is recorded by the writer itself."""


@dataclass
class ConflictInfo:
    """One conflict as listed: keys and versions only, no resource content."""

    id: int
    rtype: str
    rid: str
    mapping: str | None
    key_hash: str | None
    run_id: int | None
    created: float | None
    expected_version: str | None
    actual_version: str | None
    resolution: str | None = None
    resolved_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def own_content(store: StateStore, conn: Any, run_id: int, w: dict[str, Any],
                current: dict[str, Any] | None) -> str | None:
    """After a 412 on outbox write ``w``: `ACKNOWLEDGED`, `ADOPTED` or `CREATE` (recorded
    inside the caller's transaction ``conn``) when the target holds our own content or, for
    a resource a run may have written, nothing; else None (a conflict)."""
    if current is None:
        if w["if_match"] != UNKNOWN_VERSION:
            return None
        # A run's write that never landed (or was deleted since): a create, as planned.
        conn.execute(OUTBOX.update().where(OUTBOX.c.seq == w["seq"]).values(if_match=None))
        return CREATE
    version = (current.get("meta") or {}).get("versionId")
    held = content_hash(current)
    if w["payload"] and held == content_hash(orjson.loads(w["payload"])):
        store.record_writes(conn, run_id, [(w["rtype"], w["rid"], w["mapping"], w["key_hash"],
                                            w["content_hash"], version, "live")], [w["seq"]])
        return ACKNOWLEDGED
    last = conn.execute(sa.select(RESOURCES.c.content_hash, RESOURCES.c.status).where(
        RESOURCES.c.rtype == w["rtype"], RESOURCES.c.rid == w["rid"])).first()
    ours = {sent_hash(conn, w["rtype"], w["rid"])}  # what a `run` sent
    if last is not None and last.status == "live":
        ours.add(last.content_hash)  # what a sync wrote
    # A version equal to the one refused would loop: only a version that moved is adopted.
    if held not in ours - {None} or version is None or str(version) == str(w["if_match"]):
        return None
    conn.execute(RESOURCES.update().where(RESOURCES.c.rtype == w["rtype"],
                                          RESOURCES.c.rid == w["rid"])
                 .values(version=version, content_hash=held))
    conn.execute(OUTBOX.update().where(OUTBOX.c.seq == w["seq"]).values(if_match=version))
    return ADOPTED


def open_conflict_keys(store: StateStore) -> set[tuple[str, str]]:
    """(type, id) of every resource with an open conflict (few: read once per sync)."""
    with store.engine.connect() as conn:
        return {(r.rtype, r.rid) for r in conn.execute(
            sa.select(CONFLICTS.c.rtype, CONFLICTS.c.rid).where(CONFLICTS.c.resolved.is_(False)))}


def close_overwritten(conn: Any, open_keys: set[tuple[str, str]],
                      written: list[tuple[Any, ...]]) -> None:
    """Resolve, as ``overwritten``, the open conflicts of resources whose write just landed
    (``written``: (type, id, ...) tuples), inside the caller's transaction."""
    for rtype, rid in {(w[0], w[1]) for w in written} & open_keys:
        ids = [r.id for r in conn.execute(sa.select(CONFLICTS.c.id).where(
            CONFLICTS.c.rtype == rtype, CONFLICTS.c.rid == rid,
            CONFLICTS.c.resolved.is_(False)))]
        _mark(conn, ids, "overwritten")
        open_keys.discard((rtype, rid))


def list_conflicts(store: StateStore, *, include_resolved: bool = False) -> list[ConflictInfo]:
    """Conflicts, oldest first, with the mapping and row key hash of their resource."""
    c, r, x = CONFLICTS, RESOURCES, CONFLICT_RESOLUTIONS
    q = (sa.select(c.c.id, c.c.rtype, c.c.rid, r.c.mapping, r.c.key_hash, c.c.run_id,
                   c.c.created, c.c.expected_version, c.c.actual_version, x.c.resolution,
                   x.c.resolved_at)
         .select_from(c.outerjoin(r, sa.and_(r.c.rtype == c.c.rtype, r.c.rid == c.c.rid))
                      .outerjoin(x, x.c.conflict_id == c.c.id))
         .order_by(c.c.id))
    if not include_resolved:
        q = q.where(c.c.resolved.is_(False))
    with store.engine.connect() as conn:
        return [ConflictInfo(*row) for row in conn.execute(q)]


def resolve(store: StateStore, which: str, how: str) -> list[ConflictInfo]:
    """Resolve the conflicts ``which`` names (a conflict number, ``Type/id``, or ``all``) as
    ``how`` (one of `RESOLUTIONS`); returns them. Open ones, and reviewed ones (their resource
    is still held: a decision can follow); none: `ConfigError`."""
    if how not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution {how!r}; choose one of {', '.join(RESOLUTIONS)}")
    chosen = [c for c in list_conflicts(store, include_resolved=True)
              if c.resolution in (None, "reviewed") and _selected(c, which)]
    if not chosen:
        raise ConfigError(f"no open or reviewed conflict matches {which!r}: give a conflict "
                          "number or Type/id from `emr-migrate conflicts --all`, or all")
    with store.engine.begin() as conn:
        for c in chosen:
            ours = conn.execute(sa.select(CONFLICTS.c.ours).where(CONFLICTS.c.id == c.id)
                                ).scalar()
            _apply(conn, c, how, ours)
        _mark(conn, [c.id for c in chosen], how)
    return chosen


def _selected(c: ConflictInfo, which: str) -> bool:
    return which == "all" or which == str(c.id) or which == f"{c.rtype}/{c.rid}"


def _apply(conn: Any, c: ConflictInfo, how: str, ours: bytes | None) -> None:
    """Set the stored state of a conflict's resource so the next sync does what ``how`` says.

    ``take-source``: the resource is ours again at the target's version with no known content,
    so the next sync sends the source with ``If-Match`` on that version (a newer edit is a new
    conflict). ``keep-target``: the target's version stands for what the source gives now, so
    nothing is sent until the row changes. ``reviewed``: left held (``conflict``). The row is
    mapped again on the next sync either way (its hash forgotten)."""
    if how == "reviewed":
        return
    if how == "take-source":
        values = {"status": "live" if c.actual_version else "deleted", "content_hash": None}
    else:
        values = {"status": "live" if ours else "deleted",
                  "content_hash": content_hash(orjson.loads(ours)) if ours else None}
    conn.execute(RESOURCES.update().where(RESOURCES.c.rtype == c.rtype,
                                          RESOURCES.c.rid == c.rid)
                 .values(version=c.actual_version, **values))
    if c.mapping and c.key_hash:
        conn.execute(SOURCE_ROWS.update().where(SOURCE_ROWS.c.mapping == c.mapping,
                                                SOURCE_ROWS.c.key_hash == c.key_hash)
                     .values(row_hash=""))


def _mark(conn: Any, ids: list[int], how: str) -> None:
    """Close conflicts ``ids`` with their resolution and its time."""
    if not ids:
        return
    now = time.time()
    conn.execute(CONFLICTS.update().where(CONFLICTS.c.id.in_(ids)).values(resolved=True))
    conn.execute(CONFLICT_RESOLUTIONS.delete().where(CONFLICT_RESOLUTIONS.c.conflict_id.in_(ids)))
    conn.execute(CONFLICT_RESOLUTIONS.insert(),
                 [{"conflict_id": i, "resolution": how, "resolved_at": now} for i in ids])
