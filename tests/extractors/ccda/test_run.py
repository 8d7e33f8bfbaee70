"""The ccda extractor in a real run: a tiny pack maps ``documents`` to DocumentReference and
``patients`` to Patient; run.json's source_report and the documents table balance, file
names stay in the private quarantine file, and the spool is gone whether the run ends well
or not."""

from __future__ import annotations

import base64
import stat
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.errors import ExtractError
from migrate.extractors.ccda import IN_DOCUMENT, CcdaExtractor
from migrate.extractors.ccda.source import DocumentSource
from migrate.pipeline import run_pipeline
from tests.conftest import make_settings
from tests.extractors.ccda.fakes import FakeReader, document

PATIENT = """\
mapping: t.patient
source: patients
key: [patient_key]
emit:
  - resource: Patient
    template:
      identifier: [{identifier: {system: urn:t, value: $id_extension}}]
      name: [{family: $family}]
"""
DOCUMENT = """\
mapping: t.document
source: documents
key: [document_key]
emit:
  - resource: DocumentReference
    template:
      status: current
      subject: {ref: {mapping: t.patient, key: [$patient_key]}}
      content:
        - attachment: {contentType: $content_type, data: $data_base64, hash: $sha1_base64}
"""


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "patient.yaml").write_text(textwrap.dedent(PATIENT))
    (pack / "document.yaml").write_text(textwrap.dedent(DOCUMENT))
    src = tmp_path / "src"
    src.mkdir()
    files = {"Smithson_Jane_2019.xml": document(family="Smithson", effective="2019"),
             "Smithson_Jane_2020.xml": document(family="Smithson", effective="2020",
                                                entries=(("e1", "X"),)),
             "Smithson_Jane_copy.xml": document(family="Smithson", effective="2019"),
             "Smithson_Jane_broken.xml": b"<ClinicalDocument",
             "Other_Person.xml": document(patient="p2", family="Other")}
    for name, data in files.items():
        (src / name).write_bytes(data)
    (tmp_path / "spool").mkdir()
    return {"pack": pack, "src": src, "out": tmp_path / "out", "spool": tmp_path / "spool"}


def run(project: dict[str, Path]) -> tuple[Any, CcdaExtractor]:
    ext = CcdaExtractor(project["src"], spool_dir=project["spool"], reader=FakeReader())
    settings = make_settings({"type": "ccda", "path": str(project["src"])},
                             f"ndjson:{project['out'] / 'nd'}", project["out"],
                             mappings=project["pack"], max_quarantine_rate=1.0)
    return run_pipeline(settings, extractor=ext), ext


def test_a_run_accounts_for_every_document_and_names_no_file(
        project: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = run(project)
    run_json = orjson.loads((project["out"] / "run.json").read_bytes())
    documents = run_json["source_report"]["documents"]
    assert documents == {"files": 5, "parsed": 3, "quarantined": 1, "duplicates": 1,
                         "over_limit": 0, "by_problem": {"not-well-formed": 1}}
    assert run_json["source_report"]["patients"]["groups"] == 2
    stats = {t.table: t for t in report.tables}
    docs = stats["documents"]
    assert (docs.read, docs.emitted, docs.complete) == (4, 3, True)
    assert docs.expected_rows == 4
    assert docs.quarantined == {"unparseable-row": 1}
    assert stats["patients"].read == 2
    drs = [orjson.loads(line) for line in
           (project["out"] / "nd" / "DocumentReference.ndjson").read_bytes().splitlines()]
    datas = sorted(base64.b64decode(d["content"][0]["attachment"]["data"]) for d in drs)
    assert datas == sorted((project["src"] / n).read_bytes() for n in (
        "Smithson_Jane_2019.xml", "Smithson_Jane_2020.xml", "Other_Person.xml"))
    quarantine = project["out"] / "quarantine.ndjson"
    [record] = [orjson.loads(x) for x in quarantine.read_bytes().splitlines()]
    assert record["reasons"][0]["message"].startswith(f"{IN_DOCUMENT}: line 1")
    assert record["reasons"][0]["value"] == "Smithson_Jane_broken.xml"
    assert stat.S_IMODE(quarantine.stat().st_mode) == 0o600
    said = capsys.readouterr()
    for text in ((project["out"] / "run.json").read_text(), said.out, said.err):
        assert "Smithson" not in text
        assert "Jane" not in text
    assert list(project["spool"].iterdir()) == []


def test_the_spool_is_removed_when_the_run_fails_midway(
        project: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_read = DocumentSource.read

    def read(self: DocumentSource, item: Any) -> bytes:
        calls.append(item.name)
        if len(calls) > 5:  # every file was spooled; the run dies re-reading one
            raise RuntimeError("disk gone")
        return real_read(self, item)

    monkeypatch.setattr(DocumentSource, "read", read)
    with pytest.raises(ExtractError, match="lost the source while reading C-CDA table"):
        run(project)
    assert len(calls) == 6
    assert list(project["spool"].iterdir()) == []
    run_json = orjson.loads((project["out"] / "run.json").read_bytes())
    assert run_json["status"] == "failed"


@pytest.mark.parametrize("how", ["setting", "flag"])
def test_the_cli_runs_a_ccda_source_and_prints_no_file_or_patient_name(
        project: dict[str, Path], monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    from click.testing import CliRunner

    from migrate import cli as cli_module
    from migrate.extractors import ccda
    from tests.conftest import TEST_NAMESPACE

    monkeypatch.setattr(ccda, "_default_reader", FakeReader)
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(**options: Any) -> str:
        made.append(real_mkdtemp(**options))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    root = project["pack"].parent
    source = "source: {type: ccda, path: src, max_document_mb: 1}\n" if how == "setting" \
        else "source: unused\n"
    cfg = root / "migration.yaml"
    cfg.write_text(f"version: 1\nmappings: pack\n{source}target: ndjson:out/nd\n"
                   "output: out\n"
                   f"identity:\n  namespace: {TEST_NAMESPACE}\n", encoding="utf-8")
    flags = [] if how == "setting" else ["--source", f"ccda:{project['src']}"]
    result = CliRunner().invoke(cli_module.cli, ["run", "-c", str(cfg), "--no-progress",
                                                 "--max-quarantine-rate", "0.5", *flags])
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout, result.stderr):
        assert "Smithson" not in text
        assert "Jane" not in text
    report = orjson.loads((root / "out" / "run.json").read_bytes())
    assert report["source_report"]["documents"]["parsed"] == 3
    assert report["resources"] == {"DocumentReference": 3, "Patient": 2}
    spools = [m for m in made if "emr-migrate-ccda-" in m]
    assert len(spools) == 1
    assert not Path(spools[0]).exists()


def test_the_validate_report_shows_no_file_name(project: dict[str, Path]) -> None:
    # validate groups the quarantine and shows each group's message in report.html and
    # report.json; only the record's value (masked there) may name the file.
    from migrate.validation.gaps import group_quarantine

    run(project)
    groups = group_quarantine(project["out"] / "quarantine.ndjson")
    assert groups
    assert not [g for g in groups if "Smithson" in g.message or "Jane" in g.message]
