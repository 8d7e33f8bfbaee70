"""Orders and administrations: prescriptions, medication list, labs, immunizations, billing.

Link columns follow OpenEMR: ``prescriptions.encounter``, ``immunizations.encounter_id``,
``procedure_order.encounter_id``, ``forms.encounter`` and ``billing.encounter`` hold the
encounter *number* (``form_encounter.encounter``), not ``form_encounter.id``; patients are
referenced by ``pid`` (``patient_id`` in prescriptions, immunizations and procedure_order).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import oe_vocab as vocab
from oe_practice import ZERO_DATE, Patient, Practice, Provider, Row, utc_offset

ICD9_UNTIL = datetime(2015, 10, 1)
_CHRONIC_DRUGS = {"htn": ("lisinopril", "amlodipine", "hctz"), "t2dm": ("metformin",),
                  "hld": ("simvastatin", "atorvastatin"), "asthma": ("albuterol",),
                  "hypothyroid": ("levothyroxine",), "anemia": ("ferrous",)}
_CONDITIONS = {c.key: c for c in vocab.CHRONIC_CONDITIONS + vocab.ACUTE_CONDITIONS}
# shifts of lab means by condition: loinc -> (mean, sd)
_LAB_SHIFTS: dict[str, dict[str, tuple[float, float]]] = {
    "t2dm": {"4548-4": (7.3, 1.0), "2339-0": (142, 30)},
    "prediabetes": {"4548-4": (6.0, 0.25), "2339-0": (108, 9)},
    "hld": {"2093-3": (236, 30), "18262-6": (152, 28), "2571-8": (190, 55)},
    "hypothyroid": {"3016-3": (4.9, 2.2)},
    "anemia": {"718-7": (10.8, 1.0), "4544-3": (33, 3)}}


class Medications:
    """A patient's prescriptions and medication-list entries over time."""

    def __init__(self, pr: Practice, patient: Patient) -> None:
        """Nothing prescribed yet."""
        self.pr, self.patient = pr, patient
        self.current: dict[str, Row] = {}  # chronic drug key -> latest prescription

    def _prescription(self, drug: vocab.Drug, encounter: Row, provider: Provider,
                      condition: str, *, refills: int, listed: bool) -> Row:
        """A prescriptions row written at an encounter."""
        pr = self.pr
        when = encounter["date"] + timedelta(minutes=pr.rng.randint(5, 25))
        cond = _CONDITIONS[condition]
        icd = f"ICD9:{cond.icd9}" if when < ICD9_UNTIL and cond.icd9 else f"ICD10:{cond.icd10}"
        return pr.add("prescriptions", {
            "id": pr.next_id("prescriptions"), "uuid": pr.uuid(),
            "patient_id": self.patient.pid, "filled_by_id": 0, "pharmacy_id": 0,
            "date_added": when, "date_modified": when, "provider_id": provider.id,
            "encounter": encounter["encounter"], "start_date": when.date(), "drug": drug.name,
            "drug_id": 0, "rxnorm_drugcode": drug.rxnorm, "form": drug.form,
            "dosage": drug.dosage, "quantity": drug.quantity, "size": drug.size,
            "unit": drug.unit, "route": drug.route, "interval": drug.interval,
            "substitute": 1, "refills": refills, "per_refill": int(drug.quantity),
            "filled_date": None, "medication": 1 if listed else 0, "note": "", "active": 1,
            "datetime": when, "user": provider.username, "site": "",
            "prescriptionguid": None, "erx_source": 0, "erx_uploaded": 0,
            "drug_info_erx": None, "external_id": None, "end_date": None,
            "indication": cond.title, "prn": "1" if drug.interval == 17 else "",
            "ntx": None, "rtx": None, "txDate": None, "usage_category": "community",
            "usage_category_title": "Home/Community", "request_intent": "order",
            "request_intent_title": "Order", "drug_dosage_instructions": drug.instructions,
            "diagnosis": icd, "created_by": provider.id, "updated_by": provider.id})

    def _list_entry(self, title: str, code: str, encounter: Row, provider: Provider,
                    instructions: str, prescription: Row | None) -> Row:
        """A lists row of type 'medication' and its lists_medication companion."""
        from oe_clinical import add_issue

        pr = self.pr
        begun = encounter["date"].replace(hour=0, minute=0)
        issue = add_issue(pr, self.patient, "medication", title, code, begun,
                          encounter["date"], provider,
                          activity=0 if pr.rng.random() < 0.05 else 1)
        pr.add("lists_medication", {
            "id": pr.next_id("lists_medication"), "list_id": issue["id"],
            "drug_dosage_instructions": instructions, "usage_category": "community",
            "usage_category_title": "Home/Community",
            "request_intent": "plan" if prescription is None else "order",
            "request_intent_title": "Plan" if prescription is None else "Order",
            "medication_adherence_information_source": None, "medication_adherence": None,
            "medication_adherence_date_asserted": None,
            "prescription_id": prescription["id"] if prescription else None,
            "is_primary_record": 1 if prescription is None else 0,
            "reporting_source_record_id": None})
        return issue

    def start_chronic(self, condition: str, encounter: Row, provider: Provider) -> None:
        """Start (or continue, for conditions brought to the practice) the usual drugs."""
        rng = self.pr.rng
        choices = _CHRONIC_DRUGS.get(condition, ())
        if not choices:
            return
        picked = rng.sample(choices, 1 if condition != "htn" else rng.randint(1, 2))
        if condition == "asthma" and rng.random() < 0.5:
            picked.append("fluticasone")
        for key in picked:
            drug = vocab.DRUGS[key]
            listed = rng.random() < 0.8
            rx = self._prescription(drug, encounter, provider, condition, refills=3,
                                    listed=listed)
            self.current[key] = rx
            if listed:
                self._list_entry(drug.name, f"RXNORM:{drug.rxnorm}", encounter, provider,
                                 drug.instructions, rx)

    def renew(self, encounter: Row, provider: Provider) -> None:
        """At a routine visit, renew some chronic prescriptions (the old one is closed)."""
        rng = self.pr.rng
        for key, old in list(self.current.items()):
            if rng.random() >= 0.5:
                continue
            old["active"] = 0
            old["end_date"] = encounter["date"].date() if rng.random() < 0.85 else None
            condition = next(k for k, v in _CHRONIC_DRUGS.items() if key in v) \
                if key != "fluticasone" else "asthma"
            if rng.random() < 0.08:  # discontinued rather than renewed
                del self.current[key]
                continue
            self.current[key] = self._prescription(vocab.DRUGS[key], encounter, provider,
                                                   condition, refills=rng.randint(1, 5),
                                                   listed=old["medication"] == 1)

    def prescribe_acute(self, condition: str, encounter: Row, provider: Provider) -> None:
        """A short course for an acute problem (closed, except a few left active)."""
        rng = self.pr.rng
        for key in _CONDITIONS[condition].drugs:
            if rng.random() < 0.2:
                continue
            rx = self._prescription(vocab.DRUGS[key], encounter, provider, condition,
                                    refills=0, listed=False)
            roll = rng.random()
            rx["end_date"] = ZERO_DATE if roll < 0.08 else None if roll < 0.18 else \
                rx["start_date"] + timedelta(days=10)
            rx["active"] = 1 if rng.random() < 0.1 else 0

    def add_otc(self, encounter: Row, provider: Provider) -> None:
        """A patient-reported over-the-counter medication (list only, no prescription)."""
        rng = self.pr.rng
        if rng.random() < 0.3:
            title, code = rng.choice(vocab.OTC_MEDICATIONS)
            self._list_entry(title, code, encounter, provider, "", None)


