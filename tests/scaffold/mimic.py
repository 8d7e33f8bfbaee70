"""A small MIMIC-like CSV export for the scaffold tests: patients, admissions, the d_icd
dictionary and diagnoses_icd, labevents with the d_labitems dictionary.

Unusual marker values are planted (each at least 5 times, so a profile would list them as top
values) in text, code, label and number columns: `MARKERS` must never appear in a scaffolded
pack. `UNIT_MARKER`, a unit spelling (no patient data), appears only in pack.yaml's `# units:`
note. Shifted years (2150..) as MIMIC's are; ids are not 1..n counters; labevents holds one
ragged line (an extra field), which the reader rejects.
"""

from __future__ import annotations

import csv
from pathlib import Path

MARKERS = ["QXZMARKLANG", "ZZMARKTITLE", "QQMARKLABEL", "Wqzmarkstatus", "987,654"]
UNIT_MARKER = "XQMARKUNIT"
ICD = ["I10", "E119", "J189", "N179", "K219", "F329", "Z794", "E785"]
LABS = [(50912, "Creatinine"), (50971, "Potassium"), (51222, "Hemoglobin"),
        (51301, "White Blood Cells"), (50931, "Glucose"), (51265, "QQMARKLABEL")]


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def write_mimic(folder: Path, patients: int = 30) -> Path:
    """Write the export into ``folder`` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    subjects = [10_000_032 + 17 * i for i in range(patients)]
    _write(folder, "patients", ["subject_id", "gender", "anchor_age", "anchor_year", "dod"],
           [[s, "FM"[i % 2], 20 + i % 60, 2150 + i % 30,
             f"21{60 + i % 30}-0{1 + i % 9}-1{i % 9}" if i % 5 == 0 else None]
            for i, s in enumerate(subjects)])
    admissions, hadms = [], []
    for i, s in enumerate(subjects):
        for k in range(1 + i % 3):
            h = 20_000_003 + 29 * len(hadms)
            hadms.append((h, s))
            admissions.append([h, s, f"2150-0{1 + k}-1{k} 0{k}:15:00",
                               f"2150-0{1 + k}-2{k} 1{k}:40:00",
                               ["EMERGENCY", "ELECTIVE", "URGENT"][k],
                               "QXZMARKLANG" if i % 4 == 0 else "ENGLISH",
                               ["MARRIED", "SINGLE", "WIDOWED", "Wqzmarkstatus"][i % 4],
                               (i + k) % 2])
    _write(folder, "admissions", ["hadm_id", "subject_id", "admittime", "dischtime",
                                  "admission_type", "language", "marital_status",
                                  "hospital_expire_flag"], admissions)
    _write(folder, "d_icd", ["icd_code", "long_title"],
           [[c, "ZZMARKTITLE" if n == 0 else f"Disease number {n} of the list"]
            for n, c in enumerate(ICD)])
    diagnoses = [[s, h, seq, ICD[(j + seq) % 3], 10] for j, (h, s) in enumerate(hadms)
                 for seq in range(1, 2 + j % 5)]
    _write(folder, "diagnoses_icd", ["subject_id", "hadm_id", "seq_num", "icd_code",
                                     "icd_version"], diagnoses)
    _write(folder, "d_labitems", ["itemid", "label", "fluid", "category"],
           [[i, label, "Blood", "Chemistry"] for i, label in LABS])
    labs = []
    for j, (h, s) in enumerate(hadms):
        for n, (item, _label) in enumerate(LABS[: 2 + j % 4]):
            value = "987,654" if (j + n) % 7 == 0 else f"{(j * 37 + n) % 90},{n}00"
            labs.append([30_000_001 + 11 * len(labs), s, h if j % 6 else None, item,
                         f"2150-0{1 + n % 9}-1{n % 9} 08:00:00", value,
                         UNIT_MARKER if n % 2 else "mg/dL", "Y" if n % 3 == 0 else "N"])
    _write(folder, "labevents", ["labevent_id", "subject_id", "hadm_id", "itemid", "charttime",
                                 "value", "valueuom", "abnormal"], labs)
    with (folder / "labevents.csv").open("a", encoding="utf-8") as fh:
        fh.write("39999999,10000032,,50912,2150-01-01 08:00:00,1,mg/dL,N,extra\n")
    return folder
