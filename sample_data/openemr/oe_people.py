"""Patients (``patient_data``) and their coverage (``insurance_data``).

Demographics use OpenEMR's option ids (race, ethnicity, language, marital status) and carry the
quirks of real installs: empty strings in untouched text fields, a zero ``deceased_date`` on
some living patients, maiden names in ``birth_lname``, ZIP+4 codes, and coverage rows whose
effective date is the zero date.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import oe_vocab as vocab
from oe_practice import (
    EXPORT_TIME,
    HISTORY_START,
    RETIRED_PROVIDER_ID,
    RETIREMENT,
    ZERO_DATE,
    ZERO_DATETIME,
    Patient,
    Practice,
    Row,
)

DEATH_CAUSES = ("Acute myocardial infarction", "Metastatic lung cancer",
                "Complications of pneumonia", "")
# columns OpenEMR's demographics form saves as '' when left alone
_BLANK_COLUMNS = ("financial", "drivers_license", "contact_relationship", "referrer",
                  "referrerID", "email_direct", "ethnoracial", "religion", "interpreter",
                  "migrantseasonal", "family_size", "monthly_income", "billing_note",
                  "homeless", "genericname1", "genericval1", "genericname2", "genericval2",
                  "hipaa_message", "squad", "referral_source", "usertext1", "usertext2",
                  "usertext3", "usertext4", "usertext5", "usertext6", "usertext7", "usertext8",
                  "userlist1", "userlist2", "userlist3", "userlist4", "userlist5", "userlist6",
                  "userlist7", "vfc", "mothersname", "allow_imm_reg_use", "allow_imm_info_share",
                  "allow_health_info_ex", "allow_patient_portal", "cmsportal_login")


def ascii_name(text: str) -> str:
    """``text`` without accents, apostrophes or spaces, lower-case (for e-mail addresses)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _age_years(pr: Practice) -> int:
    """Age at the export: children, young adults, middle-aged and elderly patients."""
    band = pr.rng.choices(((1, 17), (18, 39), (40, 64), (65, 92)), weights=(12, 24, 34, 30))[0]
    return pr.rng.randint(*band)


def _chronic(pr: Practice, sex: str, age: int, bmi: float) -> list[str]:
    """The chronic problems a patient of this age, sex and BMI has."""
    odds = {"htn": 0.05 + 0.008 * max(age - 30, 0), "hld": 0.03 + 0.006 * max(age - 35, 0),
            "t2dm": 0.02 + 0.004 * max(age - 35, 0) + (0.1 if bmi >= 30 else 0),
            "asthma": 0.1, "hypothyroid": 0.12 if sex == "Female" else 0.03,
            "anemia": 0.08 if sex == "Female" else 0.02}
    found = [key for key, p in odds.items() if age >= 18 or key == "asthma"
             if pr.chance(min(p, 0.8))]
    if "t2dm" not in found and age >= 30 and pr.chance(0.12):
        found.append("prediabetes")
    if bmi >= 30 and age >= 18:
        found.append("obesity")
    return found