def add_labs(pr: Practice, patient: Patient, kind: str, condition: str, encounter: Row,
             provider: Provider) -> None:
    """A lab order with its codes, reports and results, when this visit warrants one."""
    rng, adult = pr.rng, patient.age(encounter["date"]) >= 18
    wanted: list[str] = []
    if kind == "wellness" and adult:
        wanted += [p for p, odds in (("lipid", 0.5), ("cbc", 0.4)) if rng.random() < odds]
    if kind in ("followup", "wellness", "new"):
        keys = [condition] if condition else patient.chronic
        for key in keys:
            if rng.random() < (0.75 if kind == "followup" else 0.4):
                wanted += list(_CONDITIONS[key].labs)
    if kind == "acute" and condition == "strep" and rng.random() < 0.3:
        wanted.append("cbc")
    panels = list(dict.fromkeys(wanted))
    if not panels:
        return
    from oe_clinical import add_form

    ordered = encounter["date"] + timedelta(minutes=rng.randint(10, 30))
    cond = _CONDITIONS.get(condition or (patient.chronic or ["htn"])[0])
    order_id = pr.next_id("procedure_order")
    pr.add("procedure_order", {
        "procedure_order_id": order_id, "uuid": pr.uuid(), "provider_id": provider.id,
        "patient_id": patient.pid, "encounter_id": encounter["encounter"],
        "date_collected": ordered + timedelta(minutes=15), "date_ordered": ordered,
        "order_priority": "normal", "order_status": "complete", "patient_instructions": "",
        "activity": 1, "control_id": f"HV{order_id:07d}", "lab_id": 1, "specimen_type": "",
        "specimen_location": "", "specimen_volume": "", "date_transmitted": ordered,
        "clinical_hx": "", "external_id": None, "history_order": "0",
        "order_diagnosis": f"ICD10:{cond.icd10}" if cond and kind != "wellness" else "",
        "billing_type": "T", "specimen_fasting": "", "order_psc": 0, "order_abn":
        "not_required", "collector_id": 0, "account": "", "account_facility": 0,
        "provider_number": "", "procedure_order_type": "laboratory_test",
        "scheduled_date": None, "scheduled_start": None, "scheduled_end": None,
        "performer_type": None, "order_intent": "order", "location_id": None})
    add_form(pr, patient, encounter, provider, "procedure_order", "Procedure Order", order_id,
             when=ordered)
    collected = ordered + timedelta(minutes=15)
    reported = collected.replace(hour=rng.randint(6, 18), minute=rng.randint(0, 59)) + \
        timedelta(days=rng.randint(1, 2))
    for seq, key in enumerate(panels, start=1):
        panel = vocab.LAB_PANELS[key]
        pr.add("procedure_order_code", {
            "procedure_order_id": order_id, "procedure_order_seq": seq,
            "procedure_code": panel.loinc, "procedure_name": panel.name,
            "procedure_source": "1", "diagnoses": "", "do_not_send": 0,
            "procedure_order_title": panel.name, "procedure_type": "laboratory_test",
            "transport": None, "date_end": None, "reason_code": None,
            "reason_description": None, "reason_date_low": None, "reason_date_high": None,
            "reason_status": None})
        report_id = pr.next_id("procedure_report")
        pr.add("procedure_report", {
            "procedure_report_id": report_id, "uuid": pr.uuid(),
            "procedure_order_id": order_id, "procedure_order_seq": seq,
            "date_collected": collected, "date_collected_tz": utc_offset(collected),
            "date_report": reported, "date_report_tz": utc_offset(reported),
            "source": provider.id, "specimen_num": f"S{rng.randint(10**7, 10**8 - 1)}",
            "report_status": "final", "review_status": "reviewed", "report_notes": ""})
        for analyte in panel.analytes:
            _add_result(pr, patient, analyte, report_id, collected)


