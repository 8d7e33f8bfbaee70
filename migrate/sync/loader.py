"""The sync loader: compares what the mappings emit with the state store and plans writes.

It plugs into the ordinary pipeline as its loader. For every emitted resource it decides:
new (PUT), changed (PUT with If-Match), unchanged (nothing is sent), or in conflict (left
alone unless forced). After the last table it works out what disappeared from the source and
applies each mapping's delete policy, behind a circuit breaker.
"""

from __future__ import annotations

from array import array
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa

from migrate.errors import ExitCode, MigrateError
from migrate.loaders.base import Loader, LoaderCapabilities, LoadSummary
from migrate.mappers.pack import CompiledMapping
from migrate.outcomes import EMITTED, QUARANTINED, UNCHANGED, Unit
from migrate.report.model import TableStats
from migrate.stages import key_hash
from migrate.state import RESOURCES, StateStore, StoredResource, content_hash
from migrate.sync.runrecord import guard_run_writes
from migrate.sync.writer import OutboxWriter

FLUSH_EVERY = 2000
"""Planned resources that trigger a flush (their writes are queued and sent)."""
ROWS_EVERY = 50_000
"""Rows mapped that trigger a flush of their hashes to the store."""
READ_AHEAD = 5
"""While the last flush's writes are still being sent, reading goes on up to this many times
the two thresholds above before it waits for them: the server's time and ours overlap, and
what is held in memory stays bounded. Once the writer is idle, any planned write is flushed."""


class DeleteCircuitOpen(MigrateError):
    """A sync would delete more of a resource type than the project allows."""

    exit_code = ExitCode.SYNC_ABORTED


