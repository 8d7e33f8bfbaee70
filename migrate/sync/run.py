"""``run_sync``: one incremental re-sync (the first one is the full load)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from migrate.config import RunSettings
from migrate.errors import ConfigError, InternalError, MigrateError
from migrate.files import private_dir, write_atomic
from migrate.loaders.recording import default_state_url, identity_fingerprint
from migrate.redact import redact_text, redact_url
from migrate.report.model import RunReport
from migrate.state import StateStore
from migrate.sync.loader import SyncLoader
from migrate.sync.lock import StateStoreError, sync_lock
from migrate.sync.writer import OutboxWriter


@dataclass
class SyncResult:
    """What a sync did."""

    run_id: int
    report: RunReport
    plan: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    state: dict[str, int] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    """The writer's ``timing``: seconds in the target's round trips (``server_s``) and
    seconds the sync was held up by its sends (``blocked_s``)."""
    suspended: dict[str, str] = field(default_factory=dict)
    """Mappings whose deletes were held back (incomplete read, quarantine rate rose), why."""

    @property
    def status(self) -> str:
        """``ok``, ``conflicts``, ``dead-letters`` or ``deletes-suspended`` (the report's own
        status otherwise)."""
        if self.report.status != "ok":
            return self.report.status
        if self.state.get("conflicts"):
            return "conflicts"
        if self.state.get("dead_letters"):
            return "dead-letters"
        if self.suspended:
            return "deletes-suspended"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"run_id": self.run_id, "status": self.status, "plan": self.plan,
                "writes": self.writes, "state": self.state, "suspended": self.suspended}


def run_sync(settings: RunSettings, *, state_url: str | None = None, force: bool = False,
             confirm_deletes: bool = False, max_delete_share: float = 0.02) -> SyncResult:
    """Bring the target up to date with the source, sending only what changed. Holds the
    state store's lock throughout (`sync_lock`: a second sync is refused)."""
    target = settings.target
    if target.get("type") != "fhir-server":
        raise ConfigError("sync needs a FHIR server target (an http(s):// base URL)")
    private_dir(Path(settings.output))
    url = state_url or default_state_url(settings)
    with _store_errors(redact_url(url)):
        # The lock comes first: two first syncs on a new store must not race to create it.
        lock_engine = sa.create_engine(url)
        try:
            with sync_lock(lock_engine):
                store = StateStore(url)
                run_json = Path(settings.output) / "run.json"
                try:
                    store.check_identity(identity_fingerprint(settings))
                    with _failure_recorded(run_json), _store_errors(redact_url(url)):
                        return _sync(settings, store, force=force,
                                     confirm_deletes=confirm_deletes,
                                     max_delete_share=max_delete_share)
                finally:
                    store.engine.dispose()
        finally:
            lock_engine.dispose()


def _sync(settings: RunSettings, store: StateStore, *, force: bool, confirm_deletes: bool,
          max_delete_share: float) -> SyncResult:
    """One sync, holding the store's lock."""
    from migrate.pipeline import run_pipeline

    target = settings.target
    # No earlier verdict stays beside this sync's work, even if it fails before the pipeline.
    write_atomic(Path(settings.output) / "run.json", b'{"status": "running", "command": "sync"}')
    store.forget_deleted_rows()
    run_id = store.start_run("sync", target["url"])
    writer = OutboxWriter(store, run_id, target, force=force)
    status = "failed"
    try:
        writer.drain()  # what an interrupted run left in the outbox goes first
        loader = SyncLoader(store, run_id, writer, force=force, confirm_deletes=confirm_deletes,
                            max_delete_share=max_delete_share)
        report = run_pipeline(settings, loader=loader)
        status = "done"
    finally:
        writer.close()
        counts = {**writer.counts}
        with contextlib.suppress(sa.exc.DBAPIError):  # a store that failed says why above
            store.finish_run(run_id, status, counts)
    result = SyncResult(run_id, report, dict(loader.plan), counts, store.counts(),
                        {k: round(v, 3) for k, v in writer.timing.items()},
                        dict(loader.suspended))
    write_sync_verdict(Path(settings.output) / "run.json", result)
    return result


@contextlib.contextmanager
def _store_errors(name: str) -> Iterator[None]:
    """A failing state store (disk full, database gone) as a `StateStoreError`: the driver's
    reason, never the statement or its values."""
    try:
        try:
            yield
        except InternalError as wrapped:  # the pipeline wraps what it did not foresee
            if isinstance(wrapped.__cause__, sa.exc.DBAPIError):
                raise wrapped.__cause__ from None
            raise
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StateStoreError(
            f"the state store {name} failed: {reason}. Nothing after the "
            "failure was recorded as delivered: once the store is fixed, run sync again and "
            "it sends everything not acknowledged.") from None


@contextlib.contextmanager
def _failure_recorded(run_json: Path) -> Iterator[None]:
    """A sync that stops on an error leaves run.json saying ``failed``, why, and the exit
    code the CLI gives (the pipeline's own record may name an error this layer turned into
    another, or the sync may have stopped before the pipeline began)."""
    try:
        yield
    except MigrateError as exc:
        with contextlib.suppress(MigrateError):  # a disk too full for it: the error still shows
            _update_run_json(run_json, status="failed", error=redact_text(str(exc)),
                             exit_code=exc.exit_code)
        raise


def _update_run_json(run_json: Path, **members: Any) -> None:
    import orjson

    data = orjson.loads(run_json.read_bytes()) if run_json.is_file() else {}
    data.update(members)
    write_atomic(run_json, orjson.dumps(data, option=orjson.OPT_INDENT_2))


def write_sync_verdict(run_json: Path, result: SyncResult) -> None:
    """Put the sync's own verdict in run.json: its ``status`` is the sync's (``conflicts``,
    ``dead-letters`` ...), the one its exit code says, not only the pipeline's ``ok``; the
    ``sync`` member carries the plan, writes and open state."""
    _update_run_json(run_json, status=result.status, sync=result.as_dict())
