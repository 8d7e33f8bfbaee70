"""The engine: rows to units (emitted, filtered or quarantined), keys, groups and templates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from migrate.mappers.engine import MappingRunner
from migrate.mappers.ids import resource_id
from migrate.mappers.pack import Pack
from migrate.outcomes import EMITTED, FILTERED, QUARANTINED, Unit

NOT_A_DATE = "not a valid date (formats tried: ISO 8601 (YYYY-MM-DD))"


def rid(pack: Pack, rtype: str, entity: str, *key: Any) -> str:
    return resource_id(pack.settings.namespace, pack.settings.source_system, rtype, entity, key)


def errors(unit: Unit) -> list[tuple[Any, ...]]:
    return [(e.code, e.message, e.column, e.value, e.line) for e in unit.errors]


def bodies(unit: Unit) -> list[dict[str, Any]]:
    """The unit's resources without id (resourceType kept)."""
    return [{k: v for k, v in r.items() if k != "id"} for r in unit.resources]


@pytest.fixture
def pack_of(load: Callable[..., Pack]) -> Callable[..., Pack]:
    """A pack of one mapping file."""
    return lambda text, **kw: load({"m.yaml": text}, **kw)


PATIENT = """\
mapping: m
source: t
key: [ID]
emit:
  - resource: Patient
    template:
      gender: $SEX
"""


# -- row normalisation and keys ------------------------------------------------------------

def test_values_are_trimmed_and_null_tokens_read_as_null(load, run_rows):
    pack = load({
        "pack.yaml": 'name: p\nnull_tokens: ["", "NULL"]\n',
        "m.yaml": """\
            mapping: m
            source: t
            key: [ID]
            null_tokens: [N/A, "-"]
            emit:
              - resource: Patient
                template:
                  gender: $SEX
                  birthDate: $BD
                  name: [{family: $LAST, given: [$FIRST, $MIDDLE]}]
                  multipleBirthInteger: $N
            """,
    })
    (unit,) = run_rows(pack, "m", [{"ID": " 1 ", "SEX": "  female ", "BD": "NULL",
                                    "LAST": " N/A ", "FIRST": "-", "MIDDLE": "  ", "N": 2}])
    assert unit.keys == [{"ID": "1"}]
    assert unit.resources == [{"resourceType": "Patient", "id": rid(pack, "Patient", "t", "1"),
                               "gender": "female", "multipleBirthInteger": 2}]


def test_without_null_tokens_only_empty_text_is_null(pack_of, run_rows):
    pack = pack_of(PATIENT)
    units = run_rows(pack, "m", [{"ID": "1", "SEX": "NULL"}, {"ID": "2", "SEX": " "}])
    assert [bodies(u) for u in units] == [[{"resourceType": "Patient", "gender": "NULL"}],
                                          [{"resourceType": "Patient"}]]


def test_missing_key_is_quarantined(pack_of, run_rows):
    pack = pack_of(PATIENT.replace("key: [ID]", "key: [ID, SITE]"))
    units = run_rows(pack, "m", [{"ID": "1", "SITE": " "}, {"SITE": "a"}, {"ID": "", "SITE": ""},
                                 {"ID": "2", "SITE": "a"}])
    assert [u.outcome for u in units] == [QUARANTINED] * 3 + [EMITTED]
    assert [errors(u) for u in units[:3]] == [
        [("missing-key", "key column is empty", "SITE", None, 3)],
        [("missing-key", "key column is empty", "ID", None, 3)],
        [("missing-key", "key column is empty", "ID", None, 3)],
    ]
    assert [u.keys for u in units] == [[{"ID": "1", "SITE": None}], [{"ID": None, "SITE": "a"}],
                                       [{"ID": None, "SITE": None}], [{"ID": "2", "SITE": "a"}]]
    assert all(u.resources == [] for u in units[:3])


