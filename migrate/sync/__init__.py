"""Incremental re-sync: send only what changed since the last sync, safely and resumably.

``run_sync`` and ``SyncResult`` are loaded on first use, as ``migrate``'s own exports are:
importing one module of the package (``migrate.sync.runrecord``, which a `run` to a FHIR server
uses, or ``migrate.sync.identity``) does not import the whole sync, and with it the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["SyncResult", "run_sync"]

if TYPE_CHECKING:
    from migrate.sync.run import SyncResult, run_sync


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("migrate.sync.run"), name)
    raise AttributeError(f"module 'migrate.sync' has no attribute {name!r}")
