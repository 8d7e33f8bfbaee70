"""migrate/scaffold/write.py: what the starter pack holds (and never holds), its files'
modes, and the refusals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from migrate.errors import ConfigError, ExtractError
from migrate.mappers.pack import load_pack
from migrate.scaffold import scaffold
from tests.scaffold.mimic import MARKERS, UNIT_MARKER, write_mimic


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mimic(tmp_path_factory.mktemp("mimic") / "export")


@pytest.fixture(scope="module")
def pack(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packs") / "icu"
    scaffold({"type": "csv", "path": str(export)}, out)
    return out


def test_files_written(pack: Path) -> None:
    assert sorted(p.name for p in pack.iterdir()) == [
        "README.md", "admissions.yaml", "diagnoses_icd.yaml", "labevents.yaml", "pack.yaml",
        "patients.yaml"]  # the dictionaries are look-ups, not mappings


def test_no_value_of_the_data_is_written(pack: Path, export: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in pack.iterdir())
    assert not [m for m in MARKERS if m in text]
    # a unit spelling seen 5+ times, UCUM lacks: only in pack.yaml's units: note, to be mapped
    units = [line for p in pack.iterdir() for line in p.read_text("utf-8").splitlines()
             if UNIT_MARKER in line]
    assert units == [f'#   "{UNIT_MARKER}": "TODO"   # not accepted as written (90 rows of '
                     "labevents.valueuom)"]
    for word in ("Creatinine", "EMERGENCY", "MARRIED", "10000032", "20000003", "I10"):
        assert word not in text  # frequent values, ids and codes of the export
    assert "2150" not in text  # the shifted years are a note, not written


def test_private_modes(pack: Path) -> None:
    assert stat.S_IMODE(pack.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in pack.iterdir()} == {0o600}


def test_pack_yaml_and_every_column_listed(pack: Path, export: Path) -> None:
    loaded = load_pack(pack)
    assert loaded.spec.name == "icu"
    assert loaded.spec.version == "0.1.0"
    assert loaded.spec.columns["d_icd"] == ["icd_code", "long_title"]
    labs = (pack / "labevents.yaml").read_text(encoding="utf-8")
    header = (export / "labevents.csv").read_text(encoding="utf-8").splitlines()[0]
    for column in header.split(","):
        assert f"#   {column}: " in labs
    assert "null 14.3%" in labs  # hadm_id, empty on outpatient labs
    assert labs.count("TODO") >= len(header.split(","))


def test_dictionary_offered_as_a_commented_lookup(pack: Path) -> None:
    text = (pack / "diagnoses_icd.yaml").read_text(encoding="utf-8")
    assert ("# lookup:\n#   d_icd:\n#     table: d_icd\n#     key: [icd_code]\n"
            '#     match: ["$icd_code"]\n#     columns: [long_title]\n') in text
    assert "  patient: {ref: {mapping: icu.patients, key: [\"$subject_id\"]}}" in text
    assert "  encounter: {ref: {mapping: icu.admissions, key: [\"$hadm_id\"]}}" in text
    assert "lookup" not in (pack / "patients.yaml").read_text(encoding="utf-8")


def test_related_encounter_row_offered_for_a_table_without_a_date(pack: Path) -> None:
    """Diagnoses have no date: the admission's start is offered (commented) instead."""
    text = (pack / "diagnoses_icd.yaml").read_text(encoding="utf-8")
    assert ("#   admissions:\n#     table: admissions\n#     key: [hadm_id]\n"
            '#     match: ["$hadm_id"]\n#     columns: [admittime]\n') in text
    assert ('      # recordedDate: {datetime: "$admissions.admittime"}   # TODO: uncomment with '
            "the lookup: block above (the admissions row's date)\n") in text
    labs = (pack / "labevents.yaml").read_text(encoding="utf-8")
    assert "table: admissions" not in labs  # its own charttime is its date
    assert 'effectiveDateTime: {datetime: "$charttime"}' in labs


def test_readme_summary(pack: Path) -> None:
    text = (pack / "README.md").read_text(encoding="utf-8")
    assert "| `diagnoses_icd` | 180 | 0 | hadm_id, seq_num (unique pair) | Condition |" in text
    assert "| `labevents` | 210 | 1 | labevent_id (unique) | Observation |" in text
    assert "- `labevents.itemid` -> `d_labitems.itemid`" in text
    assert "- `d_labitems`: code `itemid`, label `label`, used by `labevents.itemid`" in text


def test_refuses_a_non_empty_folder_unless_forced(export: Path, tmp_path: Path) -> None:
    out = tmp_path / "p"
    out.mkdir()
    (out / "old.yaml").write_text("stale", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="the folder is not empty"):
        scaffold({"type": "csv", "path": str(export)}, out)
    scaffold({"type": "csv", "path": str(export)}, out, name="Other Name", force=True)
    assert not (out / "old.yaml").exists()  # a stale mapping would break the pack
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert load_pack(out).spec.name == "other-name"


