"""Issue 19 review: look-ups (mapping key ``lookup:``, pack.yaml ``lookup_memory_mb``) written
wrong or fed hostile tables. Each test is a finding of the adversarial review."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.validation.dryrun import ValidateOptions, validate_migration
from tests.conftest import make_settings
from tests.mappers.conftest import write_pack
from tests.mappers.test_lookups import ADMISSIONS, _procedure, _procedures, _run


@pytest.mark.parametrize(("bound", "problem"), [
    (".inf", "Input should be a finite number"),   # was accepted: the run crashed (exit 70)
    (".nan", "Input should be a finite number"),
    ("true", "Input should be a valid number"),    # was read as 1 MB
    ("0", "Input should be greater than 0"),
])
def test_lookup_memory_bound_must_be_a_finite_number(problems_of: Any, bound: str,
                                                     problem: str) -> None:
    files = {"pack.yaml": f"name: p\nlookup_memory_mb: {bound}\n", "p.yaml": _procedure()}
    _, problems = problems_of(files)
    assert len(problems) == 1
    assert problems[0].endswith(f"pack.yaml:2: lookup_memory_mb: {problem}")


def test_a_miss_says_the_lookup_table_had_unreadable_lines(tmp_path: Path) -> None:
    # The miss said "no row of table 'admissions' has hadm_id equal to this row's hadm_id"
    # while the row was there, on a damaged line; a table no mapping reads showed it nowhere.
    damaged = textwrap.dedent(ADMISSIONS).replace("101,10,2100-01-02 08:30:00,9\n",
                                                  '101,10,"2100-01-02 08:30:00,9\n')
    report, _, quarantine = _run(tmp_path, {"p.yaml": _procedure()}, {
        "admissions": damaged, "procedures": _procedures("1,100,a\n2,101,b\n3,999,c\n")})
    assert report.tables[0].quarantined == {"lookup-miss": 2}
    assert [q["reasons"][0]["message"] for q in quarantine] == [
        "no row of table 'admissions' has hadm_id equal to this row's hadm_id (look-up "
        "'adm'); 1 line(s) of that table could not be read and may hold it"] * 2
    assert report.warnings["procedure:lookup-table-unreadable-lines"] == 1


def _validate(tmp: Path, files: dict[str, str], procedures: str = "1,100,a\n") -> Any:
    pack = write_pack(tmp / "pack", files)
    src = tmp / "src"
    src.mkdir()
    (src / "admissions.csv").write_text(textwrap.dedent(ADMISSIONS), encoding="utf-8")
    (src / "procedures.csv").write_text(_procedures(procedures), encoding="utf-8")
    (src / "billing.csv").write_text("id,amount\n1,5\n", encoding="utf-8")
    out = tmp / "out"
    return validate_migration(make_settings(src, "ndjson:unused", out, mappings=pack),
                              ValidateOptions(out / "validate"))


def test_validate_counts_lookup_tables_and_columns_as_read(tmp_path: Path) -> None:
    # validate listed the look-up table admissions under "tables no mapping reads", and the
    # columns a look-up takes from a mapped table as data left behind.
    report = _validate(tmp_path / "1", {"p.yaml": _procedure()})
    assert [t["table"] for t in report.unused_tables] == ["billing"]
    admission = """\
        mapping: admission
        source: admissions
        key: [hadm_id]
        emit:
          - resource: Encounter
            template: {status: finished, class: {code: IMP}}
    """
    report = _validate(tmp_path / "2", {"p.yaml": _procedure(), "a.yaml": admission})
    assert [(c["table"], c["column"]) for c in report.unused_columns] == [
        ("admissions", "subject_id"), ("admissions", "seq")]  # admittime: the look-up's


def test_check_names_the_lookup_tables_it_will_read(tmp_path: Path) -> None:
    # "Tables read, in load order: procedures" left out admissions, which the run reads too
    pack = write_pack(tmp_path / "pack", {"p.yaml": _procedure()})
    result = CliRunner().invoke(cli, ["check", str(pack)])
    assert result.exit_code == 0
    assert result.output.endswith("all good. Tables read, in load order: procedures; look-up "
                                  "tables: admissions\n")


def _collect(extra: str = "") -> str:
    """The procedure mapping with a collect look-up, its values read nowhere yet."""
    return _procedure("pick: collect\n        order_by: [admittime]" + extra).replace(
        "performedDateTime: {datetime: $adm.admittime}", "note: [{text: c}]")


@pytest.mark.parametrize("by", ["adm.admittime", "adm"])
def test_group_by_a_collect_lookup_is_a_problem(problems_of: Any, by: str) -> None:
    # the run crashed (TypeError: unhashable type: 'list', exit 70) on the first grouped row
    mapping = _collect().replace(
        "emit:\n", f"group:\n      by: [{by}]\n    emit:\n").replace(
        "- resource: Procedure\n", "- resource: Procedure\n        per: group\n")
    root, problems = problems_of({"p.yaml": mapping})
    assert problems == [f"{root}/p.yaml:12: group.by: {by!r} is a list per row (look-up with "
                        "pick: collect); group by a look-up with pick one, first or last"]


@pytest.mark.parametrize("cond", ["{equals: [$adm.admittime, x]}", "{in: [$adm, [x]]}",
                                  "{lt: [$adm.admittime, 2000-01-01]}"])
def test_a_condition_on_a_collect_lookup_is_a_problem(problems_of: Any, cond: str) -> None:
    # equals/in on the list never held (a filter that silently never fires); lt quarantined
    # every row not-comparable, calling the list "a text"
    mapping = _collect().replace(
        "emit:\n", f"filter:\n      - {{name: f, when: {cond}}}\n    emit:\n")
    root, problems = problems_of({"p.yaml": mapping})
    op, column = cond[1:].split(":")[0], cond.split("[")[1].split(",")[0]
    assert problems == [f"{root}/p.yaml:13: filter[0].when.{op}: {column} is a list per row "
                        "(look-up with pick: collect); compare one value: a look-up with pick "
                        "one, first or last"]


def test_present_on_a_collect_lookup_is_fine(tmp_path: Path) -> None:
    mapping = _collect("\n        on_missing: keep").replace(
        "emit:\n", "filter:\n      - {name: none, when: {absent: $adm}}\n    emit:\n")
    report, _, _ = _run(tmp_path, {"p.yaml": mapping}, {
        "admissions": ADMISSIONS, "procedures": _procedures("1,100,a\n2,999,b\n")})
    assert (report.tables[0].emitted, report.tables[0].filtered) == (1, {"none": 1})


@pytest.mark.parametrize("value", ["{datetime: $adm.admittime}", "{replace: {value: $adm, old: "
                                   "a}}", "{concat: [$adm.admittime, x]}"])
def test_a_transform_reading_a_collect_lookup_is_a_problem(problems_of: Any, value: str) -> None:
    # replace wrote the list's Python text "['2101-03-05 10:00:00', ...]" into the resource
    mapping = _collect().replace("note: [{text: c}]", f"note: [{{text: {value}}}]")
    root, problems = problems_of({"p.yaml": mapping})
    name = value[1:].split(":")[0]
    column = value.split("$")[1].split(",")[0].split("}")[0]
    assert problems == [f"{root}/p.yaml:18: emit[0].template.note[0].text.{name}"
                        f"{'.value' if name in ('datetime', 'replace') else '.parts[0]'}: {name} "
                        f"reads one value; ${column} is a list per row (look-up with pick: "
                        "collect): take its items with $foreach, or use pick one, first or last"]


def test_a_collect_lookup_in_foreach_and_present_is_fine(tmp_path: Path) -> None:
    mapping = _collect("\n        on_missing: keep").replace("note: [{text: c}]", """\
