"""Loading a pack: every problem of every file reported at once, and the load order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrate.errors import MappingError, Problem
from migrate.mappers.pack import load_pack
from migrate.mappers.spec import NAME_PATTERN

BROKEN_FILES = {
    "pack.yaml": """\
        name: broken
        """,
    # A YAML syntax error: the flow list is never closed.
    "a_syntax.yaml": """\
        mapping: syntax
        source: t
        key: [ID
        emit: []
        """,
    # Checked by the file model: a misspelt top-level key and no 'key'.
    "b_spec.yaml": """\
        mapping: spec
        descripton: typo
        source: t
        emit:
          - resource: Patient
            template: {gender: male}
        """,
    "c_patient.yaml": """\
        mapping: patient
        source: patients
        key: [ID]
        emit:
          - resource: Patient
            template:
              id: $ID
              birthdate: {date: $BD}
              gender: [male]
              name: {family: $LAST}
              deceasedDateTime: {datetime: {value: $DIED, tz: Mars/Olympus}}
              identifier:
                - identifier: {value: $MRN}
              maritalStatus:
                translate: {map: marital, from: $MS, on_unmapped: keep}
              multipleBirthInteger: {integer: {value: $N, maximum: 9}}
              telecom:
                - value: {clean: {value: $PHONE, pattern: "([0-9"}}
        """,
    "d_encounter.yaml": """\
        mapping: encounter
        source: encounters
        key: [ID]
        emit:
          - resource: Encounter
            template:
              status: finished
              subject: {ref: {mapping: patient, key: [$PATIENT, $ORG]}}
              serviceProvider: {ref: {mapping: organisation, key: [$ORG]}}
              participant:
                - individual: {ref: {mapping: people, key: [$PERSON]}}
              class: {row: {where: {KIND: a}, value: $CLASS}}
          - resource: Encountr
            template: {}
          - resource: Observation
            per: group
            template: {status: final}
        """,
    # Same mapping name as c_patient.yaml.
    "e_dup.yaml": """\
        mapping: patient
        source: patients2
        key: [ID]
        emit:
          - resource: Patient
            key: [$ID]
            template: {gender: male}
        """,
    "f_people.yaml": """\
        mapping: people
        source: people
        key: [ID]
        emit:
          - resource: Patient
            template: {gender: male}
          - resource: RelatedPerson
            template: {gender: male}
        """,
    # Patient ids of table 'people' again, with the same default key: they would collide.
    "g_collide.yaml": """\
        mapping: people-again
        source: people
        key: [ID]
        emit:
          - resource: Patient
            template: {gender: female}
        """,
}

BROKEN_MAPS = {
    "no-display": """\
        source_code,target_system,target_code
        A,urn:x,a
        """,
    "twice": """\
        source_code,target_system,target_code,target_display
        A,urn:x,a,Alpha
        B,urn:x,b,Beta
        A,urn:x,c,Gamma
        """,
}


def test_every_problem_of_every_file_is_reported_at_once(make_pack):
    root = make_pack(BROKEN_FILES, BROKEN_MAPS)
    with pytest.raises(MappingError) as info:
        load_pack(root)

    def f(name: str) -> str:
        return str(root / name)

    a, b, c, d = f("a_syntax.yaml"), f("b_spec.yaml"), f("c_patient.yaml"), f("d_encounter.yaml")
    t = "emit[0].template"
    assert info.value.problems == [
        Problem(a, 4, "", "YAML syntax: expected ',' or ']', but got ':'"),
        Problem(b, 1, "key", "required key is missing"),
        Problem(b, 2, "descripton", "unknown key; valid keys: description, duplicate_keys, emit, "
                "filter, group, key, let, lookup, mapping, null_tokens, nullable_key, query, "
                "rules, source, sync"),
        Problem(f("e_dup.yaml"), 1, "mapping", f"name 'patient' is also used by {c}"),
        Problem(f("concept_maps/no-display.csv"), 1, "header",
                "missing column(s) target_display"),
        Problem(f("concept_maps/twice.csv"), 4, "row", "source code 'A' appears twice"),
        Problem(c, 7, f"{t}.id", "'id' is set by emr-migrate; remove it from the template"),
        Problem(c, 8, f"{t}.birthdate",
                "Patient has no element 'birthdate' (did you mean 'birthDate'?)"),
        Problem(c, 9, f"{t}.gender",
                "Patient.gender does not repeat; give one value, not a list"),
        Problem(c, 10, f"{t}.name", "Patient.name repeats; write it as a YAML list"),
        Problem(c, 11, f"{t}.deceasedDateTime.datetime",
                "unknown time zone 'Mars/Olympus' (use an IANA name such as America/Chicago)"),
        Problem(c, 13, f"{t}.identifier[0].identifier", "option 'system' is required"),
        Problem(c, 15, f"{t}.maritalStatus.translate.map",
                "no concept map 'marital' in the pack's concept_maps/ (known: twice)"),
        Problem(c, 16, f"{t}.multipleBirthInteger.integer.maximum",
                "unknown option 'maximum'; valid options: decimal_mark, max, min, "
                "thousands, value"),
        Problem(c, 18, f"{t}.telecom[0].value.clean.pattern",
                "bad regular expression: missing ]: [0-9"),
        Problem(d, 8, f"{t}.subject.ref.key",
                "patient has a key of 1 part(s), this reference gives 2"),
        Problem(d, 9, f"{t}.serviceProvider.ref", "no mapping 'organisation' in the pack "
                "(known: encounter, patient, people, people-again)"),
        Problem(d, 11, f"{t}.participant[0].individual.ref",
                "people emits several resources; name one with 'emit:' "
                "(patient, relatedperson)"),
        Problem(d, 12, f"{t}.class.row", "'row' only works in an emit with 'per: group'"),
        Problem(d, 13, "emit[1].resource", "'Encountr' is not a FHIR R4 resource type"),
        Problem(d, 15, "emit[2].per", "'per: group' needs a 'group:' section in the mapping"),
        Problem(f("g_collide.yaml"), 5, "emit patient", "would give the same ids as "
                "people/patient; set 'key' or 'entity' on one of them"),
    ]
    assert str(info.value).startswith("the mapping pack has 22 problem(s):\n"
                                      f"  {a}:4: YAML syntax: expected ',' or ']', but got ':'\n"
                                      f"  {b}:1: key: required key is missing\n")


def test_problem_text_names_file_line_and_place():
    assert str(Problem("m.yaml", 7, "emit[0].when", "bad")) == "m.yaml:7: emit[0].when: bad"
    assert str(Problem("m.yaml", None, "", "bad")) == "m.yaml: bad"
    assert str(Problem("m.yaml", 3, "", "bad")) == "m.yaml:3: bad"


def test_pack_yaml_is_checked_too(make_pack):
    root = make_pack({
        "pack.yaml": "name: Bad Name\nnulltokens: [NULL]\n",
        "m.yaml": "mapping: m\nsource: t\nkey: [ID]\nemit: [{resource: Patient, template: {}}]\n",
    })
    with pytest.raises(MappingError) as info:
        load_pack(root)
    pack = str(root / "pack.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"{pack}:1: name: String should match pattern '^[a-z0-9][a-z0-9_.\\-]*$'",
        f"{pack}:2: nulltokens: unknown key; valid keys: booleans, columns, description, files, "
        "lookup_memory_mb, name, null_tokens, numbers, source_format, timezone, units, version",
    ]


def test_missing_folder_and_empty_folder(tmp_path: Path):
    with pytest.raises(MappingError) as info:
        load_pack(tmp_path / "nope")
    assert info.value.problems == [
        Problem(str(tmp_path / "nope"), None, "", "no such mapping pack folder")]
    with pytest.raises(MappingError) as info:
        load_pack(tmp_path)
    assert info.value.problems == [
        Problem(str(tmp_path), None, "", "no mapping files (*.yaml) in this folder")]


def test_folder_name_that_is_not_a_pack_name(tmp_path: Path):
    # Without pack.yaml the name comes from the folder; load_pack may accept the folder under a
    # cleaned-up name or report a problem, but must not fail with anything but MappingError.
    root = tmp_path / "Acme EMR (2023)"
    root.mkdir()
    (root / "m.yaml").write_text(
        "mapping: m\nsource: t\nkey: [ID]\nemit: [{resource: Patient, template: {}}]\n")
    try:
        name, problems = load_pack(root).spec.name, []
    except MappingError as exc:
        name, problems = "", exc.problems
    assert problems or re.fullmatch(NAME_PATTERN, name)


def test_nested_file_model_errors_name_the_nested_line(make_pack):
    root = make_pack({"m.yaml": """\
        mapping: m
        source: t
        key: [ID]
        duplicate_keys: renumber
        emit:
          - resource: Patient
            templat: {}
        """})
    with pytest.raises(MappingError) as info:
        load_pack(root)
    file = str(root / "m.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"{file}:4: duplicate_keys: Input should be 'quarantine' or 'number'",
        f"{file}:6: emit.0.template: required key is missing",
        f"{file}:7: emit.0.templat: unknown key; valid keys: entity, key, name, per, profile, "
        "resource, template, when",
    ]


# -- a clean pack --------------------------------------------------------------------------

CLEAN = {
    "pack.yaml": """\
        name: clinic
        description: A small clinic.
        null_tokens: ["", "NULL"]
        """,
    # Files sort as a, b, c: the reverse of the order the references need.
    "a_observations.yaml": """\
        mapping: observation
        source: observations
        key: [ID]
        emit:
          - resource: Observation
            template:
              status: final
              code: {text: $CODE}
              subject: {ref: {mapping: patient, emit: patient, key: [$PATIENT]}}
              encounter: {ref: {mapping: encounter, key: [$ENCOUNTER]}}
        """,
    "b_encounters.yaml": """\
        mapping: encounter
        source: encounters
        key: [ID]
        emit:
          - resource: Encounter
            template:
              status: finished
              subject: {ref: {mapping: patient, emit: patient, key: [$PATIENT]}}
        """,
    "c_patients.yaml": """\
        mapping: patient
        source: patients
        key: [ID]
        emit:
          - resource: Patient
            template:
              gender: {translate: {map: gender, from: $SEX, on_unmapped: quarantine, as: code}}
          - resource: Practitioner
            entity: gp
            key: [$GP]
            template:
              name: [{text: $GP}]
        """,
}
CLEAN_MAPS = {"gender": """\
    source_code,target_system,target_code,target_display
    M,,male,
    F,,female,
    """}


def test_a_clean_pack_loads(make_pack):
    root = make_pack(CLEAN, CLEAN_MAPS)
    pack = load_pack(root)
    assert pack.spec.name == "clinic"
    assert [m.name for m in pack.mappings] == ["observation", "encounter", "patient"]
    assert sorted(pack.concept_maps) == ["gender"]
    assert pack.concept_maps["gender"].get("F").coding() == {"code": "female"}
    patient = pack.mappings[2]
    assert patient.file == str(root / "c_patients.yaml")
    assert patient.table == "patients"
    assert patient.resource_types == ["Patient", "Practitioner"]
    assert [(e.name, e.resource, e.entity, e.line) for e in patient.emits] == [
        ("patient", "Patient", "patients", 5), ("practitioner", "Practitioner", "gp", 8)]
    assert patient.null_tokens == frozenset({"", "NULL"})


def test_load_order_puts_referenced_mappings_first(make_pack):
    pack = load_pack(make_pack(CLEAN, CLEAN_MAPS))
    assert pack.depends == {"observation": {"patient", "encounter"},
                            "encounter": {"patient"}, "patient": set()}
    assert [m.name for m in pack.ordered_mappings()] == ["patient", "encounter", "observation"]
    assert pack.tables() == ["patients", "encounters", "observations"]
    assert pack.resource_type_order() == ["Patient", "Practitioner", "Encounter", "Observation"]


def test_reference_cycles_still_give_an_order(make_pack):
    def mapping(name: str, other: str) -> str:
        return (f"mapping: {name}\nsource: {name}\nkey: [ID]\nemit:\n"
                "  - resource: Patient\n"
                f"    template: {{link: [{{other: {{ref: {{mapping: {other}, key: [$X]}}}}}}]}}\n")

    pack = load_pack(make_pack({"a.yaml": mapping("a", "b"), "b.yaml": mapping("b", "a")}))
    assert [m.name for m in pack.ordered_mappings()] == ["b", "a"]


def test_columns_the_pack_reads_with_their_first_line(make_pack):
    root = make_pack(CLEAN, CLEAN_MAPS)
    pack = load_pack(root)
    obs = str(root / "a_observations.yaml")
    assert pack.columns_for("observations") == {
        "ID": (obs, 1), "CODE": (obs, 8), "PATIENT": (obs, 9), "ENCOUNTER": (obs, 10)}
    pat = str(root / "c_patients.yaml")
    assert pack.columns_for("patients") == {"ID": (pat, 1), "SEX": (pat, 7), "GP": (pat, 8)}
