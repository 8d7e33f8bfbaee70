"""The ccda extractor over folders and zips of documents, read by a stand-in reader: every
document parsed, quarantined with its reason, or counted a duplicate; rows merged across
documents; the documents' bytes re-read and re-checked; nothing named in reports."""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from migrate.config import parse_source
from migrate.errors import ConfigError, ExtractError
from migrate.extractors import ccda
from migrate.extractors.base import EXTRACTORS, open_extractor, source_options
from migrate.extractors.ccda import IN_DOCUMENT, CcdaExtractor
from migrate.outcomes import RejectedRow
from tests.extractors.ccda.fakes import V3, FakeReader, document
from tests.extractors.ccda.test_safexml import LAUGHS, external_entity

REPO = Path(__file__).resolve().parents[3]


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def open_ccda(tmp_path: Path, files: dict[str, bytes], **options: Any) -> CcdaExtractor:
    src = write(tmp_path / "src", files)
    src.mkdir(exist_ok=True)
    (tmp_path / "spool").mkdir(exist_ok=True)
    options.setdefault("reader", FakeReader())
    return CcdaExtractor(src, spool_dir=tmp_path / "spool", **options)


def read(ext: CcdaExtractor, table: str, chunk: int = 1000
         ) -> tuple[list[dict[str, Any]], list[RejectedRow]]:
    rows: list[dict[str, Any]] = []
    rejects: list[RejectedRow] = []
    for batch in ext.iter_batches(table, chunk):
        assert batch.start == len(rows)
        rows += batch.rows
        rejects += batch.rejects
    return rows, rejects


def hostile(tmp_path: Path) -> dict[str, bytes]:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    deep = f'<ClinicalDocument xmlns="{V3}">' + "<a>" * 150 + "</a>" * 150 + \
        "</ClinicalDocument>"
    return {
        "a-good.xml": document(entries=(("e1", "X"),)),
        "entity.xml": external_entity(secret), "laughs.xml": LAUGHS,
        "dtd.xml": b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><ClinicalDocument/>',
        "deep.xml": deep.encode(), "big.xml": document(extra="<x/>" * 5000),
        "broken.xml": b'<ClinicalDocument xmlns="urn:hl7-org:v3">\n<title></ClinicalDocument>',
        "bytes.xml": f'<ClinicalDocument xmlns="{V3}">\xff</ClinicalDocument>'.encode("latin-1"),
        "empty.xml": b"", "page.xml": b"<html/>"}


def test_each_hostile_or_broken_document_is_one_quarantined_document(tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, hostile(tmp_path), max_document_mb=0.01)
    rows, rejects = read(ext, "documents")
    assert [r["file"] for r in rows] == ["a-good.xml"]
    by_file = {r.raw: r for r in rejects}
    assert sorted(by_file) == ["big.xml", "broken.xml", "bytes.xml", "deep.xml", "dtd.xml",
                               "empty.xml", "entity.xml", "laughs.xml", "page.xml"]
    assert all(r.message.startswith(f"{IN_DOCUMENT}: ") for r in rejects)
    assert not [r for r in rejects if r.raw in r.message]  # file names are raw values only
    assert by_file["broken.xml"].line == 2
    assert by_file["broken.xml"].message.startswith(f"{IN_DOCUMENT}: line 2, column ")
    report = ext.source_report()
    assert report["documents"] == {
        "files": 10, "parsed": 1, "quarantined": 9, "duplicates": 0, "over_limit": 0,
        "by_problem": {"doctype": 3, "empty": 1, "not-clinical-document": 1,
                       "not-well-formed": 1, "too-deep": 1, "too-large": 1,
                       "undecodable": 1}}
    every_value = json.dumps([read(ext, t)[0] for t in ext.tables()])
    assert "TOP-SECRET" not in every_value
    assert "root:x:0" not in every_value
    assert ext.account("documents").expected_rows == 10  # 1 row + 9 rejects
    ext.close()


