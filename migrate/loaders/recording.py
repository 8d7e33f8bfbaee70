"""The loader of `emr-migrate run`: to a FHIR server, one that notes what it sends in the
record that `sync` keeps (the why: `migrate.sync.runrecord`).

It lives beside the loaders, not in `migrate.sync`, so that the pipeline, which opens it, and
`migrate.sync.run`, which runs the pipeline, import each other in one direction only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migrate.loaders.base import Loader, LoaderCapabilities, LoadSummary, open_loader
from migrate.loaders.fhir_server import FhirServerLoader
from migrate.mappers.pack import CompiledMapping
from migrate.outcomes import EMITTED, Unit
from migrate.state import SENT_BY_RUN, StateStore, content_hash
from migrate.sync.identity import default_state_url, identity_fingerprint

if TYPE_CHECKING:
    pass


def open_run_loader(settings: Any) -> Loader:
    """The loader of a `run`: the target's own, recording what it sends when the target is a
    FHIR server (the one target a `sync` also writes to)."""
    target = settings.target
    if target.get("type") != "fhir-server":
        return open_loader(target)
    settings.output.mkdir(parents=True, exist_ok=True)
    store = StateStore(default_state_url(settings))
    try:
        store.check_identity(identity_fingerprint(settings))
    except BaseException:
        store.engine.dispose()
        raise
    run_id = store.start_run("run", target["url"])
    return RecordingFhirServerLoader(store, run_id,
                                     **{k: v for k, v in target.items() if k != "type"})


class RecordingFhirServerLoader(FhirServerLoader):
    """A `FhirServerLoader` that notes the content hash of each resource it is given."""

    capabilities = LoaderCapabilities(traces_sources=True, observes_units=True)

    def __init__(self, store: StateStore, run_id: int, **options: Any) -> None:
        super().__init__(**options)
        self.store, self.run_id = store, run_id

    def observe_units(self, m: CompiledMapping, units: list[Unit]) -> None:
        """Note the resources of a chunk's emitted units before they are sent."""
        record_sent(self.store, self.run_id, [
            (res["resourceType"], res["id"], content_hash(res))
            for unit in units if unit.outcome == EMITTED for res in unit.resources])

    def close(self) -> LoadSummary:
        """Finish the load, then close the run in the state store."""
        status = "failed"
        try:
            summary = super().close()
            status = "done" if not summary.failures else "load-errors"
            return summary
        finally:
            self.store.finish_run(self.run_id, status, {})
            self.store.engine.dispose()


def record_sent(store: StateStore, run_id: int, sent: list[tuple[str, str, str]]) -> None:
    """Note (type, id, content hash) as sent by run ``run_id``; the last note of an id wins."""
    latest = {(t, i): h for t, i, h in sent}
    if not latest:
        return
    with store.engine.begin() as conn:
        store._many(conn, f"DELETE FROM {SENT_BY_RUN.name} WHERE rtype = ? AND rid = ?",
                    list(latest))
        store._many(conn, f"INSERT INTO {SENT_BY_RUN.name} (rtype, rid, content_hash, run_id) "
                    "VALUES (?, ?, ?, ?)", [(t, i, h, run_id) for (t, i), h in latest.items()])
