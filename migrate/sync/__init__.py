"""Incremental re-sync: send only what changed since the last sync, safely and resumably."""

from migrate.sync.run import SyncResult, run_sync

__all__ = ["SyncResult", "run_sync"]
