"""The template compiler's checks against FHIR: transforms that give objects (a Coding, a
Quantity, a Reference, an Identifier) are refused under primitive elements at `check`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from migrate.errors import MappingError
from migrate.mappers.pack import load_pack
from tests.mappers.conftest import SETTINGS

SEX = "source_code,target_system,target_code,target_display\nF,,female,\n"
HEAD = ("mapping: t.patient\nsource: people\nkey: [ID]\nemit:\n  - resource: {resource}\n"
        "    template:\n")


def _problems(make_pack: Callable[..., Path], body: str, resource: str = "Patient"
              ) -> list[str]:
    pack = make_pack({"p.yaml": HEAD.format(resource=resource) + body},
                     concept_maps={"sex": SEX})
    with pytest.raises(MappingError) as err:
        load_pack(pack, SETTINGS)
    return [f"{p.line}: {p.where}: {p.message}" for p in err.value.problems]


def test_a_coding_given_to_a_primitive_code_is_reported_with_its_line(
        make_pack: Callable[..., Path]) -> None:
    """The tutorial's pitfall: run quarantined every row `invalid-resource`."""
    found = _problems(make_pack, "      active: true\n      gender: {translate: {map: sex, "
                      "from: $SEX, on_unmapped: quarantine}}\n")
    assert found == ["8: emit[0].template.gender: Patient.gender is a primitive (code): "
                     "translate gives a Coding here; add `as: code`"]


@pytest.mark.parametrize(("element", "value", "message"), [
    ("gender", "{translate: {map: sex, from: $SEX, as: codeable, on_unmapped: keep}}",
     "Patient.gender is a primitive (code): translate gives a CodeableConcept here; write "
     "`as: code`"),
    ("birthDate", "{quantity: {value: $N, unit: mg}}",
     "Patient.birthDate is a primitive (date): quantity gives a Quantity here; use `decimal` "
     "for the number alone"),
    ("active", "{ref: {mapping: t.patient, key: [$ID]}}",
     "Patient.active is a primitive (boolean): ref gives a Reference here; a reference "
     "belongs in an element of type Reference"),
    ("gender", "{identifier: {system: 'urn:x', value: $ID}, $when: {present: $ID}}",
     "Patient.gender is a primitive (code): identifier gives an Identifier here; give the "
     "value itself ($COLUMN)"),
])
def test_objects_given_to_primitives_are_reported(make_pack: Callable[..., Path], element: str,
                                                  value: str, message: str) -> None:
    found = _problems(make_pack, f"      {element}: {value}\n")
    assert found == [f"7: emit[0].template.{element}: {message}"]


def test_plain_values_and_objects_where_objects_belong_still_check(
        make_pack: Callable[..., Path]) -> None:
    body = ("      gender: {translate: {map: sex, from: $SEX, as: code, on_unmapped: keep}}\n"
            "      maritalStatus: {translate: {map: sex, from: $M, as: codeable, "
            "on_unmapped: keep}}\n"
            "      identifier: [{identifier: {system: 'urn:x', value: $ID}}]\n"
            "      link: [{other: {ref: {mapping: t.patient, key: [$ID]}}, type: seealso}]\n")
    load_pack(make_pack({"p.yaml": HEAD.format(resource="Patient") + body},
                        concept_maps={"sex": SEX}), SETTINGS)


def test_objects_in_first_of_and_choose_branches_under_a_primitive_are_reported(
        make_pack: Callable[..., Path]) -> None:
    found = _problems(make_pack, "      gender:\n        first_of:\n          - $G\n"
                      "          - {translate: {map: sex, from: $SEX, on_unmapped: keep}}\n"
                      "      birthDate: {choose: [{when: {present: $N}, value: "
                      "{quantity: {value: $N, unit: a}}}, {value: $DOB}]}\n")
    assert found == [
        "10: emit[0].template.gender.first_of[1]: Patient.gender is a primitive (code): "
        "translate gives a Coding here; add `as: code`",
        "11: emit[0].template.birthDate.choose[0].value: Patient.birthDate is a primitive "
        "(date): quantity gives a Quantity here; use `decimal` for the number alone"]


def test_a_memoized_subtree_keeps_no_result_keyed_by_a_long_text() -> None:
    """A document's base64 never repeats: caching results keyed by it held every document of
    a C-CDA run in memory (peak memory grew with the number of documents). Short keys are
    still cached; long ones are computed every time and kept nowhere."""
    import gc
    import weakref

    from migrate.mappers.compiler import MEMO_KEY_CHARS, Scope, memoized

    class Result(dict):  # a dict that can be watched with a weak reference
        pass

    made: list[weakref.ref] = []

    def build(s: Scope) -> Result:
        out = Result(data=s.row["data"])
        made.append(weakref.ref(out))
        return out

    run = memoized(build, ("data",))
    short = run(Scope({"data": "abc"}, {}, None))
    assert run(Scope({"data": "abc"}, {}, None)) is short  # cached
    big = "x" * (MEMO_KEY_CHARS + 1)
    first = run(Scope({"data": big}, {}, None))
    assert run(Scope({"data": big}, {}, None)) is not first  # computed again, not cached
    del first
    gc.collect()
    assert [ref() is None for ref in made[1:]] == [True, True]
    pair = memoized(build, ("data", "other"))
    pair(Scope({"data": big, "other": "1"}, {}, None))
    gc.collect()
    assert made[-1]() is None
