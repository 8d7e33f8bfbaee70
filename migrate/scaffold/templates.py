"""The starter template of each suggested resource: its required elements (a status to choose
is a literal with a ``# TODO: choose``), the references to the patient and encounter
mappings, and the elements taken from recognised columns (the main code, the main dates, a
person's name and birth date). Only what is valid FHIR on every row goes into the template:
an element a row may lack is put in only where FHIR lets it be absent, and anything less sure
is a comment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from migrate.scaffold.analyse import TableInfo
from migrate.scaffold.columns import ColumnInfo
from migrate.scaffold.elements import (
    ENCOUNTER,
    END,
    MEASURE,
    Code,
    Lookup,
    codes,
    dates,
    main_code,
    person,
    start_date,
)
from migrate.scaffold.yamltext import readable, ref, slug

ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ALLERGY_STATUS = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CHOOSE = "   # TODO: choose"
UNCOMMENT = "   # TODO: uncomment with the lookup: block above"
SYSTEM_TODO = "   # TODO: add the code system's URI (system:)"


@dataclass(frozen=True)
class Shape:
    """What a resource's starter template holds."""

    fixed: tuple[str, ...] = ()  # lines always written
    patient: str | None = None  # the element of the patient reference
    encounter: str | None = None  # the element of the encounter reference
    code: str | None = None  # the element of the main code (a CodeableConcept)
    code_list: bool = False  # ... a list of CodeableConcepts
    code_required: bool = False
    start: str | None = None  # the element of the main date ("period" for a Period)
    start_required: str | None = None  # the line written when no date is always there
    identified: bool = False  # an identifier from a one-column key
    related_start: str | None = None  # the element of a related row's date, if not ``start``
    empty: str = "active: true                      # TODO: map the columns below"


SHAPES: dict[str, Shape] = {
    "Patient": Shape(identified=True),
    "Encounter": Shape(("status: unknown" + CHOOSE + " (finished, in-progress...: from a "
                        "status or discharge column?)",
                        "class: {system: " + ENCOUNTER_CLASS + ", code: {class}}" + CHOOSE),
                       "subject", None, "type", True, start="period"),
    "Condition": Shape((), "subject", "encounter", "code", start="onsetDateTime",
                       related_start="recordedDate"),
    "Procedure": Shape(("status: unknown" + CHOOSE + " (completed, when it is)",), "subject",
                       "encounter", "code", start="performedDateTime"),
    "MedicationRequest": Shape(("status: unknown" + CHOOSE + " (active, completed, stopped...)",
                                "intent: order" + CHOOSE), "subject", "encounter",
                               "medicationCodeableConcept", code_required=True,
                               start="authoredOn"),
    "Observation": Shape(("status: unknown" + CHOOSE + " (final, when it is)",), "subject",
                         "encounter", "code", code_required=True, start="effectiveDateTime"),
    "AllergyIntolerance": Shape((f"clinicalStatus: {{coding: [{{system: {ALLERGY_STATUS}, "
                                 "code: active}]}" + CHOOSE + " (active, inactive, resolved)",),
                                "patient", "encounter", "code", start="onsetDateTime"),
    "Immunization": Shape(("status: completed" + CHOOSE + " (completed, not-done...)",),
                          "patient", "encounter", "vaccineCode", code_required=True,
                          start="occurrenceDateTime",
                          start_required="occurrenceString: unknown   # TODO: the date column"),
    "ImagingStudy": Shape(("status: available" + CHOOSE + " (available, registered...)",),
                          "subject", "encounter", start="started"),
    "CarePlan": Shape(("status: active" + CHOOSE + " (active, completed, revoked...)",
                       "intent: plan" + CHOOSE), "subject", "encounter", "category", True,
                      start="period"),
    "Device": Shape((), "patient", None, "type",
                    empty="status: unknown" + CHOOSE + " (active, inactive...)"),
    "Organization": Shape(identified=True),
    "Practitioner": Shape(identified=True),
    "Basic": Shape(("code: {text: TODO}                # TODO: choose a resource for this "
                    "table",), "subject"),
}


