"""The in-process executor: the stage loop runs here, one chunk after the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from migrate.executors.base import Executor
from migrate.stages import ChunkResult, StageLoop, extract

if TYPE_CHECKING:
    from migrate.mappers.pack import CompiledMapping


class LocalExecutor(Executor):
    """Runs each table's stage loop in the calling process (the default executor)."""

    name = "local"

    def __init__(self, *args: Any) -> None:
        from migrate.validation.fast import FastValidator

        super().__init__(*args)
        self.validator = FastValidator()

    def describe(self) -> str:
        """``local``."""
        return "local"

    def results(self, mapping: CompiledMapping,
                since: tuple[str, str] | None) -> Iterator[ChunkResult]:
        """Extract, map and validate the table a chunk at a time."""
        caps = self.loader.capabilities
        loop = StageLoop(self.pack, mapping, self.validator, hash_rows=caps.row_hashes,
                         skip_unchanged=self.loader.unchanged_rows if caps.incremental else None,
                         emit_counts=self.emit_counts, lookups=self.lookup_attacher(mapping))
        batches = extract(self.ext, mapping, self.settings.chunk_size, since,
                          clean=loop.runner.clean_column)
        return loop.run(batches)
