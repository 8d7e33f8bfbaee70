"""Deterministic generator of a small legacy practice in Synthea 3.2 CSV export format.

The output mimics what ``synthea --exporter.csv.export=true`` writes (version 3.2, no
``patients.MIDDLE`` / ``conditions.SYSTEM`` columns): the same 18 files, the same headers in the
same column order, the same value shapes (``YYYY-MM-DDTHH:MM:SSZ`` UTC datetimes, local
``YYYY-MM-DD`` dates in the date-only columns, 8-4-4-4-12 hex ids, money with two decimals,
empty strings for missing values, descriptions with their commas replaced by two spaces).
Codes, descriptions and units come from a real Synthea 3.2 export.

Everything is synthetic. Nothing here describes a real person.

Determinism: a given ``(patients, seed, years)`` always produces byte-identical files. All
randomness comes from ``random.Random`` instances seeded from ``seed``; ids are drawn from them;
the clock is a fixed reference date (2024-04-27), never "now".

Streaming: every patient is generated, written to the open CSV writers and forgotten, so memory
stays flat; only the small reference tables (organizations, providers, payers), whose counters
summarise all patients, are written at the end.

Usage::

    python sample_data/generate.py --patients 25 --seed 20261125 --out sample_data/synthea
"""

from __future__ import annotations

import argparse
import bisect
import csv
import functools
import math
import random
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

# --------------------------------------------------------------------------------------------
# Format
# --------------------------------------------------------------------------------------------

REFERENCE_DATE = datetime(2024, 4, 27)  # naive datetimes are UTC throughout
"""The export's "now": history runs for ``years`` before it (never the real current date)."""

HEADERS: dict[str, tuple[str, ...]] = {
    "allergies": (
        "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "SYSTEM", "DESCRIPTION", "TYPE",
        "CATEGORY", "REACTION1", "DESCRIPTION1", "SEVERITY1", "REACTION2", "DESCRIPTION2",
        "SEVERITY2",
    ),
    "careplans": (
        "Id", "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "REASONCODE",
        "REASONDESCRIPTION",
    ),
    "claims": (
        "Id", "PATIENTID", "PROVIDERID", "PRIMARYPATIENTINSURANCEID",
        "SECONDARYPATIENTINSURANCEID", "DEPARTMENTID", "PATIENTDEPARTMENTID", "DIAGNOSIS1",
        "DIAGNOSIS2", "DIAGNOSIS3", "DIAGNOSIS4", "DIAGNOSIS5", "DIAGNOSIS6", "DIAGNOSIS7",
        "DIAGNOSIS8", "REFERRINGPROVIDERID", "APPOINTMENTID", "CURRENTILLNESSDATE",
        "SERVICEDATE", "SUPERVISINGPROVIDERID", "STATUS1", "STATUS2", "STATUSP", "OUTSTANDING1",
        "OUTSTANDING2", "OUTSTANDINGP", "LASTBILLEDDATE1", "LASTBILLEDDATE2", "LASTBILLEDDATEP",
        "HEALTHCARECLAIMTYPEID1", "HEALTHCARECLAIMTYPEID2",
    ),
    "claims_transactions": (
        "ID", "CLAIMID", "CHARGEID", "PATIENTID", "TYPE", "AMOUNT", "METHOD", "FROMDATE",
        "TODATE", "PLACEOFSERVICE", "PROCEDURECODE", "MODIFIER1", "MODIFIER2", "DIAGNOSISREF1",
        "DIAGNOSISREF2", "DIAGNOSISREF3", "DIAGNOSISREF4", "UNITS", "DEPARTMENTID", "NOTES",
        "UNITAMOUNT", "TRANSFEROUTID", "TRANSFERTYPE", "PAYMENTS", "ADJUSTMENTS", "TRANSFERS",
        "OUTSTANDING", "APPOINTMENTID", "LINENOTE", "PATIENTINSURANCEID", "FEESCHEDULEID",
        "PROVIDERID", "SUPERVISINGPROVIDERID",
    ),
    "conditions": ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"),
    "devices": ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "UDI"),
    "encounters": (
        "Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PROVIDER", "PAYER", "ENCOUNTERCLASS",
        "CODE", "DESCRIPTION", "BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE",
        "REASONCODE", "REASONDESCRIPTION",
    ),
    "imaging_studies": (
        "Id", "DATE", "PATIENT", "ENCOUNTER", "SERIES_UID", "BODYSITE_CODE",
        "BODYSITE_DESCRIPTION", "MODALITY_CODE", "MODALITY_DESCRIPTION", "INSTANCE_UID",
        "SOP_CODE", "SOP_DESCRIPTION", "PROCEDURE_CODE",
    ),
    "immunizations": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST"),
    "medications": (
        "START", "STOP", "PATIENT", "PAYER", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST",
        "PAYER_COVERAGE", "DISPENSES", "TOTALCOST", "REASONCODE", "REASONDESCRIPTION",
    ),
    "observations": (
        "DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE", "UNITS",
        "TYPE",
    ),
    "organizations": (
        "Id", "NAME", "ADDRESS", "CITY", "STATE", "ZIP", "LAT", "LON", "PHONE", "REVENUE",
        "UTILIZATION",
    ),
    "patients": (
        "Id", "BIRTHDATE", "DEATHDATE", "SSN", "DRIVERS", "PASSPORT", "PREFIX", "FIRST", "LAST",
        "SUFFIX", "MAIDEN", "MARITAL", "RACE", "ETHNICITY", "GENDER", "BIRTHPLACE", "ADDRESS",
        "CITY", "STATE", "COUNTY", "FIPS", "ZIP", "LAT", "LON", "HEALTHCARE_EXPENSES",
        "HEALTHCARE_COVERAGE", "INCOME",
    ),
    "payer_transitions": (
        "PATIENT", "MEMBERID", "START_DATE", "END_DATE", "PAYER", "SECONDARY_PAYER",
        "PLAN_OWNERSHIP", "OWNER_NAME",
    ),
    "payers": (
        "Id", "NAME", "OWNERSHIP", "ADDRESS", "CITY", "STATE_HEADQUARTERED", "ZIP", "PHONE",
        "AMOUNT_COVERED", "AMOUNT_UNCOVERED", "REVENUE", "COVERED_ENCOUNTERS",
        "UNCOVERED_ENCOUNTERS", "COVERED_MEDICATIONS", "UNCOVERED_MEDICATIONS",
        "COVERED_PROCEDURES", "UNCOVERED_PROCEDURES", "COVERED_IMMUNIZATIONS",
        "UNCOVERED_IMMUNIZATIONS", "UNIQUE_CUSTOMERS", "QOLS_AVG", "MEMBER_MONTHS",
    ),
    "procedures": (
        "START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "BASE_COST",
        "REASONCODE", "REASONDESCRIPTION",
    ),
    "providers": (
        "Id", "ORGANIZATION", "NAME", "GENDER", "SPECIALITY", "ADDRESS", "CITY", "STATE", "ZIP",
        "LAT", "LON", "ENCOUNTERS", "PROCEDURES",
    ),
    "supplies": ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "QUANTITY"),
}  # fmt: skip
"""Exact Synthea 3.2 headers, file stem -> columns in order."""

_HEADER_KEYS = {table: frozenset(cols) for table, cols in HEADERS.items()}

Row = list[str]
Code = tuple[str, str]


def make_row(table: str, **values: str) -> Row:
    """Return one CSV row of ``table`` in header order; missing columns are empty strings."""
    unknown = values.keys() - _HEADER_KEYS[table]
    if unknown:
        raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
    return [values.get(col, "") for col in HEADERS[table]]


def fmt_dt(moment: datetime) -> str:
    """Format a naive UTC datetime the way Synthea does: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return moment.isoformat(timespec="seconds") + "Z"


@functools.cache
def _us_eastern_dst(year: int) -> tuple[datetime, datetime]:
    """UTC bounds of US Eastern daylight saving time (rules in force since 2007)."""
    march = datetime(year, 3, 1)
    second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    november = datetime(year, 11, 1)
    first_sunday = november + timedelta(days=(6 - november.weekday()) % 7)
    return second_sunday + timedelta(hours=7), first_sunday + timedelta(hours=6)


def fmt_local_date(moment: datetime) -> str:
    """Local (Massachusetts) calendar date of a UTC moment, as Synthea's date-only columns."""
    dst_start, dst_end = _us_eastern_dst(moment.year)
    offset = 4 if dst_start <= moment < dst_end else 5
    return (moment - timedelta(hours=offset)).date().isoformat()


def money(cents: int) -> str:
    """Format a non-negative amount of cents with two decimals (``1234`` -> ``12.34``)."""
    return f"{cents // 100}.{cents % 100:02d}"


def num(value: float) -> str:
    """Format a numeric observation value with one decimal, as Synthea does (``3.0``)."""
    return f"{value:.1f}"


