"""Column-wise mapping of a chunk (`migrate.mappers.chunked`) gives the row-at-a-time result.

Every unit (outcome, keys, resources, errors, notes, rule) is compared between a runner with its
chunk plan and the same runner with the plan switched off, on the Synthea pack over sample data
with injected defects, and on a pack made to hit every way a row leaves the chunk path.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from migrate.extractors.csv import CsvExtractor
from migrate.mappers.chunked import screen
from migrate.mappers.engine import MappingRunner
from migrate.mappers.pack import Pack, load_pack
from migrate.outcomes import Unit
from tests.mappers.conftest import SETTINGS
from tests.mappers.test_transforms import mapping as one_emit

REPO = Path(__file__).resolve().parents[2]
JUNK = ["", " ", "NULL", "  x  ", "2019-02-30T10:00:00Z", "2019-02-28", "abc", "-1", "12.5",
        "zzz-unknown", "2019-13-01", "N/A", "8480-6", "numeric", "text", " 5 ", "Never smoker",
        "2020-01-01T00:00:00", "|", "\\", "ambulatory", "M", "F"]


def snapshot(units: list[Unit]) -> list[tuple[Any, ...]]:
    def problems(errs: list[Any]) -> list[tuple[Any, ...]]:
        return [(e.code, e.message, e.column, repr(e.value), e.line) for e in errs]

    return [(u.mapping, u.outcome, u.keys, u.resources, u.rule, problems(u.errors),
             problems(u.notes)) for u in units]


def run(pack: Pack, mapping: Any, chunks: list[list[dict[str, Any]]],
        chunked: bool) -> tuple[list[Unit], MappingRunner]:
    runner = MappingRunner(pack, mapping)
    if not chunked:
        runner.chunk_plan = None
    one_by_one = runner._run_one
    runner.rows_alone = 0  # type: ignore[attr-defined]

    def counted(row: dict[str, Any], key: tuple[Any, ...]) -> Unit:
        runner.rows_alone += 1  # type: ignore[attr-defined]
        return one_by_one(row, key)

    runner._run_one = counted  # type: ignore[method-assign]
    units: list[Unit] = []
    for rows in chunks:
        units += runner.feed([dict(r) for r in rows])
    return units + runner.finish(), runner


def with_defects(src: Path, dst: Path, seed: int) -> Path:
    """A copy of a Synthea CSV folder with odd values in about 8% of rows, and repeated rows."""
    shutil.copytree(src, dst)
    rng = random.Random(seed)
    for path in sorted(dst.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields, rows = list(reader.fieldnames or []), list(reader)
        for row in rows:
            if rng.random() < 0.08:
                col = rng.choice(fields)
                row[col] = rng.choice([*JUNK, row[col].upper(), row[col] + " "])
        for _ in range(max(1, len(rows) // 100)):
            if rows:
                rows.insert(rng.randrange(len(rows)), dict(rng.choice(rows)))
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return dst


@pytest.mark.parametrize("chunk_size", [5000, 3])
def test_synthea_pack_maps_alike_both_ways(tmp_path: Path, chunk_size: int) -> None:
    src = with_defects(REPO / "sample_data" / "synthea", tmp_path / "src", seed=chunk_size)
    pack = load_pack(REPO / "mappings" / "synthea", SETTINGS)
    ext = CsvExtractor(src)
    planned = outcomes = 0
    for mapping in pack.ordered_mappings():
        chunks = [b.rows for b in ext.iter_batches(mapping.table, chunk_size)]
        fast, runner = run(pack, mapping, chunks, chunked=True)
        slow, _ = run(pack, mapping, chunks, chunked=False)
        assert snapshot(fast) == snapshot(slow), mapping.name
        planned += runner.chunk_plan is not None
        if runner.chunk_plan is not None and chunk_size > 3:
            assert runner.rows_alone < len(fast) // 2 + 1, mapping.name
        outcomes += len({u.outcome for u in fast})
    assert planned >= 12  # nearly every mapping of the pack runs column-wise
    assert outcomes > len(pack.mappings)  # the defects did quarantine rows


PACK = """\
mapping: m
source: t
key: [ID]
filter:
  - {name: no-kind, when: {absent: $KIND}}
  - {name: t2, when: {matches: [$TEXT, "^t2$"]}}
  - {name: y1999, when: {equals: [{datetime: $WHEN}, "1999-01-01"]}}
group:
  by: [GROUP]
  when: {equals: [$EMPTY, g]}
  size: 2
let:
  pid: {ref: {mapping: m, emit: main, key: [$ID]}}
  pidtext: $ID
  ref2: {ref: {mapping: m, emit: second, key: [$GROUP, $pidtext]}}
