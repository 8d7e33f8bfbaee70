"""Key-range partitions: every row in exactly one partition, groups and repeated keys together."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from migrate.executors.partitioned import (
    PartitionTask,
    _partition_rows,
    partition_column,
    plan_partitions,
)
from migrate.extractors.base import Batch, Extractor, open_extractor
from migrate.mappers.pack import MappingSettings, load_pack
from tests.conftest import REPO

HEADER = "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"


@pytest.fixture(scope="module")
def pack():  # noqa: ANN201
    return load_pack(REPO / "mappings" / "synthea",
                     MappingSettings(uuid.uuid4(), "urn:test", "UTC"))


def observations(tmp: Path) -> Path:
    """Patients with awkward values: padding, a null token, non-ASCII, a ragged line."""
    patients = [f"p{i:03d}" for i in range(40)] + ["  p007  ", "", "NULL", "pé", "Zeta", "p100"]
    lines = [HEADER]
    for n, p in enumerate(patients * 3):
        lines.append(f"2020-01-01T00:00:{n % 60:02d}Z,{p},e{n},vital-signs,8302-2,Height,"
                     f"{n},cm,numeric\n")
    lines.insert(17, "broken,line\n")
    (tmp / "observations.csv").write_text("".join(lines), encoding="utf-8")
    return tmp


class PlainCsv(Extractor):
    """The CSV extractor without its Arrow filter: the Python path of the workers."""

    name = "plain"

    def __init__(self, inner: Extractor) -> None:
        self.inner = inner

    def columns(self, table: str) -> list[str]:
        return self.inner.columns(table)

    def iter_batches(self, table, chunk_size=5000, query=None, since=None):  # noqa: ANN001, ANN201
        yield from self.inner.iter_batches(table, chunk_size, query, since)

    def describe(self, table: str) -> str:
        return self.inner.describe(table)


def test_partition_column_keeps_groups_and_keys_together(pack) -> None:  # noqa: ANN001
    obs = next(m for m in pack.mappings if m.name == "synthea.observation")
    assert partition_column(obs) == "PATIENT"  # in the key and in the group


@pytest.mark.parametrize("count", [2, 3, 7])
def test_every_row_lands_in_exactly_one_partition(pack, tmp_path: Path, count: int) -> None:  # noqa: ANN001
    src = observations(tmp_path)
    ext = open_extractor(kind="csv", path=str(src), files=pack.spec.files)
    obs = next(m for m in pack.mappings if m.name == "synthea.observation")
    column, bounds = plan_partitions(ext, obs, count, 50, min_rows=1)
    assert column == "PATIENT"
    assert len(bounds) == count - 1
    total = sum(len(b.rows) for b in ext.iter_batches("observations", 50))
    for reader in (ext, PlainCsv(ext)):
        seen: dict[int, int] = {}
        where: dict[str, set[int]] = {}
        for i in range(count):
            task = PartitionTask(obs.name, i, count, column, bounds, "unused")
            for batch, index in _partition_rows(reader, obs, task, 50):
                assert isinstance(batch, Batch)
                assert len(index) == len(batch.rows)
                for pos, row in zip(index, batch.rows, strict=True):
                    seen[pos] = seen.get(pos, 0) + 1
                    value = (row["PATIENT"] or "").strip()
                    where.setdefault(value if value not in ("", "NULL") else "", set()).add(i)
        assert sorted(seen) == list(range(total))  # every row, once
        assert set(seen.values()) == {1}
        assert all(len(parts) == 1 for parts in where.values())  # a patient stays together
        assert where[""] == {0}  # empty and null-token keys go to the first partition


def test_small_tables_stay_whole_by_default(pack, tmp_path: Path) -> None:  # noqa: ANN001
    src = observations(tmp_path)
    ext = open_extractor(kind="csv", path=str(src), files=pack.spec.files)
    obs = next(m for m in pack.mappings if m.name == "synthea.observation")
    assert plan_partitions(ext, obs, 4, 50) == (None, ())  # 138 rows < 20,000 a partition