def new_id(rng: random.Random) -> str:
    """Draw a Synthea-shaped id (8-4-4-4-12 lowercase hex) from ``rng``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def months_between(start: datetime, stop: datetime) -> int:
    """Whole months (at least one) between two moments, used for dispense counts."""
    return max(1, round((stop - start).days / 30.44))


def years_between(start: datetime, stop: datetime) -> float:
    """Age-style difference in years."""
    return (stop - start).days / 365.25


# --------------------------------------------------------------------------------------------
# Catalogues (codes, descriptions and units as Synthea 3.2 writes them)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Town:
    """A Massachusetts town: name, county, county FIPS, ZIP and centre coordinates."""

    name: str
    county: str
    fips: str
    zip: str
    lat: float
    lon: float


TOWNS: tuple[Town, ...] = (
    Town("Boston", "Suffolk County", "25025", "02108", 42.3601, -71.0589),
    Town("Cambridge", "Middlesex County", "25017", "02138", 42.3736, -71.1097),
    Town("Worcester", "Worcester County", "25027", "01608", 42.2626, -71.8023),
    Town("Springfield", "Hampden County", "25013", "01103", 42.1015, -72.5898),
    Town("Lowell", "Middlesex County", "25017", "01852", 42.6334, -71.3162),
    Town("Brockton", "Plymouth County", "25023", "02301", 42.0834, -71.0184),
    Town("Quincy", "Norfolk County", "25021", "02169", 42.2529, -71.0023),
    Town("Lynn", "Essex County", "25009", "01901", 42.4668, -70.9495),
    Town("New Bedford", "Bristol County", "25005", "02740", 41.6362, -70.9342),
    Town("Fall River", "Bristol County", "25005", "02720", 41.7015, -71.1550),
    Town("Newton", "Middlesex County", "25017", "02458", 42.3370, -71.2092),
    Town("Somerville", "Middlesex County", "25017", "02143", 42.3876, -71.0995),
    Town("Framingham", "Middlesex County", "25017", "01702", 42.2793, -71.4162),
    Town("Haverhill", "Essex County", "25009", "01830", 42.7762, -71.0773),
    Town("Waltham", "Middlesex County", "25017", "02451", 42.3765, -71.2356),
    Town("Pittsfield", "Berkshire County", "25003", "01201", 42.4501, -73.2454),
    Town("Barnstable", "Barnstable County", "25001", "02630", 41.7003, -70.3002),
    Town("Northampton", "Hampshire County", "25015", "01060", 42.3251, -72.6412),
    Town("Greenfield", "Franklin County", "25011", "01301", 42.5876, -72.5995),
    Town("Plymouth", "Plymouth County", "25023", "02360", 41.9584, -70.6673),
    Town("Taunton", "Bristol County", "25005", "02780", 41.9001, -71.0898),
    Town("Fitchburg", "Worcester County", "25027", "01420", 42.5834, -71.8023),
    Town("Salem", "Essex County", "25009", "01970", 42.5195, -70.8967),
    Town("Walpole", "Norfolk County", "25021", "02081", 42.1418, -71.2495),
    Town("Andover", "Essex County", "25009", "01810", 42.6583, -71.1368),
    Town("Edgartown", "Dukes County", "25007", "02539", 41.3890, -70.5134),
    Town("Nantucket", "Nantucket County", "25019", "02554", 41.2835, -70.0995),
)

FEMALE_NAMES = (
    "Ada", "Alma", "Anika", "Bernadine", "Carmela", "Chasity", "Cleo", "Delphine", "Dorthy",
    "Elena", "Elvia", "Fae", "Georgina", "Hermina", "Ines", "Jacquelyn", "Jenna", "Kassandra",
    "Kiara", "Latonya", "Lorraine", "Lucila", "María", "Margarita", "Marisol", "Nakia", "Ofelia",
    "Pamala", "Rosalyn", "Sade", "Shanice", "Tamra", "Theola", "Ursula", "Velma", "Wilma",
    "Yolanda", "Zoë", "Mei", "Priya",
)  # fmt: skip
MALE_NAMES = (
    "Abdul", "Alonzo", "Bennie", "Brendon", "Carlos", "Cedric", "Darrel", "Dewayne", "Elijah",
    "Emory", "Federico", "Garland", "Hank", "Hiroshi", "Isaias", "Jamar", "José", "Kenton",
    "Lamont", "Leandro", "Lyman", "Marcus", "Mohammed", "Nestor", "Odell", "Pasquale", "Quincy",
    "Ramón", "Rigoberto", "Santos", "Sherwood", "Terrence", "Tyrell", "Vance", "Wendell",
    "Wilber", "Xavier", "Yusuf", "Zachary", "Raj",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Altenwerth", "Bahringer", "Bartoletti", "Bednar", "Bergnaum", "Boyer", "Cassin",
    "Conroy", "Dach", "Daugherty", "Ebert", "Feil", "Gerlach", "Goyette", "Hackett", "Hane",
    "Heller", "Hilpert", "Jakubowski", "Jast", "Kautzer", "Keebler", "Kohler", "Kuhlman",
    "Langworth", "Lehner", "Lind", "Lueilwitz", "Marvin", "Mayert", "Mohr", "Nader", "Nienow",
    "O'Keefe", "Okuneva", "Pagac", "Pfannerstill", "Quigley", "Reichert", "Rempel", "Runte",
    "Schaden", "Schiller", "Schowalter", "Spinka", "Stehr", "Toy", "Turcotte", "Upton",
    "Vandervort", "Volkman", "Wehner", "Wiza", "Wolff", "Yundt", "Zboncak", "Ziemann",
    "Alvarado", "Cisneros", "Escobar", "Gallegos", "Orozco", "Quintana", "Nguyen", "Tanaka",
)  # fmt: skip
STREET_SUFFIXES = (
    "Street", "Avenue", "Road", "Lane", "Way", "Path", "Track", "Village", "Course", "Ramp",
    "Mall", "Lock", "Ranch", "Pathway", "Gateway", "Light", "Crossing", "Knoll", "Vale", "Mill",
    "Junction", "Hollow", "Landing", "Terrace", "Bridge", "Green", "Station",
)  # fmt: skip

RACES = ("white", "black", "asian", "native", "hawaiian", "other")
RACE_WEIGHTS = (70, 10, 8, 1, 1, 10)
RACE_SURVEY = {
    "white": "White", "black": "Black/African American", "asian": "Asian",
    "native": "American Indian/Alaskan Native", "hawaiian": "Native Hawaiian", "other": "Other",
}  # fmt: skip

# Encounter classes: base cost (cents) and claims department.
ENCOUNTER_COST = {
    "wellness": 13680, "ambulatory": 8555, "outpatient": 14258, "emergency": 14618,
    "urgentcare": 14258, "inpatient": 14618,
}  # fmt: skip
DEPARTMENT = {
    "ambulatory": "1", "outpatient": "2", "inpatient": "3", "emergency": "4", "urgentcare": "5",
    "wellness": "20",
}  # fmt: skip
ADULT_EXAM: Code = ("162673000", "General examination of patient (procedure)")
CHILD_EXAM: Code = ("410620009", "Well child visit (procedure)")
DEATH_CERTIFICATION: Code = ("308646001", "Death Certification")
SYMPTOM_VISIT: Code = ("185345009", "Encounter for symptom")
PROBLEM_VISIT: Code = ("185347001", "Encounter for problem (procedure)")
CHECKUP_VISIT: Code = ("185349003", "Encounter for check up (procedure)")
CONSULTATION: Code = ("698314001", "Consultation for treatment")
ASTHMA_FOLLOWUP: Code = ("394701000", "Asthma follow-up")
EMERGENCY_VISIT: Code = ("50849002", "Emergency room admission (procedure)")
URGENT_VISIT: Code = ("702927004", "Urgent care clinic (environment)")
SURGICAL_ADMISSION: Code = ("305408004", "Admission to surgical department")
ALLERGY_TO_SUBSTANCE: Code = ("419199007", "Allergy to substance (finding)")


@dataclass(frozen=True)
class Lab:
    """A numeric observation: LOINC code, description, unit, category and normal range."""

    code: str
    desc: str
    unit: str
    mean: float
    sd: float
    category: str = "laboratory"
    whole: bool = False


LABS: dict[str, tuple[Lab, ...]] = {
    "metabolic": (
        Lab("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 86, 9),
        Lab("6299-2", "Urea nitrogen [Mass/volume] in Blood", "mg/dL", 13, 3),
        Lab("38483-4", "Creatinine [Mass/volume] in Blood", "mg/dL", 1.0, 0.2),
        Lab("49765-1", "Calcium [Mass/volume] in Blood", "mg/dL", 9.4, 0.4),
        Lab("2947-0", "Sodium [Moles/volume] in Blood", "mmol/L", 140, 2),
        Lab("6298-4", "Potassium [Moles/volume] in Blood", "mmol/L", 4.3, 0.4),
        Lab("2069-3", "Chloride [Moles/volume] in Blood", "mmol/L", 104, 3),
        Lab("20565-8", "Carbon dioxide  total [Moles/volume] in Blood", "mmol/L", 25, 2),
    ),
    "a1c": (Lab("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 5.3, 0.3),),
    "lipids": (
        Lab("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 180, 18),
        Lab("2571-8", "Triglycerides", "mg/dL", 120, 25),
        Lab("18262-6", "Low Density Lipoprotein Cholesterol", "mg/dL", 100, 15),
        Lab("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 55, 8),
    ),
    "cbc": (
        Lab("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 7.2, 1.3),
        Lab("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 4.7, 0.4),
        Lab("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 14.2, 1.1),
        Lab("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 43, 3),
        Lab("787-2", "MCV [Entitic volume] by Automated count", "fL", 88, 3),
        Lab("785-6", "MCH [Entitic mass] by Automated count", "pg", 29.5, 1.2),
        Lab("786-4", "MCHC [Mass/volume] by Automated count", "g/dL", 34, 0.8),
        Lab("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 300, 60),
    ),
    "kidney": (
        Lab("14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", "mg/g", 12, 6),
        Lab(
            "33914-3",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or "
            "Plasma by Creatinine-based formula (MDRD)",
            "mL/min/{1.73_m2}",
            85,
            15,
        ),
    ),
}
"""Laboratory panels by name."""

# Per-condition shifts of lab means (LOINC -> new mean).
LAB_SHIFTS: dict[str, dict[str, float]] = {
    "diabetes": {"4548-4": 7.6, "2339-0": 150, "14959-1": 28},
    "prediabetes": {"4548-4": 6.0, "2339-0": 108},
    "hyperlipidemia": {"2093-3": 245, "18262-6": 160, "2571-8": 190, "2085-9": 42},
    "anemia": {"718-7": 10.8, "4544-3": 33, "787-2": 76},
}

TEMPERATURE = Lab("8310-5", "Body temperature", "Cel", 38.4, 0.6, "vital-signs")
OXYGEN_SATURATION = Lab("2708-6", "Oxygen saturation in Arterial blood", "%", 91, 3, "vital-signs")
HEART_RATE = Lab("8867-4", "Heart rate", "/min", 76, 9, "vital-signs", whole=True)
RESPIRATORY_RATE = Lab("9279-1", "Respiratory rate", "/min", 15, 1.5, "vital-signs", whole=True)

SMOKING = (
    "Never smoked tobacco (finding)",
    "Ex-smoker (finding)",
    "Smokes tobacco daily (finding)",
)

EMPLOYMENT: tuple[tuple[Code, str], ...] = (
    (("160903007", "Full-time employment (finding)"), "Full-time work"),
    (("160904001", "Part-time employment (finding)"), "Part-time or temporary work"),
    (("73438004", "Unemployed (finding)"), "Unemployed"),
    (
        ("741062008", "Not in labor force (finding)"),
        "Otherwise unemployed but not seeking work (ex: student  retired  disabled  unpaid "
        "primary care giver)",
    ),
)
EDUCATION: tuple[tuple[Code, str], ...] = (
    (("224299000", "Received higher education (finding)"), "More than high school"),
    (
        ("5251000175109", "Received certificate of high school equivalency (finding)"),
        "High school diploma or GED",
    ),
    (
        ("224295006", "Only received primary school education (finding)"),
        "Less than high school degree",
    ),
)
STRESS: Code = ("73595000", "Stress (finding)")
MEDICATION_REVIEW: Code = ("314529007", "Medication review due (situation)")
OBESITY: Code = ("162864005", "Body mass index 30+ - obesity (finding)")
STRESS_LEVELS = ("Not at all", "A little bit", "Somewhat", "Quite a bit", "Very much")

# Wellness screening procedures, in the order Synthea chains them, with their survey score.
SCREENINGS: tuple[tuple[Code, tuple[str, str] | None, int, float], ...] = (
    (("710841007", "Assessment of anxiety (procedure)"),
     ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"), 21,
     0.5),
    (("171207006", "Depression screening (procedure)"), None, 0, 0.7),
    (("454711000124102",
      "Depression screening using Patient Health Questionnaire Two-Item score (procedure)"),
     ("55758-7", "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]"), 6, 0.7),
    (("428211000124100", "Assessment of substance use (procedure)"), None, 0, 0.4),
    (("763302001",
      "Assessment using Alcohol Use Disorders Identification Test - Consumption (procedure)"),
     ("75626-2", "Total score [AUDIT-C]"), 12, 0.4),
)  # fmt: skip
SDOH_ASSESSMENT: Code = ("710824005", "Assessment of health and social care needs (procedure)")
MED_RECONCILIATION: Code = ("430193006", "Medication Reconciliation (procedure)")

PROCEDURE_COST: dict[str, int] = {
    "117015009": 172000, "117010004": 184000, "288086009": 846200, "80146002": 2250000,
    "168594001": 43140, "60027007": 43140, "399208008": 735200, "433236007": 43140,
    "274474001": 43140, "23426006": 42539, "430193006": 32826,
}  # fmt: skip
DEFAULT_PROCEDURE_COST = 43140


@dataclass(frozen=True)
class Med:
    """An RxNorm medication with its per-dispense base cost in cents."""

    code: str
    desc: str
    cost: int
    with_reason: bool = True


@dataclass(frozen=True)
class Imaging:
    """An imaging study: body site, DICOM modality and SOP class, and the SNOMED procedure."""

    bodysite: Code
    modality: Code
    sop: Code
    procedure: Code


XRAY = ("DX", "Digital Radiography")
XRAY_SOP = ("1.2.840.10008.5.1.4.1.1.1.1", "Digital X-Ray Image Storage")
ULTRASOUND = ("US", "Ultrasound")
ULTRASOUND_SOP = ("1.2.840.10008.5.1.4.1.1.3.1", "Ultrasound Multiframe Image Storage")
ECHO = Imaging(
    ("80891009", "Heart structure (body structure)"), ULTRASOUND, ULTRASOUND_SOP,
    ("433236007", "Transthoracic echocardiography (procedure)"),
)  # fmt: skip


@dataclass(frozen=True)
class Episode:
    """An acute problem: what is recorded at the visit where it is diagnosed."""

    key: str
    conditions: tuple[Code, ...]
    enc_class: str
    enc_code: Code
    days: tuple[int, int]
    weight: float
    ages: tuple[float, float] = (0, 120)
    female_only: bool = False
    since: datetime | None = None
    same_day: tuple[Code, ...] = ()
    meds: tuple[Med, ...] = ()
    procedures: tuple[Code, ...] = ()
    careplan: Code | None = None
    imaging: Imaging | None = None
    text_labs: tuple[tuple[str, str, str], ...] = ()
    vitals: tuple[Lab, ...] = ()
    followup: bool = False
    supplies: tuple[tuple[Code, int], ...] = ()


AMOXICILLIN = Med("308192", "Amoxicillin 500 MG Oral Tablet", 2908)
IBUPROFEN = Med("198405", "Ibuprofen 100 MG Oral Tablet", 1167, with_reason=False)
NAPROXEN = Med("849574", "Naproxen sodium 220 MG Oral Tablet", 985, with_reason=False)
ACETAMINOPHEN = Med("313782", "Acetaminophen 325 MG Oral Tablet", 640)
THROAT_CULTURE: Code = ("117015009", "Throat culture (procedure)")

EPISODES: tuple[Episode, ...] = (
    Episode("sinusitis", (("444814009", "Viral sinusitis (disorder)"),), "ambulatory",
            SYMPTOM_VISIT, (7, 21), 3.0,
            meds=(Med("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", 2450),)),
    Episode("pharyngitis", (("195662009", "Acute viral pharyngitis (disorder)"),), "ambulatory",
            SYMPTOM_VISIT, (7, 14), 2.0, procedures=(THROAT_CULTURE,), vitals=(TEMPERATURE,)),
    Episode("bronchitis", (("10509002", "Acute bronchitis (disorder)"),), "ambulatory",
            SYMPTOM_VISIT, (14, 28), 1.5, meds=(ACETAMINOPHEN,),
            careplan=("53950000", "Respiratory therapy"), vitals=(TEMPERATURE,),
            imaging=Imaging(("51185008", "Chest"), XRAY, XRAY_SOP, ("399208008", "Chest X-ray"))),
    Episode("strep", (("43878008", "Streptococcal sore throat (disorder)"),), "ambulatory",
            SYMPTOM_VISIT, (7, 14), 1.0, procedures=(THROAT_CULTURE,), vitals=(TEMPERATURE,),
            meds=(Med("834061", "Penicillin V Potassium 250 MG Oral Tablet", 1498),)),
    Episode("otitis", (("65363002", "Otitis media"),), "ambulatory", SYMPTOM_VISIT, (14, 60),
            2.5, ages=(0.5, 12), meds=(AMOXICILLIN, IBUPROFEN), vitals=(TEMPERATURE,)),
    Episode("cystitis", (("307426000", "Acute infective cystitis (disorder)"),), "ambulatory",
            SYMPTOM_VISIT, (7, 14), 0.8, ages=(14, 120), female_only=True,
            procedures=(("117010004", "Urine culture"),),
            meds=(Med("197454", "cephalexin 500 MG Oral Tablet", 1210),),
            text_labs=(("630-4", "Bacteria identified in Urine by Culture",
                        "Greater than 100 000 colony forming units per mL Escherichia coli"),)),
    Episode("clavicle", (("58150001", "Fracture of clavicle"),
                         ("125605004", "Fracture of bone (disorder)")), "emergency",
            EMERGENCY_VISIT, (42, 100), 0.4, meds=(NAPROXEN,),
            procedures=(("274474001", "Bone immobilization"),),
            careplan=("385691007", "Fracture care"), followup=True,
            imaging=Imaging(("51299004", "Clavicle"), XRAY, XRAY_SOP,
                            ("168594001", "Clavicle X-ray"))),
    Episode("wrist", (("263102004", "Fracture subluxation of wrist"),
                      ("125605004", "Fracture of bone (disorder)")), "emergency",
            EMERGENCY_VISIT, (42, 100), 0.4, meds=(IBUPROFEN,),
            procedures=(("274474001", "Bone immobilization"),),
            careplan=("385691007", "Fracture care"), followup=True,
            imaging=Imaging(("8205005", "Wrist"), XRAY, XRAY_SOP,
                            ("60027007", "Radiography of wrist (procedure)"))),
    Episode("sprain", (("44465007", "Sprain of ankle"),), "urgentcare", URGENT_VISIT, (14, 42),
            0.6, meds=(NAPROXEN,),
            careplan=("773513001", "Physiotherapy care plan (record artifact)")),
    Episode("laceration", (("284551006", "Laceration of foot"),), "emergency", EMERGENCY_VISIT,
            (10, 28), 0.4, procedures=(("288086009", "Suture open wound"),),
            careplan=("225358003", "Wound care")),
    Episode("concussion", (("62106007", "Concussion with no loss of consciousness"),),
            "emergency", EMERGENCY_VISIT, (14, 56), 0.3,
            careplan=("47387005", "Head injury rehabilitation")),
    Episode("covid", (("840539006", "COVID-19"), ("386661006", "Fever (finding)"),
                      ("49727002", "Cough (finding)")), "urgentcare", URGENT_VISIT, (14, 28), 1.2,
            since=datetime(2020, 3, 1), same_day=(("840544004", "Suspected COVID-19"),),
            careplan=("736376001", "Infectious disease care plan (record artifact)"),
            text_labs=(("94531-1", "SARS-CoV-2 RNA Pnl Resp NAA+probe",
                        "Detected (qualifier value)"),),
            vitals=(TEMPERATURE, OXYGEN_SATURATION),
            supplies=((("409534002", "Disposable air-purifying respirator (physical object)"), 2),
                      (("261352009", "Face mask (physical object)"), 2))),
    Episode("appendicitis", (("74400008", "Appendicitis (disorder)"),), "inpatient",
            SURGICAL_ADMISSION, (3, 10), 0.08, ages=(5, 80),
            same_day=(("428251008", "History of appendectomy"),),
            procedures=(("80146002", "Appendectomy (procedure)"),),
            careplan=("737471002", "Minor surgery care management (procedure)")),
)  # fmt: skip
"""Acute episodes with their relative weights."""


@dataclass(frozen=True)
class Chronic:
    """A long-term condition: prevalence by age, and what it brings along once diagnosed."""

    key: str
    condition: Code
    onset_ages: tuple[float, float]
    prevalence: tuple[tuple[float, float], ...]
    meds: tuple[Med, ...] = ()
    careplan: Code | None = None
    device: Code | None = None
    supplies: tuple[tuple[Code, int], ...] = ()
    labs: tuple[str, ...] = ()
    followup: tuple[str, Code, tuple[Code, ...], Imaging | None] | None = None
    female_factor: float = 1.0
    pre_window: bool = True


CHRONICS: tuple[Chronic, ...] = (
    Chronic("hypertension", ("59621000", "Essential hypertension (disorder)"), (25, 90),
            ((25, 0.08), (45, 0.25), (65, 0.5)),
            meds=(Med("314076", "lisinopril 10 MG Oral Tablet", 1395),),
            careplan=("443402002", "Lifestyle education regarding hypertension (procedure)"),
            labs=("metabolic",), followup=("ambulatory", PROBLEM_VISIT, (), None)),
    Chronic("hyperlipidemia", ("55822004", "Hyperlipidemia (disorder)"), (30, 90),
            ((30, 0.08), (50, 0.25)),
            meds=(Med("314231", "Simvastatin 10 MG Oral Tablet", 1220),), labs=("lipids",)),
    Chronic("prediabetes", ("15777000", "Prediabetes"), (20, 90), ((20, 0.08), (45, 0.18)),
            careplan=("698360004", "Diabetes self management plan"),
            labs=("metabolic", "a1c")),
    Chronic("diabetes", ("44054006", "Diabetes mellitus type 2 (disorder)"), (30, 90),
            ((30, 0.05), (50, 0.12), (65, 0.2)),
            meds=(Med("860975",
                      "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
                      3900),),
            careplan=("698360004", "Diabetes self management plan"),
            device=("337414009", "Blood glucose meter (physical object)"),
            supplies=((("337388004", "Blood glucose testing strips (physical object)"), 50),
                      (("1137596000", "Blood lancet (physical object)"), 100)),
            labs=("metabolic", "a1c", "kidney"),
            followup=("ambulatory", PROBLEM_VISIT, (), None)),
    Chronic("childhood_asthma", ("233678006", "Childhood asthma"), (2, 12), ((2, 0.08),),
            meds=(Med("895996", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered "
                      "Dose Inhaler [Flovent]", 12994),
                  Med("859088", "NDA020983 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose "
                      "Inhaler [Ventolin]", 12994)),
            careplan=("699728000", "Asthma self management"),
            device=("170615005", "Home nebulizer (physical object)"), pre_window=False,
            followup=("ambulatory", ASTHMA_FOLLOWUP,
                      (("23426006", "Measurement of respiratory function (procedure)"),), None)),
    Chronic("asthma", ("195967001", "Asthma"), (18, 70), ((18, 0.04),),
            meds=(Med("895996", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered "
                      "Dose Inhaler [Flovent]", 12994),),
            careplan=("699728000", "Asthma self management"),
            followup=("ambulatory", ASTHMA_FOLLOWUP,
                      (("23426006", "Measurement of respiratory function (procedure)"),), None)),
    Chronic("anemia", ("271737000", "Anemia (disorder)"), (10, 90), ((10, 0.03),),
            meds=(Med("310325", "ferrous sulfate 325 MG Oral Tablet", 410),), labs=("cbc",),
            female_factor=2.5),
    Chronic("back_pain", ("278860009", "Chronic low back pain (finding)"), (25, 90),
            ((25, 0.04), (50, 0.09)),
            meds=(Med("209387", "Acetaminophen 325 MG Oral Tablet [Tylenol]", 12994,
                      with_reason=False),),
            careplan=("408869004", "Musculoskeletal care")),
    Chronic("aortic_regurgitation", ("60234000", "Aortic valve regurgitation (disorder)"),
            (50, 90), ((50, 0.03), (70, 0.07)),
            followup=("outpatient", CONSULTATION,
                      (("390791001", "Referral for echocardiography (procedure)"),), ECHO)),
)  # fmt: skip
"""Chronic conditions. Mutually exclusive pairs are resolved in ``_pick_chronics``."""

EXCLUSIVE = (("prediabetes", "diabetes"), ("childhood_asthma", "asthma"))

# Immunizations: CVX code -> description (as Synthea writes them).
CVX: dict[str, str] = {
    "140": "Influenza  seasonal  injectable  preservative free",
    "113": "Td (adult)  5 Lf tetanus toxoid  preservative free  adsorbed",
    "208": "SARS-COV-2 (COVID-19) vaccine  mRNA  spike protein  LNP  preservative free  "
    "30 mcg/0.3mL dose",
    "43": "Hep B  adult",
    "08": "Hep B  adolescent or pediatric",
    "83": "Hep A  ped/adol  2 dose",
    "62": "HPV  quadrivalent",
    "114": "meningococcal MCV4P",
    "33": "pneumococcal polysaccharide vaccine  23 valent",
    "133": "pneumococcal conjugate vaccine  13 valent",
    "187": "zoster vaccine recombinant",
    "21": "varicella",
    "10": "IPV",
    "20": "DTaP",
    "03": "MMR",
    "49": "Hib (PRP-OMP)",
    "119": "rotavirus  monovalent",
    "115": "Tdap",
}
CHILD_SCHEDULE: dict[float, tuple[str, ...]] = {
    0.5: ("08",),
    2: ("08", "119", "20", "49", "133", "10"),
    4: ("119", "20", "49", "133", "10"),
    6: ("08", "20", "133", "10"),
    12: ("83", "49", "133", "03", "21"),
    15: ("20",),
    18: ("83",),
    48: ("20", "10", "03", "21"),
    132: ("115", "62", "114"),
    144: ("62",),
    192: ("114",),
}
"""Childhood vaccines by age in months at the well-child visit."""
IMMUNIZATION_COST = 13600

# Allergens: (code, system, description, type, category, possible reactions).
REACTIONS: dict[str, Code] = {
    "wheal": ("247472004", "Wheal (finding)"),
    "rash": ("271807003", "Eruption of skin (disorder)"),
    "anaphylaxis": ("39579001", "Anaphylaxis (disorder)"),
    "dyspnea": ("267036007", "Dyspnea (finding)"),
    "rhinitis": ("267101005", "Nose running"),
    "conjunctivitis": ("878820003", "Rhinoconjunctivitis (disorder)"),
    "cough": ("49727002", "Cough (finding)"),
    "angioedema": ("402387002", "Allergic angioedema (disorder)"),
    "pain": ("21522001", "Abdominal pain (finding)"),
    "itching": ("418290006", "Itching (finding)"),
}


@dataclass(frozen=True)
class Allergen:
    """An allergy or intolerance substance and its plausible reactions."""

    code: str
    system: str
    desc: str
    kind: str
    category: str
    reactions: tuple[str, ...]


ALLERGENS: tuple[Allergen, ...] = (
    Allergen("84489001", "SNOMED-CT", "Mold (organism)", "allergy", "environment",
             ("rhinitis", "conjunctivitis")),
    Allergen("260147004", "SNOMED-CT", "House dust mite (organism)", "allergy", "environment",
             ("rhinitis", "conjunctivitis", "cough")),
    Allergen("264287008", "SNOMED-CT", "Animal dander (substance)", "allergy", "environment",
             ("wheal", "conjunctivitis", "dyspnea")),
    Allergen("782576004", "SNOMED-CT", "Tree pollen (substance)", "allergy", "environment",
             ("rhinitis", "conjunctivitis")),
    Allergen("102263004", "SNOMED-CT", "Eggs (edible) (substance)", "allergy", "food",
             ("rash", "pain")),
    Allergen("735971005", "SNOMED-CT", "Fish (substance)", "allergy", "food",
             ("dyspnea", "rash", "anaphylaxis")),
    Allergen("442571000124108", "SNOMED-CT", "Tree nut (substance)", "allergy", "food",
             ("anaphylaxis", "wheal", "itching")),
    Allergen("7984", "RxNorm", "Penicillin V", "allergy", "medication",
             ("wheal", "rash", "anaphylaxis")),
    Allergen("1191", "RxNorm", "Aspirin", "allergy", "medication", ("wheal", "angioedema")),
    Allergen("10831", "RxNorm", "Sulfamethoxazole / Trimethoprim", "allergy", "medication",
             ("rash", "angioedema")),
    Allergen("29046", "RxNorm", "Lisinopril", "intolerance", "medication",
             ("cough", "angioedema")),
)  # fmt: skip
ANTIHISTAMINE = Med("477045", "Chlorpheniramine Maleate 2 MG/ML Oral Solution", 11374, False)
EPINEPHRINE = Med("1870230", "NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", 13942, False)
SELF_CARE: Code = ("384758001", "Self-care interventions (procedure)")
WHEELCHAIR: Code = ("228869008", "Manual wheelchair (physical object)")


@dataclass(frozen=True)
class PayerPlan:
    """A payer definition: ownership, monthly premium (cents), cost sharing."""

    name: str
    ownership: str
    premium: int
    rate: float
    copay: int


PAYER_PLANS: tuple[PayerPlan, ...] = (
    PayerPlan("Medicare", "GOVERNMENT", 17010, 0.8, 0),
    PayerPlan("Medicaid", "GOVERNMENT", 900, 1.0, 0),
    PayerPlan("Dual Eligible", "GOVERNMENT", 0, 1.0, 0),
    PayerPlan("Blue Cross Blue Shield", "PRIVATE", 36000, 0.85, 2000),
    PayerPlan("Aetna", "PRIVATE", 33750, 0.8, 2500),
    PayerPlan("UnitedHealthcare", "PRIVATE", 31000, 0.8, 3000),
    PayerPlan("NO_INSURANCE", "NO_INSURANCE", 0, 0.0, 0),
)
PRIVATE_PAYERS = ("Blue Cross Blue Shield", "Aetna", "UnitedHealthcare")
_PAYER_NAMESPACE = uuid.UUID("6b3c3f8e-4d1a-5c1e-9f0a-2f7d5e8c1a90")

# --------------------------------------------------------------------------------------------
# Practice: organizations, providers, payers (written once, at the end)
# --------------------------------------------------------------------------------------------


@dataclass
class Provider:
    """A clinician working at one organization, with running counters."""

    id: str
    name: str
    gender: str
    org: Org
    encounters: int = 0
    procedures: int = 0


@dataclass
class Org:
    """A clinic or hospital, with running revenue and utilization counters."""

    id: str
    name: str
    address: str
    town: Town
    zip: str
    lat: float
    lon: float
    phone: str
    hospital: bool
    providers: list[Provider] = field(default_factory=list)
    revenue: int = 0
    utilization: int = 0


@dataclass
class Payer:
    """A payer with the running statistics Synthea reports in payers.csv."""

    plan: PayerPlan
    id: str
    counts: dict[str, int] = field(default_factory=dict)
    qols: list[float] = field(default_factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        """Increase the counter ``key`` by ``amount``."""
        self.counts[key] = self.counts.get(key, 0) + amount


@dataclass
class Practice:
    """All shared reference data of the generated practice."""

    clinics: list[Org]
    hospitals: list[Org]
    payers: dict[str, Payer]

    @property
    def orgs(self) -> list[Org]:
        """Hospitals then clinics, in creation order."""
        return self.hospitals + self.clinics


def person_name(rng: random.Random, gender: str) -> tuple[str, str]:
    """A Synthea-style (first, last) name: census-like names with numeric suffixes."""
    first = rng.choice(FEMALE_NAMES if gender == "F" else MALE_NAMES)
    return f"{first}{rng.randint(1, 999)}", last_name(rng)


def last_name(rng: random.Random) -> str:
    """A Synthea-style last name with its numeric suffix (``Wuckert783``)."""
    return f"{rng.choice(LAST_NAMES)}{rng.randint(1, 999)}"


def street_address(rng: random.Random, unit: bool = True) -> str:
    """A street address like ``676 Kirlin Village Suite 22``."""
    street = f"{rng.randint(1, 1100)} {rng.choice(LAST_NAMES)} {rng.choice(STREET_SUFFIXES)}"
    if unit and rng.random() < 0.3:
        street += f" {rng.choice(('Apt', 'Unit', 'Suite'))} {rng.randint(1, 99)}"
    return street


def make_org(rng: random.Random, hospital: bool) -> Org:
    """Create one organization with two providers."""
    town = rng.choice(TOWNS)
    if hospital:
        name = f"{town.name.upper()} {rng.choice(('GENERAL HOSPITAL', 'MEDICAL CENTER'))}"
    else:
        kind = rng.choice(("Family Practice", "Primary Care", "Health Center", "Medical Group"))
        name = f"{rng.choice((town.name, rng.choice(LAST_NAMES)))} {kind}"
    zip_code = town.zip + (f"{rng.randint(1000, 9999)}" if rng.random() < 0.5 else "")
    org = Org(
        id=new_id(rng),
        name=name,
        address=street_address(rng, unit=False),
        town=town,
        zip=zip_code,
        lat=town.lat + rng.uniform(-0.02, 0.02),
        lon=town.lon + rng.uniform(-0.02, 0.02),
        phone=f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        hospital=hospital,
    )
    for _ in range(2):
        gender = rng.choice("FM")
        first, last = person_name(rng, gender)
        org.providers.append(Provider(new_id(rng), f"{first} {last}", gender, org))
    return org


def make_practice(rng: random.Random, n_patients: int) -> Practice:
    """About one organization (two providers) per ten patients, at least one hospital."""
    n_orgs = max(2, math.ceil(n_patients / 10))
    n_hospitals = max(1, n_orgs // 5)
    hospitals = [make_org(rng, True) for _ in range(n_hospitals)]
    clinics = [make_org(rng, False) for _ in range(n_orgs - n_hospitals)]
    payers = {
        plan.name: Payer(plan, str(uuid.uuid5(_PAYER_NAMESPACE, plan.name))) for plan in PAYER_PLANS
    }
    return Practice(clinics, hospitals, payers)


def org_rows(practice: Practice) -> Iterable[Row]:
    """organizations.csv rows with their final counters."""
    for org in practice.orgs:
        yield make_row(
            "organizations",
            Id=org.id,
            NAME=org.name,
            ADDRESS=org.address,
            CITY=org.town.name,
            STATE="MA",
            ZIP=org.zip,
            LAT=repr(org.lat),
            LON=repr(org.lon),
            PHONE=org.phone,
            REVENUE=money(org.revenue),
            UTILIZATION=str(org.utilization),
        )


def provider_rows(practice: Practice) -> Iterable[Row]:
    """providers.csv rows with their final counters."""
    for org in practice.orgs:
        for prov in org.providers:
            yield make_row(
                "providers",
                Id=prov.id,
                ORGANIZATION=org.id,
                NAME=prov.name,
                GENDER=prov.gender,
                SPECIALITY="GENERAL PRACTICE",
                ADDRESS=org.address,
                CITY=org.town.name,
                STATE="MA",
                ZIP=org.zip,
                LAT=repr(org.lat),
                LON=repr(org.lon),
                ENCOUNTERS=str(prov.encounters),
                PROCEDURES=str(prov.procedures),
            )


def payer_rows(practice: Practice) -> Iterable[Row]:
    """payers.csv rows with their final statistics (QOLS_AVG is NaN without customers)."""
    for payer in practice.payers.values():
        c = payer.counts.get
        qols = repr(sum(payer.qols) / len(payer.qols)) if payer.qols else "NaN"
        yield make_row(
            "payers",
            Id=payer.id,
            NAME=payer.plan.name,
            OWNERSHIP=payer.plan.ownership,
            AMOUNT_COVERED=money(c("amount_covered", 0)),
            AMOUNT_UNCOVERED=money(c("amount_uncovered", 0)),
            REVENUE=money(c("member_months", 0) * payer.plan.premium),
            COVERED_ENCOUNTERS=str(c("covered_encounters", 0)),
            UNCOVERED_ENCOUNTERS=str(c("uncovered_encounters", 0)),
            COVERED_MEDICATIONS=str(c("covered_medications", 0)),
            UNCOVERED_MEDICATIONS=str(c("uncovered_medications", 0)),
            COVERED_PROCEDURES=str(c("covered_procedures", 0)),
            UNCOVERED_PROCEDURES=str(c("uncovered_procedures", 0)),
            COVERED_IMMUNIZATIONS=str(c("covered_immunizations", 0)),
            UNCOVERED_IMMUNIZATIONS=str(c("uncovered_immunizations", 0)),
            UNIQUE_CUSTOMERS=str(len(payer.qols)),
            QOLS_AVG=qols,
            MEMBER_MONTHS=str(c("member_months", 0)),
        )


# --------------------------------------------------------------------------------------------
# Patients: demographics
# --------------------------------------------------------------------------------------------


@dataclass
class Patient:
    """Demographics and the long-lived traits that drive a patient's history."""

    id: str
    birth: datetime
    death: datetime | None
    gender: str
    first: str
    last: str
    race: str
    ethnicity: str
    marital: str
    town: Town
    address: str
    income: int
    fields: dict[str, str] = field(default_factory=dict)
    smoking: str = SMOKING[0]
    employment: int = 0
    education: int = 0
    bmi: float = 25.0
    adult_height: float = 170.0
    household: int = 2
    qols: float = 0.9

    def age(self, moment: datetime) -> float:
        """Age in years at ``moment``."""
        return years_between(self.birth, moment)


