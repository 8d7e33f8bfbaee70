"""Adversarial review of the C-CDA source's file handling: documents a real export holds
that were set aside, and hostile files. Every test here failed before the fix it guards."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from migrate.extractors.ccda import CcdaExtractor, safexml
from tests.extractors.ccda.ccda_e2_docs import document


def unstructured(megabytes: int) -> bytes:
    """An Unstructured Document: a PDF of ``megabytes`` MB as base64 in its nonXMLBody."""
    blob = base64.b64encode(b"%PDF-1.4 " + b"\x00" * (megabytes * 2 ** 20 * 3 // 4))
    return document("").replace(
        "<component><structuredBody></structuredBody></component>",
        '<component><nonXMLBody><text mediaType="application/pdf" representation="B64">'
        f"{blob.decode()}</text></nonXMLBody></component>").encode()


def test_an_embedded_file_larger_than_ten_megabytes_is_parsed() -> None:
    # libxml2 refuses a text node over 10 MB unless told otherwise: a scanned-PDF document
    # within max_document_mb was quarantined as "not well-formed XML".
    root = safexml.parse(unstructured(12), 20 * 2 ** 20)
    assert len(root.findtext(".//{urn:hl7-org:v3}text")) >= 12 * 2 ** 20


def test_the_extractor_keeps_a_large_unstructured_document(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    data = unstructured(12)
    (src / "scan.xml").write_bytes(data)
    ext = CcdaExtractor(src, spool_dir=tmp_path)
    try:
        [batch] = list(ext.iter_batches("documents"))
        report = ext.source_report()
    finally:
        ext.close()
    assert report["documents"]["parsed"] == 1
    assert not batch.rejects
    [row] = batch.rows
    assert row["body"] == "nonXMLBody"
    assert base64.b64decode(row["data_base64"]) == data


def test_a_document_nested_past_the_parsers_own_bound_is_still_refused() -> None:
    data = (b'<ClinicalDocument xmlns="urn:hl7-org:v3">' + b"<a>" * 100_000
            + b"</a>" * 100_000 + b"</ClinicalDocument>")
    with pytest.raises(safexml.DocumentProblem) as problem:
        safexml.parse(data, 20 * 2 ** 20)
    assert problem.value.kind == "too-deep"


NASTY = "Doe_John\n\x1b[31mDOB 1970-01-01\x1b[0m.xml"


def test_hostile_file_names_and_links_reach_no_message_or_report(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    good = document("").encode()
    (src / NASTY).write_bytes(b"<ClinicalDocument")  # broken, under a hostile name
    (src / "Roe_Jane.xml").write_bytes(good)
    (src / "Roe_Jane_link.xml").symlink_to(src / "Roe_Jane.xml")  # the same bytes again
    (src / "Gone_Gary.xml").symlink_to(tmp_path / "missing.xml")  # disappears: dangling
    ext = CcdaExtractor(src, spool_dir=tmp_path)
    try:
        rows = [r for b in ext.iter_batches("documents") for r in b.rows]
        rejects = [r for b in ext.iter_batches("documents") for r in b.rejects]
        report = ext.source_report()
    finally:
        ext.close()
    assert [r["file"] for r in rows] == ["Roe_Jane.xml"]
    assert sorted(r.raw for r in rejects) == ["Doe_John\n\x1b[31mDOB 1970-01-01\x1b[0m.xml",
                                               "Gone_Gary.xml"]
    said = " ".join(r.message for r in rejects) + repr(report)
    for word in ("Doe", "John", "Roe", "Jane", "Gone", "Gary", "\x1b", "1970"):
        assert word not in said
    assert report["documents"]["duplicates"] == 1
    assert report["documents"]["files"] == 4


def test_a_file_name_that_is_not_utf8_is_read_not_a_crash(tmp_path: Path) -> None:
    # A Latin-1 "José.xml" copied from an old Windows share: the run stopped with a
    # UnicodeEncodeError (a traceback) when the name reached the spool.
    src = tmp_path / "src"
    src.mkdir()
    data = document("").encode()
    Path(os.fsdecode(bytes(src) + b"/Jos\xe9_ok.xml")).write_bytes(data)
    Path(os.fsdecode(bytes(src) + b"/Jos\xe9_bad.xml")).write_bytes(b"<x")
    ext = CcdaExtractor(src, spool_dir=tmp_path)
    try:
        batches = list(ext.iter_batches("documents"))
    finally:
        ext.close()
    rows = [r for b in batches for r in b.rows]
    rejects = [r for b in batches for r in b.rejects]
    assert [r["file"] for r in rows] == ["Jos\ufffd_ok.xml"]
    assert base64.b64decode(rows[0]["data_base64"]) == data  # read again by its bytes
    assert [r.raw for r in rejects] == ["Jos\ufffd_bad.xml"]
