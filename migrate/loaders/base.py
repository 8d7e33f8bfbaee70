"""The loader protocol, the registry and target parsing.

A loader receives resources in load order (referenced before referring) and writes them.
:meth:`Loader.load` is the template method: it counts and delegates to ``_send``, the one step
a new loader implements. Declare it as an entry point of the ``migrate.loaders`` group (see
docs/architecture.md, "Adding a target")::

    class MyLoader(Loader):
        def _send(self, resources): ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, final

from migrate.errors import ConfigError
from migrate.registry import Plugin, Registry

if TYPE_CHECKING:
    from migrate.loaders.deadletter import DeadLetterWriter
    from migrate.mappers.pack import CompiledMapping
    from migrate.outcomes import Unit
    from migrate.report.model import TableStats

DEFAULT_BUNDLE_SIZE = 200


@dataclass
class LoadFailure:
    """A resource the target refused, with the server's answer."""

    resource_type: str
    id: str
    status: int | None
    outcome: Any


@dataclass
class LoadSummary:
    """What a loader wrote."""

    target: str
    written: Counter[str] = field(default_factory=Counter)
    failures: list[LoadFailure] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    not_acknowledged: Counter[str] = field(default_factory=Counter)
    """Resources per reason the target's answer did not acknowledge them (also failures)."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (failures counted, detail kept in their own file)."""
        why = dict(self.not_acknowledged.most_common(5))
        return {"target": self.target, "written": dict(sorted(self.written.items())),
                "failed": len(self.failures), "requests": self.requests, "retries": self.retries,
                **({"not_acknowledged": why} if why else {})}


@dataclass(frozen=True)
class LoaderCapabilities:
    """What a loader (a target) can do beyond ``_send``. The pipeline asks this declaration,
    never the object: a declared capability has its method implemented."""

    traces_sources: bool = False
    """``_send_traced(resources, sources)`` keeps where each resource came from (dead letters)."""
    raw_resources: bool = False
    """``load_raw([(resourceType, json bytes)])`` takes resources serialized by workers."""
    row_hashes: bool = False
    """Wants each unit's source-row hash (change detection of a sync)."""
    incremental: bool = False
    """``extract_since(mapping)`` and ``unchanged_rows(mapping, candidates)`` (a sync)."""
    observes_units: bool = False
    """``observe_units(mapping, units)`` sees every unit's outcome (tracks source rows)."""


class Loader(Plugin, ABC):
    """Writes resources to one target."""

    name = "base"
    capabilities: ClassVar[LoaderCapabilities] = LoaderCapabilities()

    def __init__(self) -> None:
        self.summary = LoadSummary(self.describe())
        self.dead_letters: DeadLetterWriter | None = None  # set by the pipeline, if it wants

    @abstractmethod
    def describe(self) -> str:
        """The target, for messages (no secrets)."""

    def open(self) -> None:  # noqa: B027 - a hook with a default
        """Prepare the target (create folders, check the server). Override when needed."""

    @final
    def load(self, resources: list[dict[str, Any]],
             sources: list[dict[str, Any] | None] | None = None) -> None:
        """Write resources, in the order given.

        ``sources``, when given, runs parallel to ``resources``: where each one came from
        (``{"table", "mapping", "rows"}``), for loaders that report refused resources.
        """
        if resources:
            if sources is None:
                self._send(resources)
            else:
                self._send_traced(resources, sources)

    def _send_traced(self, resources: list[dict[str, Any]],
                     sources: list[dict[str, Any] | None]) -> None:
        """Capability ``traces_sources``: ``_send`` with the source of each resource. Override
        to keep them (dead letters) and declare the capability; the pipeline then passes
        ``sources`` to `load`."""
        self._send(resources)

    # -- optional hooks: each belongs to one capability (`LoaderCapabilities`) -------------
    def load_raw(self, items: list[tuple[str, bytes]]) -> None:
        """Capability ``raw_resources``: write resources serialized already, as
        ``(resourceType, JSON bytes)`` pairs, in the order given."""
        raise ConfigError(f"the {self.name} target does not declare 'raw_resources'; the "
                          "pipeline should have asked `capabilities` first")

    def extract_since(self, mapping: CompiledMapping) -> tuple[str, str] | None:
        """Capability ``incremental``: ``(column, value)`` when only the rows of ``mapping``
        changed since a watermark are wanted; None (the default) reads every row."""
        return None

    def unchanged_rows(self, mapping: str, candidates: list[tuple[str, str]]) -> set[str]:
        """Capability ``incremental``: of ``(key hash, row hash)`` candidates, the key hashes
        of rows delivered earlier exactly like this (they are not mapped again). Default: none.
        """
        return set()

    def observe_units(self, mapping: CompiledMapping,  # noqa: B027 - a hook
                      units: list[Unit]) -> None:
        """Capability ``observes_units``: every unit of a chunk, whatever its outcome, before
        its resources are loaded."""

    def plan_order(self, depends: Mapping[str, set[str]]) -> None:  # noqa: B027 - a hook
        """The pack's mapping dependencies (mapping -> mappings its references point at).

        Loaders that write concurrently use them to keep referenced resources ahead of the
        resources that refer to them. Override when needed.
        """

    def table_finished(self, mapping: CompiledMapping,  # noqa: B027 - a hook
                       stats: TableStats) -> None:
        """Called once a mapping's whole table is read and handed over, with its accounting
        (``stats.complete``, read and quarantined counts). Override to act on it (a sync
        suspends deletes for a table whose read was incomplete)."""

    def barrier(self) -> None:  # noqa: B027 - a hook with a default
        """Return once everything given so far is written. Override in concurrent loaders."""

    @abstractmethod
    def _send(self, resources: list[dict[str, Any]]) -> None:
        """Write one chunk of resources; count them in ``self.summary.written``."""

    def abort(self) -> None:  # noqa: B027 - a hook with a default
        """The run stopped on an error: discard what cannot be finished (partial files).
        ``close`` is not called after it. Override when the loader writes files."""

    def close(self) -> LoadSummary:
        """Flush what is buffered and return the summary. Override to flush, then call super."""
        return self.summary


LOADERS: Registry[type[Loader]] = Registry("loader", "migrate.loaders")


def folder_after(prefix: str, text: str) -> dict[str, Any] | None:
    """``{"path": DIR}`` when ``text`` is ``PREFIX:DIR`` (a ``from_text`` of file targets)."""
    kind, sep, rest = text.partition(":")
    return {"path": rest} if sep and kind == prefix and rest else None


def parse_target(text: str) -> dict[str, Any]:
    """A ``--target`` string as loader options: the loader that claims it decides
    (``ndjson:DIR``, ``bundles:DIR``, an ``http(s)://`` FHIR base URL, or a plugin's form)."""
    return LOADERS.from_text(text, "target")


def open_loader(options: dict[str, Any], **deps: Any) -> Loader:
    """Instantiate the loader named by ``options['type']`` (an entry point of
    ``migrate.loaders``) with the other options, checked by its ``Options`` model; ``deps``
    are constructor arguments that are not configuration (an HTTP client)."""
    opts = dict(options)
    return LOADERS.create(opts.pop("type"), opts, "target", **deps)  # type: ignore[no-any-return]


def transaction_entry(resource: dict[str, Any], full_url: str) -> dict[str, Any]:
    """A transaction entry that PUTs the resource at its deterministic id."""
    rtype, rid = resource["resourceType"], resource["id"]
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "PUT", "url": f"{rtype}/{rid}"}}
