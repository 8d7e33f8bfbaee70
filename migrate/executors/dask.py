"""Run a migration's tables, cut into key ranges, on a Dask cluster.

The calling process (the *driver*) plans the partitions of every table, submits one task per
partition at once (earlier tables first), and then, table by table in the pack's order, waits
for that table's partitions and merges their part files in source order into the ordinary
pipeline: accounting, quarantine file, loader and state store stay in one process, exactly as
with the in-process executor. Workers read the source themselves and write part files under
``OUT/.parts``: on a real cluster the source (CSV folder or database) and the output folder must
be reachable from every worker under the same paths (a shared filesystem), and every worker needs
emr-migrate installed. See docs/performance.md for running on an existing cluster.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrate.errors import ConfigError, MigrateError
from migrate.executors.base import Executor
from migrate.executors.partitioned import (
    MIN_ROWS_PER_PARTITION as MIN_ROWS,
)
from migrate.executors.partitioned import (
    PartitionTask,
    PartResult,
    merge_parts,
    plan_partitions,
)
from migrate.mappers.pack import CompiledMapping
from migrate.stages import ChunkResult, gc_tuned, pack_settings

log = logging.getLogger(__name__)


class ExecutorError(MigrateError):
    """A partition failed on a worker."""
_CONTEXTS: dict[str, Any] = {}  # per worker process: settings JSON -> (pack, extractor, ...)


class DaskExecutor(Executor):
    """A started Dask client (and LocalCluster when no scheduler address is given)."""

    name = "dask"

    def __init__(self, settings: Any, pack: Any, extractor: Any, loader: Any) -> None:
        super().__init__(settings, pack, extractor, loader)
        self.client: Any = None
        self.cluster: Any = None
        self.futures: dict[str, list[Any]] = {}
        self.parts = Path(settings.output) / ".parts"

    def describe(self) -> str:
        """``dask:<scheduler> (<n> workers)``."""
        workers = len(self.client.scheduler_info().get("workers", {})) if self.client else 0
        where = self.settings.scheduler or "LocalCluster"
        return f"dask:{where} ({workers} workers)"

    def __enter__(self) -> DaskExecutor:
        with_lookups = sorted(m.name for m in self.pack.mappings if m.spec.lookup)
        if with_lookups:  # each worker would load every look-up table again: not supported
            raise ConfigError(f"--executor dask does not run look-ups (mapping key 'lookup:' "
                              f"in {', '.join(with_lookups)}); run with --executor local")
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--executor dask needs Dask: pip install 'emr-migrate[dask]'") \
                from None
        s = self.settings
        if s.scheduler:
            try:
                self.client = Client(s.scheduler, timeout="30s")
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {s.scheduler}: {exc}") \
                    from None
        else:
            workers = s.workers or os.cpu_count() or 1
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0",
                                        # worker tracebacks may quote source values
                                        silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
        try:
            self._submit()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            for futures in self.futures.values():
                self.client.cancel(futures)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        shutil.rmtree(self.parts, ignore_errors=True)

    def _submit(self) -> None:
        if self.emit_counts is not None:
            raise ConfigError("counting emits (validate) runs in process: use --executor local")
        s = self.settings
        n_workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        wanted = s.partitions or 2 * n_workers
        shutil.rmtree(self.parts, ignore_errors=True)
        blob = s.model_dump_json()
        hash_rows = self.loader.capabilities.row_hashes
        incremental = self.loader.capabilities.incremental
        for order, m in enumerate(self.pack.ordered_mappings()):
            # An explicit --partitions is taken as it is; the default keeps small tables whole.
            column, bounds = plan_partitions(self.ext, m, wanted, s.chunk_size,
                                             min_rows=1 if s.partitions else MIN_ROWS)
            count = len(bounds) + 1
            self.partitions[m.name] = count
            since = self.loader.extract_since(m) if incremental else None
            tasks = [PartitionTask(m.name, i, count, column, bounds,
                                   str(self.parts / m.name / f"{i:04d}.ndjson"), hash_rows, since)
                     for i in range(count)]
            # Tables in the pack's order, as the driver merges them: it merges one table while
            # the workers map the next ones.
            self.futures[m.name] = [
                self.client.submit(work, t, blob, key=f"emr-migrate-{m.name}-{t.index}-{id(self)}",
                                   priority=-order, pure=False)
                for t in tasks]

    def results(self, m: CompiledMapping,
                since: tuple[str, str] | None = None) -> Iterator[ChunkResult]:
        """The table's units in source order, in chunks, once its partitions are done (the
        watermark was asked for when the partitions were submitted)."""
        futures = self.futures.pop(m.name)
        try:
            parts: list[PartResult] = self.client.gather(futures)
        except Exception as exc:  # a worker's failure, re-raised here by Dask
            # The type only: an unexpected error's text may quote a source value (no PHI).
            raise ExecutorError(f"{m.name}: a partition failed on a Dask worker "
                                f"({type(exc).__name__}); run with --executor local to see "
                                "where") from exc
        warnings: Counter[str] = Counter()
        for part in parts:
            warnings.update(part.warnings)
        yield ChunkResult(sum(p.read for p in parts), [], [], warnings)
        yield from (ChunkResult(0, rejects, units)
                    for rejects, units in merge_parts([p.task.part_file for p in parts]))
        shutil.rmtree(self.parts / m.name, ignore_errors=True)


def work(task: PartitionTask, settings_json: str) -> PartResult:
    """The task a worker runs: one partition of one table (see `run_partition`)."""
    from migrate.executors.partitioned import run_partition

    settings, pack, ext, validator = _context(settings_json)
    with gc_tuned():
        return run_partition(task, pack, ext, validator, settings.chunk_size)


def _context(settings_json: str) -> Any:
    ctx = _CONTEXTS.get(settings_json)
    if ctx is None:
        from migrate.config import RunSettings
        from migrate.extractors.base import open_extractor, source_options
        from migrate.mappers.pack import load_pack
        from migrate.validation.fast import FastValidator

        settings = RunSettings.model_validate_json(settings_json)
        pack = load_pack(settings.mappings, pack_settings(settings))
        ext = open_extractor(**source_options(settings.source, pack.spec.files))
        ctx = _CONTEXTS[settings_json] = (settings, pack, ext, FastValidator())
    return ctx