class SyncLoader(Loader):
    """Plans and sends the writes of one sync run."""

    name = "sync"
    capabilities = LoaderCapabilities(row_hashes=True, incremental=True, observes_units=True)

    def __init__(self, store: StateStore, run_id: int, writer: OutboxWriter, *,
                 force: bool = False, confirm_deletes: bool = False,
                 max_delete_share: float = 0.02) -> None:
        self.store, self.run_id, self.writer = store, run_id, writer
        self.force, self.confirm_deletes = force, confirm_deletes
        self.max_delete_share = max_delete_share
        super().__init__()
        self.plan: Counter[str] = Counter()
        self.mappings: dict[str, CompiledMapping] = {}
        self._pending: list[tuple[dict[str, Any], str, str]] = []
        self._rows: list[tuple[str, str, str]] = []
        # Rows that keep what they made without being written (unchanged, or failing today),
        # by mapping: the first 64 bits of their key hashes, 8 bytes a row. Their resources
        # are not touched in the store; the delete check leaves them alone (`_gone`).
        self._kept: dict[str, array[int]] = {}
        self._full_read: set[str] = set()  # mappings whose every row is read this run
        self._known: tuple[str, np.ndarray, np.ndarray] | None = None
        self._marks: dict[str, str] = {}
        # Per mapping: (read complete, why not, rows read, rows quarantined), from the pipeline.
        self._reads: dict[str, tuple[bool, str | None, int, int]] = {}
        self._unkeyed: dict[str, int] = {}  # mapping -> rows read without a key (unparseable)
        self.suspended: dict[str, str] = {}
        """Mappings whose deletes this sync held back, with the reason."""

    def describe(self) -> str:
        """The target URL."""
        return self.writer.url

    # -- pipeline hooks ------------------------------------------------------------------------
    def extract_since(self, m: CompiledMapping) -> tuple[str, str] | None:
        """Changed rows only, for mappings that declare a watermark."""
        sync = m.spec.sync
        if sync.changes != "watermark" or not sync.column:
            self._full_read.add(m.name)
            return None
        committed = self.store.watermark(m.name)
        if committed is None:
            self._full_read.add(m.name)
            return None
        return sync.column, _minus(committed, sync.lag)

    def observe_units(self, m: CompiledMapping, units: list[Unit]) -> None:
        """Every unit of a mapping, whatever its outcome."""
        self.mappings[m.name] = m
        column = m.spec.sync.column if m.spec.sync.changes == "watermark" else None
        kept = self._kept.setdefault(m.name, array("Q"))
        for unit in units:
            khash = key_hash(unit.keys[0])
            if column and unit.source_rows:
                self._mark(m.name, column, unit.source_rows)
            if unit.outcome == EMITTED:
                self._rows.append((m.name, khash, unit.row_hash or ""))
                self._pending.extend((res, m.name, khash) for res in unit.resources)
            elif unit.outcome in (UNCHANGED, QUARANTINED):
                # Unchanged: known to the store with this very hash. Quarantined: a row that
                # fails today keeps what it made before (no delete from bad data).
                if unit.outcome == UNCHANGED:
                    self.plan["unchanged-rows"] += unit.rows
                kept.append(int(khash[:16], 16))  # the value `_prefixes` reads
        idle = self.writer.idle
        # An idle writer takes whatever is planned (the server never waits for a threshold);
        # a busy one gets more only at READ_AHEAD times the thresholds.
        if (idle and self._pending) or self._due(1 if idle else READ_AHEAD):
            self._flush()

    def table_finished(self, mapping: CompiledMapping, stats: TableStats) -> None:
        """How completely a mapping's table was read: its deletes depend on it."""
        self._reads[mapping.name] = (stats.complete, stats.read_problem, stats.read,
                                     sum(stats.quarantined.values()))
        # Rows the reader could not parse have no key, and a key with a stray quote in it is
        # not the row's real one: any row that seems gone may be one of them.
        self._unkeyed[mapping.name] = sum(stats.quarantined.get(cause, 0)
                                          for cause in ("unparseable-row", "suspect-key"))

    def _due(self, times: int) -> bool:
        return len(self._pending) >= times * FLUSH_EVERY or len(self._rows) >= times * ROWS_EVERY

    def _send(self, resources: list[dict[str, Any]]) -> None:
        """Resources arrive through observe_units; nothing to do here."""

    def close(self) -> LoadSummary:
        """Plan and send the rest, then deletes; commit watermarks once all is acknowledged."""
        self._flush()
        self.writer.wait()  # every write recorded before deciding what is gone
        held = self._held_back()
        self._deletes(held)
        self.writer.drain()
        for name, value in self._marks.items():
            self.store.set_pending_watermark(name, self.mappings[name].spec.sync.column or "",
                                             value, self.run_id)
        if not self.store.pending():
            self.store.commit_watermarks(self.run_id)
        # The baselines of the next sync: tables read in full whose rate did not rise.
        self.store.record_table_reads(self.run_id, {
            name: (read, quarantined) for name, (_, _, read, quarantined) in self._reads.items()
            if name not in held})
        for k, v in self.writer.counts.items():
            self.summary.written[k] = v
        return super().close()

    def unchanged_rows(self, mapping: str, candidates: list[tuple[str, str]]) -> set[str]:
        """Rows whose hash equals the one recorded when their resources were all delivered."""
        known = self._known_rows(mapping)
        if known is None:  # rows read since a watermark: ask for these rows only
            wanted = dict(candidates)
            stored = self.store.row_hashes(mapping, list(wanted))
            return {k for k, h in stored.items() if h and wanted[k] == h}
        keys, hashes = known
        if not keys.size:
            return set()
        asked = _prefixes([k for k, _ in candidates])
        found, at = _search_sorted(keys, asked)
        same = found & (hashes[at] == _prefixes([h for _, h in candidates]))
        return {k for (k, _), hit in zip(candidates, same, strict=True) if hit}

    def _known_rows(self, mapping: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The recorded rows of a mapping read in full, loaded once: sorted 64-bit key-hash
        prefixes and the row-hash prefixes that go with them (16 bytes a row, one mapping at
        a time). One pass over the store instead of a look-up per row. None for a mapping
        read since a watermark (few rows)."""
        if mapping not in self._full_read:
            return None
        if self._known is None or self._known[0] != mapping:
            self._known = None  # the last mapping's arrays go first
            keys, hashes = [np.empty(0, np.uint64)], [np.empty(0, np.uint64)]
            for k, h in self.store.all_row_hashes(mapping):
                keys.append(_prefixes(k))
                hashes.append(_prefixes(h))
            key_arr, hash_arr = np.concatenate(keys), np.concatenate(hashes)
            order = np.argsort(key_arr, kind="stable")
            self._known = (mapping, key_arr[order], hash_arr[order])
        return self._known[1], self._known[2]

    # -- planning ----------------------------------------------------------------------------
    def _mark(self, mapping: str, column: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            value = row.get(column)
            if value and value > self._marks.get(mapping, ""):
                self._marks[mapping] = value

    def _flush(self) -> None:
        # The writes sent so far are recorded first: the plan below reads what they left, and
        # only one thread writes to the store at a time.
        self.writer.wait()
        pending, self._pending = self._pending, []
        stored = self.store.lookup((r["resourceType"], r["id"]) for r, _, _ in pending)
        writes: list[dict[str, Any]] = []
        seen: list[tuple[str, str, str, str]] = []
        self._unsettled: set[tuple[str, str]] = set()
        for res, mapping, khash in pending:
            key = (res["resourceType"], res["id"])
            old = stored.get(key)
            if old is not None:
                seen.append((*key, mapping, khash))
            write = self._plan(res, mapping, khash, old)
            if write is not None:
                writes.append(write)
        settled, staged = self._split_rows(writes)
        self._rows = []
        guard_run_writes(self.store, writes)  # no blind overwrite of what a `run` wrote
        # One transaction: the rows' marks and the writes they wait for (nothing is taken for
        # delivered that is not in the outbox; a row's hash is set when its writes are acked).
        self.store.plan(self.run_id, seen, settled, staged, writes)
        self.writer.start_drain()  # sent while the next rows are mapped

    def _split_rows(self, writes: list[dict[str, Any]]
                    ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """The rows of this flush: settled now (no write needed: their hash is recorded), and
        staged (their hash is recorded once their writes are acknowledged). A row with a
        resource left in conflict is neither: "" maps it again next time."""
        waiting = {(w["mapping"], w["key_hash"]) for w in writes}
        settled: dict[tuple[str, str], str] = {}
        staged: dict[tuple[str, str], str] = {}
        for m, k, h in self._rows:
            if (m, k) in self._unsettled:
                settled[m, k] = ""
            else:
                (staged if (m, k) in waiting else settled)[m, k] = h
        return [(*r, h) for r, h in settled.items()], [(*r, h) for r, h in staged.items()]

    def _plan(self, res: dict[str, Any], mapping: str, khash: str,
              old: StoredResource | None) -> dict[str, Any] | None:
        chash = content_hash(res)
        if old is not None and old.status == "live" and old.content_hash == chash:
            self.plan["unchanged"] += 1
            return None
        if old is not None and old.status == "conflict" and not self.force:
            self.plan["conflict-kept"] += 1
            self._unsettled.add((mapping, khash))
            return None
        live = old is not None and old.status in ("live", "conflict")
        self.plan["update" if live else "create"] += 1
        return {"rtype": res["resourceType"], "rid": res["id"], "method": "PUT",
                "if_match": old.version if live and old else None,
                "payload": orjson.dumps(res), "content_hash": chash, "mapping": mapping,
                "key_hash": khash}

    # -- deletes -------------------------------------------------------------------------------
    def _held_back(self) -> dict[str, str]:
        """Mappings whose deletes must wait, with the reason: their read was incomplete, or
        their quarantine rate rose since the baseline (unless deletes are confirmed)."""
        baseline, held = self.store.table_reads(), {}
        for name, (complete, problem, read, quarantined) in self._reads.items():
            if not complete:
                held[name] = ("the read of its table was incomplete ("
                              f"{problem or 'rows may be missing'})")
            elif self._unkeyed.get(name):
                held[name] = (f"{self._unkeyed[name]} of its rows could not be read, so their "
                              "keys are unknown and a row that seems gone may be one of them "
                              "(see quarantine.ndjson)")
            elif name in baseline and not self.confirm_deletes:
                was_read, was_quarantined = baseline[name]
                was, now = was_quarantined / max(was_read, 1), quarantined / max(read, 1)
                if now > was:
                    held[name] = (f"its quarantine rate rose from {was:.2%} ({was_quarantined} "
                                  f"of {was_read} rows) to {now:.2%} ({quarantined} of {read})")
        return held

    def _deletes(self, held: dict[str, str]) -> None:
        gone: list[tuple[StoredResource, str]] = []
        for res, policy in self._gone():
            if policy != "report" and res.mapping in held:
                self.plan["deletes-suspended"] += 1
                self.suspended[res.mapping] = held[res.mapping]
            else:
                gone.append((res, policy))
        self._circuit_breaker(gone)
        writes = []
        for res, policy in gone:
            self.plan[f"gone-{policy}"] += 1
            if policy == "report":
                continue
            write = self._delete_write(res, policy)
            if write is not None:
                writes.append(write)
        # A row whose resources go is mapped again if it comes back (its hash is forgotten in
        # the transaction that queues the deletes).
        rows = sorted({(w["mapping"], w["key_hash"]) for w in writes})
        with self.store.engine.begin() as conn:
            self.store.forget_rows(conn, rows)
            self.store.enqueue(self.run_id, writes, conn)

    def _gone(self) -> list[tuple[StoredResource, str]]:
        """Live resources the source no longer gives, with their mapping's delete policy."""
        self._known = None
        kept = {name: np.unique(np.frombuffer(self._kept.pop(name, array("Q")), np.uint64))
                for name in self.mappings}
        out: list[tuple[StoredResource, str]] = []
        full: list[str] = []
        for name, m in self.mappings.items():
            if m.spec.sync.changes != "watermark":
                full.append(name)
                continue
            # Of a mapping read since a watermark, only rows re-read this run can tell what
            # they no longer make.
            for part in self.store.live_resources_before(name, self.run_id, reread_only=True):
                out.extend((r, m.spec.sync.on_delete) for r in _not_kept(part, kept[name]))
        # Mappings read in full: one pass over the rows of every live resource not written
        # this run, 64-bit key prefixes checked against the kept rows a mapping at a time;
        # only the resources of rows not kept are fetched whole.
        gone: dict[str, list[str]] = {name: [] for name in full}
        for mappings, keys in self.store.live_row_keys_before(self.run_id):
            names, prefixes = np.array(mappings), _prefixes(keys)
            for name in full:
                at = np.flatnonzero(names == name)
                if at.size:
                    missed = ~_search_sorted(kept[name], prefixes[at])[0]
                    gone[name].extend(keys[i] for i in at[missed])
        for name, rows in gone.items():
            if rows:
                policy = self.mappings[name].spec.sync.on_delete
                out.extend((r, policy) for r in self.store.live_resources_of_rows(
                    name, rows, self.run_id))
        return out

    def _circuit_breaker(self, gone: list[tuple[StoredResource, str]]) -> None:
        doomed = Counter(r.rtype for r, policy in gone if policy != "report")
        if not doomed or self.confirm_deletes:
            return
        with self.store.engine.connect() as conn:
            live = dict(conn.execute(sa.select(RESOURCES.c.rtype, sa.func.count())
                                     .where(RESOURCES.c.status == "live")
                                     .group_by(RESOURCES.c.rtype)).all())
        over = {t: (n, live.get(t, n)) for t, n in doomed.items()
                if n / max(live.get(t, n), 1) > self.max_delete_share}
        if over:
            detail = ", ".join(f"{t}: {n} of {total}" for t, (n, total) in sorted(over.items()))
            raise DeleteCircuitOpen(
                f"this sync would delete or retire more than {self.max_delete_share:.0%} of "
                f"{detail}; nothing was deleted. Check the source export is complete, then "
                "re-run `emr-migrate sync` with --confirm-deletes (or a larger "
                f"--max-delete-share than {self.max_delete_share:g}).")

    def _delete_write(self, res: StoredResource, policy: str) -> dict[str, Any] | None:
        base = {"rtype": res.rtype, "rid": res.rid, "mapping": res.mapping,
                "key_hash": res.key_hash, "if_match": res.version}
        if policy == "delete":
            return {**base, "method": "DELETE", "payload": None, "content_hash": None}
        current = self.writer.read(res.rtype, res.rid)
        if current is None:
            return None
        retired = _retire(current)
        retired.pop("meta", None)
        return {**base, "method": "PUT", "payload": orjson.dumps(retired),
                "content_hash": content_hash(retired)}


def _prefixes(hexes: list[str]) -> np.ndarray:
    """The first 64 bits of hex digests, as unsigned integers ("" reads as 0, which no
    recorded hash is taken to be: a 2**-64 chance)."""
    text = "".join([h[:16] if h else "0000000000000000" for h in hexes])
    return np.frombuffer(bytes.fromhex(text), dtype=">u8").astype(np.uint64)


def _search_sorted(sorted_set: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``values``: whether it is in ``sorted_set`` (a sorted array), and where
    (a valid position either way; only meaningful where found)."""
    if not sorted_set.size:
        return np.zeros(values.shape, dtype=bool), np.zeros(values.shape, dtype=np.intp)
    at = np.searchsorted(sorted_set, values).clip(max=sorted_set.size - 1)
    return sorted_set[at] == values, at


def _not_kept(rows: list[StoredResource], kept: np.ndarray) -> list[StoredResource]:
    """The stored resources among ``rows`` whose source row is not in ``kept`` (sorted 64-bit
    key-hash prefixes). A prefix shared by chance keeps a resource that should go: about
    N * n / 2**64 for N stored resources and n kept rows, 5 in 10**8 at a million each."""
    if not kept.size or not rows:
        return rows
    hits = _search_sorted(kept, _prefixes([r.key_hash for r in rows]))[0]
    return [r for r, hit in zip(rows, hits, strict=True) if not hit]


def _retire(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource marked inactive (``active: false``) or ``entered-in-error``."""
    out = dict(resource)
    if "active" in out or out["resourceType"] in ("Patient", "Practitioner", "Organization"):
        out["active"] = False
    elif out["resourceType"] == "Location":
        out["status"] = "inactive"
    elif out["resourceType"] in ("Condition", "AllergyIntolerance"):
        out["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/"
                      + ("condition-ver-status" if out["resourceType"] == "Condition"
                         else "allergyintolerance-verification"),
            "code": "entered-in-error"}]}
        out.pop("clinicalStatus", None)
    else:
        out["status"] = "entered-in-error"
    return out


def _minus(value: str, seconds: int) -> str:
    """An ISO date-time text moved back by the lag (same style as stored)."""
    if not seconds:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    out = (moment - timedelta(seconds=seconds)).isoformat()
    return out if "T" in value else out.replace("T", " ")