def _age_years(rng: random.Random) -> float:
    """A practice-like age distribution (children, adults, elderly)."""
    band = rng.choices(((0, 18), (18, 45), (45, 65), (65, 95)), weights=(22, 35, 25, 18))[0]
    return max(0.05, rng.uniform(*band))


def _death(rng: random.Random, birth: datetime, start: datetime, due: bool) -> datetime | None:
    """A death within the window when one is ``due``, for adults, older ones more likely."""
    age = years_between(birth, REFERENCE_DATE)
    if not due or age < 25 or rng.random() >= age / 80:
        return None
    first = max(start, birth + timedelta(days=400))
    span = (REFERENCE_DATE - timedelta(days=30) - first).days
    if span <= 0:
        return None
    return datetime.combine((first + timedelta(days=rng.randrange(span))).date(), birth.time())


def _marital(rng: random.Random, age: float) -> str:
    """Marital status: empty for minors, M/S/D/W (rarely unknown) for adults."""
    if age < 18:
        return ""
    widowed = 12 if age >= 65 else 1
    return rng.choices(("M", "S", "D", "W", ""), weights=(50, 28, 10, widowed, 4))[0]


def make_patient(rng: random.Random, start: datetime, death_due: bool = False) -> Patient:
    """Draw a patient's demographics; ``start`` is the first day of the history window.

    ``death_due`` says a death is owed to keep the practice at about one in twelve deceased.
    """
    age = _age_years(rng)
    clock = timedelta(seconds=rng.randrange(86400))
    birth = (
        datetime.combine(
            (REFERENCE_DATE - timedelta(days=age * 365.25)).date(), datetime.min.time()
        )
        + clock
    )
    gender = rng.choice("FM")
    first, last = person_name(rng, gender)
    ethnicity = "hispanic" if rng.random() < 0.12 else "nonhispanic"
    patient = Patient(
        id=new_id(rng),
        birth=birth,
        death=_death(rng, birth, start, death_due),
        gender=gender,
        first=first,
        last=last,
        race=rng.choices(RACES, weights=RACE_WEIGHTS)[0],
        ethnicity=ethnicity,
        marital=_marital(rng, age),
        town=rng.choice(TOWNS),
        address=street_address(rng),
        income=int(rng.lognormvariate(11.0, 0.9)),
    )
    _identity_fields(rng, patient, age)
    _traits(rng, patient, age)
    return patient


