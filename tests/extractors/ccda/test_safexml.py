"""Safe parsing of one document: every hostile or broken input is one DocumentProblem with a
kind and words a consultant understands; nothing is fetched, expanded or read from disk."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from lxml import etree

from migrate.extractors.ccda import safexml
from migrate.extractors.ccda.safexml import MAX_DEPTH, DocumentProblem, parse
from tests.extractors.ccda.fakes import V3, document

MB = 2 ** 20
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else
                                                      b"&lol;") * 10) for i in range(1, 10))
          + b']>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title>'
          b'</ClinicalDocument>')


def problem(data: bytes, max_bytes: int = MB) -> DocumentProblem:
    with pytest.raises(DocumentProblem) as info:
        parse(data, max_bytes)
    return info.value


def external_entity(path: Path) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM '
            f'"file://{path}">]>\n<ClinicalDocument xmlns="{V3}"><title>&x;</title>'
            '</ClinicalDocument>').encode()


def test_an_external_entity_is_refused_and_its_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    for target in (secret, Path("/etc/passwd")):
        p = problem(external_entity(target))
        assert p.kind == "doctype"
        assert "DOCTYPE" in p.problem
    # Behind the scan, the parser itself resolves nothing either (defence in depth).
    root = etree.fromstring(external_entity(secret), safexml._parser())
    text = etree.tostring(root, encoding="unicode")
    assert "TOP-SECRET" not in text
    assert "root:" not in text


def test_a_billion_laughs_is_refused_at_once() -> None:
    started = time.perf_counter()
    assert problem(LAUGHS).kind == "doctype"
    assert time.perf_counter() - started < 1
    # The parser alone does not expand it either (libxml2 stops the amplification).
    with pytest.raises(etree.XMLSyntaxError, match="amplification"):
        etree.fromstring(LAUGHS, safexml._parser())


def test_an_external_dtd_url_makes_no_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        data = (f'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument SYSTEM '
                f'"http://127.0.0.1:{port}/evil.dtd">\n<ClinicalDocument xmlns="{V3}"/>'
                ).encode()
        assert problem(data).kind == "doctype"
        etree.fromstring(data, safexml._parser())  # the parser alone: no fetch either
        with pytest.raises(TimeoutError):
            listener.accept()


def test_a_doctype_in_utf16_is_refused_too() -> None:
    data = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY a "b">]>'
            f'<ClinicalDocument xmlns="{V3}"/>').encode("utf-16")
    assert problem(data).kind == "doctype"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 300])
def test_over_deep_nesting_is_refused(depth: int) -> None:
    data = (f'<ClinicalDocument xmlns="{V3}">' + "<a>" * depth + "</a>" * depth
            + "</ClinicalDocument>").encode()
    assert problem(data).kind == "too-deep"


def test_a_document_within_the_depth_bound_is_read() -> None:
    data = (f'<ClinicalDocument xmlns="{V3}">' + "<a>" * 50 + "</a>" * 50
            + "</ClinicalDocument>").encode()
    assert parse(data, MB).tag == f"{{{V3}}}ClinicalDocument"


def test_an_over_size_document_is_refused() -> None:
    p = problem(document(extra="<x/>" * 1000), max_bytes=1000)
    assert (p.kind, p.line) == ("too-large", None)
    assert "max_document_mb" in p.problem


def test_not_well_formed_xml_names_line_and_column() -> None:
    data = f'<ClinicalDocument xmlns="{V3}">\n<title>\n<b></title></ClinicalDocument>'.encode()
    p = problem(data)
    assert p.kind == "not-well-formed"
    assert (p.line, p.column) == (3, 12)
    assert p.where() == "line 3, column 12: "
    assert "not well-formed XML" in p.problem


def test_undecodable_bytes_are_named() -> None:
    data = f'<ClinicalDocument xmlns="{V3}"><title>\xff\xfe</title>'.encode("latin-1") + \
        b"</ClinicalDocument>"
    p = problem(data)
    assert p.kind == "undecodable"
    assert p.line == 1


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    assert problem(data).kind == "empty"


def test_a_root_that_is_not_a_clinical_document_is_refused() -> None:
    p = problem(b"<html><body/></html>")
    assert p.kind == "not-clinical-document"
    assert "html" in p.problem
    wrong_ns = problem(b'<ClinicalDocument xmlns="urn:other"/>')
    assert wrong_ns.kind == "not-clinical-document"


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse(document(extra="<!-- a comment --><?pi x?>"), MB)
    assert "a comment" not in etree.tostring(root, encoding="unicode")
    assert "<?pi" not in etree.tostring(root, encoding="unicode")


SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ccda-samples"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the C-CDA sample set is not here")
def test_every_real_sample_document_passes_the_safety_checks() -> None:
    files = sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() == ".xml")
    assert len(files) > 90
    for path in files:
        assert parse(path.read_bytes(), 20 * MB).tag == f"{{{V3}}}ClinicalDocument", path.name


def test_a_doctype_after_prolog_comments_is_refused_and_body_text_is_no_doctype() -> None:
    hidden = (f'\ufeff<?xml version="1.0"?>\n<!-- <a> --><?pi <b>?>\n<!DOCTYPE x [<!ENTITY a '
              f'"b">]><ClinicalDocument xmlns="{V3}"/>').encode()
    assert problem(hidden).kind == "doctype"
    quoted = document(extra="<text><![CDATA[<!DOCTYPE html><!ENTITY x 'y'>]]></text>")
    assert parse(quoted, MB).tag == f"{{{V3}}}ClinicalDocument"


def test_a_doctype_beyond_the_scanned_prolog_is_still_refused_after_parsing() -> None:
    padding = "<!--" + "x" * (safexml._PROLOG_MAX + 10) + "-->"
    data = (f'{padding}<!DOCTYPE x [<!ENTITY a "b">]><ClinicalDocument xmlns="{V3}">'
            "<title>&a;</title></ClinicalDocument>").encode()
    safexml.refuse_doctype(data)  # the scan stops inside the long comment...
    assert problem(data, 4 * MB).kind == "doctype"  # ...the check after parsing does not