def _add_result(pr: Practice, patient: Patient, analyte: vocab.Analyte, report_id: int,
                collected: datetime) -> None:
    """One procedure_result row with a value drawn around the (condition-shifted) mean."""
    rng = pr.rng
    mean, sd = analyte.mean, analyte.sd
    for key in patient.chronic:
        mean, sd = _LAB_SHIFTS.get(key, {}).get(analyte.loinc, (mean, sd))
    value = max(rng.gauss(mean, sd), analyte.mean * 0.2)
    text = f"{value:.{analyte.decimals}f}"
    number = float(text)
    abnormal = "high" if analyte.high is not None and number > analyte.high else \
        "low" if analyte.low is not None and number < analyte.low else "no"
    status, comments = "final", ""
    if rng.random() < 0.015:
        text, abnormal, status, comments = "", "", "cancel", "Specimen hemolyzed"
    pr.add("procedure_result", {
        "procedure_result_id": pr.next_id("procedure_result"), "uuid": pr.uuid(),
        "procedure_report_id": report_id, "result_data_type": "N",
        "result_code": analyte.loinc, "result_text": analyte.text, "date": collected,
        "facility": "", "units": analyte.units, "result": text, "range": analyte.range,
        "abnormal": abnormal, "comments": comments, "document_id": 0,
        "result_status": status, "date_end": None})