def _identity_fields(rng: random.Random, p: Patient, age: float) -> None:
    """SSN, driver's licence, passport, prefix, suffix, maiden name, address quirks."""
    f = p.fields
    f["SSN"] = f"999-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if age >= 16:
        f["DRIVERS"] = f"S999{rng.randint(10000, 99999)}"
    if age >= 18:
        if rng.random() < 0.75:
            f["PASSPORT"] = f"X{rng.randint(10000000, 99999999)}X"
        f["PREFIX"] = "Mr." if p.gender == "M" else ("Mrs." if p.marital == "M" else "Ms.")
        if rng.random() < 0.03:
            f["SUFFIX"] = rng.choice(("PhD", "JD", "MD"))
        if p.gender == "F" and p.marital in ("M", "W", "D") and rng.random() < 0.8:
            f["MAIDEN"] = last_name(rng)
    f["BIRTHPLACE"] = f"{rng.choice(TOWNS).name}  Massachusetts  US"
    missing_geo = rng.random() < 0.05  # Synthea sometimes has no FIPS and a 00000 ZIP
    f["FIPS"] = "" if missing_geo else p.town.fips
    f["ZIP"] = "00000" if missing_geo else p.town.zip
    f["LAT"] = repr(p.town.lat + rng.uniform(-0.05, 0.05))
    f["LON"] = repr(p.town.lon + rng.uniform(-0.05, 0.05))


