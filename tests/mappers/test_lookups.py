"""Look-ups (mapping key ``lookup:``): values of related rows and dictionary tables.

Most tests run a small pack over a CSV folder through `run_pipeline`, so the extractor, the
`LookupStore`, the engine and the accounting are all on the path; the seams are tested alone
where a run cannot reach them (order of values, change detection, the dask refusal).
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from migrate.errors import ConfigError, ExtractError
from migrate.executors.dask import DaskExecutor
from migrate.extractors.base import open_extractor
from migrate.lookups import LookupStore, order_key
from migrate.mappers import engine
from migrate.mappers.engine import UNCHANGED, MappingRunner
from migrate.mappers.pack import load_pack
from migrate.pipeline import check_columns, run_pipeline
from migrate.report.model import RunReport
from migrate.stages import RowChanges, key_hash
from tests.conftest import make_settings
from tests.mappers.conftest import SETTINGS, write_pack

PROCEDURE = """\
    mapping: procedure
    source: procedures
    key: [row_id]
    lookup:
      adm:
        table: admissions
        key: [hadm_id]
        match: [$hadm_id]
        columns: [admittime]
        {extra}
    emit:
      - resource: Procedure
        template:
          status: completed
          subject: {{reference: Patient/x}}
          code: {{text: $code}}
          performedDateTime: {{datetime: $adm.admittime}}
"""
ADMISSIONS = """\
    hadm_id,subject_id,admittime,seq
    100,10,2101-03-05 10:00:00,10
    101,10,2100-01-02 08:30:00,9
    102,11,2105-07-01 23:15:00,100
