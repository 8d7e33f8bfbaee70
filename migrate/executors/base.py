"""The executor contract: where a run's stage loop (`migrate.stages`) runs.

An executor is a context manager opened once per run (clusters start and stop with it). For
each mapping, in the pack's order, the pipeline asks ``results(mapping, since)`` and consumes
the `ChunkResult` objects it yields, in source order, whatever the executor: in this process
(``local``) or merged back from key ranges run on Dask workers (``dask``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from migrate.registry import Plugin

if TYPE_CHECKING:
    from migrate.extractors.base import Extractor
    from migrate.loaders.base import Loader
    from migrate.lookups import LookupStore
    from migrate.mappers.lookups import LookupAttacher
    from migrate.mappers.pack import CompiledMapping, Pack
    from migrate.stages import ChunkResult


class Executor(Plugin, ABC):
    """Runs the stage loop of each mapping of a run somewhere; subclasses are registered in
    `migrate.executors.EXECUTORS` under the name ``--executor`` takes."""

    name = "base"

    def __init__(self, settings: Any, pack: Pack, extractor: Extractor, loader: Loader) -> None:
        self.settings, self.pack, self.ext, self.loader = settings, pack, extractor, loader
        self.partitions: dict[str, int] = {}
        """Key ranges per mapping (an executor that partitions tables fills it)."""
        self.emit_counts: Counter[tuple[str, str]] | None = None
        """When set (by `validate`), the stage loop counts here the template runs per
        (mapping, emit) (`MappingRunner` ``emit_counts``); an executor that cannot refuses."""
        self.lookups: LookupStore | None = None
        """The run's look-up tables (`migrate.lookups`), loaded when a mapping needs them."""

    def lookup_attacher(self, m: CompiledMapping) -> LookupAttacher | None:
        """What attaches ``m``'s look-up values (None: ``m`` has no look-up); the run's
        `LookupStore` loads each table once, in this process."""
        if not m.spec.lookup:
            return None
        if self.lookups is None:
            from migrate.lookups import LookupStore

            self.lookups = LookupStore(self.pack, self.ext, self.settings.chunk_size)
        return self.lookups.attacher(m)

    @abstractmethod
    def describe(self) -> str:
        """Where the work runs, for ``run.json`` (``local``, ``dask:<scheduler> (n workers)``)."""

    def __enter__(self) -> Executor:
        """Start what the executor needs (a cluster); the default needs nothing."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop what ``__enter__`` started."""
        return None

    @abstractmethod
    def results(self, mapping: CompiledMapping,
                since: tuple[str, str] | None) -> Iterator[ChunkResult]:
        """The table's chunks mapped and validated, in source order. ``since`` is the
        watermark the loader asked for (``extract_since``), already looked up once."""