def _traits(rng: random.Random, p: Patient, age: float) -> None:
    """Smoking, employment, education, body size, household, quality of life."""
    if age >= 18:
        p.smoking = rng.choices(SMOKING, weights=(72, 17, 11))[0]
        p.employment = rng.choices(range(4), weights=(55, 15, 8, 22 if age < 65 else 200))[0]
        p.education = rng.choices(range(3), weights=(55, 38, 7))[0]
    p.bmi = min(45.0, max(17.5, rng.gauss(27.5, 5.0)))
    p.adult_height = rng.gauss(163.0, 6.5) if p.gender == "F" else rng.gauss(177.0, 7.0)
    p.household = rng.randint(1, 6)
    p.qols = round(rng.uniform(0.7, 1.0), 3)


def patient_row(p: Patient, expenses: int, coverage: int) -> Row:
    """patients.csv row (financial totals summarise the generated history)."""
    return make_row(
        "patients",
        Id=p.id,
        BIRTHDATE=p.birth.date().isoformat(),
        DEATHDATE=p.death.date().isoformat() if p.death else "",
        FIRST=p.first,
        LAST=p.last,
        MARITAL=p.marital,
        RACE=p.race,
        ETHNICITY=p.ethnicity,
        GENDER=p.gender,
        ADDRESS=p.address,
        CITY=p.town.name,
        STATE="Massachusetts",
        COUNTY=p.town.county,
        HEALTHCARE_EXPENSES=money(expenses),
        HEALTHCARE_COVERAGE=money(coverage),
        INCOME=str(p.income),
        **p.fields,
    )


# --------------------------------------------------------------------------------------------
# Patients: coverage history
# --------------------------------------------------------------------------------------------


@dataclass
class Coverage:
    """One payer period (a payer_transitions row)."""

    start: datetime
    end: datetime
    payer: Payer
    secondary: Payer | None


def _choose_payer(
    rng: random.Random, practice: Practice, p: Patient, age: float, previous: Payer | None
) -> Payer:
    """Medicare for the elderly, Medicaid for low incomes, otherwise private or none."""
    payers = practice.payers
    if age >= 65:
        return payers["Dual Eligible" if p.income < 15000 else "Medicare"]
    if p.income < 25000:
        return payers["Medicaid"]
    if previous is not None and previous.plan.ownership == "PRIVATE" and rng.random() < 0.9:
        return previous
    if rng.random() < 0.06:
        return payers["NO_INSURANCE"]
    return payers[rng.choice(PRIVATE_PAYERS)]


def coverage_history(
    rng: random.Random, practice: Practice, p: Patient, start: datetime, end: datetime
) -> list[Coverage]:
    """Yearly payer periods from ``start`` until ``end`` (the last may run past it)."""
    periods: list[Coverage] = []
    secondary = practice.payers["Blue Cross Blue Shield"] if rng.random() < 0.3 else None
    moment, payer = start, None
    while moment < end:
        stop = moment + timedelta(days=rng.randint(358, 372))
        payer = _choose_payer(rng, practice, p, p.age(moment), payer)
        second = secondary if payer.plan.name == "Medicare" else None
        periods.append(Coverage(moment, min(stop, p.death) if p.death else stop, payer, second))
        moment = stop
    return periods


def coverage_rows(rng: random.Random, p: Patient, periods: Sequence[Coverage]) -> list[Row]:
    """payer_transitions.csv rows; also feeds the payers' member counters."""
    guardian = f"{person_name(rng, rng.choice('FM'))[0]} {p.last}"
    spouse_plan = p.marital == "M" and rng.random() < 0.3
    rows = []
    for cov in periods:
        owner, name = _plan_owner(p, cov, guardian, spouse_plan)
        insured = cov.payer.plan.name != "NO_INSURANCE"
        rows.append(
            make_row(
                "payer_transitions",
                PATIENT=p.id,
                MEMBERID=new_id(rng) if insured else "",
                START_DATE=fmt_dt(cov.start),
                END_DATE=fmt_dt(cov.end),
                PAYER=cov.payer.id,
                SECONDARY_PAYER=cov.secondary.id if cov.secondary else "",
                PLAN_OWNERSHIP=owner,
                OWNER_NAME=name,
            )
        )
        cov.payer.add("member_months", months_between(cov.start, cov.end))
    for payer in {c.payer.plan.name: c.payer for c in periods}.values():
        payer.qols.append(p.qols)
    return rows


def _plan_owner(p: Patient, cov: Coverage, guardian: str, spouse_plan: bool) -> tuple[str, str]:
    """PLAN_OWNERSHIP and OWNER_NAME for one period."""
    if cov.payer.plan.name == "NO_INSURANCE":
        return "", ""
    if p.age(cov.start) < 18:
        return "Guardian", guardian
    if spouse_plan and cov.payer.plan.ownership == "PRIVATE":
        return "Spouse", f"{'Mrs.' if p.gender == 'M' else 'Mr.'} {p.last}"
    return "Self", f"{p.first} {p.last}"


# --------------------------------------------------------------------------------------------
# Patients: visit plan
# --------------------------------------------------------------------------------------------


@dataclass(order=True)
class Visit:
    """A planned encounter: when, what kind, and its subject (episode, chronic key, ...)."""

    when: datetime
    kind: str = field(compare=False)
    subject: Any = field(compare=False, default=None)


def wellness_times(
    rng: random.Random, p: Patient, start: datetime, end: datetime
) -> list[datetime]:
    """Well-child visits on the usual schedule, then (nearly) yearly check-ups."""
    times = [p.birth + timedelta(days=round(m * 30.44)) for m in CHILD_SCHEDULE if m <= 36]
    times += [p.birth + timedelta(days=round(m * 30.44)) for m in (9, 24, 30, 36)]
    for year in range(4, 110):
        keep = 0.7 if 18 <= year < 50 else 0.92
        if rng.random() < keep:
            times.append(p.birth + timedelta(days=round(year * 365.25) + rng.randint(0, 40)))
    last = end - timedelta(days=2)
    return sorted(t for t in times if start <= t < last)


def _pick_chronics(rng: random.Random, p: Patient) -> list[tuple[Chronic, float]]:
    """Chronic conditions this patient will have, with the age at onset."""
    age_now = p.age(p.death or REFERENCE_DATE)
    chosen: dict[str, tuple[Chronic, float]] = {}
    for chronic in CHRONICS:
        low, high = chronic.onset_ages
        prob = max((pr for a, pr in chronic.prevalence if age_now >= a), default=0.0)
        prob *= chronic.female_factor if p.gender == "F" else 1.0
        if age_now >= low and rng.random() < prob:
            chosen[chronic.key] = (chronic, rng.uniform(low, min(high, age_now)))
    for first, second in EXCLUSIVE:
        if first in chosen and second in chosen:
            del chosen[first]
    return list(chosen.values())


def _episode_weights(p: Patient, when: datetime) -> list[float]:
    """Relative weights of the acute episodes for this patient at ``when``."""
    age = p.age(when)
    return [
        0.0
        if (e.female_only and p.gender != "F")
        or not e.ages[0] <= age < e.ages[1]
        or (e.since and when < e.since)
        else e.weight
        for e in EPISODES
    ]


def acute_visits(rng: random.Random, p: Patient, start: datetime, end: datetime) -> list[Visit]:
    """Acute episodes (about 0.6 a year, more for young children) and fracture check-ups."""
    visits: list[Visit] = []
    days = (end - start).days - 2
    expected = max(0.0, days / 365.25) * (1.1 if p.age(end) < 10 else 0.6)
    for _ in range(_poisson(rng, expected)):
        when = start + timedelta(days=rng.randrange(max(1, days)))
        weights = _episode_weights(p, when)
        if sum(weights) <= 0:
            continue
        episode = rng.choices(EPISODES, weights=weights)[0]
        visits.append(Visit(when, "acute", episode))
        if episode.followup:
            visits.append(Visit(when + timedelta(days=rng.randint(28, 56)), "checkup", episode))
    return visits


def _poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson-distributed count (Knuth's method; means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def followup_visits(
    rng: random.Random, chronics: Sequence[tuple[Chronic, int]], wellness: Sequence[datetime]
) -> list[Visit]:
    """One problem-focused visit a year for chronic conditions that have a follow-up."""
    visits = []
    for chronic, index in chronics:
        if chronic.followup is None:
            continue
        for moment in wellness[index:]:
            visits.append(
                Visit(moment + timedelta(days=rng.randint(150, 210)), "followup", chronic)
            )
    return visits


def at_clock(moment: datetime, clock: datetime) -> datetime:
    """``moment``'s day at ``clock``'s time of day (a patient's encounters share one)."""
    return datetime.combine(moment.date(), clock.time())


def schedule(
    visits: list[Visit], wellness: Sequence[datetime], end: datetime, clock: datetime
) -> list[Visit]:
    """Sort visits, keep one encounter per calendar day (wellness has priority), drop late."""
    used = {t.date() for t in wellness}
    kept = [Visit(t, "wellness", i) for i, t in enumerate(wellness)]
    for visit in sorted(visits):
        when = at_clock(visit.when, clock)
        while when.date() in used:
            when += timedelta(days=1)
        if when < end - timedelta(days=1):
            used.add(when.date())
            kept.append(Visit(when, visit.kind, visit.subject))
    return sorted(kept)


# --------------------------------------------------------------------------------------------
# Patients: history builder
# --------------------------------------------------------------------------------------------


@dataclass
class Encounter:
    """An encounter being built: identity, timing, parties and running totals."""

    id: str
    start: datetime
    enc_class: str
    code: Code
    org: Org
    provider: Provider
    coverage: Coverage
    reason: Code | None = None
    cursor: datetime = REFERENCE_DATE
    stop: datetime = REFERENCE_DATE
    total: int = 0
    diagnoses: list[str] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def diagnose(self, code: str) -> None:
        """Add a diagnosis code to the claim (once)."""
        if code not in self.diagnoses:
            self.diagnoses.append(code)

    def first_time(self, table: str, code: str) -> bool:
        """True the first time ``code`` is recorded in ``table`` for this encounter."""
        key = (table, code)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


@dataclass
class ActiveChronic:
    """A chronic condition of the patient and the wellness index at which it is diagnosed."""

    chronic: Chronic
    index: int


