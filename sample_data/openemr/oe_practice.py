"""The practice's people and reference data: facilities, users, payers, patients, coverage.

:class:`Practice` holds the random generator, the id counters and the rows per table; the
clinical history of each patient is added by ``oe_clinical``.  All datetimes are naive local
times of America/New_York; zero dates are the strings :data:`ZERO_DATE` and
:data:`ZERO_DATETIME` (MariaDB stores them as such; SQLite gets the same text).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import oe_vocab as vocab

EXPORT_TIME = datetime(2025, 6, 30, 17, 30)
"""The practice's "now" (naive local time): the day the database was copied for migration."""
HISTORY_START = date(2014, 3, 1)
ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"
FACILITY_ID = 1
BILLING_FACILITY_ID = 2
ADMIN_ID = 1
RETIRED_PROVIDER_ID = 2
RETIREMENT = datetime(2019, 6, 28, 17, 0)

Row = dict[str, Any]


@dataclass
class Provider:
    """A user who sees patients."""

    id: int
    username: str
    fname: str
    lname: str
    pediatric: bool


@dataclass
class Patient:
    """What the clinical generator needs to know about a patient."""

    pid: int
    sex: str
    dob: date
    regdate: datetime
    provider_id: int
    first_provider_id: int
    height_in: float
    bmi: float
    chronic: list[str]
    deceased: datetime | None
    fname: str
    lname: str
    street: str
    city: str
    state: str
    postal_code: str
    encounters: list[Row] = field(default_factory=list)
    vaccines: dict[str, datetime] = field(default_factory=dict)
    """Vaccine key -> last dose given, for the schedule."""

    def age(self, on: date | datetime) -> int:
        """Age in whole years on a day."""
        day = on.date() if isinstance(on, datetime) else on
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))

    @property
    def last_day(self) -> datetime:
        """The last moment care can happen: death or the export."""
        return self.deceased or EXPORT_TIME


def npi(rng: random.Random) -> str:
    """A 10-digit NPI with a valid Luhn check digit (prefix 80840, as CMS computes it)."""
    base = f"{rng.randint(1, 2)}{rng.randint(10_000_000, 99_999_999)}"
    digits = [int(c) for c in "80840" + base]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return base + str((10 - total % 10) % 10)


def utc_offset(when: datetime) -> str:
    """America/New_York UTC offset of a naive local time ('-0400' in DST, else '-0500')."""
    march = datetime(when.year, 3, 8 + (6 - datetime(when.year, 3, 8).weekday()) % 7, 2)
    november = datetime(when.year, 11, 1 + (6 - datetime(when.year, 11, 1).weekday()) % 7, 2)
    return "-0400" if march <= when < november else "-0500"


