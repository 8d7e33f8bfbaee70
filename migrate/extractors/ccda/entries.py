"""Readers of the entry templates the C-CDA source reads: one function per top-level
template family, each returning the rows (``Pending``, keyed later) of one entry.

Nested statements are found by their templateId among the statement's direct
``entryRelationship`` (or, for organizers, ``component``) children; nothing is searched for
with ``//``. Every column of a row is present; what the document does not say stays None.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from migrate.extractors.ccda import templates as T
from migrate.extractors.ccda.coded import (
    HL7,
    SDTC,
    children,
    coded,
    interval,
    periodic,
    plain,
    quantity,
    text_and_reference,
    value,
)
from migrate.extractors.ccda.context import Context, Pending
from migrate.extractors.ccda.header import practitioner
from migrate.extractors.ccda.tables import TABLES

_COLUMNS = {t: tuple(c for c in cols if c != "documents") for t, cols in TABLES.items()}
_ID, _CODE, _TEXT, _STATUS = HL7 + "id", HL7 + "code", HL7 + "text", HL7 + "statusCode"
_RELATIONSHIP, _COMPONENT = HL7 + "entryRelationship", HL7 + "component"
_VALUE, _EFFECTIVE = HL7 + "value", HL7 + "effectiveTime"
_MATERIAL = f"{HL7}consumable/{HL7}manufacturedProduct/{HL7}manufacturedMaterial"
_PLAYING = f"{HL7}participantRole/{HL7}playingEntity/{HL7}"
_PARTICIPANT = HL7 + "participant"
# Children of an entryRelationship or component that are not statements.
_NOT_STATEMENTS = frozenset(HL7 + t for t in ("realmCode", "typeId", "templateId",
                                              "sequenceNumber", "seperatableInd"))

_NO_TIMES = interval(None)
Template = tuple[str, "str | None"]


class Section(NamedTuple):
    """Where an entry sits: its section's LOINC code and first templateId."""

    code: str | None
    template: str | None


def statement(ctx: Context, el: etree._Element, table: str, sec: Section,
              tpl: Template | None, parent: Pending | None = None) -> Pending:
    """A row of ``table`` with the ENTRY, code, TIMES and VALUE columns of statement ``el``."""
    narrative = ctx.narrative
    v: dict[str, str | None] = dict.fromkeys(_COLUMNS[table])
    kids = children(el)
    id_el = kids.get(_ID)
    root = ext = None
    usable = False
    if id_el is not None:
        root, ext = id_el.get("root"), id_el.get("extension")
        usable = bool(root) and id_el.get("nullFlavor") is None
    status = kids.get(_STATUS)
    text, ref = text_and_reference(kids.get(_TEXT), narrative)
    v.update(patient_key=ctx.patient_key, document_key=ctx.document_key,
             section_code=sec.code, section_template=sec.template,
             template=tpl[0] if tpl else None, template_version=tpl[1] if tpl else None,
             id_root=root, id_extension=ext, mood=el.get("moodCode"),
             negated=el.get("negationInd"),
             status=status.get("code") if status is not None else None,
             narrative_ref=ref, narrative_text=text, line=str(el.sourceline))
    v.update(coded(kids.get(_CODE), "code", narrative))
    v.update(interval(el) if _EFFECTIVE in kids else _NO_TIMES)
    v.update(value(kids.get(_VALUE), narrative))
    return Pending(table, v, usable, parent, el.sourceline)


def related(el: etree._Element, template: str, ctx: Context,
            via: str = _RELATIONSHIP) -> Iterator[tuple[etree._Element, Template]]:
    """The statements directly under ``el``'s ``via`` children that carry ``template``."""
    for rel in el.iterchildren(via):
        for child in rel.iterchildren(etree.Element):
            found = T.first_of(child, {template}, ctx.aliases)
            if found:
                yield child, found