class HistoryBuilder:
    """Builds every row of one patient's history, table by table, in chronological order."""

    def __init__(
        self,
        rng: random.Random,
        practice: Practice,
        patient: Patient,
        start: datetime,
        counters: dict[str, int],
    ) -> None:
        """Prepare the plan (coverage, wellness schedule, chronic conditions, visits)."""
        self.rng, self.practice, self.p = rng, practice, patient
        self.counters = counters
        self.end = patient.death or REFERENCE_DATE
        self.rows: dict[str, list[Row]] = {table: [] for table in HEADERS}
        first = max(at_clock(start, patient.birth), patient.birth)
        self.coverage = coverage_history(rng, practice, patient, first, self.end)
        self._coverage_starts = [c.start for c in self.coverage]
        self.clinic = rng.choice(practice.clinics)
        self.hospital = rng.choice(practice.hospitals)
        self.wellness = wellness_times(rng, patient, first, self.end)
        self.chronics = self._diagnosis_plan(rng)
        self.bmi = patient.bmi
        self.td_year = rng.randint(-9, 0)
        self.expenses = 0
        self.covered = 0
        self.obese = False
        self.visits = self._plan(rng, first)

    def _diagnosis_plan(self, rng: random.Random) -> list[ActiveChronic]:
        """Map each chronic condition to the first wellness visit at or after its onset."""
        plan = []
        for chronic, onset_age in _pick_chronics(rng, self.p):
            onset = self.p.birth + timedelta(days=onset_age * 365.25)
            index = bisect.bisect_left(self.wellness, onset)
            if index >= len(self.wellness):
                continue
            # Onset long before the first visit of the window: recorded there, if plausible.
            belated = self.p.age(self.wellness[index]) > onset_age + 1
            if chronic.pre_window or not belated:
                plan.append(ActiveChronic(chronic, index))
        return plan

    def _plan(self, rng: random.Random, first: datetime) -> list[Visit]:
        """All visits of the window, one per day, chronologically."""
        extra = acute_visits(rng, self.p, first, self.end)
        extra += followup_visits(rng, [(a.chronic, a.index) for a in self.chronics], self.wellness)
        if rng.random() < 0.15 and self.end - first > timedelta(days=30):
            span = (self.end - first).days - 2
            extra.append(Visit(first + timedelta(days=rng.randrange(span)), "allergy"))
        visits = schedule(extra, self.wellness, self.end, self.p.birth)
        if self.p.death:
            visits.append(Visit(self.p.death, "death"))
        return visits

    # ---- running the plan ------------------------------------------------------------------

    def build(self) -> dict[str, list[Row]]:
        """Generate all rows for the patient and return them by table."""
        self.rows["payer_transitions"] = coverage_rows(self.rng, self.p, self.coverage)
        handlers = {
            "wellness": self._wellness,
            "acute": self._acute,
            "checkup": self._checkup,
            "followup": self._followup,
            "allergy": self._allergy,
            "death": self._death,
        }
        for visit in self.visits:
            handlers[visit.kind](visit)
        self.rows["patients"] = [patient_row(self.p, self.expenses, self.covered)]
        return self.rows

    def _coverage_at(self, moment: datetime) -> Coverage:
        """The payer period in force at ``moment``."""
        index = bisect.bisect_right(self._coverage_starts, moment) - 1
        return self.coverage[max(0, index)]

    def _open(
        self,
        when: datetime,
        enc_class: str,
        code: Code,
        reason: Code | None = None,
    ) -> Encounter:
        """Start an encounter at the right organization with a provider of that organization."""
        hospital = enc_class in ("emergency", "urgentcare", "inpatient")
        org = self.hospital if hospital else self.clinic
        provider = org.providers[0 if self.rng.random() < 0.85 else 1]
        enc = Encounter(
            new_id(self.rng),
            when,
            enc_class,
            code,
            org,
            provider,
            self._coverage_at(when),
            reason,
            cursor=when,
            stop=when,
        )
        enc.total = ENCOUNTER_COST[enc_class]
        if reason:
            enc.diagnose(reason[0])
        return enc

    def _close(self, enc: Encounter, minimum: timedelta) -> None:
        """Write the encounter and its claim, and update every counter."""
        enc.stop = max(enc.stop, enc.start + minimum)
        payer = enc.coverage.payer
        covered = self._coverage(enc.total, payer)
        self.rows["encounters"].append(
            make_row(
                "encounters",
                Id=enc.id,
                START=fmt_dt(enc.start),
                STOP=fmt_dt(enc.stop),
                PATIENT=self.p.id,
                ORGANIZATION=enc.org.id,
                PROVIDER=enc.provider.id,
                PAYER=payer.id,
                ENCOUNTERCLASS=enc.enc_class,
                CODE=enc.code[0],
                DESCRIPTION=enc.code[1],
                BASE_ENCOUNTER_COST=money(ENCOUNTER_COST[enc.enc_class]),
                TOTAL_CLAIM_COST=money(enc.total),
                PAYER_COVERAGE=money(covered),
                REASONCODE=enc.reason[0] if enc.reason else "",
                REASONDESCRIPTION=enc.reason[1] if enc.reason else "",
            )
        )
        self._claim(enc, covered)
        self._account(enc, payer, covered)

    def _account(self, enc: Encounter, payer: Payer, covered: int) -> None:
        """Update patient, payer, organization and provider counters for a closed encounter."""
        self.expenses += enc.total - covered
        self.covered += covered
        payer.add("amount_covered", covered)
        payer.add("amount_uncovered", enc.total - covered)
        payer.add("covered_encounters" if covered else "uncovered_encounters")
        enc.org.revenue += enc.total
        enc.org.utilization += 1
        enc.provider.encounters += 1

    @staticmethod
    def _coverage(amount: int, payer: Payer) -> int:
        """What the payer pays of ``amount`` cents (after the copay, at its rate)."""
        return max(0, int((amount - payer.plan.copay) * payer.plan.rate))

    # ---- claims ----------------------------------------------------------------------------

    def _claim(self, enc: Encounter, covered: int) -> None:
        """One claim per encounter: a CHARGE, then the payer's and the patient's payments."""
        claim_id = new_id(self.rng)
        cov = enc.coverage
        insured = cov.payer.plan.name != "NO_INSURANCE"
        department = DEPARTMENT[enc.enc_class]
        claim_type = "1" if enc.enc_class == "wellness" else "2"
        diagnoses = {f"DIAGNOSIS{i}": code for i, code in enumerate(enc.diagnoses[:8], 1)}
        self.rows["claims"].append(
            make_row(
                "claims",
                Id=claim_id,
                PATIENTID=self.p.id,
                PROVIDERID=enc.provider.id,
                PRIMARYPATIENTINSURANCEID=cov.payer.id if insured else "",
                SECONDARYPATIENTINSURANCEID=cov.secondary.id if cov.secondary else "",
                DEPARTMENTID=department,
                PATIENTDEPARTMENTID=department,
                APPOINTMENTID=enc.id,
                CURRENTILLNESSDATE=fmt_dt(enc.start),
                SERVICEDATE=fmt_dt(enc.start),
                SUPERVISINGPROVIDERID=enc.provider.id,
                STATUS1="CLOSED",
                STATUS2="" if cov.secondary else "CLOSED",
                STATUSP="CLOSED",
                OUTSTANDING1="0",
                OUTSTANDING2="0",
                OUTSTANDINGP="0",
                LASTBILLEDDATE1=fmt_dt(enc.stop),
                LASTBILLEDDATE2=fmt_dt(enc.stop),
                LASTBILLEDDATEP=fmt_dt(enc.stop),
                HEALTHCARECLAIMTYPEID1=claim_type,
                HEALTHCARECLAIMTYPEID2="0" if cov.secondary else claim_type,
                **diagnoses,
            )
        )
        self._transactions(enc, claim_id, covered)

    def _transactions(self, enc: Encounter, claim_id: str, covered: int) -> None:
        """claims_transactions rows whose payments settle the charge exactly."""
        common = {
            "CLAIMID": claim_id,
            "PATIENTID": self.p.id,
            "FROMDATE": fmt_dt(enc.start),
            "TODATE": fmt_dt(enc.stop),
            "PLACEOFSERVICE": enc.org.id,
            "PROCEDURECODE": enc.code[0],
            "UNITS": "1",
            "DEPARTMENTID": DEPARTMENT[enc.enc_class],
            "NOTES": enc.code[1],
            "APPOINTMENTID": enc.id,
            "PATIENTINSURANCEID": self.p.id,
            "FEESCHEDULEID": "1",
            "PROVIDERID": enc.provider.id,
            "SUPERVISINGPROVIDERID": enc.provider.id,
            **{f"DIAGNOSISREF{i}": str(i) for i in range(1, min(4, len(enc.diagnoses)) + 1)},
        }
        self._transaction(
            common,
            TYPE="CHARGE",
            AMOUNT=money(enc.total),
            UNITAMOUNT=money(enc.total),
            TRANSFERTYPE="1",
            PAYMENTS="0.00",
            ADJUSTMENTS="0.00",
            OUTSTANDING=money(enc.total),
        )
        remaining = enc.total - covered
        if covered:
            self._transaction(
                common,
                TYPE="PAYMENT",
                METHOD="ECHECK",
                UNITAMOUNT="0.00",
                PAYMENTS=money(covered),
                ADJUSTMENTS="0.00",
                OUTSTANDING=money(remaining),
            )
        if remaining:
            method = self.rng.choice(("COPAY", "CASH", "CHECK", "CC"))
            self._transaction(
                common,
                TYPE="PAYMENT",
                METHOD=method,
                UNITAMOUNT="0.00",
                PAYMENTS=money(remaining),
                ADJUSTMENTS="0.00",
                OUTSTANDING="0.00",
            )

    def _transaction(self, common: dict[str, str], **values: str) -> None:
        """Append one claims_transactions row with the next CHARGEID."""
        self.counters["charge"] += 1
        self.rows["claims_transactions"].append(
            make_row(
                "claims_transactions",
                ID=new_id(self.rng),
                CHARGEID=str(self.counters["charge"]),
                **common,
                **values,
            )
        )

    # ---- clinical rows ---------------------------------------------------------------------

    def condition(self, enc: Encounter, code: Code, stop: datetime | None = None) -> None:
        """Record a condition diagnosed at ``enc`` (STOP empty while it is active)."""
        if not enc.first_time("conditions", code[0]):
            return
        self.rows["conditions"].append(
            make_row(
                "conditions",
                START=fmt_local_date(enc.start),
                STOP=fmt_local_date(stop) if stop else "",
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=code[0],
                DESCRIPTION=code[1],
            )
        )
        enc.diagnose(code[0])

    def observation(
        self,
        enc: Encounter,
        when: datetime,
        category: str,
        code: str,
        desc: str,
        value: str,
        unit: str = "",
        kind: str = "numeric",
    ) -> None:
        """Record one observation value (one row per value, as Synthea does)."""
        if not enc.first_time("observations", code):
            return
        self.rows["observations"].append(
            make_row(
                "observations",
                DATE=fmt_dt(when),
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CATEGORY=category,
                CODE=code,
                DESCRIPTION=desc,
                VALUE=value,
                UNITS=unit,
                TYPE=kind,
            )
        )

    def measure(self, enc: Encounter, lab: Lab, shift: dict[str, float] | None = None) -> None:
        """Record a numeric lab or vital sign drawn around its (possibly shifted) mean."""
        mean = (shift or {}).get(lab.code, lab.mean)
        value = max(0.1, self.rng.gauss(mean, lab.sd * (mean / lab.mean) ** 0.5))
        if lab.whole:
            value = round(value)
        self.observation(enc, enc.start, lab.category, lab.code, lab.desc, num(value), lab.unit)

    def procedure(
        self, enc: Encounter, code: Code, minutes: int, reason: Code | None = None
    ) -> datetime:
        """Record a procedure starting at the encounter's cursor; return its end."""
        if not enc.first_time("procedures", code[0]):
            return enc.cursor
        start, stop = enc.cursor, enc.cursor + timedelta(minutes=minutes)
        enc.cursor = enc.stop = max(enc.stop, stop)
        cost = PROCEDURE_COST.get(code[0], DEFAULT_PROCEDURE_COST)
        self.rows["procedures"].append(
            make_row(
                "procedures",
                START=fmt_dt(start),
                STOP=fmt_dt(stop),
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=code[0],
                DESCRIPTION=code[1],
                BASE_COST=money(cost),
                REASONCODE=reason[0] if reason else "",
                REASONDESCRIPTION=reason[1] if reason else "",
            )
        )
        enc.total += cost
        enc.provider.procedures += 1
        payer = enc.coverage.payer
        payer.add("covered_procedures" if self._coverage(cost, payer) else "uncovered_procedures")
        return stop

    def medication(
        self, enc: Encounter, med: Med, stop: datetime | None, reason: Code | None
    ) -> None:
        """Record a prescription; TOTALCOST covers every dispense until STOP (or the end)."""
        key = f"{med.code}@{fmt_dt(stop) if stop else ''}"
        if not enc.first_time("medications", key):
            return
        cost = round(med.cost * self.rng.uniform(0.95, 1.05))
        dispenses = (
            months_between(enc.start, stop or self.end)
            if stop is None or (stop - enc.start).days > 45
            else 1
        )
        payer = enc.coverage.payer
        covered = self._coverage(cost, payer)
        reason = reason if med.with_reason else None
        self.rows["medications"].append(
            make_row(
                "medications",
                START=fmt_dt(enc.start),
                STOP=fmt_dt(stop) if stop else "",
                PATIENT=self.p.id,
                PAYER=payer.id,
                ENCOUNTER=enc.id,
                CODE=med.code,
                DESCRIPTION=med.desc,
                BASE_COST=money(cost),
                PAYER_COVERAGE=money(covered),
                DISPENSES=str(dispenses),
                TOTALCOST=money(cost * dispenses),
                REASONCODE=reason[0] if reason else "",
                REASONDESCRIPTION=reason[1] if reason else "",
            )
        )
        enc.total += cost
        payer.add("covered_medications" if covered else "uncovered_medications")

    def immunization(self, enc: Encounter, cvx: str) -> None:
        """Record a vaccine given at the encounter's start."""
        if not enc.first_time("immunizations", cvx):
            return
        self.rows["immunizations"].append(
            make_row(
                "immunizations",
                DATE=fmt_dt(enc.start),
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=cvx,
                DESCRIPTION=CVX[cvx],
                BASE_COST=money(IMMUNIZATION_COST),
            )
        )
        enc.total += IMMUNIZATION_COST
        payer = enc.coverage.payer
        covered = self._coverage(IMMUNIZATION_COST, payer)
        payer.add("covered_immunizations" if covered else "uncovered_immunizations")

    def careplan(
        self, enc: Encounter, code: Code, stop: datetime | None, reason: Code | None
    ) -> None:
        """Record a care plan (local dates; STOP empty while it is active)."""
        self.rows["careplans"].append(
            make_row(
                "careplans",
                Id=new_id(self.rng),
                START=fmt_local_date(enc.start),
                STOP=fmt_local_date(stop) if stop else "",
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=code[0],
                DESCRIPTION=code[1],
                REASONCODE=reason[0] if reason else "",
                REASONDESCRIPTION=reason[1] if reason else "",
            )
        )

    def device(self, enc: Encounter, code: Code, stop: datetime | None = None) -> None:
        """Record a device with a GS1-style UDI string."""
        if not enc.first_time("devices", code[0]):
            return
        made = enc.start - timedelta(days=self.rng.randint(10, 30))
        expires = made + timedelta(days=365 * 25)
        udi = (
            f"(01){self.rng.randrange(10**13, 10**14)}(11){made:%y%m%d}(17){expires:%y%m%d}"
            f"(10){self.rng.randrange(10**3, 10**12)}(21){self.rng.randrange(10**3, 10**12)}"
        )
        self.rows["devices"].append(
            make_row(
                "devices",
                START=fmt_dt(enc.start),
                STOP=fmt_dt(stop) if stop else "",
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=code[0],
                DESCRIPTION=code[1],
                UDI=udi,
            )
        )

    def supply(self, enc: Encounter, code: Code, quantity: int) -> None:
        """Record supplies handed out at the encounter (local date)."""
        if not enc.first_time("supplies", code[0]):
            return
        self.rows["supplies"].append(
            make_row(
                "supplies",
                DATE=fmt_local_date(enc.start),
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=code[0],
                DESCRIPTION=code[1],
                QUANTITY=str(quantity),
            )
        )

    def imaging(self, enc: Encounter, study: Imaging, reason: Code | None) -> None:
        """Record an imaging study and the procedure that produced it."""
        taken = enc.cursor
        self.procedure(enc, study.procedure, self.rng.randint(15, 40), reason)
        millis = int((taken - datetime(1970, 1, 1)).total_seconds()) * 1000
        millis += self.rng.randrange(1000)
        self.rows["imaging_studies"].append(
            make_row(
                "imaging_studies",
                Id=new_id(self.rng),
                DATE=fmt_dt(taken),
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                SERIES_UID=f"1.2.840.99999999.1.{self.rng.randrange(10**7, 10**8)}.{millis}",
                BODYSITE_CODE=study.bodysite[0],
                BODYSITE_DESCRIPTION=study.bodysite[1],
                MODALITY_CODE=study.modality[0],
                MODALITY_DESCRIPTION=study.modality[1],
                INSTANCE_UID=f"1.2.840.99999999.1.1.{self.rng.randrange(10**7, 10**8)}.{millis}",
                SOP_CODE=study.sop[0],
                SOP_DESCRIPTION=study.sop[1],
                PROCEDURE_CODE=study.procedure[0],
            )
        )

    def allergy(self, enc: Encounter, allergen: Allergen, stop: datetime | None) -> None:
        """Record an allergy or intolerance with zero to two graded reactions."""
        if not enc.first_time("allergies", allergen.code):
            return
        reactions: dict[str, str] = {}
        picked = [r for r in allergen.reactions if self.rng.random() < 0.35][:2]
        for i, key in enumerate(picked, 1):
            severe = "SEVERE" if key == "anaphylaxis" else self.rng.choice(("MILD", "MODERATE"))
            reactions |= {
                f"REACTION{i}": REACTIONS[key][0],
                f"DESCRIPTION{i}": REACTIONS[key][1],
                f"SEVERITY{i}": severe,
            }
        self.rows["allergies"].append(
            make_row(
                "allergies",
                START=fmt_local_date(enc.start),
                STOP=fmt_local_date(stop) if stop else "",
                PATIENT=self.p.id,
                ENCOUNTER=enc.id,
                CODE=allergen.code,
                SYSTEM=allergen.system,
                DESCRIPTION=allergen.desc,
                TYPE=allergen.kind,
                CATEGORY=allergen.category,
                **reactions,
            )
        )

    # ---- wellness --------------------------------------------------------------------------

    def _wellness(self, visit: Visit) -> None:
        """A check-up: diagnoses, vitals, labs, screenings, renewals, vaccines, supplies."""
        index: int = visit.subject
        age = self.p.age(visit.when)
        enc = self._open(visit.when, "wellness", ADULT_EXAM if age >= 18 else CHILD_EXAM)
        following = self.wellness[index + 1] if index + 1 < len(self.wellness) else None
        active = [a for a in self.chronics if a.index <= index]
        self._diagnose(enc, [a for a in active if a.index == index])
        self._vitals(enc, age, active)
        self._labs(enc, age, index, active)
        self.observation(
            enc,
            enc.start,
            "social-history",
            "72166-2",
            "Tobacco smoking status",
            self.p.smoking if age >= 18 else SMOKING[0],
            kind="text",
        )
        self._social(enc, age, index, following)
        self._renewals(enc, active, following)
        self._screenings(enc, age)
        self._vaccines(enc, age)
        for chronic in (a.chronic for a in active):
            for code, quantity in chronic.supplies:
                self.supply(enc, code, quantity)
        if age >= 70 and self.rng.random() < 0.08:
            self.device(enc, WHEELCHAIR, enc.start + timedelta(days=self.rng.randint(30, 180)))
        self._close(enc, timedelta(minutes=15))

    def _diagnose(self, enc: Encounter, new: Sequence[ActiveChronic]) -> None:
        """Chronic conditions first recorded at this check-up, with their plans and devices."""
        for active in new:
            chronic = active.chronic
            self.condition(enc, chronic.condition)
            if chronic.careplan:
                self.careplan(enc, chronic.careplan, None, chronic.condition)
            if chronic.device:
                self.device(enc, chronic.device)

    def _vitals(self, enc: Encounter, age: float, active: Sequence[ActiveChronic]) -> None:
        """Height, pain, weight, BMI, blood pressure pair, heart and respiratory rates."""
        height, weight, bmi = self._body(age)
        vital = functools.partial(self.observation, enc, enc.start, "vital-signs")
        vital("8302-2", "Body Height", num(height), "cm")
        pain = self.rng.choices(range(5), weights=(50, 15, 15, 12, 8))[0]
        vital(
            "72514-3",
            "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
            num(pain),
            "{score}",
        )
        vital("29463-7", "Body Weight", num(weight), "kg")
        if age < 2:
            vital("9843-4", "Head Occipital-frontal circumference", num(35 + 8 * age**0.5), "cm")
        else:
            vital("39156-5", "Body mass index (BMI) [Ratio]", num(bmi), "kg/m2")
            self._blood_pressure(enc, age, any(a.chronic.key == "hypertension" for a in active))
        self.measure(enc, HEART_RATE)
        self.measure(enc, RESPIRATORY_RATE)
        if age >= 18 and bmi >= 30 and not self.obese:
            self.obese = True
            self.condition(enc, OBESITY)

    def _body(self, age: float) -> tuple[float, float, float]:
        """Height (cm), weight (kg) and BMI at ``age``; adult BMI drifts slowly."""
        if age >= 18:
            self.bmi = min(48.0, max(16.5, self.bmi + self.rng.gauss(0.1, 0.5)))
            height, bmi = self.p.adult_height, self.bmi
        else:
            height = self.p.adult_height * _growth_fraction(age)
            bmi = _child_bmi(age) + (self.p.bmi - 27.5) * 0.15
        height += self.rng.gauss(0, 0.3)
        return height, bmi * (height / 100) ** 2, bmi

    def _blood_pressure(self, enc: Encounter, age: float, hypertensive: bool) -> None:
        """The blood pressure panel: diastolic then systolic, same timestamp, adjacent rows."""
        systolic = self.rng.gauss(100 + min(age, 70) * 0.35 + (18 if hypertensive else 0), 9)
        diastolic = min(systolic - 25, self.rng.gauss(72 + (10 if hypertensive else 0), 7))
        vital = functools.partial(self.observation, enc, enc.start, "vital-signs")
        vital("8462-4", "Diastolic Blood Pressure", num(round(diastolic)), "mm[Hg]")
        vital("8480-6", "Systolic Blood Pressure", num(round(systolic)), "mm[Hg]")

    def _labs(
        self, enc: Encounter, age: float, index: int, active: Sequence[ActiveChronic]
    ) -> None:
        """Panels due at this check-up: those of the chronic conditions, plus screening."""
        panels = [panel for a in active for panel in a.chronic.labs]
        if age >= 40 and index % 3 == 0:
            panels += ["lipids", "metabolic"]
        if self.rng.random() < 0.12:
            panels.append("cbc")
        shift: dict[str, float] = {}
        for a in active:
            shift |= LAB_SHIFTS.get(a.chronic.key, {})
        for panel in dict.fromkeys(panels):
            for lab in LABS[panel]:
                self.measure(enc, lab, shift)

    def _social(self, enc: Encounter, age: float, index: int, following: datetime | None) -> None:
        """Social findings Synthea records at adult check-ups (they end at the next one)."""
        if age < 18:
            return
        if age < 70:
            self.condition(enc, EMPLOYMENT[self.p.employment][0], following)
        if self.rng.random() < 0.25:
            self.condition(enc, STRESS, following)
        if index == 0 or self.p.age(self.wellness[index - 1]) < 18:
            self.condition(enc, EDUCATION[self.p.education][0])

    def _renewals(
        self, enc: Encounter, active: Sequence[ActiveChronic], following: datetime | None
    ) -> None:
        """Chronic prescriptions, renewed at each check-up until the next one."""
        stop = following or self.p.death
        meds = [(m, a.chronic.condition) for a in active for m in a.chronic.meds]
        for med, reason in meds:
            self.medication(enc, med, stop, reason)
        if meds:
            self.condition(enc, MEDICATION_REVIEW, following)
            self.procedure(enc, MED_RECONCILIATION, self.rng.randint(10, 20))

    def _screenings(self, enc: Encounter, age: float) -> None:
        """Adult screenings, chained one after another, each with its survey answers."""
        if age < 12:
            return
        if age >= 18:
            done = self.procedure(enc, SDOH_ASSESSMENT, self.rng.randint(20, 45))
            self._sdoh_survey(enc, done, age)
        for code, survey, top, chance in SCREENINGS:
            if (age >= 18 or code[0] in ("171207006", "454711000124102")) and (
                self.rng.random() < chance
            ):
                done = self.procedure(enc, code, self.rng.randint(8, 30))
                if survey:
                    score = min(top, int(self.rng.expovariate(1 / max(1.0, top / 6))))
                    self.observation(
                        enc, done, "survey", survey[0], survey[1], num(score), "{score}"
                    )

    def _sdoh_survey(self, enc: Encounter, when: datetime, age: float) -> None:
        """A subset of the PRAPARE social needs survey (text answers, one row each)."""
        payer = enc.coverage.payer.plan
        insurance = {"GOVERNMENT": payer.name, "PRIVATE": "Private insurance"}.get(
            payer.ownership, "None/uninsured"
        )
        hispanic = self.p.ethnicity == "hispanic"
        answers = (
            ("93038-8", "Stress level", self.rng.choice(STRESS_LEVELS), ""),
            (
                "63586-2",
                "What was your best estimate of the total income of all family members "
                "from all sources  before taxes  in last year?",
                str(self.p.income),
                "/a",
            ),
            ("76437-3", "Primary insurance", insurance, ""),
            (
                "67875-5",
                "Employment status - current",
                EMPLOYMENT[self.p.employment][1] if age < 70 else EMPLOYMENT[3][1],
                "",
            ),
            ("82589-3", "Highest level of education", EDUCATION[self.p.education][1], ""),
            ("56799-0", "Address", self.p.address, ""),
            ("71802-3", "Housing status", "I have housing", ""),
            (
                "54899-0",
                "Preferred language",
                "Spanish" if hispanic and self.rng.random() < 0.4 else "English",
                "",
            ),
            ("32624-9", "Race", RACE_SURVEY[self.p.race], ""),
            (
                "56051-6",
                "Do you consider yourself Hispanic/Latino?",
                "Yes" if hispanic else "No",
                "",
            ),
        )
        for code, desc, value, unit in answers:
            self.observation(enc, when, "survey", code, desc, value, unit, "text")
        self.observation(
            enc,
            when,
            "survey",
            "63512-8",
            "How many people are living or staying at this address?",
            num(self.p.household),
            "{#}",
        )

    def _vaccines(self, enc: Encounter, age: float) -> None:
        """Childhood schedule, yearly flu, COVID-19 from 2021, adult boosters."""
        months = age * 12
        for due, vaccines in CHILD_SCHEDULE.items():
            if abs(months - due) < 1.5:
                for cvx in vaccines:
                    self.immunization(enc, cvx)
        if age >= 0.5 and self.rng.random() < 0.75:
            self.immunization(enc, "140")
        if age >= 12 and enc.start.year >= 2021 and self.rng.random() < 0.6:
            self.immunization(enc, "208")
        self._adult_vaccines(enc, age)

    def _adult_vaccines(self, enc: Encounter, age: float) -> None:
        """Td every ten years, zoster after 50, pneumococcal after 65, some hepatitis B."""
        if age < 18:
            return
        if enc.start.year - (self.p.birth.year + 18 + self.td_year) >= 10:
            self.td_year = enc.start.year - self.p.birth.year - 18
            self.immunization(enc, "113")
        if 50 <= age < 51.2:
            self.immunization(enc, "187")
        if 65 <= age < 66.2:
            self.immunization(enc, "133")
        elif 66.2 <= age < 67.4:
            self.immunization(enc, "33")
        if age < 60 and self.rng.random() < 0.03:
            self.immunization(enc, "43")

    # ---- other visits ----------------------------------------------------------------------

    def _acute(self, visit: Visit) -> None:
        """The visit at which an acute episode is diagnosed and treated."""
        ep: Episode = visit.subject
        main = ep.conditions[0]
        enc = self._open(visit.when, ep.enc_class, ep.enc_code, main)
        resolved = visit.when + timedelta(days=self.rng.randint(*ep.days))
        for code in ep.same_day:
            self.condition(enc, code, visit.when)
        for code in ep.conditions:
            self.condition(enc, code, resolved)
        for lab in ep.vitals:
            self.measure(enc, lab)
        for loinc, desc, value in ep.text_labs:
            self.observation(enc, enc.start, "laboratory", loinc, desc, value, kind="text")
        if ep.imaging and (ep.key != "bronchitis" or self.rng.random() < 0.3):
            self.imaging(enc, ep.imaging, None)
        for code in ep.procedures:
            self.procedure(enc, code, self.rng.randint(15, 45), main)
        for med in ep.meds:
            self.medication(enc, med, visit.when + timedelta(days=self.rng.randint(7, 14)), main)
        if ep.careplan:
            self.careplan(enc, ep.careplan, resolved, main)
        for code, quantity in ep.supplies:
            self.supply(enc, code, quantity)
        self._close(enc, self._duration(ep.enc_class))

    def _duration(self, enc_class: str) -> timedelta:
        """Minimum length of an encounter of this class."""
        minutes = {"emergency": (60, 480), "inpatient": (1440, 4320), "urgentcare": (15, 45)}
        return timedelta(minutes=self.rng.randint(*minutes.get(enc_class, (15, 30))))

    def _checkup(self, visit: Visit) -> None:
        """Fracture check-up a few weeks after the emergency visit."""
        ep: Episode = visit.subject
        enc = self._open(visit.when, "outpatient", CHECKUP_VISIT, ep.conditions[0])
        self._close(enc, timedelta(minutes=self.rng.randint(15, 30)))

    def _followup(self, visit: Visit) -> None:
        """Yearly problem-focused visit for a chronic condition."""
        chronic: Chronic = visit.subject
        if chronic.followup is None:
            return
        enc_class, code, procedures, study = chronic.followup
        enc = self._open(visit.when, enc_class, code, chronic.condition)
        if chronic.key in ("hypertension", "diabetes"):
            self._blood_pressure(enc, self.p.age(visit.when), chronic.key == "hypertension")
        self.measure(enc, HEART_RATE)
        if chronic.key == "diabetes":
            self.measure(enc, LABS["a1c"][0], LAB_SHIFTS["diabetes"])
        for proc in procedures:
            self.procedure(enc, proc, self.rng.randint(10, 30), chronic.condition)
        if study:
            self.imaging(enc, study, chronic.condition)
        self._close(enc, timedelta(minutes=15))

    def _allergy(self, visit: Visit) -> None:
        """An allergist visit recording one to four allergies (and what treats them)."""
        enc = self._open(visit.when, "ambulatory", PROBLEM_VISIT, ALLERGY_TO_SUBSTANCE)
        picked = self.rng.sample(ALLERGENS, self.rng.randint(1, 4))
        if any(a.category == "environment" for a in picked):
            self.allergy(
                enc,
                Allergen(
                    ALLERGY_TO_SUBSTANCE[0],
                    "SNOMED-CT",
                    ALLERGY_TO_SUBSTANCE[1],
                    "allergy",
                    "environment",
                    (),
                ),
                None,
            )
        for allergen in picked:
            outgrown = allergen.category != "medication" and self.rng.random() < 0.15
            stop = visit.when + timedelta(days=self.rng.randint(200, 900)) if outgrown else None
            self.allergy(enc, allergen, stop if stop and stop < self.end else None)
        if any(a.category == "environment" for a in picked):
            self.medication(enc, ANTIHISTAMINE, None, None)
        if any(a.category == "food" for a in picked):
            self.medication(enc, EPINEPHRINE, None, None)
            self.careplan(enc, SELF_CARE, None, None)
        self._close(enc, timedelta(minutes=self.rng.randint(15, 40)))

    def _death(self, visit: Visit) -> None:
        """Death certification, with the cause of death as a text observation."""
        enc = self._open(visit.when, "wellness", DEATH_CERTIFICATION)
        causes = [a.chronic.condition[1] for a in self.chronics]
        cause = causes[-1] if causes else "Sudden cardiac death (disorder)"
        self.observation(
            enc,
            enc.start,
            "exam",
            "69453-9",
            "Cause of Death [US Standard Certificate of Death]",
            cause,
            kind="text",
        )
        self._close(enc, timedelta(minutes=15))