"""
Run = tuple[RunReport, dict[str, list[dict[str, Any]]], list[dict[str, Any]]]


def _procedure(extra: str = "") -> str:
    return PROCEDURE.format(extra=extra)


def _source(root: Path, csvs: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for table, text in csvs.items():
        (root / f"{table}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _run(tmp: Path, files: dict[str, str], csvs: dict[str, str] | None = None,
         source: Any = None) -> Run:
    """Run the pack over the CSV files (or ``source``): report, resources by type,
    quarantine records."""
    pack = write_pack(tmp / "pack", files)
    src = source if source is not None else _source(tmp / "src", csvs or {})
    report = run_pipeline(make_settings(src, f"ndjson:{tmp / 'nd'}", tmp / "out", pack,
                                        max_quarantine_rate=1.0))
    out = {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
           for p in sorted((tmp / "nd").glob("*.ndjson"))}
    quarantine = [orjson.loads(x)
                  for x in (tmp / "out" / "quarantine.ndjson").read_bytes().splitlines()]
    return report, out, quarantine


def _procedures(rows: str) -> str:
    return "row_id,hadm_id,code\n" + textwrap.dedent(rows)


def _times(out: dict[str, list[dict[str, Any]]]) -> dict[str, str | None]:
    return {r["code"]["text"]: r.get("performedDateTime") for r in out.get("Procedure", [])}


def test_one_to_one_related_row_and_dictionary_trimmed(tmp_path: Path) -> None:
    report, out, quarantine = _run(tmp_path, {"p.yaml": _procedure()}, {
        "admissions": ADMISSIONS,
        "procedures": _procedures("1,100,a\n2, 101 ,b\n3,102,c\n")})
    assert _times(out) == {"a": "2101-03-05T10:00:00Z", "b": "2100-01-02T08:30:00Z",
                           "c": "2105-07-01T23:15:00Z"}
    assert quarantine == []
    [lk] = report.as_dict()["lookups"]
    assert lk["table"] == "admissions"
    assert (lk["rows"], lk["keys"], lk["rejected_lines"]) == (3, 3, 0)
    assert lk["used_by"] == ["procedure.adm"]
    assert 0 < lk["approx_mb"] < 1


def test_key_match_is_exact_text_case_counts(tmp_path: Path) -> None:
    files = {"p.yaml": _procedure().replace("[hadm_id]", "[code]").replace(
        "[$hadm_id]", "[$code]").replace("columns: [admittime]", "columns: [label]").replace(
        "{datetime: $adm.admittime}", "null").replace("{text: $code}",
                                                       "{text: $code, coding: [{display: "
                                                       "$adm.label}]}")}
    report, out, quarantine = _run(tmp_path, files, {
        "admissions": "code,label\nabc,Lower\n",
        "procedures": _procedures("1,,abc\n2,,ABC\n")})
    assert [r["code"] for r in out["Procedure"]] == [
        {"text": "abc", "coding": [{"display": "Lower"}]}]
    assert [q["reasons"][0]["code"] for q in quarantine] == ["lookup-miss"]
    assert quarantine[0]["rows"] == [{"row_id": "2"}]
    assert report.tables[0].quarantined == {"lookup-miss": 1}


def test_miss_policies_quarantine_keep_filter(tmp_path: Path) -> None:
    rows = _procedures("1,100,a\n2,999,b\n")
    csvs = {"admissions": ADMISSIONS, "procedures": rows}
    report, out, quarantine = _run(tmp_path / "q", {"p.yaml": _procedure()}, csvs)
    assert report.tables[0].quarantined == {"lookup-miss": 1}
    reason = quarantine[0]["reasons"][0]
    assert (reason["code"], reason["column"], reason["value"]) == ("lookup-miss", "hadm_id",
                                                                   "999")
    assert reason["rule"].endswith("p.yaml:5")

    report, out, quarantine = _run(tmp_path / "k", {"p.yaml": _procedure(
        "on_missing: keep")}, csvs)
    assert _times(out) == {"a": "2101-03-05T10:00:00Z", "b": None}
    assert report.warnings["procedure:lookup-miss"] == 1
    assert quarantine == []
    assert report.tables[0].emitted == 2

    report, out, quarantine = _run(tmp_path / "f", {"p.yaml": _procedure(
        "on_missing: filter")}, csvs)
    assert list(_times(out)) == ["a"]
    assert report.tables[0].filtered == {"lookup-miss.adm": 1}
    assert quarantine == []


def test_null_match_value_is_no_lookup_not_a_miss(tmp_path: Path) -> None:
    report, out, quarantine = _run(tmp_path, {"p.yaml": _procedure()}, {
        "admissions": ADMISSIONS, "procedures": _procedures("1,,a\n2,NULL,b\n")})
    assert _times(out) == {"a": None}
    assert [q["rows"] for q in quarantine] == [[{"row_id": "2"}]]  # 'NULL' is a value: a miss
    assert report.warnings == {}


def test_pick_one_with_two_matches_is_ambiguous(tmp_path: Path) -> None:
    files = {"p.yaml": _procedure().replace("[hadm_id]", "[subject_id]")}
    report, out, quarantine = _run(tmp_path, files, {
        "admissions": ADMISSIONS, "procedures": _procedures("1,10,a\n2,11,b\n")})
    assert list(_times(out)) == ["b"]
    assert report.tables[0].quarantined == {"lookup-ambiguous": 1}
    assert "2 rows of table 'admissions'" in quarantine[0]["reasons"][0]["message"]


PATIENT = """\
    mapping: patient
    source: patients
    key: [subject_id]
    lookup:
      first: {table: admissions, key: [subject_id], match: [$subject_id], columns: [hadm_id],
              pick: first, order_by: [seq]}
      last: {table: admissions, key: [subject_id], match: [$subject_id], columns: [hadm_id],
             pick: last, order_by: [seq]}
      adm: {table: admissions, key: [subject_id], match: [$subject_id],
            columns: [hadm_id, admittime], pick: collect, order_by: [admittime],
            on_missing: keep}
    filter:
      - {name: no-admission, when: {absent: $adm.hadm_id}}
    emit:
      - resource: Patient
        template:
          gender: unknown
          identifier:
            - {system: first, value: $first.hadm_id}
            - {system: last, value: $last.hadm_id}
            - {$foreach: $adm, as: a, system: all, value: $a.hadm_id}
          name:
            - {$foreach: $adm.admittime, as: t, text: $t}