emit:
  - name: main
    resource: Observation
    when: {not_equals: [$KIND, skip]}
    template:
      status: final
      code:
        coding: [{translate: {map: codes, from: $CODE, on_unmapped: keep,
                              system: "urn:local"}}]
        text: $TEXT
      subject: $ref2
      focus: [$pid]
      effectiveDateTime: {datetime: $WHEN}
      valueQuantity:
        $when: {equals: [$KIND, num]}
        quantity: {value: $VALUE, unit: mg}
      valueString: {first_of: [$EMPTY, $TEXT]}
  - name: second
    resource: Observation
    when: {equals: [$KIND, num]}
    key: [$GROUP, $ID]
    template:
      status: {translate: {map: status, from: $STATUS, on_unmapped: quarantine, as: code}}
      code: {text: $CODE}
"""
MAPS = {"codes": "source_code,target_code,target_system,target_display\n"
                 "a,A1,urn:t,A one\nb,B1,urn:t,\n",
        "status": "source_code,target_code,target_system,target_display\n"
                  "f,final,,\np,preliminary,,\n"}


def test_every_way_out_of_the_chunk_path_gives_the_row_result(load: Any) -> None:
    pack = load({"m.yaml": PACK}, concept_maps=MAPS)
    mapping = pack.mappings[0]
    rng = random.Random(5)
    rows = []
    for i in range(600):
        rows.append({
            "ID": rng.choice([str(i), str(i), str(i), "", str(i // 2)]),
            "GROUP": rng.choice(["g1", "g2", "", None]),
            "KIND": rng.choice(["num", "num", "txt", "skip", "num", "num", "txt", ""]),
            "CODE": rng.choice(["a", "b", "a", "zz"]),  # zz: unmapped, kept with a note
            "TEXT": rng.choice(["t1", "t2", " ", "NULL"]),
            "EMPTY": rng.choice(["", "e", "e", "e", "g"]),
            "WHEN": rng.choice(["2020-01-01T10:00:00Z", "2020-02-30", "2021-05-05", "x"]),
            "VALUE": rng.choice(["1", "2.5", "abc", ""]),
            "STATUS": rng.choice(["f", "p", "q"]),  # q: quarantined
        })
    rows[17]["TEXT"] = ["a list"]  # an unhashable value: that chunk goes row at a time
    for size in (600, 50, 1):
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        fast, runner = run(pack, mapping, chunks, chunked=True)
        slow, _ = run(pack, mapping, chunks, chunked=False)
        assert runner.chunk_plan is not None
        assert snapshot(fast) == snapshot(slow)
        # Most rows went column-wise; those with a note, an error or the list value did not.
        assert 0 < runner.rows_alone < len(rows) // 2, (size, runner.rows_alone)
    kinds = {u.outcome for u in fast} | {n.code for u in fast for n in u.notes}
    assert {"emitted", "quarantined", "filtered", "unmapped-code"} <= kinds
    runner = MappingRunner(pack, mapping)
    assert screen(mapping, [runner._normalize(r) for r in rows], grouping=True) is None
    screened = screen(mapping, [runner._normalize(r) for r in rows if r is not rows[17]],
                      grouping=True)  # without the list value the chunk is screened by columns
    assert screened is not None
    assert 0 < len(screened[2]) < len(rows) * 3 // 4  # rows with a bad WHEN: one by one
    rules = {u.rule for u in fast}
    assert {"no-kind", "t2", "no-emit-matched"} <= rules
    assert any(len(u.keys) == 2 for u in fast)  # groups formed
    assert any(e.code == "bad-datetime" and len(u.keys) == 1 for u in fast for e in u.errors)


def test_rows_mapped_column_wise_share_their_parts(load: Any) -> None:
    """The point of the plan: a part is built once per distinct value, not once per row."""
    pack = load({"m.yaml": PACK}, concept_maps=MAPS)
    rows = [{"ID": str(i), "GROUP": "g1", "KIND": "num", "CODE": "a", "TEXT": "t1", "EMPTY": "",
             "WHEN": "2021-05-05", "VALUE": "1", "STATUS": "f"} for i in range(50)]
    units, _ = run(pack, pack.mappings[0], [rows], chunked=True)
    codes = {id(u.resources[0]["code"]) for u in units}
    assert len(codes) == 1
    assert len(units) == 50
    assert len({u.resources[0]["id"] for u in units}) == 50


def test_a_part_that_reads_a_loop_variable_is_not_planned(load: Any) -> None:
    pack = load({"m.yaml": """\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template:
              name:
                - $foreach: [$A, $B]
                  as: part
                  family: $part
        """})
    runner = MappingRunner(pack, pack.mappings[0])
    assert runner.chunk_plan is None


def test_a_loop_that_ignores_its_variable_sees_the_lets(load: Any) -> None:
    pack = load({"m.yaml": """\
        mapping: m
        source: t
        key: [ID]
        let:
          fam: $NAME
        emit:
          - resource: Patient
            template:
              name:
                - $foreach: [1, 2]
                  family: $fam
        """})
    rows = [{"ID": str(i), "NAME": f"n{i % 3}"} for i in range(20)]
    fast, runner = run(pack, pack.mappings[0], [rows], chunked=True)
    slow, _ = run(pack, pack.mappings[0], [rows], chunked=False)
    assert snapshot(fast) == snapshot(slow)
    assert runner.chunk_plan is not None
    assert runner.rows_alone == 0
    assert fast[4].resources[0]["name"] == [{"family": "n1"}, {"family": "n1"}]


@pytest.mark.parametrize("tokens", ['[N/A, "-"]', '{LAST: [N/A], FIRST: ["-"]}'])
def test_csv_cleaned_a_column_at_a_time_maps_like_rows_cleaned_one_by_one(
        load: Any, tmp_path: Path, tokens: str) -> None:
    pack = load({
        "pack.yaml": 'name: p\nnull_tokens: ["", "NULL"]\n',
        "m.yaml": f"""\
            mapping: m
            source: t
            key: [ID]
            null_tokens: {tokens}
            emit:
              - resource: Patient
                template:
                  gender: $SEX
                  name: [{{family: $LAST, given: [$FIRST, $MIDDLE]}}]
            """,
    })
    rng = random.Random(2)
    src = tmp_path / "csv"
    src.mkdir()
    with (src / "t.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["ID", "SEX", "LAST", "FIRST", "MIDDLE"])
        for i in range(300):
            writer.writerow([f" {i} ", *(rng.choice(["female", " male ", "NULL", "N/A", "-", "",
                                                     "  ", "Ann"]) for _ in range(4))])
        writer.writerow(["ragged"])
    ext, mapping = CsvExtractor(src), pack.mappings[0]
    cleaned = MappingRunner(pack, mapping)
    batches = list(ext.iter_batches("t", 64, clean=cleaned.clean_column))
    assert all(b.clean for b in batches)
    fast = [u for b in batches for u in cleaned.feed(b.rows, clean=b.clean)]
    raw = MappingRunner(pack, mapping)
    slow = [u for b in ext.iter_batches("t", 64) for u in raw.feed(b.rows)]
    assert snapshot(fast) == snapshot(slow)
    assert sum(len(b.rejects) for b in batches) == 1
    kept = {"female", "male", "Ann", None} | ({"N/A", "-"} if tokens.startswith("{") else set())
    assert {r.get("gender") for u in fast for r in u.resources} == kept


def test_primitive_extensions_and_units_map_alike_both_ways(load: Any) -> None:
    """``_birthDate`` from ``data_absent_reason`` (literal and column, some bad) and quantities
    whose units resolve through the pack's spellings, UCUM's grammar or not at all."""
    template = """\
        status: final
        code: {text: test}
        effectiveDateTime: {datetime: $WHEN}
        _effectiveDateTime: {data_absent_reason: $WHY, $when: {absent: $WHEN}}
        _status: {data_absent_reason: masked, $when: {equals: [$WHY, masked]}}
        valueQuantity: {quantity: {value: $V, unit: $U}}
    """
    pack = load({"pack.yaml": "name: p\nunits: {MCG: ug}\n", "m.yaml": one_emit(template)})
    rng = random.Random(7)
    rows = [{"ID": str(i), "WHEN": rng.choice(["2021-05-05", "", ""]),
             "WHY": rng.choice(["masked", "unknown", "refused", ""]),
             "V": rng.choice(["1", "2.5"]),
             "U": rng.choice(["MCG", "mg/kg/h", "mgg", "10*3/uL", ""])} for i in range(300)]
    chunks = [rows[i:i + 40] for i in range(0, len(rows), 40)]
    fast, runner = run(pack, pack.mappings[0], chunks, chunked=True)
    slow, _ = run(pack, pack.mappings[0], chunks, chunked=False)
    assert runner.chunk_plan is not None
    assert snapshot(fast) == snapshot(slow)
    codes = {e.code for u in fast for e in u.errors}
    assert codes == {"bad-absent-reason", "unknown-unit"}
    emitted = [u.resources[0] for u in fast if u.outcome == "emitted"]
    assert {r["valueQuantity"].get("code") for r in emitted} == {"ug", "mg/kg/h", "10*3/uL", None}
    assert any("_effectiveDateTime" in r and "_status" in r for r in emitted)
