"""A patient's clinical history: encounters, vitals, problems, allergies, medications.

Visits are planned first (new-patient visit, yearly physicals, chronic follow-ups, acute
episodes, flu-shot visits, the odd emergency or inpatient stay), then each becomes a
``form_encounter`` row with its ``forms`` rows and whatever happened there.  Lab orders,
immunizations and billing lines are added by ``oe_orders``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import oe_orders as orders
import oe_vocab as vocab
from oe_practice import (
    BILLING_FACILITY_ID,
    FACILITY_ID,
    ZERO_DATETIME,
    Patient,
    Practice,
    Provider,
    Row,
)

CONDITIONS = {c.key: c for c in vocab.CHRONIC_CONDITIONS + vocab.ACUTE_CONDITIONS}
ICD9_UNTIL = datetime(2015, 10, 1)
# kind -> (pc_catid, class_code, pos_code)
_KINDS = {"new": (10, "AMB", 11), "wellness": (9, "AMB", 11), "followup": (5, "AMB", 11),
          "acute": (5, "AMB", 11), "flu": (5, "AMB", 11), "emergency": (5, "EMER", 23),
          "inpatient": (5, "IMP", 21)}
_INPATIENT_REASONS = ("Admitted for community acquired pneumonia",
                      "Observation for chest pain, ruled out MI",
                      "Admitted for cellulitis of left leg")


@dataclass
class Visit:
    """A planned visit: when, what kind, and which condition it is about."""

    when: datetime
    kind: str
    condition: str = ""
    diagnoses: list[str] = field(default_factory=list)


def plan_visits(pr: Practice, patient: Patient) -> list[Visit]:
    """The patient's visits in time order, all between registration and death or export."""
    rng, end = pr.rng, patient.last_day - timedelta(days=2)
    visits = [Visit(patient.regdate, "new")]
    year = patient.regdate.year

    def day_in(first: date, last: date) -> date:
        return first + timedelta(days=rng.randrange(max((last - first).days, 1)))

    while year <= end.year:
        jan, dec = date(year, 1, 2), date(year, 12, 20)
        if year > patient.regdate.year and rng.random() < 0.6:
            visits.append(Visit(pr.moment(day_in(jan, dec)), "wellness"))
        for _ in range(2 if len(patient.chronic) > 1 else len(patient.chronic)):
            if rng.random() < 0.4:
                visits.append(Visit(pr.moment(day_in(jan, dec)), "followup",
                                    rng.choice(patient.chronic)))
        if rng.random() < 0.3:
            acute = rng.choice(vocab.ACUTE_CONDITIONS).key
            kind = "emergency" if rng.random() < 0.12 else "acute"
            when = pr.moment(day_in(jan, dec)) if kind == "acute" else \
                pr.between(datetime(year, 1, 2), datetime(year, 12, 20))
            visits.append(Visit(when, kind, acute))
        if rng.random() < 0.25 and patient.age(jan) >= 1:
            visits.append(Visit(pr.moment(day_in(date(year, 9, 15), date(year, 11, 30))), "flu"))
        year += 1
    if patient.chronic and rng.random() < 0.2:
        visits.append(Visit(pr.between(patient.regdate + timedelta(days=30), end), "inpatient"))
    return sorted((v for v in visits if patient.regdate <= v.when <= end),
                  key=lambda v: v.when)