def count_others(ctx: Context, el: etree._Element, read: set[str],
                 via: str = _RELATIONSHIP) -> None:
    """Count in ``ctx.nested_unread`` the statements under ``el``'s ``via`` children that
    carry none of the templates ``read`` (they give no row: say so, never drop them unseen)."""
    for rel in el.iterchildren(via):
        for child in rel.iterchildren(etree.Element):
            if child.tag not in _NOT_STATEMENTS and T.first_of(
                    child, read, ctx.aliases) is None and not _is_reference(child):
                ctx.nested_unread[_nested_name(child)] += 1


def _is_reference(el: etree._Element) -> bool:
    """A statement that only names another by its ids (Allscripts links an allergy to its
    encounter with ``<encounter><id .../></encounter>``): it states nothing to lose."""
    return len(el) > 0 and all(child.tag == _ID for child in el.iterchildren(etree.Element))


def _nested_name(el: etree._Element) -> str:
    name = T.raw_first(el)
    return f"{name} <{etree.QName(el).localname}>" if name == "(no template)" else name


def _participant(el: etree._Element, type_code: str, tag: str) -> etree._Element | None:
    """participantRole/playingEntity/``tag`` of the first participant of ``type_code``."""
    for part in el.iterchildren(_PARTICIPANT):
        if part.get("typeCode") == type_code:
            found = part.find(_PLAYING + tag)
            if found is not None:
                return found
    return None


def _name_as_text(values: dict, prefix: str, name: etree._Element | None) -> None:
    """The entity's ``name`` as ``<prefix>_text`` when its code gives no code and no text (a
    free-text allergen or drug: ``<code nullFlavor="OTH"/><name>Cats</name>``), so the
    row neither loses it nor keys as any other uncoded one."""
    if values[f"{prefix}_code"] is None and values[f"{prefix}_text"] is None:
        values[f"{prefix}_text"] = plain(name)


def _value_of(el: etree._Element, template: str, prefix: str, ctx: Context) -> dict:
    """The coded value of the first nested ``template`` statement, under ``prefix``."""
    for obs, _ in related(el, template, ctx):
        return coded(obs.find(_VALUE), prefix, ctx.narrative)
    return coded(None, prefix, ctx.narrative)


def _concern(el: etree._Element) -> dict[str, str | None]:
    times = interval(el)
    status = el.find(_STATUS)
    return {"concern_status": status.get("code") if status is not None else None,
            "concern_low": times["effective_low"], "concern_high": times["effective_high"],
            "concern_high_null": times["effective_high_null"]}


def read_problem(ctx: Context, el: etree._Element, sec: Section, tpl: Template,
                 concern: dict | None = None) -> list[Pending]:
    """A problem observation 4.4 (top level in Past Medical History, or inside a concern)."""
    row = statement(ctx, el, "problems", sec, tpl)
    row.values.update(concern or {})
    row.values.update(_value_of(el, T.PROBLEM_STATUS, "problem_status", ctx))
    return [row]


def read_problem_concern(ctx: Context, el: etree._Element, sec: Section,
                         tpl: Template) -> list[Pending]:
    """A problem concern 4.3: one problems row per 4.4 it holds, with the concern's columns."""
    concern = _concern(el)
    count_others(ctx, el, {T.PROBLEM})
    return [row for obs, own in related(el, T.PROBLEM, ctx)
            for row in read_problem(ctx, obs, sec, own, concern)]


def read_allergy_concern(ctx: Context, el: etree._Element, sec: Section,
                         tpl: Template) -> list[Pending]:
    """An allergy concern 4.30: an allergies row per 4.7, an allergy_reactions row per 4.9."""
    concern, narrative, rows = _concern(el), ctx.narrative, []
    count_others(ctx, el, {T.ALLERGY})
    for obs, own in related(el, T.ALLERGY, ctx):
        row = statement(ctx, obs, "allergies", sec, own)
        row.values.update(concern)
        row.values.update(coded(_participant(obs, "CSM", "code"), "substance", narrative))
        _name_as_text(row.values, "substance", _participant(obs, "CSM", "name"))
        row.values.update(_value_of(obs, T.SEVERITY, "severity", ctx))
        row.values.update(_value_of(obs, T.ALLERGY_STATUS, "clinical_status", ctx))
        rows.append(row)
        for rx, rx_tpl in related(obs, T.REACTION, ctx):
            reaction = statement(ctx, rx, "allergy_reactions", sec, rx_tpl, parent=row)
            reaction.values.update(_value_of(rx, T.SEVERITY, "severity", ctx))
            rows.append(reaction)
    return rows


