"""Executors: where the extract-map-validate work of a run happens (`migrate.stages`).

``local`` (the default) runs it in the calling process. ``dask`` cuts each table into key ranges
(`migrate.executors.partitioned`) and runs the same stage loop over each range on the workers of
a Dask cluster; the calling process merges the ranges back in source order and does the
accounting and the loading, so the output files, counts and state store are the same as with
``local``. The registry holds executor classes (`migrate.executors.base.Executor`).
"""

from __future__ import annotations

from typing import Any

from migrate.executors.base import Executor
from migrate.registry import Registry

EXECUTORS: Registry[type[Executor]] = Registry("executor", "migrate.executors")


def open_executor(settings: Any, pack: Any, extractor: Any, loader: Any) -> Executor:
    """The executor ``settings.executor`` names, not started yet (a context manager whose
    ``results(mapping, since)`` yields `migrate.stages.ChunkResult` objects)."""
    return EXECUTORS.get(settings.executor)(settings, pack, extractor, loader)