def _encounter(pr: Practice, patient: Patient, visit: Visit, provider: Provider) -> Row:
    """The form_encounter row (and its 'newpatient' forms row) for a visit."""
    rng = pr.rng
    catid, class_code, pos = _KINDS[visit.kind]
    title = CONDITIONS[visit.condition].title if visit.condition else ""
    reason = {"new": rng.choice(("New patient visit", "Establish care", "New patient - "
                                 "transfer of care")),
              "wellness": rng.choice(vocab.WELLNESS_REASONS),
              "followup": rng.choice(vocab.FOLLOW_UP_REASONS).format(title=title.lower()),
              "acute": vocab.ACUTE_REASONS.get(visit.condition, title),
              "flu": "Flu vaccine",
              "emergency": f"ED visit: {vocab.ACUTE_REASONS.get(visit.condition, title)}",
              "inpatient": rng.choice(_INPATIENT_REASONS)}[visit.kind]
    if visit.kind in ("followup", "acute") and rng.random() < 0.05:
        reason = ""  # nobody typed a reason
    duration = {"AMB": timedelta(minutes=rng.choice((15, 20, 30, 40))),
                "EMER": timedelta(hours=rng.randint(3, 7)),
                "IMP": timedelta(days=rng.randint(2, 5), hours=rng.randint(0, 6))}[class_code]
    ended = visit.when + duration if class_code != "AMB" or rng.random() < 0.4 else None
    if ended is not None and ended > patient.last_day:
        ended = None  # still admitted at the export, or died during the stay
    number = pr.next_encounter()
    row = pr.add("form_encounter", {
        "id": pr.next_id("form_encounter"), "uuid": pr.uuid(), "date": visit.when,
        "reason": reason, "facility": "Hudson Valley Family Practice",
        "facility_id": FACILITY_ID, "pid": patient.pid, "encounter": number,
        "onset_date": visit.when if visit.kind == "acute" and rng.random() < 0.5 else None,
        "sensitivity": "normal", "billing_note": "", "pc_catid": catid,
        "last_level_billed": 0, "last_level_closed": 0, "last_stmt_date": None,
        "stmt_count": 0, "provider_id": provider.id, "supervisor_id": 0,
        "invoice_refno": "", "referral_source": "", "billing_facility": BILLING_FACILITY_ID,
        "external_id": None, "pos_code": pos, "parent_encounter_id": None,
        "class_code": class_code, "shift": "", "voucher_number": "",
        "discharge_disposition": "home" if class_code == "IMP" else None,
        "encounter_type_code": None, "encounter_type_description": None,
        "referring_provider_id": 0, "date_end": ended, "in_collection": 0,
        "last_update": visit.when + timedelta(hours=rng.randint(1, 30)),
        "ordering_provider_id": 0})
    add_form(pr, patient, row, provider, "newpatient", "New Patient Encounter", row["id"])
    return row


def add_form(pr: Practice, patient: Patient, encounter: Row, provider: Provider,
             formdir: str, form_name: str, form_id: int, *, deleted: int = 0,
             when: datetime | None = None) -> Row:
    """A row of the ``forms`` registry that ties a form table row to an encounter."""
    return pr.add("forms", {
        "id": pr.next_id("forms"), "date": when or encounter["date"],
        "encounter": encounter["encounter"], "form_name": form_name, "form_id": form_id,
        "pid": patient.pid, "user": provider.username, "groupname": "Default",
        "authorized": 1, "deleted": deleted, "formdir": formdir, "therapy_group_id": None,
        "issue_id": 0, "provider_id": provider.id})


def _dec(value: float, places: int = 6) -> Decimal:
    """A DECIMAL(…,places) value as OpenEMR stores it (0.000000 when unmeasured)."""
    return Decimal(f"{value:.{places}f}")


def _bmi_status(bmi: float) -> str:
    """OpenEMR's BMI_status text."""
    for limit, text in ((18.5, "Underweight"), (25, "Normal BW"), (30, "Overweight"),
                        (35, "Obesity I"), (40, "Obesity II")):
        if bmi < limit:
            return text
    return "Obesity III"


