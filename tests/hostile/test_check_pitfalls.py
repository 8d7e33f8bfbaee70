"""`check` reports the pitfalls of docs/mapping-spec.md ("Pitfalls") that need no data.

Each of these packs used to pass `check` and then misbehave at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from migrate.errors import MappingError, Problem
from migrate.mappers.pack import load_pack
from tests.mappers.conftest import SETTINGS

HEAD = "mapping: t.patient\nsource: people\nkey: [ID]\n"
GENDER = "source_code,target_system,target_code,target_display\nF,,female,\n"


def problems(make_pack: Callable[..., Path], top: str, template: str,
             per: str = "row") -> str:
    """The text of the MappingError of a one-file pack (fails if the pack loads)."""
    text = (f"{HEAD}{top}emit:\n  - resource: Patient\n    per: {per}\n    template:\n"
            f"{template}\n")
    pack = make_pack({"p.yaml": text}, concept_maps={"gender": GENDER})
    with pytest.raises(MappingError) as err:
        load_pack(pack, SETTINGS)
    return str(err.value).replace(str(pack), "PACK")


def test_a_filter_naming_a_let_is_reported(make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "let:\n  nm: {clean: $NAME}\nfilter:\n  - name: no-name\n"
                    "    when: {absent: $nm}\n", "      gender: male")
    assert ("PACK/p.yaml:7: filter[0].when: $nm names a let value, but filters and group "
            "conditions run before let values exist and read columns only") in text


def test_a_group_condition_naming_a_let_is_reported(make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "let:\n  nm: {clean: $NAME}\ngroup:\n  by: [ID]\n"
                    "  when: {present: $nm}\n", "      gender: male", per="group")
    assert "PACK/p.yaml:6: group.when: $nm names a let value" in text


def test_a_yaml_boolean_in_a_code_list_is_reported(make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "", "      gender: {choose: [{when: {in: [$SEX, [true, F]]}, "
                    "value: female}, {value: male}]}")
    assert ("gender.choose[0].when.in: true in the list is a YAML boolean, compared as the "
            "text 'True'; quote it ('true') for the word") in text


def test_a_yaml_boolean_as_an_inline_code_is_reported(make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "", "      gender: {translate: {values: {false: male, F: female},"
                    " from: $SEX, as: code, on_unmapped: keep}}")
    assert ("gender.translate.values: the source code false is a YAML boolean, compared as "
            "the text 'False'; quote it ('false')") in text


def test_an_octal_looking_number_is_reported_with_its_line(
        make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "", "      gender: {translate: {map: gender, from: $SEX, as: "
                    "code, on_unmapped: {code: 0123}}}")
    assert ("PACK/p.yaml:8: 0123 is read as the octal number 83 and loses its leading zero; "
            "quote it ('0123') if it is a code") in text


@pytest.mark.parametrize("transform", ["first_of", "choose"])
def test_objects_in_first_of_and_choose_branches_are_checked_against_fhir(
        make_pack: Callable[..., Path], transform: str) -> None:
    branch = "{txt: $M}" if transform == "first_of" else "{when: {present: $M}, value: {txt: $M}}"
    text = problems(make_pack, "", f"      maritalStatus: {{{transform}: [{branch}]}}")
    assert "CodeableConcept has no element 'txt' (did you mean 'text'?)" in text


def test_quoted_words_and_boolean_lets_still_check(make_pack: Callable[..., Path]) -> None:
    text = (f"{HEAD}let:\n  dead: {{boolean: $DEAD}}\nfilter:\n  - name: test\n"
            "    when: {in: [$KIND, ['true', '0123']]}\nemit:\n  - resource: Patient\n"
            "    template:\n      active: {choose: [{when: {in: [$dead, [true]]}, value: false},"
            " {value: true}]}\n      maritalStatus: {first_of: [{text: $M}]}\n")
    load_pack(make_pack({"p.yaml": text}), SETTINGS)


def test_columns_the_pack_declares_are_checked(make_pack: Callable[..., Path]) -> None:
    """pack.yaml `columns:` (the source's columns) lets `check` refuse any other column."""
    pack_yaml = ("name: t\ncolumns:\n  people: [ID, SEX, BIRTHDATE]\n"
                 "  visits: [VID, PATIENT]\n")
    people = (f"{HEAD}emit:\n  - resource: Patient\n    template:\n      gender: {{translate: "
              "{map: gender, from: $SEX, as: code, on_unmapped: keep}}\n"
              "      birthDate: {date: $BIRTHDAT}\n")
    other = ("mapping: t.other\nsource: orders\nkey: [OID]\nemit:\n  - resource: Patient\n"
             "    template: {gender: $G}\n")  # a table pack.yaml does not declare: not checked
    pack = make_pack({"pack.yaml": pack_yaml, "people.yaml": people, "other.yaml": other},
                     concept_maps={"gender": GENDER})
    with pytest.raises(MappingError) as err:
        load_pack(pack, SETTINGS)
    assert err.value.problems == [Problem(
        str(pack / "people.yaml"), 8, "", "column 'BIRTHDAT' is not among the columns "
        "pack.yaml declares for table 'people'; did you mean 'BIRTHDATE'?")]
    (pack / "people.yaml").write_text(people.replace("$BIRTHDAT}", "$BIRTHDATE}"),
                                      encoding="utf-8")
    load_pack(pack, SETTINGS)


# -- the lead's compiler checks (issue 17), kept here so docs/security.md can name them ------
def test_a_misspelt_transform_under_a_primitive_is_reported(
        make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "", "      gender: {translat: {map: gender, from: $SEX}}")
    assert ("emit[0].template.gender: Patient.gender takes a value or one transform, not "
            "'translat' (did you mean 'translate'?)") in text


def test_two_variants_of_one_choice_element_are_reported(
        make_pack: Callable[..., Path]) -> None:
    text = problems(make_pack, "", "      deceasedBoolean: {boolean: $DEAD}\n"
                    "      deceasedDateTime: {datetime: $DIED}")
    assert ("Patient.deceased[x] takes one type: 'deceasedBoolean' and 'deceasedDateTime' are "
            "both given (guard them with $when or choose)") in text


@pytest.mark.parametrize("words", ["true: YES", "true: 1, false: 0", "true: [J], false: N"])
def test_boolean_words_given_as_one_value_check(make_pack: Callable[..., Path],
                                                words: str) -> None:
    text = (f"{HEAD}emit:\n  - resource: Patient\n    template:\n"
            f"      active: {{boolean: {{value: $A, {words}}}}}\n"
            "      birthDate: {date: {value: $DOB, formats: '%d/%m/%Y'}}\n")
    load_pack(make_pack({"p.yaml": text}), SETTINGS)  # was a TypeError traceback


@pytest.mark.parametrize("template", [
    "      birthDate: {first_of: [{dat: $DOB}, $DOB2]}",
    "      birthDate: {choose: [{when: {present: $DOB}, value: {dat: $DOB}}]}"])
def test_a_misspelt_transform_in_a_branch_under_a_primitive_is_reported(
        make_pack: Callable[..., Path], template: str) -> None:
    text = problems(make_pack, "", template)
    assert "Patient.birthDate takes a value or one transform, not 'dat' (did you mean " \
        "'date'?)" in text
