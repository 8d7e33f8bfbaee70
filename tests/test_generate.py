"""Tests of the sample-data generator (``sample_data/generate.py``).

Determinism, the exact Synthea 3.2 headers, the blood-pressure pairs, uniqueness of ids and of
the natural keys, referential integrity, value formats and balanced claims.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "sample_data" / "generate.py"
REFERENCE = REPO.parent / "shared" / "data" / "synthea-csv-10pt"

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MONEY = re.compile(r"^\d+\.\d{2}$")
ONE_DECIMAL = re.compile(r"^\d+\.\d$")

# Natural keys that must be unique in the tables without an Id column.
NATURAL_KEYS = {
    "conditions": ("PATIENT", "ENCOUNTER", "CODE", "START"),
    "medications": ("PATIENT", "ENCOUNTER", "CODE", "START", "STOP"),
    "immunizations": ("PATIENT", "ENCOUNTER", "CODE", "DATE"),
    "procedures": ("PATIENT", "ENCOUNTER", "CODE", "START"),
    "devices": ("PATIENT", "ENCOUNTER", "CODE", "START"),
    "supplies": ("PATIENT", "ENCOUNTER", "CODE", "DATE"),
    "allergies": ("PATIENT", "ENCOUNTER", "CODE", "START"),
    "observations": ("PATIENT", "ENCOUNTER", "DATE", "CODE"),
    "payer_transitions": ("PATIENT", "START_DATE"),
}
ID_COLUMNS = {
    "patients": "Id",
    "encounters": "Id",
    "organizations": "Id",
    "providers": "Id",
    "payers": "Id",
    "careplans": "Id",
    "claims": "Id",
    "imaging_studies": "Id",
    "claims_transactions": "ID",
}
DATETIME_COLUMNS = {
    "encounters": ("START", "STOP"),
    "observations": ("DATE",),
    "medications": ("START", "STOP"),
    "procedures": ("START", "STOP"),
    "immunizations": ("DATE",),
    "devices": ("START", "STOP"),
    "imaging_studies": ("DATE",),
    "payer_transitions": ("START_DATE", "END_DATE"),
    "claims": ("SERVICEDATE", "LASTBILLEDDATE1"),
    "claims_transactions": ("FROMDATE", "TODATE"),
}
DATE_COLUMNS = {
    "conditions": ("START", "STOP"),
    "careplans": ("START", "STOP"),
    "allergies": ("START", "STOP"),
    "supplies": ("DATE",),
    "patients": ("BIRTHDATE", "DEATHDATE"),
}
MONEY_COLUMNS = {
    "encounters": ("BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE"),
    "medications": ("BASE_COST", "PAYER_COVERAGE", "TOTALCOST"),
    "procedures": ("BASE_COST",),
    "immunizations": ("BASE_COST",),
    "patients": ("HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE"),
    "payers": ("AMOUNT_COVERED", "AMOUNT_UNCOVERED", "REVENUE"),
    "organizations": ("REVENUE",),
    "claims_transactions": ("UNITAMOUNT", "PAYMENTS"),
}

Table = list[dict[str, str]]


def _load_generator() -> ModuleType:
    """Import sample_data/generate.py from its path (sample_data is not a package)."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def read_tables(folder: Path) -> dict[str, Table]:
    """Every CSV of ``folder`` as a list of row dicts, keyed by file stem."""
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            tables[path.stem] = list(csv.DictReader(handle))
    return tables


def _header(path: Path) -> list[str]:
    """The header row of one CSV file."""
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """The generator module."""
    return _load_generator()