def add_vitals(pr: Practice, patient: Patient, encounter: Row, provider: Provider,
               *, deleted: int = 0, activity: int = 1) -> None:
    """A form_vitals row; what was not measured is stored as 0 / '' like OpenEMR does."""
    rng = pr.rng
    when = encounter["date"] + timedelta(minutes=rng.randint(2, 9))
    age = patient.age(when)
    grown = min(age, 18) / 18
    height = patient.height_in * (0.45 + 0.55 * grown) if age < 18 else patient.height_in
    bmi = patient.bmi if age >= 18 else 15.5 + 3 * grown
    weight = bmi * height * height / 703 * rng.uniform(0.97, 1.03)
    bp_only = rng.random() < 0.08
    metric = rng.random() < 0.1  # entered in kg/cm: converted values keep 6 decimals
    weight_v = 0.0 if bp_only else (weight if metric else round(weight, 1))
    height_v = 0.0 if bp_only or rng.random() < 0.3 else (
        round(height * 2.54) / 2.54 if metric else round(height, 1))
    has_bp = age >= 3 and rng.random() < 0.93
    sys_bp = int(rng.gauss(118 + 0.45 * max(age - 30, 0) + (10 if "htn" in patient.chronic
                                                            else 0), 11)) if has_bp else 0
    temp = round(rng.gauss(98.2, 0.5), 1) if not bp_only and rng.random() < 0.6 else 0.0
    spo2 = float(rng.randint(94, 100)) if not bp_only and rng.random() < 0.5 else 0.0
    bmi_v = round(703 * weight_v / height_v ** 2, 1) if weight_v and height_v else 0.0
    vid = pr.next_id("form_vitals")
    pr.add("form_vitals", {
        "id": vid, "uuid": pr.uuid(), "date": when, "pid": patient.pid,
        "user": provider.username, "groupname": "Default", "authorized": 1,
        "activity": activity,
        "bps": str(sys_bp) if has_bp else "",
        "bpd": str(int(sys_bp * rng.uniform(0.58, 0.7))) if has_bp else "",
        "weight": _dec(weight_v), "height": _dec(height_v), "temperature": _dec(temp),
        "temp_method": "Oral" if temp else "",
        "pulse": _dec(rng.randint(58, 96) if age >= 12 else rng.randint(80, 120)),
        "respiration": _dec(0 if bp_only else rng.choice((12, 14, 16, 16, 18, 20))),
        "note": "", "BMI": _dec(bmi_v, 1), "BMI_status": _bmi_status(bmi_v) if bmi_v else "",
        "waist_circ": _dec(0), "head_circ": _dec(0), "oxygen_saturation": _dec(spo2, 2),
        "oxygen_flow_rate": _dec(0), "external_id": None, "ped_weight_height": _dec(0, 2),
        "ped_bmi": _dec(0, 2), "ped_head_circ": _dec(0, 2),
        "inhaled_oxygen_concentration": _dec(0, 2), "last_updated": when})
    add_form(pr, patient, encounter, provider, "vitals", "Vitals", vid, deleted=deleted,
             when=when)


def diagnosis_codes(condition: str, entered: datetime, full: bool = True) -> str:
    """lists.diagnosis text: ICD9 if entered before October 2015, else ICD10 (+ SNOMED-CT)."""
    cond = CONDITIONS[condition]
    if entered < ICD9_UNTIL and cond.icd9:
        return f"ICD9:{cond.icd9}"
    return f"ICD10:{cond.icd10};SNOMED-CT:{cond.snomed}" if full else f"ICD10:{cond.icd10}"


def add_issue(pr: Practice, patient: Patient, kind: str, title: str, diagnosis: str,
              begdate: datetime | str | None, entered: datetime, provider: Provider,
              **extra: object) -> Row:
    """A row of ``lists`` (medical_problem, allergy or medication)."""
    row: Row = {
        "id": pr.next_id("lists"), "uuid": pr.uuid(), "date": entered, "type": kind,
        "subtype": "", "title": title, "udi": None, "udi_data": None, "begdate": begdate,
        "enddate": None, "returndate": None, "occurrence": 0, "classification": 0,
        "referredby": "", "extrainfo": "", "diagnosis": diagnosis, "activity": 1,
        "comments": "", "pid": patient.pid, "user": provider.username,
        "groupname": "Default", "outcome": 0, "destination": "", "reinjury_id": 0,
        "injury_part": "", "injury_type": "", "injury_grade": "", "reaction": "",
        "verification": "", "external_allergyid": None, "erx_source": "0",
        "erx_uploaded": "0", "modifydate": entered + timedelta(minutes=pr.rng.randint(1, 90)),
        "severity_al": None, "external_id": None, "list_option_id": None}
    row.update(extra)
    return pr.add("lists", row)


def link_issue(pr: Practice, patient: Patient, issue: Row, encounter: Row,
               provider: Provider, resolved: int = 0) -> None:
    """An issue_encounter row: this problem was addressed at this encounter."""
    pr.add("issue_encounter", {
        "id": pr.next_id("issue_encounter"), "uuid": pr.uuid(), "pid": patient.pid,
        "list_id": issue["id"], "encounter": encounter["encounter"], "resolved": resolved,
        "created_by": provider.id, "updated_by": provider.id, "created_at": encounter["date"],
        "updated_at": encounter["date"]})