def test_nullable_key_column_may_be_empty(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: observations
        key: [PATIENT, ENCOUNTER, CODE]
        nullable_key: [ENCOUNTER]
        emit:
          - resource: Observation
            template: {status: final, code: {text: $CODE}}
        """)
    units = run_rows(pack, "m", [{"PATIENT": "p1", "ENCOUNTER": "", "CODE": "QALY"},
                                 {"PATIENT": "p1", "ENCOUNTER": "e1", "CODE": "QALY"},
                                 {"PATIENT": "p1", "ENCOUNTER": "e1", "CODE": ""}])
    assert [u.outcome for u in units] == [EMITTED, EMITTED, QUARANTINED]
    assert units[0].keys == [{"PATIENT": "p1", "ENCOUNTER": None, "CODE": "QALY"}]
    assert units[0].resources[0]["id"] == rid(pack, "Observation", "observations",
                                              "p1", None, "QALY")
    assert units[1].resources[0]["id"] == rid(pack, "Observation", "observations",
                                              "p1", "e1", "QALY")
    assert errors(units[2]) == [("missing-key", "key column is empty", "CODE", None, 3)]


def test_duplicate_keys_are_quarantined_by_default(pack_of, run_rows):
    pack = pack_of(PATIENT)
    units = run_rows(pack, "m", [{"ID": "1"}, {"ID": "1 "}, {"ID": "2"}, {"ID": "1"}])
    assert [u.outcome for u in units] == [EMITTED, QUARANTINED, EMITTED, QUARANTINED]
    assert errors(units[1]) == [("duplicate-key", "key seen 2 times in this table", None, None, 3)]
    assert errors(units[3]) == [("duplicate-key", "key seen 3 times in this table", None, None, 3)]
    assert units[1].keys == [{"ID": "1"}]


def test_duplicate_keys_can_be_numbered(pack_of, run_rows):
    pack = pack_of(PATIENT.replace("key: [ID]", "key: [ID]\nduplicate_keys: number"))
    units = run_rows(pack, "m", [{"ID": "1", "SEX": "a"}, {"ID": "1", "SEX": "b"},
                                 {"ID": "1", "SEX": "c"}])
    assert [u.outcome for u in units] == [EMITTED] * 3
    assert [u.keys for u in units] == [[{"ID": "1"}]] * 3
    ids = [u.resources[0]["id"] for u in units]
    assert ids == [rid(pack, "Patient", "t", "1"), rid(pack, "Patient", "t", "1", 2),
                   rid(pack, "Patient", "t", "1", 3)]
    assert len(set(ids)) == 3


def test_different_keys_are_never_taken_for_duplicates(pack_of, run_rows):
    # SQL sources give native values; hash(-1) == hash(-2) in CPython.
    pack = pack_of(PATIENT)
    units = run_rows(pack, "m", [{"ID": -1, "SEX": "a"}, {"ID": -2, "SEX": "b"}])
    assert [u.outcome for u in units] == [EMITTED, EMITTED]
    assert [u.resources[0]["id"] for u in units] == [rid(pack, "Patient", "t", -1),
                                                     rid(pack, "Patient", "t", -2)]


def test_duplicate_memory_lasts_across_chunks(pack_of):
    pack = pack_of(PATIENT)
    runner = MappingRunner(pack, pack.mappings[0])
    assert [u.outcome for u in runner.feed([{"ID": "1"}])] == [EMITTED]
    assert [u.outcome for u in runner.feed([{"ID": "1"}])] == [QUARANTINED]


# -- filters and emits ---------------------------------------------------------------------

FILTERED_PATIENTS = """\
mapping: m
source: t
key: [ID]
filter:
  - name: deceased
    when: {present: $DEATHDATE}
  - name: test-patient
    when: {matches: [$LAST, "^ZZTEST"]}
emit:
  - resource: Patient
    template:
      name: [{family: $LAST}]
"""


def test_filters_are_counted_with_their_rule_name(pack_of, run_rows):
    pack = pack_of(FILTERED_PATIENTS)
    units = run_rows(pack, "m", [
        {"ID": "1", "LAST": "Lee", "DEATHDATE": ""},
        {"ID": "2", "LAST": "Lee", "DEATHDATE": "2020-01-01"},
        {"ID": "3", "LAST": "ZZTEST1", "DEATHDATE": ""},
        {"ID": "4", "LAST": "ZZTEST2", "DEATHDATE": "2020-01-01"},  # the first rule wins
    ])
    assert [(u.outcome, u.rule) for u in units] == [
        (EMITTED, None), (FILTERED, "deceased"), (FILTERED, "test-patient"),
        (FILTERED, "deceased")]
    assert Counter(u.rule for u in units if u.outcome == FILTERED) == {
        "deceased": 2, "test-patient": 1}
    assert [u.keys for u in units[1:]] == [[{"ID": "2"}], [{"ID": "3"}], [{"ID": "4"}]]
    assert all(u.resources == [] and u.errors == [] for u in units[1:])


def test_filter_over_a_failing_transform_quarantines_the_row(pack_of, run_rows):
    # A unit ends as emitted, filtered or quarantined: a RowError must not escape feed().
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        filter:
          - name: before-2000
            when: {matches: [{date: $D}, "^1"]}
        emit:
          - resource: Patient
            template: {birthDate: $D}
        """)
    units = run_rows(pack, "m", [{"ID": "1", "D": "junk"}, {"ID": "2", "D": "1999-01-01"},
                                 {"ID": "3", "D": "2001-01-01"}])
    assert [u.outcome for u in units] == [QUARANTINED, FILTERED, EMITTED]
    assert errors(units[0]) == [("bad-date", NOT_A_DATE, "D", "junk", 6)]


