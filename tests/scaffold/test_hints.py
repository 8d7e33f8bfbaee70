"""migrate/scaffold/hints.py (and the comments that use it): a number column with its unit
column suggests a quantity; pack.yaml gets commented `numbers:`, `booleans:` (only for tokens
the boolean transform lacks) and `units:` (the spellings UCUM lacks, seen 5+ times); a table of
long free text with a date suggests a DocumentReference."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.mappers import transforms
from migrate.scaffold import scaffold
from migrate.scaffold.columns import DEFAULT_FALSE, DEFAULT_TRUE

pytestmark = pytest.mark.filterwarnings(
    "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning")
UNITS = ["mg"] * 6 + ["MG"] * 5 + ["ZQUNIT"] * 5 + ["mcg"] * 5 + ["RAREUNIT"] * 2 + ["mL/h"] * 7


def _write(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("export")
    _write(src, "patients", ["patient_id", "sex", "active_yn"],
           [[i, "F" if i % 2 else "M", "Y" if i % 3 else "N"] for i in range(1, 31)])
    _write(src, "prescriptions", ["rx_id", "patient_id", "drug_code", "dose_val", "dose_unit",
                                  "substitute", "refill"],
           [[100 + i, 1 + i % 30, f"D{i % 4}", "1,000" if i % 4 == 0 else str(i % 7 + 1),
             UNITS[i], "on" if i % 2 else "off", "1" if i % 3 else "0"]
            for i in range(len(UNITS))])
    note = "Patient seen today.\nPlan: continue current medication, review in two weeks. " * 2
    _write(src, "clinical_text", ["text_id", "patient_id", "written", "body"],
           [[i, 1 + i % 30, f"2020-01-{1 + i % 28:02d}", f"{note}{i}"] for i in range(40)])
    return src


@pytest.fixture(scope="module")
def pack(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packs") / "p"
    scaffold({"type": "csv", "path": str(export)}, out)
    return out


def test_the_default_tokens_are_the_boolean_transforms() -> None:
    assert (DEFAULT_TRUE, DEFAULT_FALSE) == (set(transforms._TRUE), set(transforms._FALSE))


def test_pack_yaml_suggestions(pack: Path) -> None:
    lines = (pack / "pack.yaml").read_text("utf-8").splitlines()
    hints = [line for line in lines if line.startswith("#") and not line.startswith("# Starter")]
    assert hints[0] == ('# numbers: {thousands: ","}   # TODO: uncomment: numbers with '
                        "thousands separators seen in prescriptions.dose_val")
    # on/off is not a default token: the lists are the defaults plus on and off
    assert hints[1].startswith('# booleans: {true: ["1", "t", "true", "y", "yes", "on"], '
                               'false: ["0", "f", "false", "n", "no", "off"]}   # TODO: '
                               "uncomment: flags with other tokens seen in "
                               "prescriptions.substitute")
    assert hints[2].startswith("# units:   # quantity units seen (prescriptions.dose_unit: 6 "
                               "distinct spelling(s)).")
    assert hints[3:] == [
        '#   "MG": "mg"   # not accepted as written (5 rows of prescriptions.dose_unit); mg? '
        "check it",
        '#   "ZQUNIT": "TODO"   # not accepted as written (5 rows of prescriptions.dose_unit)',
        '#   "mcg": "ug"   # not accepted as written (5 rows of prescriptions.dose_unit); ug? '
        "check it",
        "# accepted as written (valid UCUM: check each means what the source meant): mL/h, mg"]
    assert "RAREUNIT" not in "\n".join(lines)  # seen twice: never written
    uncommented = "\n".join(line[2:] if line.startswith(("# numbers", "# booleans", "# units",
                                                         '#   "')) else line for line in lines)
    data = yaml.safe_load(uncommented)
    assert data["numbers"] == {"thousands": ","}
    assert data["units"] == {"MG": "mg", "ZQUNIT": "TODO", "mcg": "ug"}
    assert data["booleans"][True][-1] == "on"  # `true:` is read as the word by the pack


def test_column_comments(pack: Path) -> None:
    rx = (pack / "prescriptions.yaml").read_text("utf-8")
    assert 'e.g. {quantity: {value: $dose_val, unit: $dose_unit, thousands: ","}}' in rx
    assert "#   dose_unit: code, null 0.0%, 6 distinct. TODO: the unit of $dose_val" in rx
    assert "TODO: map it, e.g. {boolean: $refill}" in rx  # 1/0: the defaults read it
    assert 'TODO: map it, e.g. {boolean: {value: $substitute, true: ["on"], false: ["off"]}}' \
        in rx
    assert "TODO: map it, e.g. {boolean: $active_yn}" in (pack / "patients.yaml").read_text(
        "utf-8")


def test_notes_suggest_a_document_reference(pack: Path) -> None:
    text = (pack / "clinical_text.yaml").read_text("utf-8")
    assert "# Resource: Basic (free-text notes (a long text column and a date): a " \
        "DocumentReference would hold them" in text
    assert ("# TODO: a DocumentReference suggested for the notes in body:\n"
            "#   status: current, type: {text: TODO}, subject: $patient, context: {period: "
            '{start: {date: "$written"}}},\n'
            "#   text: {status: generated, div: {xhtml: $body}}, content: [{attachment: "
            "{contentType: text/plain}}]\n") in text
    assert "DocumentReference" not in (pack / "prescriptions.yaml").read_text("utf-8")


def test_the_suggestions_uncommented_pass_check(pack: Path, export: Path,
                                                tmp_path: Path) -> None:
    copy = tmp_path / "p"
    shutil.copytree(pack, copy)
    text = (copy / "pack.yaml").read_text("utf-8").replace("# numbers:", "numbers:")
    (copy / "pack.yaml").write_text(text.replace("# booleans:", "booleans:"), "utf-8")
    rx = (copy / "prescriptions.yaml").read_text("utf-8")
    (copy / "prescriptions.yaml").write_text(rx.replace(
        "intent: order", "intent: order\n      doNotPerform: {boolean: $substitute}"), "utf-8")
    result = CliRunner().invoke(cli, ["check", str(copy), "--source", str(export)])
    assert result.exit_code == 0, result.output
    assert "all good" in result.output