def _add_problem(pr: Practice, patient: Patient, key: str, encounter: Row,
                 provider: Provider, pre_existing: bool) -> Row:
    """A medical_problem for a chronic condition diagnosed now or brought to the practice."""
    rng = pr.rng
    seen = encounter["date"]
    begun: datetime | str | None = seen.replace(hour=0, minute=0)
    if pre_existing:
        grown = datetime.combine(patient.dob, datetime.min.time()) + timedelta(
            days=(3 if key == "asthma" else 18) * 365)
        earliest = min(max(grown, seen - timedelta(days=15 * 365)), seen)
        begun = pr.between(earliest, seen).replace(hour=0, minute=0) \
            if rng.random() < 0.85 else rng.choice((ZERO_DATETIME, None))
    title = CONDITIONS[key].title
    issue = add_issue(pr, patient, "medical_problem", title,
                      diagnosis_codes(key, seen, full=rng.random() < 0.6), begun, seen,
                      provider, verification=rng.choice(("confirmed", "confirmed",
                                                         "unconfirmed", "")))
    resolved = seen + timedelta(days=rng.randint(200, 700))
    if key == "prediabetes" and rng.random() < 0.3 and resolved < patient.last_day:
        issue.update(enddate=resolved.replace(hour=0, minute=0), outcome=1)
    if rng.random() < 0.06:  # entered twice; the duplicate was deactivated
        add_issue(pr, patient, "medical_problem", title, issue["diagnosis"], begun, seen,
                  provider, activity=0, verification="")
    link_issue(pr, patient, issue, encounter, provider)
    return issue


def add_allergies(pr: Practice, patient: Patient, encounter: Row, provider: Provider) -> None:
    """Zero to two allergies recorded at the first visit (onset mostly unknown)."""
    rng = pr.rng
    count = rng.choices((0, 1, 2), weights=(55, 33, 12))[0]
    for title, code in rng.sample(vocab.ALLERGENS, count):
        begun = rng.choice((None, ZERO_DATETIME, encounter["date"].replace(
            year=max(patient.dob.year + 2, encounter["date"].year - rng.randint(1, 20)),
            month=1, day=1, hour=0, minute=0)))
        add_issue(pr, patient, "allergy", title, code, begun, encounter["date"], provider,
                  reaction=rng.choice(("hives", "hives", "nausea", "shortness_of_breath",
                                       "unassigned", "")),
                  severity_al=rng.choice(("mild", "moderate", "moderate", "severe", "")),
                  verification=rng.choice(("confirmed", "confirmed", "unconfirmed")),
                  activity=0 if rng.random() < 0.07 else 1)


def add_history(pr: Practice, patient: Patient) -> None:
    """Every visit of a patient and what was recorded at each."""
    rng = pr.rng
    visits = plan_visits(pr, patient)
    routine = [i for i, v in enumerate(visits) if v.kind in ("new", "wellness", "followup")]
    onset: dict[int, list[tuple[str, bool]]] = {}
    for key in patient.chronic:
        pre_existing = rng.random() < 0.6
        index = 0 if pre_existing else rng.choice(routine)
        onset.setdefault(index, []).append((key, pre_existing))
    meds = orders.Medications(pr, patient)
    for index, visit in enumerate(visits):
        provider = pr.provider(patient, visit.when)
        encounter = _encounter(pr, patient, visit, provider)
        patient.encounters.append(encounter)
        if visit.kind in ("new", "wellness", "followup", "acute") and rng.random() < 0.9:
            if rng.random() < 0.05:  # vitals typed into the wrong visit, then deleted
                add_vitals(pr, patient, encounter, provider, deleted=1,
                           activity=rng.choice((0, 1)))
            add_vitals(pr, patient, encounter, provider)
        if visit.kind == "new":
            add_allergies(pr, patient, encounter, provider)
            meds.add_otc(encounter, provider)
        for key, pre_existing in onset.get(index, []):
            _add_problem(pr, patient, key, encounter, provider, pre_existing)
            meds.start_chronic(key, encounter, provider)
        if visit.kind in ("acute", "emergency"):
            cond = CONDITIONS[visit.condition]
            begun = visit.when.replace(hour=0, minute=0)
            issue = add_issue(pr, patient, "medical_problem", cond.title,
                              diagnosis_codes(cond.key, visit.when), begun, visit.when, provider,
                              verification="confirmed")
            healed = begun + timedelta(days=rng.randint(7, 21))
            if rng.random() < 0.8 and healed < patient.last_day:
                issue.update(enddate=healed, outcome=1)
            link_issue(pr, patient, issue, encounter, provider,
                       resolved=1 if issue["enddate"] else 0)
            meds.prescribe_acute(cond.key, encounter, provider)
        elif visit.kind in ("followup", "wellness"):
            meds.renew(encounter, provider)
        orders.add_labs(pr, patient, visit.kind, visit.condition, encounter, provider)
        orders.add_immunizations(pr, patient, visit.kind, encounter, provider)
        orders.add_billing(pr, patient, visit.kind, visit.condition, encounter, provider)
    orders.add_historical_immunizations(pr, patient)
