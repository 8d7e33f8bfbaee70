"""`emr-migrate validate` end to end: the Synthea sample is GO; a copy with injected defects is
NO-GO and every defect lands in the right place of report.json; the HTML report is opened in
headless Chromium, screenshotted, and its figures are read back from the rendered DOM.

Screenshots go to the pytest temp folder (their paths are printed; run with ``-s``). Set
``EMR_MIGRATE_UPDATE_SCREENSHOT=1`` to refresh the example in docs/img/validate-report.png.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import REPO, TEST_NAMESPACE

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings(
        "ignore:module 'sre_(constants|parse)' is deprecated:DeprecationWarning"),
]
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = REPO / "sample_data" / "synthea"
DOCS_SCREENSHOT = REPO / "docs" / "img" / "validate-report.png"
ORPHAN = "00000000-dead-beef-0000-000000000000"
BAD_DATE = "2020-13-45T06:44:09Z"


def validate(report_dir: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["validate", "-c", str(REPO / "sample_data/migration.yaml"),
                                      "--report-dir", str(report_dir), "--no-progress", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, orjson.loads((report_dir / "report.json").read_bytes()), \
        result.output


def _edit(path: Path, change: Any) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows = change(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _patients(rows: list[list[str]]) -> list[list[str]]:
    head = rows[0]
    rows[0] = [*head, "NICKNAME"]  # a column no mapping reads
    for row in rows[1:]:
        row.append("Nick")
    rows[2][head.index("MARITAL")] = "Q"  # a code the marital-status map does not know
    rows.append(list(rows[1]))  # a duplicate patient Id
    return rows


def _encounters(rows: list[list[str]]) -> list[list[str]]:
    head = rows[0]
    rows[3][head.index("START")] = BAD_DATE
    rows[4][head.index("PATIENT")] = ORPHAN  # an encounter of a patient who does not exist
    return rows


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("validate-good")
    code, data, _ = validate(folder)
    return code, data, folder


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("validate-bad")
    src = root / "synthea"
    shutil.copytree(SAMPLE, src)
    _edit(src / "patients.csv", _patients)
    _edit(src / "encounters.csv", _encounters)
    code, data, output = validate(root / "report", "--source", str(src))
    assert output.startswith("verdict: NO-GO\n")
    return code, data, root / "report"


def test_the_sample_is_go(good: tuple[int, dict[str, Any], Path]) -> None:
    code, data, _ = good
    assert (code, data["verdict"], data["reasons"]) == (0, "GO", [])
    assert data["rows"] == {"read": 5760, "emitted": 5760, "filtered": 0, "quarantined": 0,
                            "quarantine_rate": 0.0}
    assert data["resources_total"] == 5568
    assert data["resources"]["Patient"] == 25
    assert data["resources"]["Observation"] == 3676
    assert all(t["balanced"] for t in data["tables"])
    assert data["expectations"]["summary"] == {"evaluated": 90, "passed": 90, "failed": 0,
                                               "failed_critical": 0, "failed_warning": 0}
    assert data["output"]["dangling_references"] == 0
    assert data["terminology_gaps"] == []
    assert data["quarantine"] == []


def test_the_sample_report_lists_what_is_left_behind(
        good: tuple[int, dict[str, Any], Path]) -> None:
    _, data, _ = good
    cov = data["coverage"]
    assert [t["table"] for t in cov["unused_tables"]] == [
        "claims", "claims_transactions", "payer_transitions", "payers"]
    unused = {(c["table"], c["column"]): c["non_null"] for c in cov["unused_columns"]}
    assert unused[("patients", "INCOME")] == 25
    assert unused[("encounters", "TOTAL_CLAIM_COST")] == 379
    assert cov["rules_never_fired"] == []
    assert data["output"]["us_core_must_have"] == [
        {"resource_type": "MedicationRequest", "element": "requester", "missing": 161,
         "total": 161, "severity": "warning"}]


def _failed(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["table"], r["check"]): r for r in data["expectations"]["results"]
            if not r["success"]}


def test_defects_make_it_no_go_with_every_reason(
        bad: tuple[int, dict[str, Any], Path]) -> None:
    code, data, _ = bad
    assert (code, data["verdict"]) == (3, "NO-GO")
    assert [c["name"] for c in data["checks"] if not c["passed"]] == [
        "dangling_references", "critical_expectations", "tables"]
    assert data["reasons"][2].startswith("table 'patients' (mapping synthea.patient): 1 of 26 ")
    assert data["reasons"][1].startswith("3 critical source expectation(s) failed: patients: "
                                         "Id is unique, encounters: PATIENT exists in")
    assert set(_failed(data)) == {
        ("patients", "Id is unique"), ("patients", "MARITAL in marital-status"),
        ("encounters", "PATIENT exists in patients.Id"),
        ("encounters", "START is a date %Y-%m-%dT%H:%M:%SZ")}


def test_duplicate_id_and_bad_date_in_expectations_and_quarantine(
        bad: tuple[int, dict[str, Any], Path]) -> None:
    _, data, _ = bad
    failed = _failed(data)
    dup, date = failed[("patients", "Id is unique")], failed[
        ("encounters", "START is a date %Y-%m-%dT%H:%M:%SZ")]
    assert (dup["severity"], dup["unexpected_count"]) == ("critical", 2)
    assert (date["unexpected_count"], date["element_count"]) == (1, 379)
    groups = {(g["code"], g["mapping"], g["column"]): g for g in data["quarantine"]}
    assert set(groups) == {("duplicate-key", "synthea.patient", None),
                           ("bad-datetime", "synthea.encounter", "START")}
    # the same row, hashed the same way in both sections
    assert groups[("bad-datetime", "synthea.encounter", "START")]["examples"] == date["examples"]
    assert groups[("duplicate-key", "synthea.patient", None)]["examples"][0] in dup["examples"]


def test_orphan_foreign_key_and_dangling_reference(
        bad: tuple[int, dict[str, Any], Path]) -> None:
    _, data, _ = bad
    fk = _failed(data)[("encounters", "PATIENT exists in patients.Id")]
    assert (fk["engine"], fk["unexpected_count"], fk["values"]) == ("emr-migrate", 1, None)
    refs = {r["path"]: r for r in data["output"]["references"]}
    assert refs["Encounter.subject"]["dangling"] == 1
    # the encounter quarantined for its bad date leaves its conditions etc. pointing at nothing
    assert refs["Condition.encounter"]["dangling"] == 1
    assert data["output"]["dangling_references"] == 4


def test_unknown_code_is_a_terminology_gap_with_a_fill_in_map(
        bad: tuple[int, dict[str, Any], Path]) -> None:
    _, data, folder = bad
    [gap] = data["terminology_gaps"]
    masked = gap.pop("code")  # no --show-values: hash, length and shape only
    assert re.fullmatch(r"#[0-9a-f]{10} \(1 chars, shape A\)", masked)
    assert gap == {"mapping": "synthea.patient", "column": "MARITAL",
                   "concept_map": "marital-status", "policy": "fixed-code", "count": 1}
    with (folder / "terminology_gaps.csv").open(newline="") as fh:
        assert list(csv.reader(fh)) == [
            ["source_code", "target_system", "target_code", "target_display", "mapping",
             "column", "count", "concept_map", "policy"],
            [masked, "", "", "", "synthea.patient", "MARITAL", "1", "marital-status",
             "fixed-code"]]
    assert not (folder / "terminology_gaps").exists()  # fill-in maps need --show-values


def test_unread_column_and_no_phi(bad: tuple[int, dict[str, Any], Path]) -> None:
    _, data, folder = bad
    unused = {(c["table"], c["column"]): c["non_null"] for c in data["coverage"]["unused_columns"]}
    assert unused[("patients", "NICKNAME")] == 26
    for name in ("report.json", "report.html"):
        text = (folder / name).read_text()
        assert BAD_DATE not in text
        assert ORPHAN not in text
        assert "Zo\u00eb220" not in text


def chromium(html: Path, shot: Path, tmp: Path) -> str:
    """Render ``html`` headless: screenshot to ``shot``; return the rendered DOM."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp / 'profile'}", f"--screenshot={shot}",
           "--window-size=1280,2000", "--dump-dom", html.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")  # noqa: T201 - kept for people: pytest -s shows it
    return done.stdout


