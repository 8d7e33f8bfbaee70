"""`emr-migrate run` to a FHIR server writes into the record that `sync` keeps.

A `run` overwrites every resource it emits (``PUT Type/id``, no ``If-Match``), and the server
gives each a new version. Without a note of that, the next `sync` cannot tell the run's writes
from clinicians' edits: false conflicts (issue 16, case 9). So a run to a FHIR server opens the
project's state store (the default ``OUT/state.sqlite``, as `sync` does), checks the id
namespace against it, and notes the content hash of every resource as it sends it
(``sent_by_run``). That note is never taken for a delivery (the sync's own record of
acknowledged writes is untouched); it only lets a sync recognise, after a ``412``, that the
content the target holds is content we produced (`migrate.sync.conflicts.own_content`).

A resource a run sent that no sync has written yet (the first sync after a `run`) is not
created blindly either: its ``PUT`` carries ``If-Match`` on `UNKNOWN_VERSION`, a version no
server gives (they count from 1), so the server answers ``412`` and the writer compares what it
holds: our content (sent by the run, or what this sync sends) is taken over; anything else is a
clinician's edit made since the run, a conflict; nothing there (the run's write never landed)
is created. That costs one read per such resource, once.
"""

from __future__ import annotations

from typing import Any

from migrate.state import SENT_BY_RUN, StateStore

UNKNOWN_VERSION = "0"
"""``If-Match`` of a write whose resource a `run` may have written at a version we never saw."""


def guard_run_writes(store: StateStore, writes: list[dict[str, Any]]) -> None:
    """Give the planned writes without ``If-Match`` whose resource a `run` sent the
    `UNKNOWN_VERSION` (in place), so none overwrites an edit made since that run."""
    blind = {(w["rtype"], w["rid"]): w for w in writes
             if w["if_match"] is None and w["method"] == "PUT"}
    if not blind:
        return
    by_type: dict[str, list[str]] = {}
    for rtype, rid in blind:
        by_type.setdefault(rtype, []).append(rid)
    with store.engine.connect() as conn:
        for rtype, rids in by_type.items():
            for (rid,) in store._select_in(conn, f"SELECT rid FROM {SENT_BY_RUN.name} WHERE "
                                           "rtype = ? AND rid", (rtype,), rids):
                blind[(rtype, rid)]["if_match"] = UNKNOWN_VERSION


def sent_hash(conn: Any, rtype: str, rid: str) -> str | None:
    """The content hash a `run` last sent for this resource, if any (caller's ``conn``)."""
    import sqlalchemy as sa

    return conn.execute(sa.select(SENT_BY_RUN.c.content_hash).where(
        SENT_BY_RUN.c.rtype == rtype, SENT_BY_RUN.c.rid == rid)).scalar()
