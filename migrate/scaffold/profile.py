"""Step 1 of `emr-migrate scaffold`: profile every table of a source in one streaming pass
each (the `emr-migrate profile` profiler), then, for a table without a one-column key, one
more pass that tests column pairs for uniqueness.

Memory is bounded: the profiler keeps at most `MAX_DISTINCT` distinct values per column
(`ColumnProfile.capped` says when it stopped), and the pair pass keeps at most `MAX_DISTINCT`
pairs per candidate pair, drops a pair at its first repeated value and gives up on a pair
past the cap (its uniqueness is then unknown, and the output says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from migrate.errors import MigrateError
from migrate.extractors.base import DEFAULT_CHUNK_SIZE, Extractor, open_extractor, source_options
from migrate.outcomes import Batch
from migrate.report.profile import MAX_DISTINCT, TableProfile, profile_table
from migrate.validation.coverage import source_tables

MAX_PAIR_COLUMNS = 8  # columns tried in pairs (28 pairs at most)
# ``progress(table, rows)``: ``rows`` more rows of ``table`` were read (0: the table starts).
Progress = Callable[[str, int], None]


@dataclass
class SourceProfile:
    """What the scaffold knows of a source: each table's profile, the unique column pairs of
    the tables without a one-column key, and the pairs whose uniqueness stayed unknown."""

    kind: str
    tables: list[TableProfile] = field(default_factory=list)
    unique_pairs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    pairs_capped: set[str] = field(default_factory=set)


class _Ticking(Extractor):
    """An extractor that reports each batch it yields to a progress callback."""

    name = "ticking"

    def __init__(self, inner: Extractor, progress: Progress) -> None:
        self.inner, self.progress = inner, progress

    def columns(self, table: str) -> list[str]:
        """The inner extractor's columns."""
        return self.inner.columns(table)

    def describe(self, table: str) -> str:
        """The inner extractor's description."""
        return self.inner.describe(table)

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        """The inner batches, each reported once yielded."""
        for batch in self.inner.iter_batches(table, chunk_size):
            yield batch
            self.progress(table, len(batch.rows) + len(batch.rejects))


def single_keys(prof: TableProfile) -> list[str]:
    """Columns whose values are all present and all different (proven: not capped)."""
    return [c.name for c in prof.columns
            if prof.rows and not c.nulls and not c.capped and len(c.counts) == prof.rows]


def weak_key(prof: TableProfile, column: str) -> bool:
    """True for a unique column that is more likely unique by chance than a key: a date,
    a date-time or a decimal number."""
    col = prof.column(column)
    return col is None or col.kind in ("date", "datetime", "decimal")


def pair_candidates(prof: TableProfile) -> list[str]:
    """Columns worth trying in pairs: always filled, more than one value, not free text."""
    cols = [c for c in prof.columns
            if not c.nulls and len(c.counts) > 1 and c.kind not in ("text", "empty")]
    cols += [c for c in prof.columns if not c.nulls and len(c.counts) > 1 and c.kind == "text"
             and len(c.counts) < prof.rows]
    return [c.name for c in cols][:MAX_PAIR_COLUMNS]


def find_unique_pairs(ext: Extractor, table: str, columns: list[str]
                      ) -> tuple[list[tuple[str, str]], bool]:
    """The pairs of ``columns`` whose value pairs never repeat, in one pass; and whether some
    pair was given up past `MAX_DISTINCT` (then unknown, not listed)."""
    seen: dict[tuple[str, str], set[tuple[Any, Any]]] = {
        p: set() for p in combinations(columns, 2)}
    capped = False
    for batch in ext.iter_batches(table, DEFAULT_CHUNK_SIZE):
        for pair in list(seen):
            values, (a, b) = seen[pair], pair
            for row in batch.rows:
                v = (str(row.get(a)), str(row.get(b)))
                if v in values:
                    del seen[pair]
                    break
                values.add(v)
            else:
                if len(values) > MAX_DISTINCT:
                    del seen[pair]
                    capped = True
        if not seen:
            break
    return list(seen), capped


def profile_source_tables(source: dict[str, Any], tables: list[str] | None = None,
                          progress: Progress | None = None) -> SourceProfile:
    """Profile the tables of ``source`` (all when none are named) for the scaffold.

    ``source`` is a source setting as `migrate.config.parse_source` gives it.
    """
    opts = source_options(source)
    ext = open_extractor(**opts)
    tick = progress or (lambda table, rows: None)
    try:
        names = list(tables) if tables else source_tables(ext)
        out = SourceProfile(kind=opts["kind"])
        for name in names:
            tick(name, 0)
            prof = profile_table(_Ticking(ext, tick), name)
            out.tables.append(prof)
            strong = [c for c in single_keys(prof) if not weak_key(prof, c)]
            if prof.error or not prof.rows or strong:
                continue
            try:
                pairs, capped = find_unique_pairs(ext, name, pair_candidates(prof))
            except MigrateError:
                continue  # the profile already holds the read error
            out.unique_pairs[name] = pairs
            if capped:
                out.pairs_capped.add(name)
        return out
    finally:
        ext.close()