class Practice:
    """Rows of every table of one generated practice, built deterministically from a seed."""

    def __init__(self, seed: int) -> None:
        """Start an empty practice whose randomness all comes from ``random.Random(seed)``."""
        self.rng = random.Random(seed)
        self.rows: dict[str, list[Row]] = defaultdict(list)
        self._next: dict[str, int] = {}
        self.providers: list[Provider] = []
        self.payers: dict[str, int] = {}
        self.encounter_number = 2990

    # ------------------------------------------------------------------ helpers

    def next_id(self, table: str, start: int = 1) -> int:
        """The next id of a table (1, 2, 3, ... unless ``start`` says otherwise)."""
        value = self._next.get(table, start)
        self._next[table] = value + 1
        return value

    def next_encounter(self) -> int:
        """The next encounter number: OpenEMR draws them from a shared sequence, with gaps."""
        self.encounter_number += self.rng.choice((1, 1, 1, 2, 3))
        return self.encounter_number

    def uuid(self) -> bytes:
        """16 random bytes shaped as a version-4 UUID, from the seeded generator."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).bytes

    def add(self, table: str, row: Row) -> Row:
        """Append a row to a table and return it."""
        self.rows[table].append(row)
        return row

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.rng.random() < p

    def phone(self) -> str:
        """A fictional 518 number (555-01xx is reserved for fiction)."""
        return f"518-555-01{self.rng.randint(0, 99):02d}"

    def moment(self, day: date, first_hour: int = 8, last_hour: int = 16) -> datetime:
        """A clinic appointment time on ``day`` (20-minute slots), moved off weekends."""
        while day.weekday() >= 5:
            day += timedelta(days=1)
        minute = self.rng.choice((0, 20, 40))
        return datetime(day.year, day.month, day.day, self.rng.randint(first_hour, last_hour),
                        minute)

    def between(self, start: datetime, end: datetime) -> datetime:
        """A uniformly random moment between two datetimes (whole minutes)."""
        span = max(int((end - start).total_seconds() // 60), 1)
        return start + timedelta(minutes=self.rng.randrange(span))

    # ------------------------------------------------------------------ reference data

    def add_reference_data(self) -> None:
        """list_options, facilities, users, insurance companies."""
        for list_id, option_id, title, seq, notes, codes in vocab.LIST_OPTIONS:
            self.add("list_options", {"list_id": list_id, "option_id": option_id,
                                      "title": title, "seq": seq, "notes": notes,
                                      "codes": codes})
        created = datetime(2014, 2, 10, 9, 12, 44)
        for fid, name, street, service, billing in (
                (FACILITY_ID, "Hudson Valley Family Practice", "1200 Western Ave", 1, 0),
                (BILLING_FACILITY_ID, "Hudson Valley Family Practice Billing Office",
                 "5 Computer Dr Suite 310", 0, 1)):
            self.add("facility", {
                "id": fid, "uuid": self.uuid(), "name": name, "phone": "(518) 555-0142",
                "fax": "(518) 555-0143", "street": street, "city": "Albany", "state": "NY",
                "postal_code": "12203" if service else "12205", "country_code": "USA",
                "federal_ein": "14-3829107", "website": "", "email": "",
                "service_location": service, "billing_location": billing,
                "accepts_assignment": 1, "pos_code": 11, "x12_sender_id": "", "attn": "",
                "domain_identifier": "", "facility_npi": npi(self.rng),
                "facility_taxonomy": "261QP2300X", "tax_id_type": "EI",
                "color": "#99FFFF" if service else "#FFCC99",
                "primary_business_entity": 1 if service else 0, "facility_code": "",
                "extra_validation": 1, "mail_street": "", "mail_street2": "", "mail_city": "",
                "mail_state": "", "mail_zip": "", "oid": "", "iban": "", "info": "",
                "weno_id": None, "inactive": 0, "date_created": created,
                "last_updated": created, "organization_type": "prov"})
        self._add_users(created)
        for name, cms_id, type_code, sop, key in (
                ("Medicare Part B", "13202", 2, 1, "medicare"),
                ("Aetna", "60054", 17, 5, "aetna"),
                ("New York State Medicaid", "NYMCD", 3, 2, "medicaid")):
            cid = {"medicare": 7, "aetna": 12, "medicaid": 19}[key]
            self.payers[key] = cid
            self.add("insurance_companies", {
                "id": cid, "uuid": self.uuid(), "name": name, "attn": "", "cms_id": cms_id,
                "ins_type_code": type_code, "x12_receiver_id": "", "x12_default_partner_id": 0,
                "alt_cms_id": "", "inactive": 0, "eligibility_id": None,
                "x12_default_eligibility_id": 0, "cqm_sop": sop, "date_created": created,
                "last_updated": created})

    def _add_users(self, created: datetime) -> None:
        """The admin account and four providers (one retired in 2019)."""
        people = (
            (ADMIN_ID, "admin", "Administrator", "", "Administrator", 0, "", "", "", ""),
            (RETIRED_PROVIDER_ID, "hbecker", "Harold", "J", "Becker", 1, "Family Medicine",
             "207Q00000X", "MD", "Dr."),
            (3, "swhitfield", "Sarah", "", "Whitfield", 1, "Family Medicine", "207Q00000X",
             "MD", "Dr."),
            (5, "rpatel", "Rajesh", "K", "Patel", 1, "Internal Medicine", "207R00000X", "MD",
             "Dr."),
            (6, "loconnor", "Linda", "", "O'Connor", 1, "Family Nurse Practitioner",
             "363LF0000X", "FNP-C", ""),
        )
        for uid, username, fname, mname, lname, authorized, specialty, taxonomy, suffix, \
                title in people:
            provider = authorized == 1
            active = 0 if uid == RETIRED_PROVIDER_ID else 1
            self.add("users", {
                "id": uid, "uuid": self.uuid(), "username": username,
                "password": "NoLongerUsed", "authorized": authorized, "info": "", "source": None,
                "fname": fname, "mname": mname, "lname": lname, "suffix": suffix,
                "federaltaxid": "",
                "federaldrugid": f"B{lname[0]}{self.rng.randint(1000000, 9999999)}"
                if provider else "", "upin": "",
                "facility": "Hudson Valley Family Practice", "facility_id": FACILITY_ID,
                "see_auth": 3 if provider else 1, "active": active,
                "npi": npi(self.rng) if provider else "", "title": title,
                "specialty": specialty, "billname": "", "email": "", "email_direct": "",
                "google_signin_email": None, "url": "", "assistant": "", "organization": "",
                "valedictory": "", "street": "", "streetb": "", "city": "", "state": "",
                "zip": "", "country_code": "", "street2": "", "streetb2": "", "city2": "",
                "state2": "", "zip2": "", "country_code2": "", "phone": "", "fax": "",
                "phonew1": "", "phonew2": "", "phonecell": "", "notes": "", "cal_ui": 3,
                "taxonomy": taxonomy or "207Q00000X", "calendar": 1 if provider else 0,
                "abook_type": "", "default_warehouse": "", "irnpool": "",
                "state_license_number": f"{self.rng.randint(200000, 299999)}" if provider
                else "", "weno_prov_id": None, "newcrop_user_role": "",
                "cpoe": 1 if provider else 0,
                "physician_type": "attending_physician" if provider else None,
                "main_menu_role": "standard", "patient_menu_role": "standard",
                "portal_user": 0, "supervisor_id": 0, "billing_facility": None,
                "billing_facility_id": 0, "date_created": created, "last_updated": created})
            if provider:
                self.providers.append(Provider(uid, username, fname, lname,
                                               pediatric=uid in (3, 6)))

    def provider(self, patient: Patient, when: datetime) -> Provider:
        """Who sees a patient at ``when``: their own provider mostly, else a colleague."""
        own_id = patient.first_provider_id if when < RETIREMENT else patient.provider_id
        child = patient.age(when) < 18
        working = [p for p in self.providers
                   if (p.id != RETIRED_PROVIDER_ID or when < RETIREMENT)
                   and (p.pediatric or not child)]
        own = next((p for p in working if p.id == own_id), working[0])
        if self.chance(0.2):
            return self.rng.choice(working)
        return own