def add_patient(pr: Practice, pid: int, pubpid: int, deceased: bool,
                background: tuple[str, str, str] = ("white", "not_hisp_or_latin",
                                                    "English")) -> Patient:
    """Demographics of patient ``pid``; returns what the clinical generator needs."""
    rng = pr.rng
    sex = rng.choice(("Female", "Male"))
    age = _age_years(pr)
    dob = date(EXPORT_TIME.year - age, 1, 1) - timedelta(days=rng.randint(0, 364))
    first_seen = max(HISTORY_START, dob + timedelta(days=14))
    regdate = pr.moment(first_seen + timedelta(days=rng.randrange(
        max((EXPORT_TIME.date() - timedelta(days=240) - first_seen).days, 1))))
    race, ethnicity, language = background
    fname = rng.choice(vocab.FEMALE_NAMES if sex == "Female" else vocab.MALE_NAMES)
    lname = rng.choice(vocab.LAST_NAMES)
    adult = age >= 18
    status = rng.choice(("married", "married", "single", "divorced", "widowed" if age > 60
                         else "single")) if adult else ""
    maiden = sex == "Female" and status in ("married", "widowed", "divorced") \
        and rng.random() < 0.7
    height = rng.gauss(64.0 if sex == "Female" else 69.5, 2.6)
    bmi = min(max(rng.gauss(28.0, 5.5), 18.0), 46.0)
    died = pr.between(regdate + timedelta(days=420), EXPORT_TIME - timedelta(days=20)) \
        if deceased else None
    working = [p for p in pr.providers if p.id != RETIRED_PROVIDER_ID
               and (adult or p.pediatric)]
    current = rng.choice(working).id
    first = RETIRED_PROVIDER_ID if regdate < RETIREMENT and adult and rng.random() < 0.4 \
        else current
    city, postal, county, state = rng.choice(vocab.PLACES)
    if rng.random() < 0.1:
        postal += f"-{rng.randint(1000, 9999)}"
    street = f"{rng.randint(2, 1999)} {rng.choice(vocab.STREETS)}"
    mname = rng.choice(("", "", rng.choice(vocab.FEMALE_NAMES + vocab.MALE_NAMES),
                        f"{chr(rng.randint(65, 90))}"))
    email = f"{ascii_name(fname)}.{ascii_name(lname)}{rng.randint(1, 99)}@example.com"
    changed = pr.between(regdate, died or EXPORT_TIME)
    row: Row = {column: "" for column in _BLANK_COLUMNS}
    row.update({
        "id": pid, "uuid": pr.uuid(),
        "title": rng.choice(("", {"Female": "Ms." if status != "married" else "Mrs.",
                                  "Male": "Mr."}[sex])) if adult else "",
        "language": language, "fname": fname, "lname": lname, "mname": mname,
        "DOB": dob, "street": street, "postal_code": postal, "city": city, "state": state,
        "country_code": "USA",
        "ss": f"999-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}" if rng.random() < 0.6
        else "",
        "occupation": rng.choice(vocab.OCCUPATIONS) if adult else "Student" if age >= 5
        else "",
        "phone_home": pr.phone() if rng.random() < 0.75 else "",
        "phone_biz": pr.phone() if adult and rng.random() < 0.25 else "",
        "phone_contact": "", "phone_cell": pr.phone() if rng.random() < 0.7 else "",
        "pharmacy_id": 0, "status": status, "date": changed, "sex": sex,
        "providerID": current, "ref_providerID": 0,
        "email": email if rng.random() < 0.7 else "", "race": race, "ethnicity": ethnicity,
        "interpreter_needed": "yes" if language != "English" else None,
        "financial_review": None, "pubpid": f"PT-{pubpid:06d}", "pid": pid,
        "hipaa_mail": "YES", "hipaa_voice": "YES", "hipaa_notice": "YES",
        "hipaa_allowsms": rng.choice(("YES", "NO")), "hipaa_allowemail": "YES",
        "fitness": 0, "pricelevel": "standard", "regdate": regdate, "contrastart": None,
        "completed_ad": "NO", "ad_reviewed": None,
        "deceased_date": died if died else rng.choice((None, None, ZERO_DATETIME)),
        "deceased_reason": rng.choice(DEATH_CAUSES) if died else "",
        "soap_import_status": None, "county": county,
        "birth_fname": fname if maiden else None,
        "birth_lname": rng.choice([n for n in vocab.LAST_NAMES if n != lname])
        if maiden else None,
        "birth_mname": None, "dupscore": -9,
        "suffix": rng.choice(vocab.SUFFIXES) if sex == "Male" and rng.random() < 0.07 else "",
        "street_line_2": rng.choice(vocab.UNITS) if rng.random() < 0.2
        else rng.choice(("", None)),
        "preferred_name": vocab.PREFERRED_NAMES.get(fname) if rng.random() < 0.6 else None,
        "nationality_country": None, "created_by": 1, "updated_by": 1,
        "last_updated": changed,
    })
    pr.add("patient_data", row)
    return Patient(pid=pid, sex=sex, dob=dob, regdate=regdate, provider_id=current,
                   first_provider_id=first, height_in=height, bmi=bmi,
                   chronic=_chronic(pr, sex, age, bmi), deceased=died, fname=fname,
                   lname=lname, street=street, city=city, state=state, postal_code=postal)


def _subscriber(pr: Practice, patient: Patient, relationship: str) -> Row:
    """subscriber_* columns: the patient, or an invented spouse or parent."""
    rng = pr.rng
    if relationship == "self":
        fname, lname, dob, sex = patient.fname, patient.lname, patient.dob, patient.sex
    else:
        if relationship == "spouse":
            sex = "Male" if patient.sex == "Female" else "Female"
            years = rng.randint(-4, 4)
        else:  # a parent
            sex = rng.choice(("Female", "Male"))
            years = rng.randint(22, 40)
        fname = rng.choice(vocab.FEMALE_NAMES if sex == "Female" else vocab.MALE_NAMES)
        lname = patient.lname
        dob = patient.dob.replace(day=1) - timedelta(days=365 * years + rng.randint(0, 300))
    employer = rng.choice(vocab.EMPLOYERS)
    return {"subscriber_lname": lname, "subscriber_mname": "", "subscriber_fname": fname,
            "subscriber_relationship": relationship, "subscriber_ss": "",
            "subscriber_DOB": dob if rng.random() > 0.05 else ZERO_DATE,
            "subscriber_street": patient.street, "subscriber_postal_code": patient.postal_code,
            "subscriber_city": patient.city, "subscriber_state": patient.state,
            "subscriber_country": "USA", "subscriber_phone": pr.phone(),
            "subscriber_employer": employer, "subscriber_employer_street": "",
            "subscriber_employer_postal_code": "", "subscriber_employer_state": "",
            "subscriber_employer_country": "", "subscriber_employer_city": "",
            "subscriber_sex": sex, "subscriber_street_line_2": None,
            "subscriber_employer_street_line_2": None}


