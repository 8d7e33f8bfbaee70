"""Deterministic generator of Riverside General Hospital's "WardBook" export (a fictional
hospital EMR; see README.md in this folder).

Eleven CSV files: PATIENTS, admissions, DIAGNOSES_ICD, procedures, PRESCRIPTIONS, labevents,
noteevents and the dictionaries d_diagnosis, d_procedure, D_ITEMS, d_drugs. Dates are shifted
into the 2100s per patient (whole weeks, so intervals, weekdays and ages stay true); patients
older than 89 have their birth date masked (empty ``DOB``, ``DOB_MASKED`` 1). Planted defects
(see ``DEFECTS``) recur once in every block of 60 patients.

Determinism: all randomness comes from ``random.Random(seed)``; no clock, no ``uuid4``. The same
``--patients`` and ``--seed`` always give byte-identical files. Memory stays flat: each patient
is written as soon as it is made.

Usage::

    python sample_data/riverside/generate.py --out sample_data/riverside      # the bundled 60
    python sample_data/riverside/generate.py --patients 5000 --seed 1 --out out/riverside-5k
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import rv_vocab as v  # noqa: E402 - the sibling module lives next to this script

DEFAULT_PATIENTS = 60
DEFAULT_SEED = 20261207
BLOCK = 60
"""Planted defects recur at fixed positions in every block of this many patients."""
REAL_START = datetime(2008, 1, 1)
REAL_DAYS = 12 * 365
SHIFT_WEEKS = (100 * 52, 150 * 52)
"""Per-patient date shift, in whole weeks (about 100 to 150 years)."""

# position in the block -> planted defect (documented in README.md)
DEFECTS = {
    5: "end-before-start", 17: "end-before-start", 41: "end-before-start",
    9: "duplicate-diagnosis", 13: "retired-icd9", 21: "orphan-procedure",
    25: "unknown-drug", 29: "discharge-before-admission", 33: "bad-thousands",
    37: "redacted-value", 45: "redacted-value", 49: "note-error", 53: "note-error",
    60: "test-patient",
}
MASKED = (3, 31, 57)
"""Positions of patients older than 89 (birth date masked)."""
HEPARIN_AT = 7
"""Position whose first prescription is heparin 25,000 UNITS (the tests look at it)."""

Row = list[Any]


@dataclass
class Admission:
    """One admission of a patient (real, unshifted times)."""

    hadm_id: int
    admit: datetime
    disch: datetime
    kind: str
    location: str
    language: str
    marital: str
    died: bool = False


@dataclass
class Patient:
    """One patient and their admissions."""

    number: int
    subject_id: int
    shift: timedelta
    birth: date
    sex: str
    family: str
    given: str
    admissions: list[Admission] = field(default_factory=list)
    expired: bool = False
    dod_known: bool = False

    @property
    def position(self) -> int:
        """Place in its block of 60 (1..60): which defect, if any, the patient carries."""
        return (self.number - 1) % BLOCK + 1

    def when(self, moment: datetime) -> str:
        """A datetime as the export writes it, shifted."""
        return (moment + self.shift).strftime("%Y-%m-%d %H:%M:%S")

    def day(self, moment: datetime | date) -> str:
        """A date as the export writes it, shifted."""
        return (moment + self.shift).strftime("%Y-%m-%d")


class Sink:
    """The CSV files, opened once, headers first; rows appended as patients are made."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.counts = dict.fromkeys(v.HEADERS, 0)
        self._files: dict[str, IO[str]] = {
            t: (out / f"{t}.csv").open("w", newline="", encoding="utf-8") for t in v.HEADERS}
        self._writers = {t: csv.writer(f, lineterminator="\n") for t, f in self._files.items()}
        for table, header in v.HEADERS.items():
            self._writers[table].writerow(header)
        self.next_id = dict.fromkeys(v.HEADERS, 1)

    def write(self, table: str, row: Row) -> None:
        """Append one row."""
        self._writers[table].writerow(row)
        self.counts[table] += 1

    def row_id(self, table: str) -> int:
        """The next ROW_ID of ``table``."""
        self.next_id[table] += 1
        return self.next_id[table] - 1

    def close(self) -> None:
        """Flush and close every file."""
        for handle in self._files.values():
            handle.close()


def pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    """One item of ``(item, weight)`` pairs."""
    return rng.choices([i for i, _ in weighted], [w for _, w in weighted])[0]


def number_text(value: float, decimals: int) -> str:
    """A number as the export writes it: thousands separated by ','."""
    return f"{value:,.{decimals}f}"


def cased(rng: random.Random, name: str) -> str:
    """A name as typed at registration: UPPER, lower or as spelt."""
    return rng.choice([name.upper(), name.upper(), name.lower(), name, name])


def make_patient(rng: random.Random, number: int, hadm: list[int]) -> Patient:
    """A patient with 1-4 admissions (none for the planted test patient)."""
    position = (number - 1) % BLOCK + 1
    sex = rng.choice("FM")
    first = REAL_START + timedelta(days=rng.randrange(REAL_DAYS - 400), hours=rng.randrange(24),
                                   minutes=rng.randrange(60))
    age = rng.randint(90, 98) if position in MASKED else rng.randint(19, 88)
    birth = (first - timedelta(days=age * 365 + rng.randrange(360))).date()
    p = Patient(number, 10000 + number, timedelta(weeks=rng.randint(*SHIFT_WEEKS)), birth, sex,
                rng.choice(v.FAMILY), rng.choice(v.GIVEN[sex]))
    if DEFECTS.get(position) == "test-patient":
        p.family, p.given = "ZZTEST", "Wardbook"
        return p
    language, marital = pick(rng, v.LANGUAGES), pick(rng, v.MARITAL)
    admit = first
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        disch = admit + timedelta(days=rng.randint(1, 9), hours=rng.randint(1, 20),
                                  minutes=rng.randrange(60))
        if rng.random() < 0.15:
            marital = pick(rng, v.MARITAL)
        p.admissions.append(Admission(
            hadm.pop(), admit, disch, pick(rng, v.ADMISSION_TYPES),
            rng.choice(v.ADMISSION_LOCATIONS), rng.choice(language), rng.choice(marital)))
        admit = disch + timedelta(days=rng.randint(20, 500), hours=rng.randint(-8, 8))
    if rng.random() < 0.12:
        p.expired, p.dod_known = True, rng.random() < 0.7
        p.admissions[-1].died = p.dod_known
    return p


def patient_row(rng: random.Random, p: Patient) -> Row:
    """The PATIENTS row."""
    masked = p.position in MASKED
    dod = p.day(p.admissions[-1].disch) if p.dod_known else ""
    return [p.subject_id, f"RGH{p.subject_id * 7 + 123457:07d}", cased(rng, p.family),
            cased(rng, p.given), p.sex, "" if masked else p.day(p.birth), int(masked), dod,
            int(p.expired), "N" if p.expired else "Y"]


def admission_row(p: Patient, a: Admission) -> Row:
    """One admissions row."""
    return [a.hadm_id, p.subject_id, p.when(a.admit), p.when(a.disch), a.kind, a.location,
            a.language, a.marital, int(a.died)]


def write_diagnoses(rng: random.Random, sink: Sink, p: Patient, a: Admission, first: bool) -> None:
    """2-7 coded diagnoses of one admission (and the planted ones)."""
    codes = rng.sample(v.DIAGNOSES, rng.randint(2, 7))
    rows = [[sink.row_id("DIAGNOSES_ICD"), p.subject_id, a.hadm_id, seq, code, 10]
            for seq, (code, _, _) in enumerate(codes, 1)]
    defect = DEFECTS.get(p.position) if first else None
    if defect == "retired-icd9":
        rows.append([sink.row_id("DIAGNOSES_ICD"), p.subject_id, a.hadm_id, len(rows) + 1,
                     v.RETIRED_ICD9, 9])
    if defect == "duplicate-diagnosis":
        rows.append(list(rows[0]))  # the export wrote this row twice
    for row in rows:
        sink.write("DIAGNOSES_ICD", row)


