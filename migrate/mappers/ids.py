"""Deterministic resource ids (invariant 1).

An id is a UUIDv5 under the migration's own random namespace, seeded with the source system,
the resource type, the entity (by default the source table) and the key parts. Re-running gives
the same ids, references are computed from keys without look-ups, and an id cannot be turned
back into an MRN without the namespace.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence


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


# The 17th hex digit of a UUID with its two top bits set to the RFC 4122 variant (10).
_VARIANT = {f"{i:x}": f"{(i & 0x3) | 0x8:x}" for i in range(16)}


def id_maker(
    namespace: uuid.UUID, source_system: str
) -> Callable[[str, str, Sequence[object]], str]:
    """A fast ``resource_id`` for one namespace and source system: same ids, about 3x faster.

    It hashes like `uuid.uuid5` (SHA-1 of namespace bytes and seed, version and variant bits
    set) without building UUID objects, and keeps the seed prefix of each (type, entity).
    """
    ns = namespace.bytes
    sha1 = hashlib.sha1
    prefixes: dict[tuple[str, str], str] = {}

    def make(resource_type: str, entity: str, key: Sequence[object]) -> str:
        prefix = prefixes.get((resource_type, entity))
        if prefix is None:
            prefix = prefixes[(resource_type, entity)] = id_seed(
                source_system, resource_type, entity, ())
        parts = [prefix]
        for value in key:
            text = "" if value is None else value if type(value) is str else str(value)
            if "|" in text or "\\" in text:
                text = _part(text)
            parts.append(text)
        x = sha1(ns + "|".join(parts).encode()).hexdigest()
        # Version 5 in the 13th hex digit; the variant bits (10xx) in the 17th.
        return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"

    def many(resource_type: str, entity: str, keys: Sequence[Sequence[object]]) -> list[str]:
        """``make`` for many keys of one (type, entity): the same ids, with less overhead."""
        prefix = prefixes.get((resource_type, entity))
        if prefix is None:
            prefix = prefixes[(resource_type, entity)] = id_seed(
                source_system, resource_type, entity, ())
        out: list[str] = []
        add, variant = out.append, _VARIANT
        for key in keys:
            try:
                joined = "|".join(key)  # type: ignore[arg-type]
            except TypeError:  # a part that is not text: None, a number
                add(make(resource_type, entity, key))
                continue
            if "\\" in joined or joined.count("|") != len(key) - 1:
                add(make(resource_type, entity, key))  # a part to escape
                continue
            x = sha1(ns + f"{prefix}|{joined}".encode()).hexdigest()
            add(f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{variant[x[16]]}{x[17:20]}-{x[20:32]}")
        return out

    make.many = many  # type: ignore[attr-defined]
    return make


def digest(data: bytes) -> str:
    """A short, stable content hash (hex), for row and resource fingerprints."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
