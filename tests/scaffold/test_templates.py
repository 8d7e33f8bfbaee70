"""migrate/scaffold/templates.py: what goes into a starter template, by resource, and what
stays out of it when a row could lack it (the pack runs end to end in
tests/commands/test_scaffold.py, where every row of the Synthea sources is emitted)."""

from __future__ import annotations

from migrate.scaffold.analyse import TableInfo
from migrate.scaffold.columns import ColumnInfo
from migrate.scaffold.elements import Lookup
from migrate.scaffold.templates import SHAPES, template

REFS = {"patient": "patient_id", "encounter": "visit_id"}


def col(name: str, kind: str, null_share: float = 0.0, fmt: str | None = None,
        exact: bool = True, base_kind: str = "") -> ColumnInfo:
    return ColumnInfo(name, kind, null_share, 5, False, fmt, base_kind, exact=exact)


def lines(resource: str, *columns: ColumnInfo, kind: str = "csv",
          looked: list[Lookup] | None = None) -> list[str]:
    t = TableInfo("things", 10, 0, None, [col("id", "integer"), *columns], key=["id"],
                  resource=resource)
    return template(t, REFS, looked or [], "acme", kind).lines


def test_every_resource_has_its_required_elements_without_any_column() -> None:
    required = {"Encounter": ["status", "class"], "Procedure": ["status"],
                "MedicationRequest": ["status", "intent", "medicationCodeableConcept"],
                "Observation": ["status", "code"], "Immunization": ["status", "vaccineCode",
                                                                    "occurrenceString"],
                "ImagingStudy": ["status"], "CarePlan": ["status", "intent"],
                "AllergyIntolerance": ["clinicalStatus"], "Basic": ["code"]}
    for resource in SHAPES:
        written = [line.split(":")[0] for line in lines(resource)]
        assert set(required.get(resource, [])) <= set(written), resource
        subject = SHAPES[resource].patient
        assert (subject in written) == bool(subject), resource  # a reference, when it has one
    assert "encounter" not in [line.split(":")[0] for line in lines("Basic")]
    assert "status: unknown   # TODO: choose (final, when it is)" in lines("Observation")


def test_code_with_description_and_fallbacks() -> None:
    code, text = col("CODE", "integer"), col("DESCRIPTION", "text")
    assert lines("Condition", code, text)[0] == (
        'code: {text: "$DESCRIPTION"}   # TODO: coding: [{system: "TODO", code: $CODE, '
        'display: $DESCRIPTION}]')
    gappy = col("DESCRIPTION", "text", null_share=0.1)
    assert lines("Observation", code, gappy)[1].startswith(
        'code: {text: {first_of: ["$DESCRIPTION", "$CODE", unknown]}}')
    assert lines("Condition", code, gappy)[0].startswith('code: {text: "$DESCRIPTION"}')
    assert lines("Encounter", code, text)[2].startswith('type: [{text: "$DESCRIPTION"}]')


def test_a_code_of_an_sql_source_is_written_as_text() -> None:
    code = col("drug_code", "code", base_kind="integer")
    assert lines("MedicationRequest", code, kind="sql")[2:4] == [
        "medicationCodeableConcept:",
        '  coding: [{code: {concat: ["$drug_code"]}}]   # TODO: add the code system\'s URI '
        "(system:)"]
    assert lines("MedicationRequest", code)[3].startswith('  coding: [{code: "$drug_code"}]')


def test_a_dictionary_label_is_offered_as_a_commented_text() -> None:
    item = col("itemid", "integer")
    lookup = Lookup("d_items", "itemid", "d_items", "itemid", "label")
    assert lines("Observation", item, looked=[lookup])[1:4] == [
        "code:", '  coding: [{code: "$itemid"}]   # TODO: add the code system\'s URI (system:)',
        '  # text: "$d_items.label"   # TODO: uncomment with the lookup: block above']


def test_dates_only_when_every_row_can_be_read() -> None:
    given = col("administered", "datetime", fmt="%Y-%m-%d %H:%M:%S")
    assert 'occurrenceDateTime: {datetime: "$administered"}' in lines("Immunization", given)
    gappy = col("administered", "datetime", null_share=0.2)
    assert "occurrenceString: unknown   # TODO: the date column" in lines("Immunization", gappy)
    assert 'effectiveDateTime: {datetime: "$taken"}' in lines(
        "Observation", col("taken", "datetime", null_share=0.2))  # optional: absent is fine
    assert not [line for line in lines("Observation", col("taken", "date", exact=False))
                if "taken" in line]
    german = col("taken", "date", fmt="%d.%m.%Y")
    assert 'effectiveDateTime: {datetime: {value: "$taken", formats: ["%d.%m.%Y"]}}' in lines(
        "Observation", german)
    period = lines("Encounter", col("admit_time", "datetime"), col("discharge_time", "datetime"))
    assert 'period: {start: {datetime: "$admit_time"}, end: {datetime: "$discharge_time"}}' \
        in period


def test_people_and_organisations() -> None:
    patient = lines("Patient", col("first_name", "text"), col("last_name", "text"),
                    col("middle_name", "text"), col("birth_date", "date"), col("sex", "code"))
    assert patient[1:] == [
        'name: [{family: "$last_name", given: ["$first_name", "$middle_name"]}]',
        'birthDate: {date: "$birth_date"}',
        '# gender: {translate: {map: things-sex, from: "$sex", on_unmapped: quarantine, '
        'as: code}}   # TODO: a concept map to male, female, other, unknown']
    assert patient[0].startswith('identifier: [{identifier: {system: '
                                 '"urn:emr-migrate:acme:things:id", value: "$id"}}]')
    assert lines("Practitioner", col("NAME", "text"))[1] == 'name: [{text: "$NAME"}]'
    assert lines("Organization", col("NAME", "text"))[1] == 'name: "$NAME"'


def test_a_measurement_is_suggested_in_a_comment() -> None:
    written = lines("Observation", col("result_value", "number"), col("uom", "code"))
    assert written[2] == ('# valueQuantity: {quantity: {value: "$result_value", unit: "$uom", '
                           'thousands: ","}}   # TODO: when the values are numbers (else '
                           "valueString: $result_value)")
    assert not [line for line in lines("Condition", col("value", "decimal")) if "value" in line]


def test_a_related_rows_date_is_offered_where_the_date_may_be_absent() -> None:
    admit = col("admittime", "datetime", fmt="%d.%m.%Y %H:%M")
    related = Lookup("adm", "visit_id", "admissions", "hadm_id", "admittime", admit)
    assert lines("Condition", looked=[related])[0].startswith(
        '# recordedDate: {datetime: {value: "$adm.admittime", formats: ["%d.%m.%Y %H:%M"]}}')
    assert lines("Procedure", looked=[related])[1].startswith("# performedDateTime: ")
    assert "occurrenceString: unknown   # TODO: the date column" in lines(
        "Immunization", looked=[related])  # required: never a line to uncomment beside it


def test_an_encounter_class_column_is_suggested_in_a_comment() -> None:
    written = lines("Encounter", col("ENCOUNTERCLASS", "code"))
    assert written[2] == ('# class: {translate: {map: things-encounterclass, from: '
                          '"$ENCOUNTERCLASS", on_unmapped: quarantine}}   # TODO: a concept '
                          "map to v3-ActCode (AMB, IMP, EMER...), then this line instead of "
                          "class above")