_GROWTH = (
    (0, 0.29),
    (0.5, 0.38),
    (1, 0.43),
    (2, 0.5),
    (3, 0.55),
    (5, 0.63),
    (8, 0.74),
    (10, 0.8),
    (12, 0.87),
    (14, 0.94),
    (16, 0.98),
    (18, 1.0),
)


def _growth_fraction(age: float) -> float:
    """Fraction of adult height reached at ``age`` (piecewise linear growth curve)."""
    for (a0, f0), (a1, f1) in zip(_GROWTH, _GROWTH[1:], strict=False):
        if age < a1:
            return f0 + (f1 - f0) * (age - a0) / (a1 - a0)
    return 1.0


def _child_bmi(age: float) -> float:
    """Typical BMI of a child of ``age`` years."""
    if age < 1:
        return 14 + 3 * age
    if age < 6:
        return 17 - 0.3 * (age - 1)
    return 15.5 + 0.45 * (age - 6)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


class CsvSink:
    """All 18 CSV files, opened once; rows are appended as patients are generated."""

    def __init__(self, out: Path) -> None:
        """Create ``out`` and open one writer per table, headers first."""
        out.mkdir(parents=True, exist_ok=True)
        self.counts = dict.fromkeys(HEADERS, 0)
        self._files = {
            t: (out / f"{t}.csv").open("w", newline="", encoding="utf-8") for t in HEADERS
        }
        self._writers = {t: csv.writer(f, lineterminator="\n") for t, f in self._files.items()}
        for table, writer in self._writers.items():
            writer.writerow(HEADERS[table])

    def write(self, table: str, rows: Iterable[Row]) -> None:
        """Append rows to ``table``."""
        rows = list(rows)
        self._writers[table].writerows(rows)
        self.counts[table] += len(rows)

    def close(self) -> None:
        """Flush and close every file."""
        for handle in self._files.values():
            handle.close()

    def __enter__(self) -> CsvSink:
        """Context manager entry."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the files whatever happened."""
        self.close()