def _policy(pr: Practice, payer: str) -> tuple[str, str, str, str]:
    """(plan_name, policy_number, group_number, copay) in each payer's format."""
    rng = pr.rng
    if payer == "medicare":  # Medicare Beneficiary Identifier shape
        letters = "ACDEFGHJKMNPQRTUVWXY"
        mbi = (f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
               f"{rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
               f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(0, 9)}"
               f"{rng.randint(0, 9)}")
        return "Medicare Part B", mbi[:4] + rng.choice(letters) + mbi[4:], "", ""
    if payer == "medicaid":  # NY Medicaid client id: 2 letters, 5 digits, 1 letter
        return ("NYS Medicaid", f"{rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}"
                f"{rng.randint(10000, 99999)}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}", "", "")
    return ("Aetna Choice POS II", f"W{rng.randint(100000000, 999999999)}",
            f"0{rng.randint(100000, 999999)}-10-001", rng.choice(("20", "25", "30", "")))


def add_coverage(pr: Practice, patient: Patient) -> None:
    """insurance_data rows: primary coverage history and sometimes a secondary policy."""
    rng = pr.rng
    start = patient.regdate.date().replace(day=1)
    turns_65 = date(patient.dob.year + 65, patient.dob.month, 1)
    rows: list[tuple[str, str, date | str, date | str | None, str]] = []
    if turns_65 <= start:
        rows.append(("primary", "medicare", start, None, "self"))
        if rng.random() < 0.45:
            rows.append(("secondary", rng.choice(("aetna", "aetna", "medicaid")), start, None,
                         "self"))
    elif turns_65 <= patient.last_day.date():
        rows.append(("primary", "aetna", start, turns_65 - timedelta(days=1), "self"))
        rows.append(("primary", "medicare", turns_65, None, "self"))
    else:
        payer = rng.choices(("aetna", "medicaid", ""), weights=(65, 25, 10))[0]
        if not payer:
            return  # self-pay
        child = patient.age(start) < 18
        relation = "child" if child and payer == "aetna" else \
            "spouse" if payer == "aetna" and rng.random() < 0.25 else "self"
        rows.append(("primary", payer, start, None, relation))
    if len(rows) == 1 and rng.random() < 0.12:
        kind, payer, _, end, relation = rows[0]
        rows[0] = (kind, payer, ZERO_DATE, end, relation)  # effective date never entered
    for kind, payer, begin, end, relation in rows:
        plan, policy, group, copay = _policy(pr, payer)
        if end is None and rng.random() < 0.06:
            end = ZERO_DATE
        row: Row = {"id": pr.next_id("insurance_data"), "uuid": pr.uuid(), "type": kind,
                    "provider": str(pr.payers[payer]), "plan_name": plan,
                    "policy_number": policy, "group_number": group}
        row.update(_subscriber(pr, patient, relation))
        row.update({"copay": copay, "date": begin, "pid": patient.pid,
                    "accept_assignment": "TRUE", "policy_type": "", "date_end": end})
        pr.add("insurance_data", row)


def pick_deceased(pr: Practice, patients: int) -> set[int]:
    """About one patient in fifteen has died (at least one in any practice of 8 or more)."""
    count = round(patients / 15) or (1 if patients >= 8 else 0)
    return set(pr.rng.sample(range(1, patients + 1), count))


def backgrounds(pr: Practice, patients: int) -> list[tuple[str, str, str]]:
    """(race, ethnicity, language) per patient: every combination once, then by weight."""
    combos = [combo for combo, _ in vocab.BACKGROUNDS]
    weights = [weight for _, weight in vocab.BACKGROUNDS]
    picked = combos + pr.rng.choices(combos, weights=weights,
                                     k=max(patients - len(combos), 0))
    pr.rng.shuffle(picked)
    return picked[:patients]


def pubpids(pr: Practice, patients: int) -> list[int]:
    """Distinct medical record numbers (not equal to pid, as in practices that migrated)."""
    return pr.rng.sample(range(100, 100 + 50 * max(patients, 10)), patients)