note:
            - {$foreach: $adm.admittime, as: t, text: {datetime: $t}}
          category: {text: seen, $when: {present: $adm}}""")
    report, out, _ = _run(tmp_path, {"p.yaml": mapping}, {
        "admissions": ADMISSIONS, "procedures": _procedures("1,100,a\n2,999,b\n")})
    assert report.tables[0].emitted == 2
    assert [(r.get("note"), r.get("category")) for r in out["Procedure"]] == [
        ([{"text": "2101-03-05T10:00:00Z"}], {"text": "seen"}), (None, None)]


@pytest.mark.parametrize("name", ["lookup-miss", "lookup-ambiguous", "lookup-miss.adm"])
def test_a_rule_named_like_a_lookup_outcome_is_a_problem(problems_of: Any, name: str) -> None:
    # run.json counted the rule's rows and the look-up's misses as one cause
    mapping = _procedure().replace(
        "emit:\n", f"rules:\n      - {{name: {name}, when: {{absent: $code}}}}\n    emit:\n")
    root, problems = problems_of({"p.yaml": mapping})
    assert problems == [f"{root}/p.yaml:12: rules[0].name: {name!r} also names a look-up "
                        "outcome of this mapping; the counts would mix them"]


def test_validate_lists_rules_no_row_broke(tmp_path: Path) -> None:
    # "mapping rules that never fired" listed emits and filters, never a rules: entry
    mapping = _procedure("on_missing: keep").replace("emit:\n", """\
rules:
      - {name: never, when: {lt: [$adm.admittime, 1900-01-01]}}
      - {name: no-code, when: {absent: $code}, action: filter}
      - {name: early, when: {lt: [$adm.admittime, 2102-01-01]}}
    emit:
""")
    report = _validate(tmp_path, {"p.yaml": mapping}, "1,100,a\n2,102,b\n")
    assert [(r["kind"], r["name"]) for r in report.rules_never_fired] == [
        ("rule", "never"), ("rule", "no-code")]
