"""Bounded-memory memory of row keys: how many times each key of a table was seen.

Duplicate-key detection needs to remember every key of a table. A Python dict of hashes costs
about 70 bytes a key, which makes the peak memory of a run grow with its biggest table. `SeenKeys`
keeps the keys it has seen in a sorted NumPy array of 64-bit hashes (8 bytes a key) plus a small
dict of recent keys that is merged into the array when it fills; repeats (rare) are counted in a
dict of their own. Look-ups are done a chunk at a time, vectorized.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPILL = 1 << 16  # recent keys held in a dict before they are merged into the sorted array


class SeenKeys:
    """Counts occurrences of 64-bit key hashes, chunk by chunk, in the order given."""

    def __init__(self, spill: int = SPILL) -> None:
        self._old = np.empty(0, dtype=np.int64)  # sorted, distinct
        self._new: dict[int, int] = {}  # hash -> times seen, not yet in _old
        self._repeats: dict[int, int] = {}  # hash in _old -> times seen (2 or more)
        self._spill = spill

    def __len__(self) -> int:
        return int(self._old.size) + len(self._new)

    def add_many(self, hashes: Sequence[int]) -> list[int]:
        """Record a chunk of key hashes; return, for each, how many times it has now been seen
        (1 for a key met for the first time)."""
        if self._old.size:
            arr = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
            idx = self._old.searchsorted(arr)
            np.minimum(idx, self._old.size - 1, out=idx)
            in_old = (self._old[idx] == arr).tolist()
        else:
            in_old = [False] * len(hashes)
        new, repeats = self._new, self._repeats
        counts: list[int] = []
        for h, old in zip(hashes, in_old, strict=True):
            if old:
                n = repeats[h] = repeats.get(h, 1) + 1
            else:
                n = new[h] = new.get(h, 0) + 1
            counts.append(n)
        if len(new) >= self._spill:
            self._merge()
        return counts

    def add(self, h: int) -> int:
        """Record one key hash; return how many times it has now been seen."""
        return self.add_many([h])[0]

    def _merge(self) -> None:
        fresh = np.fromiter(self._new, dtype=np.int64, count=len(self._new))
        for h, n in self._new.items():
            if n > 1:
                self._repeats[h] = n
        self._old = np.union1d(self._old, fresh)
        self._new = {}
