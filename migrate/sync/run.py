"""``run_sync``: one incremental re-sync (the first one is the full load)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.config import RunSettings
from migrate.errors import ConfigError
from migrate.report.model import RunReport
from migrate.state import StateStore
from migrate.sync.loader import SyncLoader
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

    @property
    def status(self) -> str:
        """``ok``, ``conflicts`` or ``dead-letters`` (the report's own status otherwise)."""
        if self.report.status != "ok":
            return self.report.status
        if self.state.get("conflicts"):
            return "conflicts"
        if self.state.get("dead_letters"):
            return "dead-letters"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"run_id": self.run_id, "status": self.status, "plan": self.plan,
                "writes": self.writes, "state": self.state}


def identity_fingerprint(settings: RunSettings) -> str:
    """A fingerprint of the id namespace and source system (not reversible to either)."""
    seed = f"{settings.namespace}|{settings.source_system}".encode()
    return hashlib.sha256(seed).hexdigest()[:24]


def default_state_url(settings: RunSettings) -> str:
    """An SQLite file in the output folder."""
    return f"sqlite:///{Path(settings.output) / 'state.sqlite'}"


def run_sync(settings: RunSettings, *, state_url: str | None = None, force: bool = False,
             confirm_deletes: bool = False, max_delete_share: float = 0.02) -> SyncResult:
    """Bring the target up to date with the source, sending only what changed."""
    from migrate.pipeline import run_pipeline

    target = settings.target
    if target.get("type") != "fhir-server":
        raise ConfigError("sync needs a FHIR server target (an http(s):// base URL)")
    Path(settings.output).mkdir(parents=True, exist_ok=True)
    store = StateStore(state_url or default_state_url(settings))
    store.check_identity(identity_fingerprint(settings))
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
        store.finish_run(run_id, status, counts)
        store.engine.dispose()
    result = SyncResult(run_id, report, dict(loader.plan), counts, store.counts(),
                        {k: round(v, 3) for k, v in writer.timing.items()})
    write_sync_verdict(Path(settings.output) / "run.json", result)
    return result


def write_sync_verdict(run_json: Path, result: SyncResult) -> None:
    """Put the sync's own verdict in run.json: its ``status`` is the sync's (``conflicts``,
    ``dead-letters`` ...), the one its exit code says, not only the pipeline's ``ok``; the
    ``sync`` member carries the plan, writes and open state."""
    import orjson

    data = orjson.loads(run_json.read_bytes()) if run_json.is_file() else {}
    data.update(status=result.status, sync=result.as_dict())
    tmp = run_json.with_name(run_json.name + ".tmp")
    tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    tmp.replace(run_json)