def write_procedures(rng: random.Random, sink: Sink, p: Patient, a: Admission, first: bool
                     ) -> None:
    """0-3 procedures of one admission; no time (performed during the admission)."""
    for seq, (code, _) in enumerate(rng.sample(v.PROCEDURES, rng.randint(0, 3)), 1):
        sink.write("procedures", [sink.row_id("procedures"), p.subject_id, a.hadm_id, seq, code])
    if first and DEFECTS.get(p.position) == "orphan-procedure":
        # the admission was purged from WardBook, its procedure row was not
        sink.write("procedures", [sink.row_id("procedures"), p.subject_id, 99999999, 1,
                                  v.PROCEDURES[0][0]])


def write_prescriptions(rng: random.Random, sink: Sink, p: Patient, a: Admission, first: bool
                        ) -> None:
    """1-6 prescriptions of one admission (start/end dates, local dose units, T/F flag)."""
    drugs = rng.sample(v.DRUGS, rng.randint(1, 6))
    defect = DEFECTS.get(p.position) if first else None
    for index, (drug_id, _, _, route, doses, units) in enumerate(drugs):
        dose = rng.choice(doses)
        if first and index == 0 and p.position == HEPARIN_AT:
            drug_id, route, dose, units = "HEP25I", "IV DRIP", "25,000", ["UNITS"]
        if defect == "unknown-drug" and index == 0:
            drug_id = v.UNKNOWN_DRUG
        start = a.admit + timedelta(days=rng.randint(0, 1))
        end = min(start + timedelta(days=rng.randint(1, 7)), a.disch)
        if defect == "end-before-start" and index == 0:
            end = start - timedelta(days=rng.randint(1, 3))  # typed in the wrong order
        sink.write("PRESCRIPTIONS", [
            sink.row_id("PRESCRIPTIONS"), p.subject_id, a.hadm_id, p.day(start), p.day(end),
            drug_id, dose, rng.choice(units), route, rng.choice("TTTF")])


def lab_value(rng: random.Random, item: tuple[Any, ...]) -> tuple[str, str]:
    """A value (thousands separated) and its abnormal flag."""
    _, _, _, _, _, _, low, high, decimals = item
    value = rng.uniform(low, high) if rng.random() < 0.3 else rng.uniform(low, low + (high - low)
                                                                          * 0.35)
    return number_text(value, decimals), "abnormal" if value > low + (high - low) * 0.5 else ""


def write_labs(rng: random.Random, sink: Sink, p: Patient, a: Admission, first: bool) -> None:
    """A panel of lab results per day of the admission (and one outpatient draw, no HADM_ID)."""
    days = min((a.disch - a.admit).days + 1, 4)
    defect = DEFECTS.get(p.position) if first else None
    for day in range(days):
        drawn = a.admit + timedelta(days=day, hours=rng.randint(1, 6), minutes=rng.randrange(60))
        for item in rng.sample(v.LAB_ITEMS, rng.randint(3, 7)):
            value, flag = lab_value(rng, item)
            if day == 0 and defect == "bad-thousands":
                value, flag, defect = "12,50", "", None  # a mistyped number
            elif day == 0 and defect == "redacted-value":
                value, flag, defect = "___", "", None  # de-identification blanked it
            sink.write("labevents", [sink.row_id("labevents"), p.subject_id, a.hadm_id, item[0],
                                     p.when(drawn), value, rng.choice(item[5]), flag])
    if first and rng.random() < 0.3:
        item = rng.choice(v.LAB_ITEMS)
        value, flag = lab_value(rng, item)
        drawn = a.admit - timedelta(days=rng.randint(3, 20), hours=rng.randint(1, 9))
        sink.write("labevents", [sink.row_id("labevents"), p.subject_id, "", item[0],
                                 p.when(drawn), value, item[5][0], flag])