def test_no_emit_matched_is_a_filter(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            when: {equals: [$KIND, patient]}
            template: {gender: $SEX}
        """)
    units = run_rows(pack, "m", [{"ID": "1", "KIND": "staff"}, {"ID": "2", "KIND": "patient"}])
    assert [(u.outcome, u.rule, u.resources) for u in units[:1]] == [
        (FILTERED, "no-emit-matched", [])]
    assert units[1].outcome == EMITTED


SEVERAL = """\
mapping: m
source: people
key: [ID]
emit:
  - resource: Patient
    template: {gender: $SEX}
  - resource: Observation
    when: {present: $SMOKING}
    key: [$ID, smoking]
    template:
      status: final
      code: {text: Smoking status}
      subject: {ref: {mapping: m, emit: patient, key: [$ID]}}
      valueString: $SMOKING
  - resource: Practitioner
    entity: gp
    key: [$GP]
    profile: http://example.org/gp
    template: {name: [{text: $GP}]}
"""


def test_one_row_becomes_several_resources(pack_of, run_rows):
    pack = pack_of(SEVERAL)
    units = run_rows(pack, "m", [{"ID": "1", "SEX": "male", "SMOKING": "never", "GP": "Dr X"},
                                 {"ID": "2", "SEX": "female", "SMOKING": "", "GP": "Dr Y"}])
    patient1 = rid(pack, "Patient", "people", "1")
    assert units[0].resources == [
        {"resourceType": "Patient", "id": patient1, "gender": "male"},
        {"resourceType": "Observation", "id": rid(pack, "Observation", "people", "1", "smoking"),
         "status": "final", "code": {"text": "Smoking status"},
         "subject": {"reference": f"Patient/{patient1}"}, "valueString": "never"},
        {"resourceType": "Practitioner", "id": rid(pack, "Practitioner", "gp", "Dr X"),
         "meta": {"profile": ["http://example.org/gp"]}, "name": [{"text": "Dr X"}]},
    ]
    assert [r["resourceType"] for r in units[1].resources] == ["Patient", "Practitioner"]


def test_an_empty_emit_key_part_quarantines_the_row(pack_of, run_rows):
    pack = pack_of(SEVERAL)
    (unit,) = run_rows(pack, "m", [{"ID": "1", "SEX": "male", "SMOKING": "never", "GP": ""}])
    assert unit.outcome == QUARANTINED
    assert unit.resources == []
    assert errors(unit) == [("missing-key", "a key part of emit 'practitioner' is empty", None,
                             None, 15)]


def test_a_unit_is_all_or_nothing(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template: {gender: $SEX}
          - resource: Observation
            template:
              status: final
              code: {text: birth weight}
              effectiveDateTime: {datetime: $WHEN}
        """)
    units = run_rows(pack, "m", [{"ID": "1", "SEX": "male", "WHEN": "never"},
                                 {"ID": "2", "SEX": "male", "WHEN": "2020-01-05"}])
    assert units[0].outcome == QUARANTINED
    assert units[0].resources == []
    assert errors(units[0]) == [("bad-datetime", "not a valid date-time", "WHEN", "never", 11)]
    assert [r["resourceType"] for r in units[1].resources] == ["Patient", "Observation"]


