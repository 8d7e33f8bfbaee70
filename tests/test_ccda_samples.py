"""The ``ccda`` source and pack on the real C-CDA documents of ``../shared/data/ccda-samples``
(95 documents from Allscripts, Cerner, Partners, Practice Fusion, HL7, NIST and 50 synthetic
EMERGE patients): every document migrates, every table balances, the resource counts match
an independent XPath count (``tests/ccda_oracle.py``), each document's bytes travel intact in
its DocumentReference, one document per vendor is compared with a golden file, and the output
loads into a real sekmet-fhir that ``reconcile`` then finds identical.

Golden files: ``pytest tests/test_ccda_samples.py --update-golden`` rewrites
``tests/golden/ccda/*.json``; review ``git diff tests/golden/ccda`` before committing.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.pipeline import run_pipeline
from tests import ccda_oracle as oracle
from tests.conftest import REPO, TEST_NAMESPACE, TEST_SYSTEM, make_settings

PACK = REPO / "mappings" / "ccda"
GOLDEN = REPO / "tests" / "golden" / "ccda"
SAMPLES = oracle.SAMPLES
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=oracle.SKIP_REASON)

# One document per vendor family (and the two odd HL7 ones: a non-XML body, nesting depth 4).
PER_VENDOR = {
    "allscripts-enterprise": "Allscripts_Samples_Enterprise_EHR_b2_Adam_Everyman_ToC.xml",
    "allscripts-internal": "Allscripts_Samples_Internal_Test_with_MU_2_data_"
                           "170.314B2_Amb_CCD.xml",
    "allscripts-professional": "Allscripts_Samples_Professional_EHR_dataport_Ambulatory.xml",
    "allscripts-sunrise": "Allscripts_Samples_Sunrise_Clinical_Manager_C-CDA_101693_"
                          "20130617091427_Kidd_Kari_CCDA.xml",
    "cerner": "Cerner_Samples_Transition_of_Care_Referral_Summary.xml",
    "hl7-ccd": "HL7_Samples_CCD.sample.xml",
    "hl7-dir": "HL7_Samples_DIR.sample.xml",
    "hl7-unstructured": "HL7_Samples_UD.sample.xml",
    "nist": "NIST_Samples_CCDA_CCD_b1_Ambulatory_v2.xml",
    "partners": "Partners_HealthCare_LMR1TEST.xml",
    "practice-fusion": "PracticeFusion_Samples_PracticeFusion_SummaryOfCare_export_"
                       "Maria_Teller.ccd",
    "transitions-of-care": "Transitions_of_Care_Samples_ToC_CCDA_CCD_CompGuideSample_"
                           "FullXML.xml",
    "emerge": "EMERGE/Patient-0.xml",
}


def _run(source: Path, out: Path, target: str | dict | None = None,
         **extra: Any) -> dict[str, Any]:
    report = run_pipeline(make_settings({"type": "ccda", "path": str(source)},
                                        target or f"ndjson:{out / 'nd'}", out, PACK, **extra))
    nd = out / "nd"
    resources = {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
                 for p in nd.glob("*.ndjson")} if nd.is_dir() else {}
    qfile = out / "quarantine.ndjson"
    quarantine = [orjson.loads(x) for x in qfile.read_bytes().splitlines()] \
        if qfile.exists() else []
    return {"report": report, "resources": resources, "quarantine": quarantine,
            "run_json": orjson.loads((out / "run.json").read_bytes()), "out": out}


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the pack over the 95 real documents, to NDJSON."""
    if not SAMPLES.is_dir():
        pytest.skip(oracle.SKIP_REASON)
    return _run(SAMPLES, tmp_path_factory.mktemp("ccda-all"))


@needs_samples
def test_every_document_migrates_and_every_table_balances(whole: dict) -> None:
    report, run_json = whole["report"], whole["run_json"]
    assert report.status == "ok", report.problems()
    assert all(t.balanced and t.complete for t in report.tables)
    docs = run_json["source_report"]["documents"]
    assert (docs["files"], docs["parsed"], docs["quarantined"]) == (95, 95, 0)
    entries = run_json["source_report"]["entries"]
    assert entries["balanced"]
    assert entries["found"] == 2510
    assert entries["found"] == (entries["read"] + entries["no_information"]
                                + entries["quarantined"] + entries["unread"])
    # Nothing set aside without its document and reason (file names only in this 0600 file).
    names = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*")}
    for record in whole["quarantine"]:
        assert record["reasons"]
        assert all(r["code"] for r in record["reasons"])
        assert all(w["document"] in names for w in record["found_in"])
    assert (whole["out"] / "quarantine.ndjson").stat().st_mode & 0o777 == 0o600


