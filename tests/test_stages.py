"""One stage loop (`migrate.stages`): the pipeline consumes one kind of result, whichever
executor made it, and the in-process executor is a registered executor like any other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate.executors import EXECUTORS, open_executor
from migrate.executors.base import Executor
from migrate.executors.local import LocalExecutor
from migrate.pipeline import run_pipeline
from migrate.stages import ChunkResult
from tests.conftest import make_settings

GOLDEN_INPUT = Path(__file__).parent / "golden" / "synthea" / "input"


class OneUnitAtATime(LocalExecutor):
    """The local stage loop, its results cut into one unit each (and the rows read handed
    over first): the pipeline must account for them exactly as for the original chunks."""

    name = "one-at-a-time"

    def describe(self) -> str:
        return "local"

    def results(self, mapping, since) -> Iterator[ChunkResult]:  # noqa: ANN001
        for result in super().results(mapping, since):
            yield ChunkResult(result.read, result.rejects, [], result.warnings)
            for unit in result.units:
                yield ChunkResult(0, [], [unit], Counter())


@pytest.fixture
def one_at_a_time() -> Iterator[str]:
    EXECUTORS.register(OneUnitAtATime.name, OneUnitAtATime)
    try:
        yield OneUnitAtATime.name
    finally:
        EXECUTORS._items.pop(OneUnitAtATime.name, None)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "nd").glob("*.ndjson"))} | {
        "quarantine.ndjson": (folder / "quarantine.ndjson").read_bytes()}


def test_the_pipeline_takes_the_same_results_from_any_executor(tmp_path: Path,
                                                               one_at_a_time: str) -> None:
    runs = {}
    for executor in ("local", one_at_a_time):
        out = tmp_path / executor
        report = run_pipeline(make_settings(GOLDEN_INPUT, f"ndjson:{out / 'nd'}", out,
                                            max_quarantine_rate=1.0, executor=executor))
        tables = [t.as_dict() for t in report.tables]
        for t in tables:
            t.pop("source", None)
        runs[executor] = (_outputs(out), tables, dict(report.warnings), report.executor)
    assert runs["local"][0]["quarantine.ndjson"]  # the golden input quarantines some rows
    assert runs[one_at_a_time] == runs["local"]


def test_every_executor_in_the_registry_is_an_executor_class() -> None:
    assert {"local", "dask"} <= set(EXECUTORS.names())
    for name in EXECUTORS.names():
        assert issubclass(EXECUTORS.get(name), Executor)


def test_the_local_executor_is_a_real_executor(tmp_path: Path) -> None:
    """``local`` is opened like any executor (no special case in the pipeline)."""
    settings = make_settings(GOLDEN_INPUT, f"ndjson:{tmp_path / 'nd'}", tmp_path)
    executor = open_executor(settings, None, None, None)
    assert isinstance(executor, LocalExecutor)
    with executor as opened:
        assert opened.describe() == "local"
        assert opened.partitions == {}


def _patients() -> tuple[Any, Any, list[dict[str, Any]]]:
    from migrate.extractors.base import open_extractor, source_options
    from migrate.mappers.pack import load_pack
    from migrate.stages import pack_settings

    settings = make_settings(GOLDEN_INPUT, "ndjson:unused", Path("unused"))
    pack = load_pack(settings.mappings, pack_settings(settings))
    m = next(x for x in pack.mappings if x.table == "patients")
    ext = open_extractor(**source_options(settings.source, pack.spec.files))
    try:
        rows = [r for b in ext.iter_batches(m.table) for r in b.rows]
    finally:
        ext.close()
    return pack, m, rows


def test_change_detection_is_a_stage_the_loader_switches_on() -> None:
    """Row hashes and unchanged rows come from `RowChanges`, switched on by the loader's
    ``row_hashes``/``incremental`` capabilities; without it the engine hashes nothing."""
    from migrate.mappers.engine import MappingRunner
    from migrate.outcomes import EMITTED, UNCHANGED, Batch
    from migrate.stages import StageLoop
    from migrate.validation.fast import FastValidator

    assert not any(hasattr(MappingRunner, a) for a in ("row_hash", "hash_rows",
                                                        "skip_unchanged", "_unchanged"))
    pack, m, rows = _patients()
    plain = StageLoop(pack, m, FastValidator()).chunk(Batch(list(rows)), Counter())
    assert {u.outcome for u in plain} == {EMITTED}
    assert all(u.row_hash is None and u.source_rows is None for u in plain)
    hashed = StageLoop(pack, m, FastValidator(), hash_rows=True).chunk(Batch(list(rows)),
                                                                       Counter())
    assert [u.resources for u in hashed] == [u.resources for u in plain]
    assert all(u.row_hash and u.source_rows for u in hashed)
    asked: list[int] = []

    def everything_unchanged(mapping: str, candidates: list[tuple[str, str]]) -> set[str]:
        asked.append(len(candidates))
        return {k for k, _ in candidates}

    skipped = StageLoop(pack, m, FastValidator(),
                        skip_unchanged=everything_unchanged).chunk(Batch(list(rows)), Counter())
    assert asked == [len(rows)]
    assert {u.outcome for u in skipped} == {UNCHANGED}
    assert [u.row_hash for u in skipped] == [u.row_hash for u in hashed]
    assert all(not u.resources for u in skipped)


def test_source_order_is_the_executors_concern() -> None:
    """Dask's ordering lives in `executors.partitioned.SourceOrder`; the engine only reports
    rows and groups to it when one is given."""
    import inspect

    from migrate.executors.partitioned import SourceOrder
    from migrate.mappers.engine import MappingRunner

    assert set(inspect.signature(MappingRunner.feed).parameters) == {"self", "rows", "clean"}
    assert set(inspect.signature(MappingRunner.finish).parameters) == {"self"}
    order = SourceOrder()
    order.index_of = [10, 11, 12]
    order.row(0, 0)
    order.group_opened(("a",))
    order.row(1, 0)
    order.row(2, 2)  # two units finished while row 1 was read
    order.row(3, 3)
    assert order.take() == [11, 11, 12]
    order.flushed([("a",), ("b",)])
    assert order.firsts == [10, None]


def test_an_invalid_resource_is_traced_to_its_template_element(tmp_path: Path) -> None:
    """The quarantine record of an `invalid-resource` names file:line: the element's line,
    a choice element's variant, else the emit's (two emits of one type: the one with it)."""
    from migrate.mappers.pack import load_pack
    from migrate.stages import issue_line
    from tests.mappers.conftest import SETTINGS

    (tmp_path / "m.yaml").write_text(
        "mapping: m\nsource: t\nkey: [ID]\nemit:\n"
        "  - resource: Observation\n    template:\n      status: $S\n"
        "      code: {text: x}\n"
        "  - resource: Observation\n    name: other\n    entity: o2\n    template:\n"
        "      code: {text: y}\n      valueQuantity: {quantity: {value: $V, unit: kg}}\n",
        encoding="utf-8")
    m = load_pack(tmp_path, SETTINGS).mappings[0]
    assert issue_line(m, "Observation", "Observation.status") == 7
    assert issue_line(m, "Observation", "Observation.value[x]") == 14
    assert issue_line(m, "Observation", "Observation.subject") == 5  # not in a template
    assert issue_line(m, "Patient", "Patient.gender") is None
    assert issue_line(None, "Observation", "Observation.status") is None