@dataclass
class Template:
    """The template's lines (indented under ``template:``) and the columns they read."""

    lines: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def add(self, line: str, *columns: ColumnInfo | None) -> None:
        """A line, and the columns it reads."""
        self.lines.append(line)
        self.used.update(c.name for c in columns if c is not None)


def template(t: TableInfo, refs: dict[str, str], looked: list[Lookup], pack: str,
             kind: str) -> Template:
    """The starter template of ``t``; ``refs`` maps "patient"/"encounter" to the column of
    the reference (a `let` of that name), ``kind`` is the source kind (csv or sql)."""
    resource = t.resource or "Basic"
    shape = SHAPES[resource]
    out = Template()
    for line in shape.fixed:
        out.add(line.replace("{class}", "IMP" if re.search(r"admi|stay|inpat", t.name, re.I)
                             else "AMB"))
    if resource == "Encounter" and (kind_col := person(t, ENCOUNTER).get("class")):
        out.add(f"# class: {{translate: {{map: {slug(t.name)}-{slug(kind_col.name)}, from: "
                f"{ref(kind_col.name)}, on_unmapped: quarantine}}}}   # TODO: a concept map "
                "to v3-ActCode (AMB, IMP, EMER...), then this line instead of class above")
    if shape.identified and len(t.key) == 1 and readable(t.key[0]):
        system = json.dumps(f"urn:emr-migrate:{pack}:{slug(t.name)}:{slug(t.key[0])}")
        out.add(f"identifier: [{{identifier: {{system: {system}, value: {ref(t.key[0])}}}}}]"
                "   # TODO: a real system URI", t.column(t.key[0]))
    if resource in ("Patient", "Practitioner", "Organization"):
        _person(t, resource, kind, out)
    if shape.code:
        _code(shape, main_code(resource, codes(t, looked)), kind, out)
    if shape.start:
        _dates(t, shape, looked, out)
    if resource == "Observation":
        _value(t, out)
    for role in ("patient", "encounter"):
        element = getattr(shape, role)
        if role in refs and element:
            out.add(f"{element}: ${role}", t.column(refs[role]))
    if not out.lines:  # valid, and not empty
        out.add(shape.empty)
    return out


def text_value(col: ColumnInfo, kind: str) -> str:
    """``$col`` as text: a number of an SQL source is written as text with `concat`."""
    numeric = "integer" in (col.kind, col.base_kind) or col.kind in ("decimal", "number")
    return f"{{concat: [{ref(col.name)}]}}" if kind != "csv" and numeric else ref(col.name)


def date_value(col: ColumnInfo, transform: str = "datetime", name: str | None = None) -> str:
    """A `date` or `datetime` transform reading ``col`` (as ``$name`` when given: a look-up's
    column), with its format when not ISO."""
    value = ref(name or col.name)
    if col.fmt is None or col.fmt.startswith("%Y-%m-%d") or col.fmt == "%Y%m%d":
        return f"{{{transform}: {value}}}"
    return f"{{{transform}: {{value: {value}, formats: [{json.dumps(col.fmt)}]}}}}"


