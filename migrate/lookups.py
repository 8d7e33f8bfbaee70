"""Load the look-up tables of a run (mapping key ``lookup:``), once, within a memory bound.

A `LookupStore` lives as long as a run's executor. When a mapping with look-ups starts, it
reads each look-up table it has not read yet through the run's extractor (``iter_batches``, a
chunk at a time; values trimmed and the pack's null tokens read as null, as the mapping path
does), keeping only the declared key, ``columns`` and ``order_by`` values, in a dict from key
(as text) to rows. Mappings that declare the same table, key, columns, order and pick share one
index. The bytes held are estimated as rows arrive, for all look-ups of the run together; past
pack.yaml ``lookup_memory_mb`` the run stops with a `ConfigError` naming the look-up, mapping,
table and bound. Lines of a look-up table the extractor rejects are left out (they are that
table's own mapping's business); a row that needed one of them misses, and is accounted so.
The attaching itself is `migrate.mappers.lookups.LookupAttacher`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from migrate.errors import ConfigError, ExtractError, MigrateError
from migrate.mappers.lookups import LookupAttacher, LookupIndex

if TYPE_CHECKING:
    from migrate.extractors.base import Extractor
    from migrate.mappers.pack import CompiledMapping, Pack
    from migrate.mappers.spec import LookupSpec

MB = 1024 * 1024
# Rough CPython sizes: a str is ~49 bytes plus its text; a row tuple and its list slot ~64
# plus 8 per value; a new key its tuple, strings and dict slot (checked with tracemalloc: a
# 200,000-key dictionary of two short columns holds ~80 MB, estimated ~80 MB).
_STR, _ROW, _SLOT, _KEY = 49, 64, 8, 160
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
Shape = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str]


class LookupStore:
    """The look-up tables of one run (see the module docstring)."""

    def __init__(self, pack: Pack, ext: Extractor, chunk_size: int = 5000) -> None:
        self.ext, self.chunk_size = ext, chunk_size
        self.nulls = frozenset(pack.spec.null_tokens)
        self.bound_mb = pack.spec.lookup_memory_mb
        self.bound = int(self.bound_mb * MB)
        self.used = 0
        self.indexes: dict[Shape, LookupIndex] = {}

    def attacher(self, m: CompiledMapping) -> LookupAttacher | None:
        """What attaches ``m``'s look-up values to its rows (None: it has no look-up); loads
        the tables it needs that are not loaded yet."""
        if not m.spec.lookup:
            return None
        indexes = {name: self.index(m, name, lk) for name, lk in m.spec.lookup.items()}
        return LookupAttacher(m.name, m.spec, indexes, m.lookup_lines)

    def index(self, m: CompiledMapping, name: str, lk: LookupSpec) -> LookupIndex:
        """The loaded look-up ``name`` of mapping ``m`` (shared with same-shaped look-ups)."""
        shape: Shape = (lk.table, tuple(lk.key), tuple(lk.columns), tuple(lk.order_by),
                        lk.pick if lk.pick in ("first", "last") else "all")
        found = self.indexes.get(shape)
        if found is None:
            found = self._load(m, name, lk)
            self.indexes[shape] = found
        found.stats.setdefault("used_by", []).append(f"{m.name}.{name}")
        return found

    def report(self) -> list[dict[str, Any]]:
        """What ``run.json`` says of the look-up tables loaded (its ``lookups`` list)."""
        return [dict(index.stats) for index in self.indexes.values()]

    # -- loading ---------------------------------------------------------------------------
    def _load(self, m: CompiledMapping, name: str, lk: LookupSpec) -> LookupIndex:
        taken = list(dict.fromkeys([*lk.columns, *lk.order_by]))
        width = len(lk.columns)
        order = [taken.index(c) for c in lk.order_by]
        rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        read = rejected = null_keys = 0
        before = self.used
        for batch in self._batches(m, name, lk):
            rejected += len(batch.rejects)
            for raw in batch.rows:
                key = tuple(self._clean(raw.get(c)) for c in lk.key)
                if None in key:
                    null_keys += 1
                    continue
                key = tuple(map(str, key))
                values = tuple(self._clean(raw.get(c)) for c in taken)
                found = rows.get(key)
                if found is None:
                    rows[key] = [values]
                    self.used += _KEY + sum(_STR + len(k) for k in key)
                else:
                    found.append(values)
                self.used += _ROW + sum(_SLOT + _size(v) for v in values)
            read += len(batch.rows)
            if self.used > self.bound:
                raise self._too_big(m, name, lk, read)
        _order(rows, lk.pick, order)
        index = LookupIndex(rows, tuple(taken[:width]))
        index.stats = {"table": lk.table, "key": list(lk.key), "columns": taken,
                       "rows": read, "keys": len(rows), "null_keys": null_keys,
                       "rejected_lines": rejected,
                       "approx_mb": round((self.used - before) / MB, 3)}
        return index

    def _batches(self, m: CompiledMapping, name: str, lk: LookupSpec) -> Any:
        """The look-up table's batches; a source that fails mid-read is an ExtractError."""
        try:
            yield from self.ext.iter_batches(lk.table, self.chunk_size)
        except MigrateError:
            raise
        except Exception as exc:  # a driver's or reader's own error
            raise ExtractError(f"could not read look-up table {lk.table!r} (look-up {name!r} "
                               f"of mapping {m.name}): {type(exc).__name__}") from None

    def _clean(self, value: Any) -> Any:
        """A value as the mapping path sees it: text trimmed, null tokens read as null."""
        if type(value) is str:
            value = value.strip()
            return None if value in self.nulls else value
        return value

    def _too_big(self, m: CompiledMapping, name: str, lk: LookupSpec, read: int) -> ConfigError:
        return ConfigError(
            f"look-up {name!r} of mapping {m.name} (table {lk.table!r}) passes the look-up "
            f"memory bound of {self.bound_mb:g} MB (pack.yaml lookup_memory_mb; all look-ups "
            f"of the run together) after {read} rows: take fewer 'columns', or raise "
            "lookup_memory_mb if the machine has the memory")


def _size(value: Any) -> int:
    return _STR + len(value) if type(value) is str else 32


def _order(rows: dict[tuple[str, ...], list[tuple[Any, ...]]], pick: str,
           order: list[int]) -> None:
    """Sort each key's rows by ``order_by`` (stable: ties keep source order); keep only the
    chosen row for first and last."""
    if order:
        for key, found in rows.items():
            if len(found) > 1:
                found.sort(key=lambda r: tuple(order_key(r[i]) for i in order))
                if pick == "first":
                    rows[key] = found[:1]
                elif pick == "last":
                    rows[key] = found[-1:]


def order_key(value: Any) -> tuple[int, float, str]:
    """How ``order_by`` compares values: numbers (and number text) as numbers, before any
    other text, which is compared as text (ISO dates and datetimes written alike sort in
    time order); nulls last."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    text = str(value)
    if _NUMBER.fullmatch(text):
        return (0, float(text), "")
    return (1, 0.0, text)