def test_duplicates_are_parsed_once_and_rows_merged_with_the_latest_values(
        tmp_path: Path) -> None:
    newest = document(effective="20210101", entries=(("e1", "X"),))
    reader = FakeReader()
    ext = open_ccda(tmp_path, {
        "a.xml": newest, "b.xml": newest,
        "c.xml": document(effective="20190101", entries=(("e1", "Y"), ("e2", "Q"))),
        "d.xml": document(effective="20200101-0500", entries=(("e1", "Z"),))},
        reader=reader)
    problems, _ = read(ext, "problems")
    assert reader.files == ["a.xml", "c.xml", "d.xml"]
    assert [(p["id_extension"], p["value_code"], p["documents"]) for p in problems] == [
        ("e1", "X", "3"), ("e2", "Q", "1")]
    patients, _ = read(ext, "patients")
    assert [p["documents"] for p in patients] == ["3"]
    report = ext.source_report()
    assert report["documents"]["duplicates"] == 1
    assert report["documents"]["parsed"] == 3
    assert report["rows_merged"] == {"patients": 2, "problems": 2}
    assert report["entries"]["merged"] == 2
    assert report["patients"] == {"groups": 1, "documents_per_patient_max": 3,
                                  "same_id_other_person": 0}
    ext.close()


def test_documents_carry_their_bytes_read_again_and_checked(tmp_path: Path) -> None:
    files = {f"d{i}.xml": document(patient=f"p{i}") for i in range(3)}
    ext = open_ccda(tmp_path, files)
    assert ext.estimate_rows("documents") == 3  # spooled now
    (tmp_path / "src" / "d1.xml").write_bytes(document(patient="someone else"))
    rows, rejects = read(ext, "documents")
    for row in rows:
        data = files[row["file"]]
        assert base64.b64decode(row["data_base64"]) == data
        assert row["size"] == str(len(data))
        assert row["sha1_base64"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
        assert row["content_type"] == "text/xml"
    assert [r["file"] for r in rows] == ["d0.xml", "d2.xml"]
    assert [(r.raw, "changed since it was read" in r.message) for r in rejects] == [
        ("d1.xml", True)]
    account = ext.account("documents")
    assert (account.expected_rows, account.complete) == (3, True)
    ext.close()


def test_batches_are_bounded_by_rows_and_by_data(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ext = open_ccda(tmp_path, {f"d{i}.xml": document(patient=f"p{i}") for i in range(5)})
    assert [len(b.rows) for b in ext.iter_batches("patients", 2)] == [2, 2, 1]
    monkeypatch.setattr(ccda, "BATCH_BYTES", 10)
    assert [len(b.rows) for b in ext.iter_batches("documents", 1000)] == [1] * 5
    ext.close()


def test_entries_failed_and_unread_are_accounted(tmp_path: Path) -> None:
    extra = ('<entry><act bad="the problem has no code"/></entry>'
             '<entry><act template="2.16.840.1.113883.10.20.22.4.64"/></entry>')
    ext = open_ccda(tmp_path, {"x.xml": document(entries=(("e1", "X"),), extra=extra)})
    rows, rejects = read(ext, "problems")
    assert len(rows) == 1
    assert [(r.line, r.message, r.raw) for r in rejects] == [
        (4, f"{IN_DOCUMENT}, line 4: the problem has no code", "x.xml")]
    report = ext.source_report()
    assert report["entries"] == {"found": 3, "read": 1, "no_information": 0,
                                 "quarantined": 1, "unread": 1, "merged": 0,
                                 "balanced": True}
    assert report["unread_templates"] == {"2.16.840.1.113883.10.20.22.4.64": 1}
    account = ext.account("problems")
    assert (account.expected_rows, account.complete) == (2, True)
    ext.close()


def test_a_document_whose_entries_do_not_add_up_makes_the_read_incomplete(
        tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, {"a.xml": document(), "b.xml": document(lie=2)})
    read(ext, "problems")
    account = ext.account("problems")
    assert not account.complete
    assert "the entries of 1 C-CDA document(s) do not add up" in account.problem
    assert ext.source_report()["entries"]["balanced"] is False
    ext.close()


class NotClinicalDocument(Exception):  # noqa: N818 - the name the real reader uses
    """Stands for statements.NotClinicalDocument."""


def test_a_reader_that_refuses_or_fails_quarantines_only_that_document(
        tmp_path: Path) -> None:
    fake = FakeReader()

    def reader(root: Any, key: str, file: str, aliases: dict[str, str]) -> Any:
        if file == "refused.xml":
            raise NotClinicalDocument("the root is not a ClinicalDocument")
        if file == "crash.xml":
            raise ValueError("bad date")
        return fake(root, key, file, aliases)

    ext = open_ccda(tmp_path, {"crash.xml": document(patient="c"), "ok.xml": document(),
                               "refused.xml": document(patient="r")}, reader=reader)
    rows, rejects = read(ext, "documents")
    assert [r["file"] for r in rows] == ["ok.xml"]
    assert [r.message for r in rejects] == [
        f"{IN_DOCUMENT}: the document reader failed on this document (ValueError); "
        "please report it", f"{IN_DOCUMENT}: the root is not a ClinicalDocument"]
    assert ext.source_report()["documents"]["by_problem"] == {
        "not-clinical-document": 1, "reader-failed": 1}
    ext.close()


def test_max_documents_reads_no_more_and_says_so(tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, {f"d{i}.xml": document(patient=f"p{i}") for i in range(4)},
                    max_documents=3)
    rows, _ = read(ext, "documents")
    assert len(rows) == 3
    assert ext.source_report()["documents"]["over_limit"] == 1
    assert "1 document(s) more than max_documents (3)" in ext.account("documents").problem
    ext.close()


def test_a_zip_is_read_like_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("b.xml", document(patient="b"))
        zf.writestr("../a.xml", document(patient="a"))
        zf.writestr("readme.txt", "hello")
    ext = CcdaExtractor(path, spool_dir=tmp_path, reader=FakeReader())
    rows, rejects = read(ext, "documents")
    assert [r["file"] for r in rows] == ["b.xml"]
    assert base64.b64decode(rows[0]["data_base64"]) == document(patient="b")
    assert [r.raw for r in rejects] == ["../a.xml"]
    assert ext.source_report()["files_skipped"] == {".txt": 1}
    ext.close()


def test_no_file_name_or_patient_value_in_reports_or_problems(tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, {"Smithson_Jane_1970.xml": document(family="Smithson"),
                               "Smithson_Jane_broken.xml": b"<x",
                               "Smithson_lie.xml": document(family="Smithson", lie=1)})
    for table in ext.tables():
        read(ext, table)
    said = json.dumps([ext.source_report(), ext.describe("documents"),
                       [ext.account(t).problem for t in ext.tables()]])
    assert "Smithson" not in said
    assert "Jane" not in said
    ext.close()


def test_the_spool_is_made_once_and_removed_on_close(tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, {"a.xml": document()})
    read(ext, "documents")
    read(ext, "patients")
    [folder] = (tmp_path / "spool").iterdir()
    ext.close()
    assert not folder.exists()
    assert list((tmp_path / "spool").iterdir()) == []


def test_ccda_text_and_migration_yaml_settings_open_the_extractor(tmp_path: Path) -> None:
    write(tmp_path / "docs", {"a.xml": document()})
    assert parse_source("ccda:docs", tmp_path) == {"type": "ccda",
                                                   "path": str(tmp_path / "docs")}
    setting = {"type": "ccda", "path": "docs", "max_document_mb": 1,
               "template_aliases": {"1.2": "1.3"}}
    ext = open_extractor(**source_options(parse_source(setting, tmp_path)))
    assert isinstance(ext, CcdaExtractor)
    assert ext.source.root == tmp_path / "docs"
    assert ext.aliases["1.2"] == "1.3"
    assert ext.aliases["2.16.840.1.113883.10.22.4.78"] == "2.16.840.1.113883.10.20.22.4.78"
    with pytest.raises(ConfigError, match="max_docs"):
        open_extractor(kind="ccda", path=str(tmp_path / "docs"), max_docs=3)
    assert 'ccda = "migrate.extractors.ccda:CcdaExtractor"' in \
        (REPO / "pyproject.toml").read_text()
    assert EXTRACTORS.get("ccda") is CcdaExtractor


def test_an_unknown_table_is_named_with_a_suggestion(tmp_path: Path) -> None:
    ext = open_ccda(tmp_path, {})
    with pytest.raises(ExtractError, match="no table 'problem'; did you mean 'problems'"):
        ext.columns("problem")
    assert ext.columns("problems")[0] == "entry_key"
    assert ext.tables()[0] == "allergies"


def peak_reading(tmp_path: Path, count: int) -> int:
    src = tmp_path / f"n{count}"
    for i in range(count):
        write(src, {f"{i // 100:03d}/{i:05d}.xml": document(
            patient=f"p{i % 50}", effective=f"2020{i % 12 + 1:02d}01",
            entries=((f"e{i}", "X"), ("shared", "Y")))})
    ext = CcdaExtractor(src, spool_dir=tmp_path, reader=FakeReader())
    tracemalloc.start()
    try:
        for table in ("documents", "problems"):
            for _batch in ext.iter_batches(table, 100):  # batches fill in both runs
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        ext.close()


def test_memory_stays_flat_in_the_number_of_documents(tmp_path: Path) -> None:
    small, large = peak_reading(tmp_path, 200), peak_reading(tmp_path, 2000)
    assert large < small + 2 ** 20, (small, large)  # names of 1,800 more files at most


def test_a_spool_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    ext = CcdaExtractor(write(tmp_path / "src", {"a.xml": document()}),
                        spool_dir=tmp_path / "missing", reader=FakeReader())
    with pytest.raises(ExtractError, match="cannot make the C-CDA spool folder in .*missing "
                                           r"\(No such file or directory\); set spool_dir"):
        ext.estimate_rows("documents")
    ext.close()


def test_document_rows_are_checked_against_the_file_not_the_reader_s_key(
        tmp_path: Path) -> None:
    fake = FakeReader()

    def reader(root: Any, key: str, file: str, aliases: dict[str, str]) -> Any:
        read = fake(root, key, file, aliases)
        read.rows[0].key = "another-key-scheme"
        return read

    ext = open_ccda(tmp_path, {"a.xml": document()}, reader=reader)
    rows, rejects = read(ext, "documents")
    assert (len(rows), rejects) == (1, [])
    ext.close()


def test_a_full_disk_under_the_spool_is_a_clear_error_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from migrate.extractors.ccda.spool import Spool

    def full(*_args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Spool, "add", full)
    ext = open_ccda(tmp_path, {"a.xml": document()})
    with pytest.raises(ExtractError, match="could not be written .database or disk is full.; "
                                           "free some space there or set spool_dir"):
        list(ext.iter_batches("documents"))
    assert list((tmp_path / "spool").iterdir()) == []
    ext.close()


def test_a_source_without_documents_is_an_error_not_an_empty_success(tmp_path: Path) -> None:
    """A folder holding no C-CDA document is a wrong path, not a practice without records:
    the run stops (exit 2) instead of saying ok with nothing migrated. ``ccda:`` with no
    path is a usage error (it would read the current folder, outputs included)."""
    ext = open_ccda(tmp_path, {"notes.txt": b"not a document"})
    with pytest.raises(ExtractError, match="holds no document"):
        read(ext, "documents")
    ext.close()
    with pytest.raises(ConfigError, match="needs a folder"):
        CcdaExtractor.from_text("ccda:")
    assert CcdaExtractor.from_text("ccda:export") == {"path": "export"}