def add_procedure_catalogue(pr: Practice) -> None:
    """procedure_type: the lab, its orderable panels ('ord') and their results ('res')."""
    def add(parent: int, name: str, kind: str, code: str, units: str = "",
            range_: str = "", seq: int = 0) -> int:
        tid = pr.next_id("procedure_type")
        pr.add("procedure_type", {
            "procedure_type_id": tid, "parent": parent, "name": name, "lab_id": 1,
            "procedure_code": code, "procedure_type": kind, "body_site": "", "specimen": "",
            "route_admin": "", "laterality": "", "description": "",
            "standard_code": f"LOINC:{code}" if code else "", "related_code": "",
            "units": units, "range": range_, "seq": seq, "activity": 1, "notes": "",
            "transport": None, "procedure_type_name": "laboratory_test"})
        return tid

    group = add(0, "Hudson Valley Reference Laboratory", "grp", "")
    for seq, panel in enumerate(vocab.LAB_PANELS.values(), start=1):
        order = add(group, panel.name, "ord", panel.loinc, seq=seq * 10)
        for rseq, analyte in enumerate(panel.analytes, start=1):
            add(order, analyte.text, "res", analyte.loinc, analyte.units, analyte.range, rseq)


def _immunization(pr: Practice, patient: Patient, key: str, when: datetime,
                  encounter: Row | None, provider: Provider | None, *,
                  erroneous: int = 0) -> Row:
    """An immunizations row (given here when there is an encounter, else historical)."""
    rng, vaccine = pr.rng, vocab.VACCINES[key]
    given_here = encounter is not None and provider is not None
    entered = when if given_here else when + timedelta(days=rng.randint(20, 90), hours=10)
    lot = f"{rng.choice('AEFHJKLMNPRTUW')}{rng.choice('AEFHJKLMNPRTUW')}{rng.randint(100, 9999)}"
    return pr.add("immunizations", {
        "id": pr.next_id("immunizations"), "uuid": pr.uuid(), "patient_id": patient.pid,
        "administered_date": when, "immunization_id": None, "cvx_code": vaccine.cvx,
        "manufacturer": rng.choice(vaccine.manufacturers), "lot_number": lot,
        "administered_by_id": provider.id if provider else None,
        "administered_by": "" if given_here else "Walgreens Pharmacy",
        "education_date": when.date() if given_here else None,
        "vis_date": when.date() if given_here else None, "note": "",
        "create_date": entered, "update_date": entered,
        "created_by": provider.id if provider else 1,
        "updated_by": provider.id if provider else 1,
        "amount_administered": vaccine.amount, "amount_administered_unit": "mL",
        "expiration_date": (when + timedelta(days=rng.randint(90, 400))).date(),
        "route": "intramuscular",
        "administration_site": rng.choice(("left_deltoid", "left_deltoid", "right_deltoid",
                                           "left_arm", "")),
        "added_erroneously": erroneous, "external_id": None,
        "completion_status": "Completed",
        "information_source": "new_immunization_record" if given_here
        else "hist_inf_src_unspecified",
        "refusal_reason": "", "ordering_provider": provider.id if provider else None,
        "reason_code": None, "reason_description": None,
        "encounter_id": encounter["encounter"] if encounter else None})