def test_notes_of_a_quarantined_unit_are_not_kept(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template:
              gender: {translate: {values: {M: male}, from: $SEX, on_unmapped: keep, as: code}}
              birthDate: {date: $BD}
        """)
    units = run_rows(pack, "m", [{"ID": "1", "SEX": "X", "BD": "2020-01-05"},
                                 {"ID": "2", "SEX": "X", "BD": "bad"}])
    assert [(n.code, n.value) for n in units[0].notes] == [("unmapped-code", "X")]
    assert units[1].outcome == QUARANTINED
    assert units[1].notes == []
    assert errors(units[1]) == [("bad-date", NOT_A_DATE, "BD", "bad", 8)]


# -- groups --------------------------------------------------------------------------------

GROUPED = """\
mapping: m
source: t
key: [ID]
group: {by: [P], size: 2}
emit:
  - resource: Observation
    per: group
    template:
      status: final
      code: {text: panel}
      component:
        - $each_row: true
          code: {text: $CODE}
          valueString: $V
"""


def row(id_: str, p: str, code: str, v: str = "x") -> dict[str, str]:
    return {"ID": id_, "P": p, "CODE": code, "V": v}


def test_group_is_flushed_when_it_reaches_its_size(pack_of):
    pack = pack_of(GROUPED)
    runner = MappingRunner(pack, pack.mappings[0])
    fed = runner.feed([row("1", "a", "sys", "120"), row("2", "b", "sys", "130"),
                       row("3", "a", "dia", "80")])
    (unit,) = fed
    assert (unit.outcome, unit.keys, unit.rows) == (EMITTED, [{"ID": "1"}, {"ID": "3"}], 2)
    assert unit.resources == [{
        "resourceType": "Observation", "id": rid(pack, "Observation", "t", "1"),
        "status": "final", "code": {"text": "panel"},
        "component": [{"code": {"text": "sys"}, "valueString": "120"},
                      {"code": {"text": "dia"}, "valueString": "80"}],
    }]
    # The incomplete group of 'b' is flushed at the end of the table.
    (rest,) = runner.finish()
    assert (rest.outcome, rest.keys) == (EMITTED, [{"ID": "2"}])
    assert rest.resources[0]["component"] == [{"code": {"text": "sys"}, "valueString": "130"}]
    assert runner.finish() == []


def test_sorted_groups_are_flushed_when_the_next_group_starts(pack_of):
    pack = pack_of(GROUPED.replace("group: {by: [P], size: 2}", "group: {by: [P], sorted: true}"))
    runner = MappingRunner(pack, pack.mappings[0])
    assert runner.feed([row("1", "a", "x"), row("2", "a", "y")]) == []
    (first,) = runner.feed([row("3", "b", "x")])  # a new chunk; 'a' is complete
    assert first.keys == [{"ID": "1"}, {"ID": "2"}]
    (second,) = runner.feed([row("4", "b", "y"), row("5", "c", "x")])
    assert second.keys == [{"ID": "3"}, {"ID": "4"}]
    (last,) = runner.finish()
    assert last.keys == [{"ID": "5"}]


def test_unsorted_groups_without_size_wait_for_the_end_of_the_table(pack_of):
    pack = pack_of(GROUPED.replace("group: {by: [P], size: 2}", "group: {by: [P]}"))
    runner = MappingRunner(pack, pack.mappings[0])
    assert runner.feed([row("1", "a", "x"), row("2", "b", "x"), row("3", "a", "y")]) == []
    assert [u.keys for u in runner.finish()] == [[{"ID": "1"}, {"ID": "3"}], [{"ID": "2"}]]


def test_a_failing_group_quarantines_all_its_rows(pack_of, run_rows):
    pack = pack_of(GROUPED.replace("valueString: $V", "valueInteger: {integer: $V}"))
    (unit,) = run_rows(pack, "m", [row("1", "a", "sys", "120"), row("2", "a", "dia", "high")])
    assert (unit.outcome, unit.rows, unit.resources) == (QUARANTINED, 2, [])
    assert errors(unit) == [("not-an-integer", "not an integer", "V", "high", 14)]


BLOOD_PRESSURE = """\
mapping: vitals
source: observations
key: [PATIENT, DATE, CODE]
group:
  by: [PATIENT, DATE]
  when: {in: [$CODE, [8480-6, 8462-4]]}
  size: 2
emit:
  - name: observation
    resource: Observation
    when: {not_in: [$CODE, [8480-6, 8462-4]]}
    template:
      status: final
      code: {coding: [{system: http://loinc.org, code: $CODE}]}
      valueQuantity: {quantity: {value: $VALUE, unit: $UNITS}}
  - name: blood-pressure
    resource: Observation
    per: group
    key: [$PATIENT, $DATE, bp]
    template:
      status: final
      code: {coding: [{system: http://loinc.org, code: 85354-9}]}
      component:
        - code: {coding: [{system: http://loinc.org, code: 8480-6}]}
          valueQuantity:
            quantity: {value: {row: {where: {CODE: 8480-6}, value: $VALUE}}, unit: "mm[Hg]"}
        - code: {coding: [{system: http://loinc.org, code: 8462-4}]}
          valueQuantity:
            quantity: {value: {row: {where: {CODE: 8462-4}, value: $VALUE}}, unit: "mm[Hg]"}
"""


def test_blood_pressure_rows_group_and_other_rows_map_alone(pack_of, run_rows):
    pack = pack_of(BLOOD_PRESSURE)
    when = "2020-01-05T10:00:00Z"
    rows = [
        {"PATIENT": "p1", "DATE": when, "CODE": "8480-6", "VALUE": "120", "UNITS": "mm[Hg]"},
        {"PATIENT": "p1", "DATE": when, "CODE": "8867-4", "VALUE": "70", "UNITS": "/min"},
        {"PATIENT": "p1", "DATE": when, "CODE": "8462-4", "VALUE": "80", "UNITS": "mm[Hg]"},
    ]
    units = run_rows(pack, "vitals", rows)
    assert [u.outcome for u in units] == [EMITTED, EMITTED]
    assert sum(u.rows for u in units) == 3
    heart, bp = units
    assert heart.keys == [{"PATIENT": "p1", "DATE": when, "CODE": "8867-4"}]
    assert bp.keys == [{"PATIENT": "p1", "DATE": when, "CODE": "8480-6"},
                       {"PATIENT": "p1", "DATE": when, "CODE": "8462-4"}]
    ucum = "http://unitsofmeasure.org"

    def mmhg(v: int) -> dict[str, Any]:
        return {"value": v, "unit": "mm[Hg]", "system": ucum, "code": "mm[Hg]"}

    assert heart.resources == [{
        "resourceType": "Observation",
        "id": rid(pack, "Observation", "observations", "p1", when, "8867-4"),
        "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 70, "unit": "/min", "system": ucum, "code": "/min"},
    }]
    assert bp.resources == [{
        "resourceType": "Observation",
        "id": rid(pack, "Observation", "observations", "p1", when, "bp"),
        "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
             "valueQuantity": mmhg(120)},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
             "valueQuantity": mmhg(80)},
        ],
    }]


def test_a_lone_blood_pressure_row_is_flushed_at_the_end(pack_of, run_rows):
    pack = pack_of(BLOOD_PRESSURE)
    (unit,) = run_rows(pack, "vitals", [
        {"PATIENT": "p1", "DATE": "d", "CODE": "8462-4", "VALUE": "80", "UNITS": "mm[Hg]"}])
    assert unit.outcome == EMITTED
    assert [c["code"]["coding"][0]["code"] for c in unit.resources[0]["component"]] == [
        "8480-6", "8462-4"]
    assert "valueQuantity" not in unit.resources[0]["component"][0]
    assert unit.resources[0]["component"][1]["valueQuantity"]["value"] == 80


def test_each_row_outside_a_group_reads_the_row_itself(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Observation
            template:
              status: final
              code: {text: x}
              component: [{$each_row: true, code: {text: $CODE}}]
        """)
    (unit,) = run_rows(pack, "m", [{"ID": "1", "CODE": "a"}])
    assert unit.resources[0]["component"] == [{"code": {"text": "a"}}]


# -- templates -----------------------------------------------------------------------------

def test_empty_values_objects_and_lists_are_pruned(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template:
              active: true
              gender: ""
              maritalStatus: {text: "", coding: []}
              name:
                - family: $LAST
                  given: [$FIRST, $MIDDLE]
                - text: $ALIAS
              address: [{line: [$L1, $L2], city: $CITY}]
              multipleBirthInteger: 0
        """)
    units = run_rows(pack, "m", [
        {"ID": "1", "LAST": "Lee", "FIRST": "", "MIDDLE": "Jo", "ALIAS": "", "L1": "", "L2": "",
         "CITY": ""},
        {"ID": "2"},
    ])
    assert bodies(units[0]) == [{"resourceType": "Patient", "active": True,
                                 "name": [{"family": "Lee", "given": ["Jo"]}],
                                 "multipleBirthInteger": 0}]
    assert bodies(units[1]) == [{"resourceType": "Patient", "active": True,
                                 "multipleBirthInteger": 0}]


def test_an_empty_template_still_gives_the_resource(pack_of, run_rows):
    pack = pack_of(PATIENT)
    (unit,) = run_rows(pack, "m", [{"ID": "1"}])
    assert unit.resources == [{"resourceType": "Patient", "id": rid(pack, "Patient", "t", "1")}]


def test_when_on_an_object_and_on_a_transform(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Observation
            template:
              status: final
              code: {text: $CODE}
              valueQuantity:
                $when: {equals: [$TYPE, numeric]}
                value: {decimal: $VALUE}
                unit: $UNITS
              valueString: {$when: {equals: [$TYPE, text]}, clean: {value: $VALUE, case: lower}}
        """)
    units = run_rows(pack, "m", [
        {"ID": "1", "CODE": "hr", "TYPE": "numeric", "VALUE": "70", "UNITS": "/min"},
        # The decimal is never computed for a text row, so the row is not quarantined.
        {"ID": "2", "CODE": "smoker", "TYPE": "text", "VALUE": "Never  Smoker", "UNITS": ""},
        {"ID": "3", "CODE": "x", "TYPE": "other", "VALUE": "?", "UNITS": ""},
    ])
    assert [bodies(u) for u in units] == [
        [{"resourceType": "Observation", "status": "final", "code": {"text": "hr"},
          "valueQuantity": {"value": 70, "unit": "/min"}}],
        [{"resourceType": "Observation", "status": "final", "code": {"text": "smoker"},
          "valueString": "never smoker"}],
        [{"resourceType": "Observation", "status": "final", "code": {"text": "x"}}],
    ]


def test_foreach_over_split_with_as(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template:
              name:
                - $foreach: {split: {value: $ALIASES, sep: ";"}}
                  as: alias
                  use: nickname
                  text: $alias
              telecom:
                - {$when: {present: $EMAIL}, system: email, value: $EMAIL}
                - $foreach: {split: {value: $PHONES, sep: ","}}
                  system: phone
                  value: $item
              address:
                - line:
                    - $foreach: {split: {value: $LINES, sep: "|"}}
                      as: line
                      value: {clean: {value: $line, case: upper}}
        """)
    units = run_rows(pack, "m", [
        {"ID": "1", "ALIASES": "Jo; JJ;", "EMAIL": "jo@x.org", "PHONES": "555-1234, 555-9999",
         "LINES": "1 main st| apt 2"},
        {"ID": "2", "ALIASES": "", "EMAIL": "", "PHONES": "", "LINES": ""},
    ])
    assert bodies(units[0]) == [{
        "resourceType": "Patient",
        "name": [{"use": "nickname", "text": "Jo"}, {"use": "nickname", "text": "JJ"}],
        "telecom": [{"system": "email", "value": "jo@x.org"},
                    {"system": "phone", "value": "555-1234"},
                    {"system": "phone", "value": "555-9999"}],
        "address": [{"line": ["1 MAIN ST", "APT 2"]}],
    }]
    assert bodies(units[1]) == [{"resourceType": "Patient"}]


def test_foreach_over_a_single_value(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        emit:
          - resource: Patient
            template:
              name: [{$foreach: $ALIAS, as: a, text: $a}]
        """)
    (unit,) = run_rows(pack, "m", [{"ID": "1", "ALIAS": "Jo"}])
    assert unit.resources[0]["name"] == [{"text": "Jo"}]


def test_lets_are_computed_per_row_and_dollar_dollar_escapes(pack_of, run_rows):
    pack = pack_of("""\
        mapping: m
        source: t
        key: [ID]
        let:
          full: {concat: {parts: [$FIRST, $LAST], sep: " "}}
          shout: {clean: {value: $full, case: upper}}
        emit:
          - resource: Patient
            template:
              name: [{text: $full, family: $shout, prefix: ["$$full"]}]
        """)
    units = run_rows(pack, "m", [{"ID": "1", "FIRST": "Ann", "LAST": "Lee"},
                                 {"ID": "2", "FIRST": "Bo", "LAST": ""}])
    assert units[0].resources[0]["name"] == [
        {"text": "Ann Lee", "family": "ANN LEE", "prefix": ["$full"]}]
    assert units[1].resources[0]["name"] == [{"text": "Bo", "family": "BO", "prefix": ["$full"]}]