def note_text(rng: random.Random, p: Patient, a: Admission, category: str) -> str:
    """Free text with line breaks, quotes and commas, as clinicians type it."""
    age = (a.admit.date() - p.birth).days // 365
    age_text = "90+" if p.position in MASKED else str(age)
    complaint = rng.choice(["shortness of breath", "chest pain", "fever, chills",
                            "not feeling right", "fall at home"])
    lines = [f"{category.upper()} NOTE", "",
             f"Pt is a {age_text} y/o {'woman' if p.sex == 'F' else 'man'} admitted via "
             f"{a.location.lower()}.", f"Chief complaint: \"{complaint}\"",
             "Plan: continue current meds, recheck labs in a.m.; pt says \"I'd like to go home\"."]
    if category == "Discharge summary":
        lines += ["", f"Discharged after {(a.disch - a.admit).days} day(s), stable."]
    return "\n".join(lines)


def write_notes(rng: random.Random, sink: Sink, p: Patient, a: Admission, first: bool) -> None:
    """A discharge summary per admission and 0-2 other notes."""
    categories = ["Discharge summary", *rng.sample(v.NOTE_CATEGORIES[1:], rng.randint(0, 2))]
    defect = DEFECTS.get(p.position) if first else None
    for index, category in enumerate(categories):
        when = a.disch if category == "Discharge summary" else a.admit + timedelta(days=index)
        error = int(defect == "note-error" and index == 0)
        sink.write("noteevents", [sink.row_id("noteevents"), p.subject_id, a.hadm_id,
                                  p.day(when), category, f"{category} {index + 1}", error,
                                  note_text(rng, p, a, category)])


def write_patient(rng: random.Random, sink: Sink, p: Patient, hadm: list[int]) -> None:
    """Every row of one patient."""
    sink.write("PATIENTS", patient_row(rng, p))
    for index, a in enumerate(p.admissions):
        sink.write("admissions", admission_row(p, a))
        for part in (write_diagnoses, write_procedures, write_prescriptions, write_labs,
                     write_notes):
            part(rng, sink, p, a, index == 0)
    if DEFECTS.get(p.position) == "discharge-before-admission":
        last = p.admissions[-1]  # a stub admission typed with its dates swapped, no rows
        admit = last.disch + timedelta(days=40, hours=3)
        stub = Admission(hadm.pop(), admit, admit - timedelta(hours=5), "ELECTIVE",
                         "CLINIC REFERRAL", last.language, last.marital)
        sink.write("admissions", admission_row(p, stub))


def write_dictionaries(sink: Sink) -> None:
    """The four dictionary tables."""
    for code, title, _ in v.DIAGNOSES:
        sink.write("d_diagnosis", [code, title])
    for code, title in v.PROCEDURES:
        sink.write("d_procedure", [code, title])
    for itemid, label, fluid, category, loinc, *_ in v.LAB_ITEMS:
        sink.write("D_ITEMS", [itemid, label, fluid, category, loinc])
    for drug_id, name, rxnorm, *_ in v.DRUGS:
        sink.write("d_drugs", [drug_id, name, rxnorm])


def generate(patients: int, seed: int, out: Path) -> dict[str, int]:
    """Write the export of ``patients`` patients into ``out``; the rows written per file."""
    if patients < 1:
        raise ValueError("patients must be at least 1")
    master = random.Random(seed)
    hadm = random.Random(seed + 1).sample(range(100000, 100000 + 10 * patients), 5 * patients)
    sink = Sink(out)
    try:
        write_dictionaries(sink)
        for number in range(1, patients + 1):
            rng = random.Random(master.getrandbits(64))
            write_patient(rng, sink, make_patient(rng, number, hadm), hadm)
    finally:
        sink.close()
    return sink.counts


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        description="Generate Riverside General Hospital's WardBook CSV export (synthetic, "
        "deterministic: same --patients/--seed -> byte-identical files).",
        epilog="example: python sample_data/riverside/generate.py --patients 5000 --out /tmp/rv")
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS,
                        help=f"number of patients (default {DEFAULT_PATIENTS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder (created; existing CSVs are overwritten)")
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    args = parser.parse_args(argv)
    if args.patients < 1:
        parser.error("--patients must be at least 1")
    counts = generate(args.patients, args.seed, args.out)
    if not args.quiet:
        print(f"generate: {args.patients} patients -> {args.out}: "
              + ", ".join(f"{t} {n}" for t, n in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