def _code(shape: Shape, code: Code | None, kind: str, out: Template) -> None:
    """The main code as the shape's CodeableConcept element (required: always present)."""
    element, open_, close = shape.code, ("[" if shape.code_list else ""), (
        "]" if shape.code_list else "")
    if code is None:
        if shape.code_required:
            out.add(f"{element}: {open_}{{text: TODO}}{close}   # TODO: the code column")
        return
    col, text = code.column, code.text
    nullable = col.null_share > 0 and (text is None or text.null_share > 0)
    if text is not None:
        value = ref(text.name) if not shape.code_required or not text.null_share else \
            f"{{first_of: [{ref(text.name)}, {text_value(col, kind)}, unknown]}}"
        out.add(f"{element}: {open_}{{text: {value}}}{close}   # TODO: coding: [{{system: "
                f"\"TODO\", code: ${col.name}, display: ${text.name}}}]", col, text)
    elif shape.code_required and nullable:
        out.add(f"{element}: {open_}{{text: {{first_of: [{text_value(col, kind)}, unknown]}}}}"
                f"{close}   # TODO: coding: [{{system: \"TODO\", code: ${col.name}}}]", col)
    else:
        indent = "  - " if shape.code_list else "  "
        out.add(f"{element}:")
        out.add(f"{indent}coding: [{{code: {text_value(col, kind)}}}]{SYSTEM_TODO}", col)
        if code.lookup is not None:
            out.add(f"{' ' * len(indent)}# text: {ref(code.lookup.name + '.' + code.lookup.label)}"
                    + UNCOMMENT)


def _dates(t: TableInfo, shape: Shape, looked: list[Lookup], out: Template) -> None:
    """The main date (and, for a Period, the end); without one, the start of the related
    encounter row in a commented line, when FHIR lets the date be absent."""
    start = start_date(t)
    related = next((lk for lk in looked if lk.date is not None), None)
    if start is None and related is not None and related.date and shape.start != "period" \
            and not shape.start_required:
        value = date_value(related.date, name=f"{related.name}.{related.label}")
        element = shape.related_start or shape.start
        out.add(f"# {element}: {value}{UNCOMMENT} (the {related.table} row's date)")
        return
    if shape.start == "period":
        end = dates(t, END, {start.name} if start else set())
        parts = [f"{name}: {date_value(c)}" for name, c in (("start", start), ("end", end))
                 if c is not None]
        if parts:
            out.add(f"period: {{{', '.join(parts)}}}", start, end)
    elif start is not None and not (shape.start_required and start.null_share):
        out.add(f"{shape.start}: {date_value(start)}", start)
    elif shape.start_required:
        out.add(shape.start_required)


def _value(t: TableInfo, out: Template) -> None:
    """A measurement's value and unit, as a commented suggestion (values may be text)."""
    cols = person(t, MEASURE)
    if (value := cols.get("value")) is None:
        return
    unit = f", unit: {ref(cols['unit'].name)}" if "unit" in cols else ""
    thousands = ', thousands: ","' if value.kind == "number" else ""
    out.add(f"# valueQuantity: {{quantity: {{value: {ref(value.name)}{unit}{thousands}}}}}"
            f"   # TODO: when the values are numbers (else valueString: ${value.name})")


def _person(t: TableInfo, resource: str, kind: str, out: Template) -> None:
    """A person's (or an organisation's) name; a patient's birth and death dates, gender."""
    cols = person(t)
    family, given, name = cols.get("family"), cols.get("given"), cols.get("name")
    if resource == "Organization" and name is not None:
        out.add(f"name: {text_value(name, kind)}", name)
    elif family is not None or given is not None:
        parts = [f"family: {text_value(family, kind)}"] if family else []
        firsts = [c for c in (given, cols.get("middle")) if c is not None]
        parts += [f"given: [{', '.join(text_value(c, kind) for c in firsts)}]"] if firsts else []
        out.add(f"name: [{{{', '.join(parts)}}}]", family, *firsts)
    elif name is not None:
        out.add(f"name: [{{text: {text_value(name, kind)}}}]", name)
    if resource != "Patient":
        return
    if (birth := cols.get("birth")) is not None:
        out.add(f"birthDate: {date_value(birth, 'date')}", birth)
    if (death := cols.get("death")) is not None:
        out.add(f"deceasedDateTime: {date_value(death)}", death)
    if (gender := cols.get("gender")) is not None:
        out.add(f"# gender: {{translate: {{map: {slug(t.name)}-{slug(gender.name)}, from: "
                f"{ref(gender.name)}, on_unmapped: quarantine, as: code}}}}   # TODO: a concept "
                "map to male, female, other, unknown")