@needs_samples
def test_resource_counts_follow_the_independent_count(whole: dict) -> None:
    """Patients: the identity groups of the oracle (EMERGE's 50 patients sharing one id stay
    50; the 4 multi-document patients are one each). Documents: one DocumentReference per
    distinct file content. Every emitted resource of a table is one of its rows."""
    counts = Counter({k: len(v) for k, v in whole["resources"].items()})
    docs = oracle.count_folder(SAMPLES)
    assert counts["Patient"] == len(oracle.patient_groups(docs))
    assert counts["DocumentReference"] == len({hashlib.sha256(p.read_bytes()).digest()
                                               for p in oracle.sample_files(SAMPLES)})
    by_table = {t.table: t.emitted for t in whole["report"].tables}
    assert counts["Patient"] == by_table["patients"]
    assert counts["Immunization"] == by_table["immunizations"]
    assert counts["MedicationRequest"] == by_table["medications"]
    assert counts["AllergyIntolerance"] == by_table["allergies"]
    assert counts["Condition"] == by_table["problems"] + by_table["encounter_diagnoses"]
    emerge = [r for r in whole["resources"]["Patient"]
              if any(i.get("value") == "998991" for i in r.get("identifier", []))]
    assert len(emerge) == 50


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "reference" and isinstance(v, str)] + [
            r for k, v in value.items() if k != "reference" for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


@needs_samples
def test_every_reference_points_at_a_resource_of_the_run(whole: dict) -> None:
    """No dangling reference: a DiagnosticReport or vital-signs panel lists only members that
    were emitted, every subject, encounter, performer and author exists."""
    ids = {f"{r['resourceType']}/{r['id']}" for rs in whole["resources"].values() for r in rs}
    refs = [x for rs in whole["resources"].values() for r in rs for x in _references(r)]
    assert len(refs) > 4000
    assert [x for x in refs if x not in ids] == []


@needs_samples
def test_no_two_resources_of_a_patient_share_an_identifier(whole: dict) -> None:
    """An entry id written as an identifier belongs to one fact: Practice Fusion puts one id
    on two different allergies, EMERGE one id on three; those rows are keyed by content and
    carry no identifier (a server matching on identifiers would merge them). Documents are
    left out: exporters reuse a ClinicalDocument/id for different documents, kept as sent."""
    seen: dict[tuple, set[str]] = {}
    for kind, rs in whole["resources"].items():
        for r in rs:
            subject = (r.get("subject") or r.get("patient") or {}).get("reference")
            if subject is None or kind == "DocumentReference":
                continue
            for i in r.get("identifier", []):
                seen.setdefault((kind, subject, i.get("system"), i["value"]), set()).add(r["id"])
    assert len(seen) > 500
    assert [k for k, ids in seen.items() if len(ids) > 1] == []


@needs_samples
def test_each_document_travels_whole_in_its_document_reference(whole: dict) -> None:
    files = {hashlib.sha1(p.read_bytes()).digest(): p.read_bytes()
             for p in oracle.sample_files(SAMPLES)}
    seen = set()
    for ref in whole["resources"]["DocumentReference"]:
        attachment = ref["content"][0]["attachment"]
        data = base64.b64decode(attachment["data"])
        digest = hashlib.sha1(data).digest()
        assert base64.b64decode(attachment["hash"]) == digest
        assert attachment["size"] == len(data)
        assert files[digest] == data
        assert attachment["contentType"].endswith("xml")
        seen.add(digest)
    assert seen == set(files)


@needs_samples
def test_a_patient_with_several_documents_is_one_patient_and_entries_are_not_repeated(
        tmp_path: Path) -> None:
    """Kari Kidd's ambulatory and inpatient transition-of-care documents: loading the second
    beside the first adds its DocumentReference and no second copy of any shared entry."""
    stem = "Allscripts_Samples_Sunrise_Clinical_Manager_C-CDA_101693_20130617120"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    shutil.copy(SAMPLES / f"{stem}344_Kidd_Kari_CCDA_TOCAMB.xml", one)
    shutil.copy(SAMPLES / f"{stem}344_Kidd_Kari_CCDA_TOCAMB.xml", two)
    shutil.copy(SAMPLES / f"{stem}425_Kidd_Kari_CCDA_TOCINPT.xml", two)
    first, both = _run(one, tmp_path / "o1"), _run(two, tmp_path / "o2")
    ids = {kind: {r["id"] for r in rs} for kind, rs in first["resources"].items()}
    ids2 = {kind: {r["id"] for r in rs} for kind, rs in both["resources"].items()}
    assert len(ids2["Patient"]) == 1
    assert ids2["Patient"] == ids["Patient"]
    assert len(ids2["DocumentReference"]) == 2
    for kind, got in ids2.items():
        if kind != "DocumentReference":
            assert got == ids.get(kind, set()), kind  # the same entries, the same ids
    merged = both["run_json"]["source_report"]["entries"]["merged"]
    assert merged >= sum(len(v) for k, v in ids.items()
                         if k not in ("DocumentReference", "Patient", "Organization",
                                      "Practitioner")) // 2


def _normalised(resources: dict[str, list[dict]], data: bytes) -> list[dict]:
    """Resources sorted by type and id, the document's base64 replaced by a note (the bytes
    are checked in their own test)."""
    out = []
    for kind in sorted(resources):
        for r in sorted(resources[kind], key=lambda r: r["id"]):
            if kind == "DocumentReference":
                attachment = r["content"][0]["attachment"]
                assert base64.b64decode(attachment["data"]) == data
                attachment["data"] = f"<the document's {len(data)} bytes>"
            out.append(r)
    return out


@needs_samples
@pytest.mark.parametrize("vendor", sorted(PER_VENDOR))
def test_one_document_per_vendor_matches_its_golden_file(
        vendor: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    source = tmp_path / "docs"
    source.mkdir()
    path = SAMPLES / PER_VENDOR[vendor]
    shutil.copy(path, source)
    # One document is a small table: one row set aside is over any percentage threshold.
    got = _run(source, tmp_path / "out", max_quarantine_rate=1.0)
    assert got["report"].status == "ok", got["report"].problems()
    quarantined = [{**q, "reasons": [{**r, "rule": Path(r["rule"]).name if r["rule"] else None}
                                     for r in q["reasons"]]} for q in got["quarantine"]]
    assert all(w["document"] == path.name for q in quarantined for w in q["found_in"])
    text = orjson.dumps({"resources": _normalised(got["resources"], path.read_bytes()),
                         "quarantined": quarantined},
                        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    golden = GOLDEN / f"{vendor}.json"
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with --update-golden"
    assert text == golden.read_text(encoding="utf-8"), f"{vendor}: output differs from {golden}"


@needs_samples
@pytest.mark.integration
def test_the_output_loads_into_sekmet_and_reconcile_agrees(sekmet_server: Any,
                                                           tmp_path: Path) -> None:
    sekmet_server.reset()
    target = {"type": "fhir-server", "url": sekmet_server.base_url}
    loaded = _run(SAMPLES, tmp_path / "run", target)
    assert loaded["report"].status == "ok", loaded["report"].problems()
    total = loaded["run_json"]["resources_total"]
    assert sum(loaded["run_json"]["load"]["written"].values()) == total
    result = CliRunner().invoke(cli, [
        "reconcile", "--mappings", str(PACK), "--source", f"ccda:{SAMPLES}",
        "--namespace", TEST_NAMESPACE, "--source-system", TEST_SYSTEM,
        "--target", sekmet_server.base_url, "--out", str(tmp_path / "rec"), "--no-progress",
        "--sample", "50"])
    assert result.exit_code == 0, result.output
    report = orjson.loads((tmp_path / "rec" / "reconcile.json").read_bytes())
    assert report["status"] == "ok"
    assert all(t["ok"] and t["expected"] == t["target"] for t in report["types"])
    assert sum(t["target"] for t in report["types"]) == total


@needs_samples
def test_the_profile_of_the_documents_shows_no_date_of_care_no_identifier_no_file(
        tmp_path: Path) -> None:
    """`emr-migrate profile --source ccda:DIR` types HL7 times (20100424100000) as numbers:
    columns named like times, identifiers (id_extension: EMERGE's 50 patients share one SSN)
    and file names (they hold patients' names) show no values and no ranges."""
    import re

    result = CliRunner().invoke(cli, ["profile", "--source", f"ccda:{SAMPLES}",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = result.output
    times = {m.group(1).decode() for p in oracle.sample_files(SAMPLES)
             for m in re.finditer(rb'value="(\d{8,14}[^"]*)"', p.read_bytes())}
    assert len(times) > 700
    assert [t for t in times if f'"{t}"' in shown] == []
    assert "111-00-2330" not in shown
    assert not [p.name for p in oracle.sample_files(SAMPLES) if p.name in shown]


@needs_samples
def test_the_commands_docs_ccda_starts_with_run_as_written(tmp_path: Path) -> None:
    """The first block of docs/ccda.md, run by bash with `exported-documents` holding three
    real documents and `/path/to/export.zip` a zip of them: every command exits 0 and the run
    balances (a new user found the first version of the block did not run)."""
    import os
    import re
    import subprocess
    import sys
    import zipfile

    doc = (REPO / "docs" / "ccda.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", doc, re.S).group(1)
    assert block.startswith("emr-migrate init")
    folder = tmp_path / "exported-documents"
    folder.mkdir()
    names = [PER_VENDOR["cerner"], PER_VENDOR["nist"], PER_VENDOR["emerge"]]
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        for name in names:
            shutil.copy(SAMPLES / name, folder)
            zf.write(SAMPLES / name, Path(name).name)
    script = "set -e\n" + block.replace("/path/to/export.zip", str(tmp_path / "export.zip"))
    env = {**os.environ, "NO_COLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    run = orjson.loads((tmp_path / "out" / "run.json").read_bytes())
    assert run["status"] == "ok"
    assert run["source_report"]["documents"]["parsed"] == 3
    assert all(t["balanced"] and t["complete"] for t in run["tables"])