def add_immunizations(pr: Practice, patient: Patient, kind: str, encounter: Row,
                      provider: Provider) -> None:
    """Vaccines given at this visit: flu in season, others on the adult schedule."""
    rng, when = pr.rng, encounter["date"] + timedelta(minutes=25)
    age, given = patient.age(when), patient.vaccines
    due: list[str] = []
    last_flu = given.get("flu")
    recent = last_flu is not None and (when - last_flu).days < 200
    if not recent and (kind == "flu" or (when.month >= 9 and rng.random() < 0.6
                                         and kind in ("new", "wellness", "followup"))):
        due.append("flu")
    if kind == "wellness":
        for key, eligible, odds in (("tdap", age >= 19, 0.15), ("pcv13", age >= 65, 0.4),
                                    ("ppsv23", age >= 65 and "pcv13" in given, 0.4),
                                    ("shingrix", age >= 50, 0.15), ("hpv", 11 <= age <= 26,
                                                                    0.4)):
            if eligible and key not in given and rng.random() < odds:
                due.append(key)
    for key in due:
        _immunization(pr, patient, key, when, encounter, provider)
        if rng.random() < 0.03:  # entered twice; the copy is flagged as an error
            _immunization(pr, patient, key, when, encounter, provider, erroneous=1)
        given[key] = when


def add_historical_immunizations(pr: Practice, patient: Patient) -> None:
    """COVID-19 doses given at a pharmacy in 2021 and typed in later (no encounter)."""
    rng = pr.rng
    first = datetime(2021, rng.randint(2, 5), rng.randint(1, 28))
    if not (patient.regdate < first and patient.last_day > first + timedelta(days=120)
            and patient.age(first) >= 16 and rng.random() < 0.5):
        return
    for dose in (first, first + timedelta(days=21)):
        _immunization(pr, patient, "covid", dose, None, None)


def add_billing(pr: Practice, patient: Patient, kind: str, condition: str, encounter: Row,
                provider: Provider) -> None:
    """Fee-sheet lines for office visits: a CPT4 service line and its diagnosis."""
    if kind in ("emergency", "inpatient"):
        return
    when, age = encounter["date"], patient.age(encounter["date"])
    icd9 = when < ICD9_UNTIL
    if kind == "wellness":
        cpt = "99397" if age >= 65 else "99396" if age >= 40 else "99395" if age >= 18 \
            else "99394" if age >= 12 else "99393"
        dx = ("V70.0" if icd9 else "Z00.00" if age >= 18 else "Z00.129")
    elif kind == "flu":
        cpt, dx = "90471", "V04.81" if icd9 else "Z23"
    else:
        cpt = "99203" if kind == "new" else pr.rng.choice(("99213", "99213", "99214"))
        cond = _CONDITIONS.get(condition)
        if cond is None:
            dx = "V70.0" if icd9 else "Z00.00" if age >= 18 else "Z00.129"
        else:
            dx = cond.icd9 if icd9 and cond.icd9 else cond.icd10
            icd9 = icd9 and bool(cond.icd9)
    code_type = "ICD9" if icd9 else "ICD10"
    fee = {"99203": "150.00", "99213": "110.00", "99214": "160.00", "90471": "25.00"}.get(
        cpt, "210.00")
    billed = (when.date() < patient.last_day.date() - timedelta(days=30))
    for ctype, code, amount, justify in (("CPT4", cpt, fee, f"{code_type}|{dx}:"),
                                         (code_type, dx, "0.00", "")):
        pr.add("billing", {
            "id": pr.next_id("billing"), "date": when, "code_type": ctype, "code": code,
            "pid": patient.pid, "provider_id": provider.id, "user": provider.id,
            "groupname": "Default", "authorized": 1, "encounter": encounter["encounter"],
            "code_text": "", "billed": 1 if billed else 0, "activity": 1, "payer_id": 0,
            "bill_process": 2 if billed else 0, "bill_date": when + timedelta(days=2)
            if billed else None, "process_date": None, "process_file": None, "modifier": "",
            "units": 1, "fee": Decimal(amount), "justify": justify, "target": None,
            "x12_partner_id": 0, "ndc_info": "", "notecodes": "", "external_id": None,
            "pricelevel": "standard", "revenue_code": "", "chargecat": ""})
