"""References a run emits to rows it quarantined (they would dangle in the target).

Mappings run referenced-first, so by the time a referring mapping runs, the rows quarantined
in the mappings it references are known. Their would-be ids are computed from their keys the
way the engine computes them (invariant 1), and only the resources of mappings that reference
such a mapping are walked for references: a clean run pays nothing. Ids of emits with their
own ``key`` cannot be recomputed from the row key and are not tracked.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from migrate.mappers.pack import CompiledMapping, Pack
    from migrate.outcomes import Unit

# A Reference.reference member in JSON (an id never holds a quote or a backslash escape).
_REFERENCE = re.compile(rb'"reference":"([^"\\]*)"')


class DanglingTracker:
    """Would-be ids of quarantined rows, and references to them from later mappings."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.ids: dict[str, str] = {}  # "Type/id" of a quarantined row -> its mapping
        self._mappings: set[str] = set()

    def quarantined(self, m: CompiledMapping, unit: Unit) -> None:
        """Remember the ids the quarantined ``unit`` of ``m`` would have had."""
        self._remember(m, unit.keys)

    def unreadable(self, m: CompiledMapping, fields: dict[str, str] | None) -> None:
        """Best effort for a line the reader set aside (a stray quote, a bad byte): its key
        is read from the fields the extractor could tell apart (`Extractor.split_rejected`:
        those before the first quote), when the key lies there (an id column usually comes
        first)."""
        if not fields or not m.spec.key or any(c not in fields for c in m.spec.key):
            return
        self._remember(m, [{c: fields[c].strip() or None for c in m.spec.key}])

    def _remember(self, m: CompiledMapping, keys: list[dict[str, Any]]) -> None:
        emits = [e for e in m.emits if e.key is None]
        for key in keys:
            parts = tuple(key.get(c) for c in m.spec.key)
            if not parts or any(p is None for p in parts):
                continue
            # A key damaged by a stray quote: the rows referring to it use the undamaged one.
            unquoted = tuple(p.strip('"') if isinstance(p, str) else p for p in parts)
            for emit in emits:
                for variant in {parts, unquoted}:
                    rid = self.pack.make_id(emit.resource, emit.entity, variant)
                    self.ids[f"{emit.resource}/{rid}"] = m.name
                self._mappings.add(m.name)

    def watches(self, m: CompiledMapping) -> bool:
        """True when ``m`` references a mapping that had quarantined rows."""
        return bool(self._mappings & self.pack.depends.get(m.name, set()))

    def count(self, m: CompiledMapping, resources: list[dict[str, Any]],
              found: Counter[tuple[str, str]]) -> None:
        """Add to ``found`` the references of ``resources`` to quarantined rows.

        Every ``"reference": "..."`` member of the resources, found in their JSON in one pass
        (orjson and a regular expression, both in C: walking the objects in Python cost an
        eighth of a run): a string value cannot hold the pattern, its quotes are escaped.
        """
        ids, name = self.ids, m.name
        text = orjson.dumps(resources)
        for raw in _REFERENCE.findall(text):
            ref = raw.decode()
            if ref in ids:
                found[(name, ids[ref])] += 1
