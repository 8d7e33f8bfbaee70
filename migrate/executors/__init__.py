"""Executors: where the extract-map-validate work of a run happens.

``local`` (the default) runs it in the calling process. ``dask`` cuts each table into key ranges
(`migrate.executors.partitioned`) and runs mapping, validation and serialization of each range on
the workers of a Dask cluster; the calling process merges the ranges back in source order and
does the accounting and the loading, so the output files, counts and state store are the same as
with ``local``.
"""

from __future__ import annotations

from typing import Any

from migrate.registry import Registry

EXECUTORS: Registry[Any] = Registry("executor", "migrate.executors")


@EXECUTORS.register("local")
def _local(settings: Any, pack: Any, extractor: Any, loader: Any) -> None:
    """In-process: the pipeline's own loop (no executor object)."""
    return None


@EXECUTORS.register("dask")
def _dask(settings: Any, pack: Any, extractor: Any, loader: Any) -> Any:
    from migrate.executors.dask import DaskExecutor

    return DaskExecutor(settings, pack, extractor, loader)


def open_executor(settings: Any, pack: Any, extractor: Any, loader: Any) -> Any:
    """The executor ``settings.executor`` names: None for ``local``, else a context manager
    whose ``results(mapping)`` yields ``(rows read, rejected rows, units, warnings)``."""
    return EXECUTORS.get(settings.executor)(settings, pack, extractor, loader)
