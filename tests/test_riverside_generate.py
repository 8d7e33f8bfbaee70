"""The Riverside (WardBook) sample generator, ``sample_data/riverside/generate.py``: determinism,
the bundled export is exactly what it makes, the file layout, and the quirks and planted
defects the README promises."""

from __future__ import annotations

import csv
import importlib
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.test_generate import read_tables

FOLDER = REPO / "sample_data" / "riverside"
Table = list[dict[str, str]]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """The generator module (sample_data/riverside is a namespace package of sample_data)."""
    return importlib.import_module("sample_data.riverside.generate")


@pytest.fixture(scope="module")
def tables() -> dict[str, Table]:
    """The bundled export."""
    return read_tables(FOLDER)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_same_seed_same_bytes_and_another_seed_differs(gen: ModuleType, tmp_path: Path) -> None:
    gen.generate(15, 7, tmp_path / "a")
    gen.generate(15, 7, tmp_path / "b")
    gen.generate(15, 8, tmp_path / "c")
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert _bytes(tmp_path / "a")["PATIENTS.csv"] != _bytes(tmp_path / "c")["PATIENTS.csv"]


def test_the_bundled_export_is_what_the_generator_makes(gen: ModuleType, tmp_path: Path) -> None:
    # a hand edit of a bundled CSV, or a generator change not regenerated, fails here
    assert gen.main(["--out", str(tmp_path), "--quiet"]) == 0
    assert _bytes(tmp_path) == _bytes(FOLDER)
    assert sum(len(b) for b in _bytes(FOLDER).values()) < 1_000_000


def test_files_and_headers_mix_upper_and_lower_case(gen: ModuleType,
                                                    tables: dict[str, Table]) -> None:
    assert set(tables) == set(gen.v.HEADERS)
    for name, header in gen.v.HEADERS.items():
        with (FOLDER / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == header
    assert {"PATIENTS", "admissions", "D_ITEMS", "d_drugs"} <= set(tables)


def test_keys_are_unique_and_rows_link_except_the_planted_defects(
        tables: dict[str, Table]) -> None:
    hadm = {r["hadm_id"] for r in tables["admissions"]}
    assert len(hadm) == len(tables["admissions"])
    subjects = {r["SUBJECT_ID"] for r in tables["PATIENTS"]}
    assert {r["subject_id"] for r in tables["admissions"]} <= subjects
    dup = [k for k, n in Counter(r["ROW_ID"] for r in tables["DIAGNOSES_ICD"]).items() if n > 1]
    assert len(dup) == 1
    assert [r["hadm_id"] for r in tables["procedures"] if r["hadm_id"] not in hadm] == [
        "99999999"]
    assert all(r["HADM_ID"] in hadm for t in ("DIAGNOSES_ICD", "PRESCRIPTIONS")
               for r in tables[t])
    assert all(r["HADM_ID"] in hadm | {""} for r in tables["labevents"])
    codes = {r["icd_code"] for r in tables["d_diagnosis"]}
    assert [r["ICD_CODE"] for r in tables["DIAGNOSES_ICD"] if r["ICD_CODE"] not in codes] == [
        "4019"]
    drugs = {r["drug_id"] for r in tables["d_drugs"]}
    assert [r["DRUG_ID"] for r in tables["PRESCRIPTIONS"] if r["DRUG_ID"] not in drugs] == [
        "XDRUG99"]


def test_the_planted_defects_are_there_once_each(tables: dict[str, Table]) -> None:
    rx = tables["PRESCRIPTIONS"]
    assert sorted(r["SUBJECT_ID"] for r in rx if r["ENDDATE"] < r["STARTDATE"]) == [
        "10005", "10017", "10041"]
    assert [r["subject_id"] for r in tables["admissions"]
            if r["dischtime"] < r["admittime"]] == ["10029"]
    values = Counter(r["VALUE"] for r in tables["labevents"])
    assert (values["___"], values["12,50"]) == (2, 1)
    assert sorted(r["subject_id"] for r in tables["noteevents"] if r["iserror"] == "1") == [
        "10049", "10053"]
    test = [r for r in tables["PATIENTS"] if r["LAST_NAME"] == "ZZTEST"]
    assert [r["SUBJECT_ID"] for r in test] == ["10060"]
    assert "10060" not in {r["subject_id"] for r in tables["admissions"]}


def test_masked_birth_dates_shifted_dates_and_flags(tables: dict[str, Table]) -> None:
    masked = [r for r in tables["PATIENTS"] if r["DOB_MASKED"] == "1"]
    assert [r["SUBJECT_ID"] for r in masked] == ["10003", "10031", "10057"]
    assert all(r["DOB"] == "" for r in masked)
    assert all(re.fullmatch(r"2[01]\d\d-\d\d-\d\d", r["DOB"]) for r in tables["PATIENTS"]
               if r["DOB_MASKED"] == "0")
    years = {int(r["admittime"][:4]) for r in tables["admissions"]}
    assert 2100 < min(years) <= max(years) < 2200
    assert {r["EXPIRE_FLAG"] for r in tables["PATIENTS"]} == {"0", "1"}
    assert {r["ACTIVE_YN"] for r in tables["PATIENTS"]} == {"Y", "N"}
    assert {r["SUBST_OK"] for r in tables["PRESCRIPTIONS"]} == {"T", "F"}


def test_values_as_real_exports_write_them(tables: dict[str, Table]) -> None:
    heparin = [r for r in tables["PRESCRIPTIONS"] if r["SUBJECT_ID"] == "10007"][0]
    assert (heparin["DRUG_ID"], heparin["DOSE_VAL_RX"], heparin["DOSE_UNIT_RX"]) == (
        "HEP25I", "25,000", "UNITS")
    units = {r["DOSE_UNIT_RX"] for r in tables["PRESCRIPTIONS"]}
    assert {"MCG", "mg.", "UNITS", "mL/h"} <= units
    assert any("," in r["VALUE"] for r in tables["labevents"])
    assert {r["language"] for r in tables["admissions"]} >= {"ENGLISH", "english"}
    names = [r["LAST_NAME"] for r in tables["PATIENTS"]]
    assert any(n.isupper() for n in names)
    assert any(n.islower() for n in names)
    text = tables["noteevents"][0]["text"]
    assert "\n" in text
    assert '"' in text


def test_rejects_bad_arguments(gen: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        gen.main(["--patients", "0", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="at least 1"):
        gen.generate(0, 1, tmp_path)


def test_the_planted_defects_recur_in_every_block_of_60(gen: ModuleType, tmp_path: Path) -> None:
    # benchmark sizes keep the bundled sample's share of defects (and any case of ZZTEST)
    gen.generate(180, 3, tmp_path)
    tables = read_tables(tmp_path)
    assert sum(r["ENDDATE"] < r["STARTDATE"] for r in tables["PRESCRIPTIONS"]) == 9
    assert sum(r["LAST_NAME"].upper() == "ZZTEST" for r in tables["PATIENTS"]) == 3
    assert sum(r["DOB_MASKED"] == "1" for r in tables["PATIENTS"]) == 9
    assert Counter(r["VALUE"] for r in tables["labevents"])["___"] == 6