@pytest.fixture(scope="module")
def practice_dir(gen: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-patient practice, generated once for the property tests."""
    out = tmp_path_factory.mktemp("practice")
    gen.generate(40, 3, out, years=10, progress=False)
    return out


@pytest.fixture(scope="module")
def tables(practice_dir: Path) -> dict[str, Table]:
    """The 40-patient practice, parsed."""
    return read_tables(practice_dir)


def test_same_seed_gives_identical_bytes(gen: ModuleType, tmp_path: Path) -> None:
    """In-process and CLI runs (with another hash seed) write byte-identical files."""
    first, second = tmp_path / "a", tmp_path / "b"
    gen.generate(5, 11, first, years=10, progress=False)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    cmd = [sys.executable, str(GENERATOR), "--patients", "5", "--seed", "11"]
    subprocess.run([*cmd, "--out", str(second), "--quiet"], check=True, env=env)
    names = sorted(p.name for p in first.glob("*.csv"))
    assert names == sorted(p.name for p in second.glob("*.csv"))
    assert len(names) == 18
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_different_seed_gives_different_data(gen: ModuleType, tmp_path: Path) -> None:
    """Another seed changes patients and their histories."""
    gen.generate(5, 11, tmp_path / "a", progress=False)
    gen.generate(5, 12, tmp_path / "b", progress=False)
    for name in ("patients.csv", "encounters.csv", "observations.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_headers_match_reference_export(practice_dir: Path) -> None:
    """Every file has exactly the header of the reference Synthea 3.2 export."""
    listing = REFERENCE / "CSV_COLUMNS.txt"
    if not listing.is_file():
        reason = f"reference export not found: {listing}"
        print(reason)
        pytest.skip(reason)
    expected = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\w+)\.csv \(\d+ rows\): (.+)$", line)
        if match:
            expected[match.group(1)] = match.group(2).split(",")
    assert len(expected) == 18
    assert sorted(p.stem for p in practice_dir.glob("*.csv")) == sorted(expected)
    for stem, columns in expected.items():
        assert _header(practice_dir / f"{stem}.csv") == columns, stem


def test_headers_match_module_constant(gen: ModuleType, practice_dir: Path) -> None:
    """The files follow ``HEADERS`` (runs even without the reference export)."""
    for stem, columns in gen.HEADERS.items():
        assert _header(practice_dir / f"{stem}.csv") == list(columns)
    assert "MIDDLE" not in gen.HEADERS["patients"]
    assert "SYSTEM" not in gen.HEADERS["conditions"]


def test_every_table_has_rows(tables: dict[str, Table]) -> None:
    """A 40-patient practice exercises every file."""
    assert {name: len(rows) > 0 for name, rows in tables.items()} == dict.fromkeys(tables, True)
    assert len(tables["patients"]) == 40


def test_blood_pressure_rows_come_in_adjacent_pairs(tables: dict[str, Table]) -> None:
    """Diastolic (8462-4) is immediately followed by systolic (8480-6) of the same reading."""
    rows = tables["observations"]
    diastolic = [i for i, r in enumerate(rows) if r["CODE"] == "8462-4"]
    systolic = [i for i, r in enumerate(rows) if r["CODE"] == "8480-6"]
    assert diastolic
    assert [i + 1 for i in diastolic] == systolic
    for i in diastolic:
        first, second = rows[i], rows[i + 1]
        for column in ("DATE", "PATIENT", "ENCOUNTER", "UNITS", "CATEGORY", "TYPE"):
            assert first[column] == second[column]
        assert first["UNITS"] == "mm[Hg]"
        assert float(second["VALUE"]) > float(first["VALUE"])


def test_vital_signs_share_the_wellness_timestamp(tables: dict[str, Table]) -> None:
    """Vitals of a wellness encounter are taken at its start, with Synthea's units."""
    encounters = {e["Id"]: e for e in tables["encounters"]}
    units = {"8302-2": "cm", "29463-7": "kg", "39156-5": "kg/m2", "8867-4": "/min"}
    units |= {"9279-1": "/min", "72514-3": "{score}"}
    seen: Counter[str] = Counter()
    for row in tables["observations"]:
        if row["CODE"] in units:
            seen[row["CODE"]] += 1
            assert row["UNITS"] == units[row["CODE"]]
            if encounters[row["ENCOUNTER"]]["ENCOUNTERCLASS"] == "wellness":
                assert row["DATE"] == encounters[row["ENCOUNTER"]]["START"]
    assert set(seen) == set(units)


@pytest.mark.parametrize(("table", "column"), sorted(ID_COLUMNS.items()))
def test_ids_are_unique(tables: dict[str, Table], table: str, column: str) -> None:
    """Id columns are unique and shaped like Synthea's ids."""
    values = [row[column] for row in tables[table]]
    assert len(values) == len(set(values))
    assert all(ID.match(v) for v in values)


@pytest.mark.parametrize(("table", "key"), sorted(NATURAL_KEYS.items()))
def test_natural_keys_are_unique(
    tables: dict[str, Table], table: str, key: tuple[str, ...]
) -> None:
    """No two rows share the natural key of tables without an Id."""
    counts = Counter(tuple(row[c] for c in key) for row in tables[table])
    assert [k for k, n in counts.items() if n > 1] == []


def test_no_exact_duplicate_rows(tables: dict[str, Table]) -> None:
    """No table contains the same row twice."""
    for name, rows in tables.items():
        counts = Counter(tuple(row.values()) for row in rows)
        assert all(n == 1 for n in counts.values()), name


def test_references_are_consistent(tables: dict[str, Table]) -> None:
    """Encounters point at known parties; clinical rows point at the patient's encounters."""
    patients = {p["Id"] for p in tables["patients"]}
    orgs = {o["Id"] for o in tables["organizations"]}
    providers = {p["Id"]: p["ORGANIZATION"] for p in tables["providers"]}
    payers = {p["Id"] for p in tables["payers"]}
    assert set(providers.values()) <= orgs
    encounters = {}
    for enc in tables["encounters"]:
        assert enc["PATIENT"] in patients
        assert providers[enc["PROVIDER"]] == enc["ORGANIZATION"]
        assert enc["PAYER"] in payers
        encounters[enc["Id"]] = enc["PATIENT"]
    for name in ("conditions", "observations", "medications", "immunizations", "procedures"):
        for row in tables[name]:
            assert encounters[row["ENCOUNTER"]] == row["PATIENT"], name
    for name in ("allergies", "careplans", "devices", "imaging_studies", "supplies"):
        for row in tables[name]:
            assert encounters[row["ENCOUNTER"]] == row["PATIENT"], name
    assert {c["APPOINTMENTID"] for c in tables["claims"]} == set(encounters)
    assert {t["PAYER"] for t in tables["payer_transitions"]} <= payers


def test_value_formats(tables: dict[str, Table]) -> None:
    """Datetimes, local dates, money and other columns have Synthea's shapes."""
    for checks, pattern in ((DATETIME_COLUMNS, DATETIME), (DATE_COLUMNS, DATE)):
        for table, columns in checks.items():
            for row in tables[table]:
                for column in columns:
                    assert row[column] == "" or pattern.match(row[column]), (table, column)
    for table, columns in MONEY_COLUMNS.items():
        for row in tables[table]:
            for column in columns:
                assert MONEY.match(row[column]), (table, column, row[column])
    for row in tables["supplies"]:
        assert row["QUANTITY"].isdigit()


def test_patient_demographics(tables: dict[str, Table]) -> None:
    """Demographic columns use Synthea's vocabularies and identifier shapes."""
    rows = tables["patients"]
    assert {r["GENDER"] for r in rows} == {"F", "M"}
    assert {r["RACE"] for r in rows} <= {"white", "black", "asian", "native", "hawaiian", "other"}
    assert {r["ETHNICITY"] for r in rows} <= {"hispanic", "nonhispanic"}
    assert {r["MARITAL"] for r in rows} <= {"M", "S", "D", "W", ""}
    for row in rows:
        assert re.match(r"^999-\d{2}-\d{4}$", row["SSN"])
        assert row["DRIVERS"] == "" or re.match(r"^S999\d{5}$", row["DRIVERS"])
        assert row["PASSPORT"] == "" or re.match(r"^X\d{8}X$", row["PASSPORT"])
        assert re.match(r"^\d{5}$", row["ZIP"])
        assert row["STATE"] == "Massachusetts"
        assert re.search(r"\d$", row["FIRST"])
        assert re.search(r"\d$", row["LAST"])
    assert any(r["DEATHDATE"] for r in rows)


def test_observation_values(tables: dict[str, Table]) -> None:
    """Numeric values have one decimal; text values exist, with Synthea's categories."""
    categories = {"vital-signs", "laboratory", "survey", "social-history", "exam"}
    for row in tables["observations"]:
        assert row["TYPE"] in ("numeric", "text")
        assert row["CATEGORY"] in categories
        if row["TYPE"] == "numeric":
            assert ONE_DECIMAL.match(row["VALUE"]), row
    smoking = {r["VALUE"] for r in tables["observations"] if r["CODE"] == "72166-2"}
    assert "Never smoked tobacco (finding)" in smoking


def test_history_window(tables: dict[str, Table]) -> None:
    """Encounters lie within the ten years before 2024-04-27 and not after a death."""
    deaths = {p["Id"]: p["DEATHDATE"] for p in tables["patients"]}
    for enc in tables["encounters"]:
        assert "2014-04-26" <= enc["START"][:10] <= "2024-04-27"
        death = deaths[enc["PATIENT"]]
        assert not death or enc["START"][:10] <= death


def test_claims_balance(tables: dict[str, Table]) -> None:
    """One claim per encounter; its payments settle the charge, which is the claim cost."""
    totals = {e["Id"]: e["TOTAL_CLAIM_COST"] for e in tables["encounters"]}
    claims = {c["Id"]: c["APPOINTMENTID"] for c in tables["claims"]}
    assert len(claims) == len(totals)
    charged: dict[str, float] = {}
    paid: Counter[str] = Counter()
    for tx in tables["claims_transactions"]:
        if tx["TYPE"] == "CHARGE":
            charged[tx["CLAIMID"]] = float(tx["AMOUNT"])
        else:
            paid[tx["CLAIMID"]] += round(float(tx["PAYMENTS"]) * 100)
    assert set(charged) == set(claims)
    for claim, amount in charged.items():
        assert f"{amount:.2f}" == totals[claims[claim]]
        assert paid[claim] == round(amount * 100)


def test_cli_help(gen: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` documents the options."""
    with pytest.raises(SystemExit) as excinfo:
        gen.main(["--help"])
    assert excinfo.value.code == 0
    text = capsys.readouterr().out
    for option in ("--patients", "--seed", "--out", "--years"):
        assert option in text


def test_rejects_bad_arguments(gen: ModuleType, tmp_path: Path) -> None:
    """Zero patients is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        gen.generate(0, 1, tmp_path)
