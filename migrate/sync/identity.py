"""Where a project's state store is by default, and the identity it is bound to.

Shared by `sync` (``migrate.sync.run``), a `run` to a FHIR server (``migrate.sync.runrecord``)
and the CLI's ``status`` and ``conflicts``; it imports neither, so none of them imports another
for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrate.config import RunSettings


def identity_fingerprint(settings: RunSettings) -> str:
    """A fingerprint of the id namespace and source system (not reversible to either)."""
    seed = f"{settings.namespace}|{settings.source_system}".encode()
    return hashlib.sha256(seed).hexdigest()[:24]


def default_state_url(settings: RunSettings) -> str:
    """An SQLite file in the output folder."""
    return f"sqlite:///{Path(settings.output) / 'state.sqlite'}"
