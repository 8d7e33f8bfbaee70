"""Bounded-memory memory of row keys: how many times each key of a table was seen.

Duplicate-key detection needs to remember every key of a table. A Python dict of hashes costs
about 70 bytes a key, which makes the peak memory of a run grow with its biggest table. `SeenKeys`
keeps the keys it has seen in sorted NumPy runs of 64-bit hashes (8 bytes a key) plus a small
dict of recent keys that becomes a new run when it fills; repeats (rare) are counted in a dict
of their own. Look-ups are done a chunk at a time, vectorized.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPILL = 1 << 16  # recent keys held in a dict before they become a sorted run
MAX_RUNS = 64  # runs searched per chunk before they are merged into one


class SeenKeys:
    """Counts occurrences of 64-bit key hashes, chunk by chunk, in the order given.

    Keys live in sorted runs of `SPILL` hashes that are never reallocated (so the memory they
    take is returned or reused cleanly); when there are more than `MAX_RUNS` runs they are
    merged into one.
    """

    def __init__(self, spill: int = SPILL) -> None:
        self._runs: list[np.ndarray] = []  # sorted, distinct, disjoint
        self._new: dict[int, int] = {}  # hash -> times seen, not yet in a run
        self._repeats: dict[int, int] = {}  # hash in a run -> times seen (2 or more)
        self._spill = spill

    def __len__(self) -> int:
        return sum(int(r.size) for r in self._runs) + len(self._new)

    def add_many(self, hashes: Sequence[int]) -> list[int]:
        """Record a chunk of key hashes; return, for each, how many times it has now been seen
        (1 for a key met for the first time)."""
        in_old: list[bool] = [False] * len(hashes)
        if self._runs:
            arr = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
            # searched in sorted order: each binary search starts where the last one ended
            # (about 3 times faster over many runs)
            order = np.argsort(arr)
            arr = arr[order]
            found = np.zeros(len(hashes), dtype=bool)
            for run in self._runs:
                idx = run.searchsorted(arr)
                np.minimum(idx, run.size - 1, out=idx)
                found |= run[idx] == arr
            in_chunk_order = np.empty_like(found)
            in_chunk_order[order] = found
            in_old = in_chunk_order.tolist()
        new, repeats = self._new, self._repeats
        counts: list[int] = []
        for h, old in zip(hashes, in_old, strict=True):
            if old:
                n = repeats[h] = repeats.get(h, 1) + 1
            else:
                n = new[h] = new.get(h, 0) + 1
            counts.append(n)
        if len(new) >= self._spill:
            self._spill_new()
        return counts

    def add(self, h: int) -> int:
        """Record one key hash; return how many times it has now been seen."""
        return self.add_many([h])[0]

    def _spill_new(self) -> None:
        run = np.fromiter(self._new, dtype=np.int64, count=len(self._new))
        run.sort()
        for h, n in self._new.items():
            if n > 1:
                self._repeats[h] = n
        self._new = {}
        self._runs.append(run)
        if len(self._runs) > MAX_RUNS:
            merged = np.concatenate(self._runs)
            merged.sort()
            self._runs = [merged]