def generate(
    n_patients: int, seed: int, out: Path, years: int = 10, progress: bool = True
) -> dict[str, int]:
    """Write a practice of ``n_patients`` with ``years`` of history into ``out``.

    Returns the number of data rows written per table. Deterministic for given arguments.
    """
    if n_patients < 1 or years < 1:
        raise ValueError("patients and years must be at least 1")
    master = random.Random(seed)
    practice = make_practice(master, n_patients)
    start = REFERENCE_DATE - timedelta(days=round(years * 365.25))
    counters = {"charge": 0}
    deaths_owed = 0.5  # about one patient in twelve dies; deaths are spread evenly
    began = time.monotonic()
    with CsvSink(out) as sink:
        for number in range(1, n_patients + 1):
            rng = random.Random(master.getrandbits(64))
            deaths_owed += 1 / 12
            patient = make_patient(rng, start, death_due=deaths_owed >= 1)
            deaths_owed -= 1 if patient.death else 0
            rows = HistoryBuilder(rng, practice, patient, start, counters).build()
            for table, table_rows in rows.items():
                sink.write(table, table_rows)
            if progress and number % 1000 == 0:
                print(
                    f"generate: {number}/{n_patients} patients, {time.monotonic() - began:.1f}s",
                    file=sys.stderr,
                )
        sink.write("organizations", org_rows(practice))
        sink.write("providers", provider_rows(practice))
        sink.write("payers", payer_rows(practice))
    return sink.counts


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description="Generate a deterministic synthetic practice in Synthea 3.2 CSV format "
        "(18 files). Same --patients/--seed/--years -> byte-identical output.",
        epilog="example: python sample_data/generate.py --patients 1000 --seed 1 --out /tmp/s1k",
    )
    parser.add_argument("--patients", type=int, required=True, help="number of patients (>= 1)")
    parser.add_argument("--seed", type=int, required=True, help="random seed (any integer)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory (created; existing CSVs are overwritten)",
    )
    parser.add_argument(
        "--years",
        type=int,
        default=10,
        help="years of history before the fixed reference date 2024-04-27 (default: 10)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    args = parser.parse_args(argv)
    if args.patients < 1 or args.years < 1:
        parser.error("--patients and --years must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    args = parse_args(argv)
    began = time.monotonic()
    counts = generate(args.patients, args.seed, args.out, args.years, progress=not args.quiet)
    if not args.quiet:
        summary = ", ".join(f"{table} {count}" for table, count in counts.items())
        print(
            f"generate: {args.patients} patients in {time.monotonic() - began:.1f}s "
            f"-> {args.out}: {summary}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