def read_encounter(ctx: Context, el: etree._Element, sec: Section,
                   tpl: Template) -> list[Pending]:
    """An encounter 4.49, and an encounter_diagnoses row per 4.4 under its 4.80 acts."""
    row = statement(ctx, el, "encounters", sec, tpl)
    row.values.update(
        location_name=plain(_participant(el, "LOC", "name")),
        performer_key=practitioner(ctx, el.find(f"{HL7}performer/{HL7}assignedEntity")),
        **coded(el.find(SDTC + "dischargeDispositionCode"), "discharge", ctx.narrative))
    rows = [row]
    count_others(ctx, el, {T.ENCOUNTER_DIAGNOSIS})
    for act, _ in related(el, T.ENCOUNTER_DIAGNOSIS, ctx):
        count_others(ctx, act, {T.PROBLEM})
        rows.extend(statement(ctx, obs, "encounter_diagnoses", sec, own, parent=row)
                    for obs, own in related(act, T.PROBLEM, ctx))
    return rows


def read_medication(ctx: Context, el: etree._Element, sec: Section,
                    tpl: Template) -> list[Pending]:
    """A medication activity 4.16, or each 4.16 inside a discharge medication act 4.35."""
    if tpl[0] == T.DISCHARGE_MEDICATION:
        count_others(ctx, el, {T.MEDICATION})
        return [_medication(ctx, sa, sec, own) for sa, own in related(el, T.MEDICATION, ctx)]
    return [_medication(ctx, el, sec, tpl)]


def _medication(ctx: Context, el: etree._Element, sec: Section, tpl: Template) -> Pending:
    row = statement(ctx, el, "medications", sec, tpl)
    v, narrative = row.values, ctx.narrative
    v["frequency_period"], v["frequency_unit"] = periodic(el)
    v["dose"], v["dose_unit"], v["dose_low"], v["dose_high"] = quantity(
        el.find(HL7 + "doseQuantity"))
    repeat = el.find(HL7 + "repeatNumber")
    v["repeat"] = repeat.get("value") if repeat is not None else None
    v.update(coded(el.find(HL7 + "routeCode"), "route", narrative))
    v.update(coded(el.find(f"{_MATERIAL}/{HL7}code"), "med", narrative))
    _name_as_text(v, "med", el.find(f"{_MATERIAL}/{HL7}name"))
    for act, _ in related(el, T.INSTRUCTIONS, ctx):
        v["instructions"] = text_and_reference(act.find(_TEXT), narrative)[0]
        break
    return row


def read_immunization(ctx: Context, el: etree._Element, sec: Section,
                      tpl: Template) -> list[Pending]:
    """An immunization activity 4.52 (with its refusal reason 4.53)."""
    row = statement(ctx, el, "immunizations", sec, tpl)
    v, narrative = row.values, ctx.narrative
    material = el.find(_MATERIAL)
    v.update(coded(material.find(_CODE) if material is not None else None, "vaccine",
                   narrative))
    v["lot"] = plain(material.find(HL7 + "lotNumberText")) if material is not None else None
    _name_as_text(v, "vaccine", material.find(HL7 + "name") if material is not None else None)
    v["manufacturer"] = plain(el.find(
        f"{HL7}consumable/{HL7}manufacturedProduct/{HL7}manufacturerOrganization/{HL7}name"))
    v.update(coded(el.find(HL7 + "routeCode"), "route", narrative))
    v["dose"], v["dose_unit"] = quantity(el.find(HL7 + "doseQuantity"))[:2]
    refusal = next(related(el, T.REFUSAL, ctx), None)
    v.update(coded(refusal[0].find(_CODE) if refusal else None, "refusal", narrative))
    return [row]


