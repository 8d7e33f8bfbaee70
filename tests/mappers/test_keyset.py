"""SeenKeys counts repeats exactly like a dict would, across spills and merges of its runs."""

from __future__ import annotations

import random

from migrate.mappers import keyset
from migrate.mappers.keyset import SeenKeys


def test_counts_match_a_dict(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(keyset, "MAX_RUNS", 3)  # merge often
    rng = random.Random(7)
    seen, reference = SeenKeys(spill=64), {}
    for _ in range(300):
        chunk = [rng.randrange(-3000, 3000) for _ in range(rng.randrange(1, 80))]
        expected = []
        for h in chunk:
            reference[h] = reference.get(h, 0) + 1
            expected.append(reference[h])
        assert seen.add_many(chunk) == expected
    assert len(seen) == len(reference)
    assert seen.add(2**63 - 1) == 1  # the extremes of int64 hashes
    assert seen.add(-(2**63)) == 1
    assert seen.add(-(2**63)) == 2


def test_memory_is_about_eight_bytes_a_key() -> None:
    seen = SeenKeys()
    for start in range(0, 300_000, 5000):
        seen.add_many([hash(("key", n)) for n in range(start, start + 5000)])
    held = sum(run.nbytes for run in seen._runs) + len(seen._new) * 100
    assert len(seen) == 300_000
    assert held < 300_000 * 8 + 65_536 * 100
