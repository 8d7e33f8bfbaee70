"""Send the state store's outbox to a FHIR server in bundles, safely.

Bundles go as transactions (the target profile's default ``mode``): the server takes a
transaction in one database commit, several times faster than a batch of the same entries. A
transaction the server refuses for its content (a 4xx, such as a 412 on one ``If-Match`` or a
400 on one bad resource) is sent again as a batch, whose per-entry answers are recorded one by
one. ``mode: batch`` sends batches only.

Updates carry ``If-Match`` with the version we last wrote. A 412 means the target moved on: if
what the target now holds is our own content (what we meant to write, whose acknowledgement
was lost to a crash; or what we or an `emr-migrate run` wrote before, at a version that moved:
see `migrate.sync.conflicts`), it is taken over; otherwise the update is not applied and goes
to the conflicts table with both versions, unless ``force`` is set. A write that lands closes
the open conflicts of its resource (``overwritten``). Every answer is recorded in the same
database transaction that removes the entry from the outbox, so a process killed at any point
resumes by re-sending what is still pending.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from typing import Any

import httpx
import orjson

from migrate.errors import LoadError
from migrate.loaders.acks import (
    BundleAnswer,
    entry_status,
    outcome_summary,
    read_answer,
    read_bundle_answer,
)
from migrate.loaders.fhir_server import fhir_client, read_target_profile
from migrate.redact import redact_url
from migrate.state import (
    CONFLICTS,
    DEAD_LETTERS,
    OUTBOX,
    SOURCE_ROWS,
    STAGED_ROWS,
    StateStore,
)
from migrate.sync.conflicts import close_overwritten, open_conflict_keys, own_content

FHIR_JSON = "application/fhir+json"
_VERSION = re.compile(r'W/"([^"]+)"')


def version_of(etag: str | None) -> str | None:
    """``W/"3"`` -> ``3``."""
    if not etag:
        return None
    m = _VERSION.search(etag)
    return m.group(1) if m else etag.strip('"')


class OutboxWriter:
    """Sends pending writes in transaction (or batch) bundles and records every outcome."""

    def __init__(self, store: StateStore, run_id: int, target: dict[str, Any], *,
                 force: bool = False, client: httpx.Client | None = None) -> None:
        # The same target profile as loads: TLS, CA bundle, timeouts, auth, retry budget.
        cfg = read_target_profile({k: v for k, v in target.items() if k != "type"})
        self.store, self.run_id, self.url = store, run_id, cfg.url
        self.bundle_size, self.force = cfg.bundle_size, force
        self.transactions = cfg.mode == "transaction"
        # Answers carry status and ETag, not the resources back: all the writer records.
        self.http = fhir_client(cfg, client, headers={
            "Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Prefer": "return=minimal"})
        self.counts = {"bundles": 0, "created": 0, "updated": 0, "deleted": 0,
                       "acknowledged": 0, "conflicts": 0, "dead_letters": 0, "overwritten": 0,
                       "batch_fallbacks": 0, "adopted": 0, "recreated": 0}
        self._open_conflicts = open_conflict_keys(store)  # closed when a write of theirs lands
        self._blocked_s = 0.0
        self._sent = 0
        self._reads: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def timing(self) -> dict[str, float]:
        """Seconds in the target's HTTP round trips (``server_s``), and seconds the caller was
        held up by sends (``blocked_s``: a synchronous drain, or a wait for the background
        one): a sync's wall time minus ``blocked_s`` is our own part of it."""
        return {"server_s": self.http.stats.seconds, "blocked_s": self._blocked_s}

    def close(self) -> None:
        """Let a background drain finish, then release the HTTP connections."""
        self._join()
        self.http.close()

    def drain(self) -> None:
        """Send every pending write (the caller waits: counted in ``timing["blocked_s"]``)."""
        t0 = time.perf_counter()
        try:
            self._drain()
        finally:
            self._blocked_s += time.perf_counter() - t0

    def _drain(self) -> None:
        while batch := self.store.pending(limit=self.bundle_size):
            self._send(batch)

    def start_drain(self) -> None:
        """Send every pending write in a background thread, while the caller maps the next
        rows (the server's time and ours overlap); `wait` for it before planning more writes.
        Crash safety is unchanged: the outbox is on disk before anything is sent."""
        self.wait()
        self._thread = threading.Thread(target=self._drain_in_thread, name="outbox-writer",
                                        daemon=True)
        self._thread.start()

    @property
    def idle(self) -> bool:
        """No background drain is running (one that ended still has to be `wait`-ed for)."""
        return self._thread is None or not self._thread.is_alive()

    def wait(self) -> None:
        """Wait for a background drain; raise what stopped it, if anything did."""
        self._join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _join(self) -> None:
        if self._thread is not None:
            t0 = time.perf_counter()
            self._thread.join()
            self._blocked_s += time.perf_counter() - t0
            self._thread = None

    def _drain_in_thread(self) -> None:
        try:
            self._drain()
        except BaseException as exc:  # handed to the caller's thread by `wait`
            self._error = exc

    def _send(self, batch: list[dict[str, Any]]) -> None:
        entries = [self._entry(w) for w in batch]
        _fault("before-send", self._sent + 1)
        answer = self._answer(entries)
        self._sent += 1
        self.counts["bundles"] += 1
        _fault("after-send", self._sent)
        if answer.problem is not None:  # nothing recorded: the writes stay pending
            raise LoadError(f"sync stopped: {answer.problem}; the {len(batch)} writes stay "
                            "pending and the next sync sends them again")
        answers = [{"response": a.response} for a in answer.entries]
        acked: list[tuple[str, str, str, str, str | None, str | None, str]] = []
        done: list[int] = []
        counts = self.counts
        self._prefetch(batch, answers)
        with self.store.engine.begin() as conn:
            for w, answer in zip(batch, answers, strict=True):
                response = answer.get("response") or {}
                status = entry_status(response) or 0
                ok = 200 <= status < 300
                if w["method"] == "DELETE" and (ok or status in (404, 410)):
                    acked.append((w["rtype"], w["rid"], w["mapping"], w["key_hash"], None,
                                  version_of(response.get("etag")), "deleted"))
                    counts["deleted"] += 1
                elif w["method"] != "DELETE" and ok:
                    acked.append((w["rtype"], w["rid"], w["mapping"], w["key_hash"],
                                  w["content_hash"], version_of(response.get("etag")), "live"))
                    counts["created" if status == 201 else "updated"] += 1
                else:  # a 412, a refusal or an answer without a status: one by one
                    self._record(conn, w, response)
                    continue
                done.append(w["seq"])
            self.store.record_writes(conn, self.run_id, acked, done)
            if self._open_conflicts:
                close_overwritten(conn, self._open_conflicts, acked)

    def _answer(self, entries: list[dict[str, Any]]) -> BundleAnswer:
        """Send the entries as a transaction, else (refused, or answered with entries that
        are not all 2xx) as a batch; the answer as `read_bundle_answer` reads it."""
        if self.transactions:
            resp = self._post({"resourceType": "Bundle", "type": "transaction",
                               "entry": entries}, refusal_ok=True)
            if resp is not None:
                answer = read_bundle_answer(resp, "transaction", len(entries), self.url)
                if answer.problem is None or not answer.entries:
                    return answer
            self.counts["batch_fallbacks"] += 1  # each entry gets its own answer
        resp = self._post({"resourceType": "Bundle", "type": "batch", "entry": entries})
        assert resp is not None
        return read_bundle_answer(resp, "batch", len(entries), self.url)

    def _entry(self, w: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {"method": w["method"], "url": f"{w['rtype']}/{w['rid']}"}
        if w["if_match"] and not self.force:
            request["ifMatch"] = f'W/"{w["if_match"]}"'
        entry: dict[str, Any] = {"fullUrl": f"{self.url}/{w['rtype']}/{w['rid']}",
                                 "request": request}
        if w["payload"]:
            entry["resource"] = orjson.loads(w["payload"])
        return entry

    def _record(self, conn: Any, w: dict[str, Any], response: dict[str, Any]) -> None:
        """A write that did not simply land: a 412 (lost ack or conflict), a refusal, or an
        answer without a status (kept as a dead letter: never taken for a success)."""
        status = entry_status(response) or 0
        if status == 412:
            self._precondition_failed(conn, w)
            return
        outcome = response.get("outcome") or (None if status else {
            "resourceType": "OperationOutcome", "issue": [{
                "severity": "error", "code": "exception",
                "diagnostics": "the server's answer to this entry has no status "
                               f"(response.status: {response.get('status')!r})"}]})
        conn.execute(DEAD_LETTERS.insert().values(
            run_id=self.run_id, rtype=w["rtype"], rid=w["rid"], status=status,
            outcome=orjson.dumps(outcome).decode(), payload=w["payload"], created=time.time()))
        conn.execute(OUTBOX.update().where(OUTBOX.c.seq == w["seq"]).values(state="dead"))
        _forget_row(conn, w)
        self.counts["dead_letters"] += 1

    def _precondition_failed(self, conn: Any, w: dict[str, Any]) -> None:
        """The target's version moved on since our last write: our own content (a lost ack,
        or a `run` that wrote it again: see `migrate.sync.conflicts`), or a real conflict."""
        current = self.read(w["rtype"], w["rid"])
        own = own_content(self.store, conn, self.run_id, w, current)
        if own is not None:  # recorded; an adopted version's write stays pending, sent again
            self.counts[own] += 1
            return
        actual = (current or {}).get("meta", {}).get("versionId")
        conn.execute(CONFLICTS.insert().values(
            run_id=self.run_id, rtype=w["rtype"], rid=w["rid"], expected_version=w["if_match"],
            actual_version=actual, ours=w["payload"],
            theirs=orjson.dumps(current) if current is not None else None, resolved=False,
            created=time.time()))
        conn.execute(OUTBOX.update().where(OUTBOX.c.seq == w["seq"]).values(state="conflict"))
        _forget_row(conn, w)
        self.store.record_write(conn, w["rtype"], w["rid"], w["mapping"], w["key_hash"],
                                None, w["if_match"], "conflict", self.run_id)
        self.counts["conflicts"] += 1

    def _prefetch(self, batch: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        """Read, in one batch bundle of GETs, the resources whose writes were answered 412:
        the check of our own content that follows needs no round trip each (after a `run`,
        that is every resource of the first sync)."""
        keys = [(w["rtype"], w["rid"]) for w, a in zip(batch, answers, strict=True)
                if entry_status(a.get("response") or {}) == 412]
        self._reads = {}
        if len(keys) < 2:
            return
        try:
            resp = self.http.post(self.url, orjson.dumps({
                "resourceType": "Bundle", "type": "batch", "entry": [
                    {"request": {"method": "GET", "url": f"{t}/{i}"}} for t, i in keys]}))
            got = self.http.json(resp, "Bundle").get("entry")
        except LoadError:
            got = None  # the answers to the writes are recorded all the same
        if not isinstance(got, list) or len(got) != len(keys):
            return  # an answer we cannot pair: each is read on its own
        for key, entry in zip(keys, got, strict=True):
            if not isinstance(entry, dict):
                continue
            status, res = entry_status(entry.get("response") or {}), entry.get("resource")
            if status == 200 and isinstance(res, dict) and res.get("id") == key[1]:
                self._reads[key] = res
            elif status in (404, 410):
                self._reads[key] = None

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        """The resource as the target holds it now, or None."""
        if (rtype, rid) in self._reads:
            return self._reads.pop((rtype, rid))
        resp = self.http.get(f"{rtype}/{rid}")
        return read_answer(resp, rtype, rid, self.url)

    def _post(self, bundle: dict[str, Any], *, refusal_ok: bool = False) -> httpx.Response | None:
        """POST a bundle; ``None`` for a refused transaction (4xx) when ``refusal_ok``."""
        resp = self.http.post(self.url, orjson.dumps(bundle))
        if refusal_ok and 400 <= resp.status_code < 500 and resp.status_code not in (401, 403):
            return None
        if resp.status_code >= 300:
            raise LoadError(f"{redact_url(self.url)} refused a {bundle['type']} bundle with "
                            f"{resp.status_code}: {outcome_summary(resp)}")
        return resp


def _fault(point: str, n: int) -> None:
    """Crash test hook: ``MIGRATE_FAULT=after-send:3`` kills this process with SIGKILL right
    after the 3rd bundle's answer arrives and before it is recorded."""
    spec = os.environ.get("MIGRATE_FAULT")
    if spec and spec == f"{point}:{n}":
        os.kill(os.getpid(), signal.SIGKILL)


def _forget_row(conn: Any, w: dict[str, Any]) -> None:
    """A row whose write did not land must be mapped again on the next sync (its staged hash
    is dropped too: the acknowledgement of its other writes must not record it)."""
    if w.get("mapping") and w.get("key_hash"):
        conn.execute(SOURCE_ROWS.update().where(SOURCE_ROWS.c.mapping == w["mapping"],
                                                SOURCE_ROWS.c.key_hash == w["key_hash"])
                     .values(row_hash=""))
        conn.execute(STAGED_ROWS.delete().where(STAGED_ROWS.c.mapping == w["mapping"],
                                                STAGED_ROWS.c.key_hash == w["key_hash"]))