def figure(dom: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', dom)
    assert match, name
    return match.group(1).replace(",", "")


@pytest.mark.parametrize("which", ["good", "bad"])
def test_html_report_in_chromium(which: str, request: pytest.FixtureRequest,
                                 tmp_path: Path) -> None:
    _, data, folder = request.getfixturevalue(which)
    shot = tmp_path / f"validate-report-{which}.png"
    dom = chromium(folder / "report.html", shot, tmp_path)
    assert re.search(r'id="verdict" class="verdict (go|nogo)" data-verdict="([A-Z-]+)"', dom)
    assert figure(dom, "verdict") == data["verdict"]
    assert int(figure(dom, "rows-read")) == data["rows"]["read"]
    assert int(figure(dom, "rows-quarantined")) == data["rows"]["quarantined"]
    assert int(figure(dom, "resources-total")) == data["resources_total"]
    assert int(figure(dom, "dangling-references")) == data["output"]["dangling_references"]
    assert int(figure(dom, "expectations-failed-critical")) == \
        data["expectations"]["summary"]["failed_critical"]
    assert dom.count("<li data-reason") == len(data["reasons"])
    assert dom.count('<svg class="chart"') == 2
    if which == "bad" and os.environ.get("EMR_MIGRATE_UPDATE_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_html_report_prints(bad: tuple[int, dict[str, Any], Path], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    pdf = tmp_path / "report.pdf"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf}", (bad[2] / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 2 <= pages <= 12, pages
    print(f"print preview: {pdf} ({pages} pages)")  # noqa: T201


def test_openemr_pack_validates(tmp_path: Path) -> None:
    pack, db = REPO / "mappings" / "openemr", REPO / "sample_data" / "openemr" / "openemr.sqlite"
    if not (pack / "pack.yaml").exists() or not db.exists():
        pytest.skip(f"OpenEMR pack or sample not there yet ({pack}, {db})")
    result = CliRunner().invoke(cli, [
        "validate", "--mappings", str(pack), "--source", f"sqlite:///{db}", "--namespace",
        str(TEST_NAMESPACE), "--report-dir", str(tmp_path), "--no-progress"])
    assert result.exit_code in (0, 3), result.output
    data = orjson.loads((tmp_path / "report.json").read_bytes())
    assert all(t["balanced"] for t in data["tables"])
    assert data["rows"]["read"] > 0
    assert data["resources_total"] > 0
    assert (tmp_path / "report.html").stat().st_size > 10_000
    print(f"OpenEMR sample: {data['verdict']}; reasons: {data['reasons']}")  # noqa: T201