"""


def test_first_last_collect_in_order(tmp_path: Path) -> None:
    report, out, quarantine = _run(tmp_path, {"p.yaml": PATIENT}, {
        "admissions": ADMISSIONS, "patients": "subject_id\n10\n11\n12\n"})
    by_id = {tuple(i["value"] for i in p["identifier"]): p for p in out["Patient"]}
    # seq orders as numbers (9 < 10 < 100), admittime as ISO text
    assert sorted(by_id) == [("101", "100", "101", "100"), ("102", "102", "102")]
    assert [n["text"] for n in by_id[("101", "100", "101", "100")]["name"]] == [
        "2100-01-02 08:30:00", "2101-03-05 10:00:00"]
    # 12 has no admission: `first` misses (quarantine) before the filter could see it
    assert report.tables[0].quarantined == {"lookup-miss": 1}
    assert {r["code"] for r in quarantine[0]["reasons"]} == {"lookup-miss"}
    assert len(quarantine[0]["reasons"]) == 2  # first and last: every reason reported
    # two look-ups of one shape share nothing with a third of another shape
    assert len(report.as_dict()["lookups"]) == 3


def test_filters_see_lookup_values(tmp_path: Path) -> None:
    files = {"p.yaml": PATIENT.replace("pick: first", "pick: first, on_missing: keep").replace(
        "pick: last,", "pick: last, on_missing: keep,")}
    report, out, _ = _run(tmp_path, files, {
        "admissions": ADMISSIONS, "patients": "subject_id\n10\n12\n"})
    assert len(out["Patient"]) == 1
    assert report.tables[0].filtered == {"no-admission": 1}
    assert report.warnings["patient:lookup-miss"] == 3


def test_order_key_numbers_then_text_then_nulls() -> None:
    values = ["b", None, "10", 9, "9.5", "a", "-1"]
    assert sorted(values, key=order_key) == ["-1", 9, "9.5", "10", "a", "b", None]


def test_memory_bound_stops_the_run_naming_everything(tmp_path: Path) -> None:
    files = {"pack.yaml": "name: p\nlookup_memory_mb: 0.0002\n", "p.yaml": _procedure()}
    rows = "".join(f"{i},{10 + i},2101-03-05 10:00:00,{i}\n" for i in range(500))
    with pytest.raises(ConfigError) as info:
        _run(tmp_path, files, {"admissions": "hadm_id,subject_id,admittime,seq\n" + rows,
                               "procedures": _procedures("1,100,a\n")})
    msg = str(info.value)
    for part in ("look-up 'adm'", "mapping procedure", "table 'admissions'", "0.0002 MB",
                 "lookup_memory_mb"):
        assert part in msg
    run = orjson.loads((tmp_path / "out" / "run.json").read_bytes())
    assert run["status"] == "failed"
    assert run["exit_code"] == 2


def test_damaged_line_of_a_lookup_table_is_an_accounted_miss(tmp_path: Path) -> None:
    damaged = textwrap.dedent(ADMISSIONS).replace("101,10,2100-01-02 08:30:00,9\n",
                                                  "101,10,2100-01-02 08:30:00,9,extra\n")
    report, out, quarantine = _run(tmp_path, {"p.yaml": _procedure()}, {
        "admissions": damaged, "procedures": _procedures("1,100,a\n2,101,b\n")})
    assert list(_times(out)) == ["a"]
    assert report.tables[0].quarantined == {"lookup-miss": 1}
    assert report.read == 2
    assert report.tables[0].emitted == 1
    [lk] = report.as_dict()["lookups"]
    assert (lk["rows"], lk["rejected_lines"]) == (2, 1)


def test_lookup_on_the_table_itself(tmp_path: Path) -> None:
    files = {"p.yaml": """\
        mapping: patient
        source: patients
        key: [id]
        lookup:
          mother: {table: patients, key: [id], match: [$mother_id], columns: [name]}
        emit:
          - resource: Patient
            template:
              name: [{text: $name}]
              contact: [{name: {text: $mother.name}}]
        """}
    report, out, _ = _run(tmp_path, files, {"patients": "id,name,mother_id\n1,Ann,\n2,Bo,1\n"})
    assert [p.get("contact") for p in out["Patient"]] == [None, [{"name": {"text": "Ann"}}]]
    assert report.tables[0].complete
    assert report.tables[0].read == 2


def test_sql_integer_key_matches_text_key(tmp_path: Path) -> None:
    db = tmp_path / "src.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE admissions (hadm_id INTEGER, subject_id INTEGER, "
                    "admittime TEXT, seq INTEGER)")
        con.execute("CREATE TABLE procedures (row_id INTEGER, hadm_id TEXT, code TEXT)")
        con.executemany("INSERT INTO admissions VALUES (?,?,?,?)",
                        [(100, 10, "2101-03-05 10:00:00", 10), (101, 10, None, 9)])
        con.executemany("INSERT INTO procedures VALUES (?,?,?)",
                        [(1, "100", "a"), (2, "101", "b"), (3, "7", "c")])
    report, out, quarantine = _run(tmp_path, {"p.yaml": _procedure()},
                                   source=f"sqlite:///{db}")
    assert _times(out) == {"a": "2101-03-05T10:00:00Z", "b": None}
    assert [q["rows"] for q in quarantine] == [[{"row_id": "3"}]]


def test_check_reports_unknown_lookup_table_and_columns(tmp_path: Path) -> None:
    other = _procedure().replace("mapping: procedure", "mapping: other").replace(
        "table: admissions", "table: admission").replace("- resource: Procedure",
                                                         "- resource: Procedure\n        entity: o")
    files = {"p.yaml": _procedure().replace("columns: [admittime]", "columns: [admitime]")
             .replace("$adm.admittime", "$adm.admitime"), "q.yaml": other}
    pack = load_pack(write_pack(tmp_path / "pack", files), SETTINGS)
    src = _source(tmp_path / "src", {"admissions": ADMISSIONS,
                                     "procedures": _procedures("1,100,a\n")})
    ext = open_extractor("csv", path=str(src))
    with pytest.raises(ExtractError) as info:
        check_columns(pack, ext)
    msg = str(info.value)
    # the line of the look-up's `columns:`, not of the look-up (5)
    assert "p.yaml:9: look-up 'adm': column 'admitime' is not in look-up table 'admissions'; " \
           "did you mean 'admittime'?" in msg
    assert "q.yaml:5: look-up 'adm': " in msg
    assert "q.yaml:5: look-up 'adm': table 'admission': file " in msg


def test_compile_problems_all_at_once(problems_of: Any) -> None:
    bad = _procedure().replace("{datetime: $adm.admittime}", "{datetime: $adm.admitime}")
    bad = bad.replace("code: {text: $code}", "code: {text: $adm}")
    spec = """\
        mapping: spec
        source: t
        key: [id]
        lookup:
          bad-name: {table: a, key: [x], match: [$x], columns: [y]}
          two: {table: a, key: [x, y], match: [$x], columns: [y], pick: first}
          expr: {table: a, key: [x], match: [x], columns: [y]}
        emit:
          - {resource: Patient, template: {gender: $id}}
        """
    items = PATIENT.replace("value: $a.hadm_id}", "value: $a.hadmid}")
    _, problems = problems_of({"p.yaml": bad, "s.yaml": spec, "t.yaml": items})
    text = "\n".join(problems)
    assert "look-up 'adm' takes no column 'admitime' (its columns: admittime); did you mean " \
           "$adm.admittime?" in text
    assert "$adm is a look-up with pick: one; read one of its columns as $adm.COLUMN" in text
    assert "t.yaml:21: emit[0].template.identifier[2].value: the items of $a have no column " \
           "'hadmid' (their columns: hadm_id, admittime); did you mean $a.hadm_id?" in text
    assert "lookup.bad-name.[key]: String should match pattern" in text
    assert "'match' has 1 value(s) but 'key' has 2" in text
    assert "pick: first needs 'order_by'" in text
    assert "match item 'x' must be a column of the row, written $COLUMN" in text


def test_lookup_columns_are_not_columns_of_the_table(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack", {"p.yaml": _procedure()}), SETTINGS)
    assert sorted(pack.columns_for("procedures")) == ["code", "hadm_id", "row_id"]
    assert pack.columns_for("admissions") == {}


def _index_runner(tmp: Path, admissions: str, changes: RowChanges | None) -> MappingRunner:
    pack = load_pack(write_pack(tmp / "pack", {"p.yaml": _procedure()}), SETTINGS)
    ext = open_extractor("csv", path=str(_source(tmp / "src", {"admissions": admissions})))
    m = pack.mappings[0]
    return MappingRunner(pack, m, changes=changes, lookups=LookupStore(pack, ext).attacher(m))


def test_sync_a_changed_dictionary_entry_maps_the_row_again(tmp_path: Path) -> None:
    rows = [{"row_id": "1", "hadm_id": "100", "code": "a"},
            {"row_id": "2", "hadm_id": "102", "code": "b"}]
    first = _index_runner(tmp_path / "1", ADMISSIONS, RowChanges(SimpleNamespace(
        fingerprint="f")))  # type: ignore[arg-type]
    units = first.feed([dict(r) for r in rows])
    delivered = {(key_hash(u.keys[0]), u.row_hash) for u in units}

    def unchanged(_mapping: str, pairs: list[tuple[str, str]]) -> set[str]:
        return {k for k, h in pairs if (k, h) in delivered}

    changed = ADMISSIONS.replace("2101-03-05 10:00:00", "2101-03-06 11:00:00")
    again = _index_runner(tmp_path / "2", changed, RowChanges(SimpleNamespace(
        fingerprint="f"), unchanged))  # type: ignore[arg-type]
    units = again.feed([dict(r) for r in rows])
    assert [u.outcome for u in units] == ["emitted", UNCHANGED]
    assert units[0].resources[0]["performedDateTime"] == "2101-03-06T11:00:00Z"


def test_dask_refuses_lookups_before_starting_a_cluster(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack", {"p.yaml": _procedure()}), SETTINGS)
    executor = DaskExecutor(SimpleNamespace(output=tmp_path), pack, None, None)
    with pytest.raises(ConfigError, match="--executor dask does not run look-ups .*procedure"):
        executor.__enter__()
    assert executor.client is None


def test_column_wise_and_row_paths_see_the_same_values(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"row_id": str(i), "hadm_id": str(100 + i % 4), "code": "x"} for i in range(8)]
    runner = _index_runner(tmp_path / "1", ADMISSIONS, None)
    before = engine.COLUMN_WISE["procedure"]
    chunked = runner.feed([dict(r) for r in rows])
    assert engine.COLUMN_WISE["procedure"] == before + 1
    monkeypatch.setattr(engine, "CHUNK_MIN", 10_000)  # every row mapped on its own
    one_by_one = _index_runner(tmp_path / "2", ADMISSIONS, None).feed(
        [dict(r) for r in rows])
    assert [(u.outcome, u.resources) for u in chunked] == [
        (u.outcome, u.resources) for u in one_by_one]
    assert [u.outcome for u in chunked].count("quarantined") == 2  # hadm_id 103: no admission
    assert chunked[0].resources[0]["performedDateTime"] == "2101-03-05T10:00:00Z"


def test_pack_yaml_columns_check_the_lookup_table(problems_of: Any) -> None:
    files = {"pack.yaml": "name: p\ncolumns:\n  admissions: [hadm_id, admit_time]\n"
                          "  procedures: [row_id, hadm_id, code]\n",
             "p.yaml": _procedure()}
    root, problems = problems_of(files)
    assert problems == [
        f"{root / 'p.yaml'}:9: lookup.adm: column 'admittime' is not among the columns "
        "pack.yaml declares for table 'admissions'; did you mean 'admit_time'?"]
    files["pack.yaml"] = files["pack.yaml"].replace("[hadm_id, admit_time]", "[hadm, admittime]")
    root, problems = problems_of(files)
    assert problems == [  # a misspelt key column: the line of `key:`
        f"{root / 'p.yaml'}:7: lookup.adm: column 'hadm_id' is not among the columns "
        "pack.yaml declares for table 'admissions'; did you mean 'hadm'?"]