def read_results(ctx: Context, el: etree._Element, sec: Section,
                 tpl: Template) -> list[Pending]:
    """A result organizer 4.1: a results row and a result_observations row per 4.2 (or
    untemplated) observation among its components (any other component is counted in
    ``ctx.nested_unread``)."""
    return _organizer(ctx, el, sec, tpl, ("results", "result_observations", T.RESULT))


def read_vitals(ctx: Context, el: etree._Element, sec: Section,
                tpl: Template) -> list[Pending]:
    """A vital signs organizer 4.26: a vital_signs row and a row per 4.27 (or untemplated)
    observation (any other component is counted in ``ctx.nested_unread``)."""
    return _organizer(ctx, el, sec, tpl, ("vital_signs", "vital_observations", T.VITAL))


def _organizer(ctx: Context, el: etree._Element, sec: Section, tpl: Template,
               kind: tuple[str, str, str]) -> list[Pending]:
    table, child_table, template = kind
    row = statement(ctx, el, table, sec, tpl)
    rows = [row]
    for comp in el.iterchildren(_COMPONENT):
        for obs in comp.iterchildren(etree.Element):
            own = T.first_of(obs, {template}, ctx.aliases)
            untemplated = obs.find(HL7 + "templateId") is None
            if obs.tag == HL7 + "observation" and (own or untemplated):
                rows.append(_observation(ctx, obs, child_table, sec, own, row))
            elif obs.tag not in _NOT_STATEMENTS and not _is_reference(obs):
                ctx.nested_unread[_nested_name(obs)] += 1
    return rows


def _observation(ctx: Context, obs: etree._Element, table: str, sec: Section,
                 own: Template | None, parent: Pending) -> Pending:
    row = statement(ctx, obs, table, sec, own, parent=parent)
    row.values.update(coded(obs.find(HL7 + "interpretationCode"), "interpretation",
                            ctx.narrative))
    if table == "result_observations":
        rng = obs.find(f"{HL7}referenceRange/{HL7}observationRange")
        if rng is not None:
            low, high = quantity(rng.find(_VALUE))[2:]
            row.values.update(
                reference_text=text_and_reference(rng.find(_TEXT), ctx.narrative)[0],
                reference_low=low, reference_high=high,
                reference_unit=quantity(rng.find(_VALUE))[1])
    return row


def read_procedure(ctx: Context, el: etree._Element, sec: Section,
                   tpl: Template) -> list[Pending]:
    """A procedure activity 4.14/4.13/4.12, whatever element carries it (``kind``)."""
    row = statement(ctx, el, "procedures", sec, tpl)
    row.values["kind"] = etree.QName(el).localname
    row.values.update(coded(el.find(HL7 + "targetSiteCode"), "target_site", ctx.narrative))
    return [row]


def read_social(ctx: Context, el: etree._Element, sec: Section,
                tpl: Template) -> list[Pending]:
    """Smoking status 4.78 (and its aliases), social history 4.38, tobacco use 4.85."""
    return [statement(ctx, el, "social_history", sec, tpl)]


def read_plan(ctx: Context, el: etree._Element, sec: Section, tpl: Template) -> list[Pending]:
    """A plan of care activity 4.39-4.44 (``kind`` = its element name)."""
    row = statement(ctx, el, "plan_of_care", sec, tpl)
    row.values["kind"] = etree.QName(el).localname
    return [row]


READERS = {
    "encounters": read_encounter, "allergies": read_allergy_concern,
    "medications": read_medication, "immunizations": read_immunization,
    "results": read_results, "vital_signs": read_vitals, "procedures": read_procedure,
    "social_history": read_social, "plan_of_care": read_plan,
}


def reader(template: str, table: str):
    """The reader of a top-level entry with ``template`` going to ``table``."""
    if table == "problems":
        return read_problem_concern if template == T.PROBLEM_CONCERN else read_problem
    return READERS[table]
