"""Deterministic resource ids (invariant 1).

An id is a UUIDv5 under the migration's own random namespace, seeded with the source system,
the resource type, the entity (by default the source table) and the key parts. Re-running gives
the same ids, references are computed from keys without look-ups, and an id cannot be turned
back into an MRN without the namespace.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence


def _part(value: object) -> str:
    text = "" if value is None else str(value)
    # Escape the separator so ("a|b",) and ("a", "b") never give the same seed.
    return text.replace("\\", "\\\\").replace("|", "\\|")


def id_seed(source_system: str, resource_type: str, entity: str, key: Sequence[object]) -> str:
    """The text that is hashed into an id; exposed for tests and documentation."""
    parts = [source_system, resource_type, entity, *key]
    return "|".join(_part(p) for p in parts)


def resource_id(
    namespace: uuid.UUID, source_system: str, resource_type: str, entity: str, key: Sequence[object]
) -> str:
    """The deterministic id of one resource."""
    return str(uuid.uuid5(namespace, id_seed(source_system, resource_type, entity, key)))


def digest(data: bytes) -> str:
    """A short, stable content hash (hex), for row and resource fingerprints."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
