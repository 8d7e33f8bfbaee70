"""Row keys of the C-CDA tables: short hashes of identity parts, the same in every run.

A key is the first 32 hex digits of the SHA-256 of its parts, each escaped and joined, so
``("a|b",)`` and ``("a", "b")`` never meet. Keys carry no patient data in the clear; the
resource ids the pack computes from them are UUIDv5 of the migration's secret namespace
(invariant 1).
"""

from __future__ import annotations

import hashlib


def key(kind: str, *parts: str | None) -> str:
    """The key of an entity of ``kind`` (``patient``, ``practitioner``, a table name, ...)
    identified by ``parts`` (None is an empty part)."""
    text = "|".join(_escape(p) for p in (kind, *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def norm(text: str | None) -> str:
    """Names compared for identity: case-folded, spaces collapsed, ends trimmed."""
    return " ".join((text or "").split()).casefold()


def _escape(part: str | None) -> str:
    return (part or "").replace("\\", "\\\\").replace("|", "\\|")