def test_files_entry_for_a_csv_name_that_is_no_table_name(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Lab Results (2024).csv").write_text("id,v\n1,a\n2,b\n", encoding="utf-8")
    (src / "broken.csv").write_text("", encoding="utf-8")  # damaged: no header
    scaffold({"type": "csv", "path": str(src)}, tmp_path / "p")
    pack_yaml = (tmp_path / "p" / "pack.yaml").read_text(encoding="utf-8")
    assert 'files:\n  lab_results_2024: "Lab Results (2024).csv"\n' in pack_yaml
    assert "source: lab_results_2024" in (tmp_path / "p" / "lab_results_2024.yaml").read_text(
        encoding="utf-8")
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert "- `broken`: not read: " in readme
    assert "the file is empty" in readme


def test_no_readable_table(tmp_path: Path) -> None:
    (tmp_path / "broken.csv").write_text("", encoding="utf-8")
    with pytest.raises(ExtractError, match="no table could be read: broken: .*empty"):
        scaffold({"type": "csv", "path": str(tmp_path)}, tmp_path / "p")
    assert not (tmp_path / "p").exists()  # nothing written when nothing could be read
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExtractError, match="no tables found in .*empty"):
        scaffold({"type": "csv", "path": str(tmp_path / "empty")}, tmp_path / "q")


def test_capped_profile_is_said(export: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    import migrate.report.profile as profile
    import migrate.scaffold.profile as pairs

    monkeypatch.setattr(profile, "MAX_DISTINCT", 40)  # fewer than the 60 admissions
    monkeypatch.setattr(pairs, "MAX_DISTINCT", 40)
    scaffold({"type": "csv", "path": str(export)}, tmp_path / "p")
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert ("- `admissions`: not proven unique (more distinct values than the profiler keeps); "
            "a repeated key is quarantined as duplicate-key") in readme
    assert ("- `admissions.hadm_id`: more distinct values than the profiler keeps: counts are "
            "a floor") in readme
    assert "#   hadm_id: integer, null 0.0%, 40+ distinct; key; more distinct values" in (
        tmp_path / "p" / "admissions.yaml").read_text(encoding="utf-8")
    diagnoses = (tmp_path / "p" / "diagnoses_icd.yaml").read_text(encoding="utf-8")
    assert "key: [subject_id, hadm_id, seq_num, icd_code, icd_version]" in diagnoses
    assert "duplicate_keys: number" in diagnoses  # hadm_id repeats: never a key, even capped
    assert load_pack(tmp_path / "p").spec.columns["admissions"][0] == "hadm_id"


@pytest.fixture(scope="module")
def riverside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packs") / "rv"
    scaffold({"type": "csv", "path": str(Path(__file__).resolve().parents[2] / "sample_data"
                                         / "riverside")}, out)
    return out


def test_orphans_and_repeats_are_said_in_readme(riverside: Path) -> None:
    """The README counts what `run` will hold back: a repeated key, values not found."""
    text = (riverside / "README.md").read_text(encoding="utf-8")
    assert ("| `DIAGNOSES_ICD` | 576 | 0 | ROW_ID (unique but for 1 repeated value(s): those "
            "rows will be quarantined duplicate-key (the first of each kept)) | Condition |"
            ) in text
    assert ("- `DIAGNOSES_ICD.ICD_CODE` -> `d_diagnosis.icd_code`: 1 value(s) not found in "
            "d_diagnosis (1 row(s)): those rows will be look-up misses\n") in text
    assert ("- `procedures.hadm_id` -> `admissions.hadm_id`: 1 value(s) not found in "
            "admissions (1 row(s)): those rows will be dangling references\n") in text
    assert "- `labevents.ITEMID` -> `D_ITEMS.ITEMID`\n" in text
    assert "- `D_ITEMS`: code `ITEMID`, label `LABEL`, used by `labevents.ITEMID`" in text


def test_lookups_offered_with_their_on_missing(riverside: Path) -> None:
    """A dictionary's miss keeps the row (its code is still written); a missing related
    row quarantines it. The comment says why, and the orphans seen (counts only)."""
    drugs = (riverside / "prescriptions.yaml").read_text(encoding="utf-8")
    assert ('#   d_drugs:\n#     table: d_drugs\n#     key: [drug_id]\n#     match: ["$DRUG_ID"]'
            "\n#     columns: [drug]   # also in it: rxnorm\n"
            "#     on_missing: keep   # a code d_drugs lacks is still written, without its "
            "label, and counted as a warning lookup-miss (quarantine: hold such rows back). "
            "Seen: 1 value(s) of DRUG_ID not found in d_drugs (1 row(s)).\n") in drugs
    assert ("DRUG_ID: text, null 0.0%, 15 distinct; -> d_drugs.drug_id; 1 value(s) not found "
            "in d_drugs (1 row(s)): those rows will be look-up misses.") in drugs
    procedures = (riverside / "procedures.yaml").read_text(encoding="utf-8")
    assert ("#     on_missing: quarantine   # a row whose admissions row is missing would "
            "reference nothing: held back as lookup-miss (keep: mapped without the date, a "
            "warning). Seen: 1 value(s) of hadm_id not found in admissions (1 row(s)).\n"
            ) in procedures
    labs = (riverside / "labevents.yaml").read_text(encoding="utf-8")
    assert "#     columns: [LABEL]   # also in it: FLUID, CATEGORY, LOINC_CODE\n" in labs
    assert "Seen:" not in labs  # every ITEMID is in D_ITEMS
    assert load_pack(riverside).mappings  # the pack loads as written


def test_no_value_of_riverside_is_written(riverside: Path) -> None:
    """Neither the orphans (a retired code, a deleted drug, a purged admission) nor the
    repeated key, names, labels or identifiers reach the pack."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in riverside.iterdir())
    values = ["4019", "XDRUG99", "99999999", "Yamamoto", "CORDELIA", "RGH0193464",
              "Creatinine", "Heparin", "hypertension", "2132-12"]
    assert [v for v in values if v.lower() in text.lower()] == []
