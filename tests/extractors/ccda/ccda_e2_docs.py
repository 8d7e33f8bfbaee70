"""Helpers of the C-CDA reader tests: the parser E1 uses, small hand-written documents, and
the real sample set (skipped with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from migrate.extractors.ccda.statements import DocumentRead, read_document
from migrate.extractors.ccda.templates import aliases

SAMPLES = Path(__file__).parents[3] / "../shared/data/ccda-samples"
NS = {"h": "urn:hl7-org:v3"}
TPL = "2.16.840.1.113883.10.20.22.4."
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                         remove_comments=True, remove_pis=True)


def parse(data: str | bytes, parser: etree.XMLParser = PARSER) -> etree._Element:
    """Parse ``data`` as E1 does (or with ``parser``)."""
    return etree.fromstring(data.encode() if isinstance(data, str) else data, parser)


def document(sections: str, patient: str | None = None, header: str = "") -> str:
    """A minimal ClinicalDocument with ``sections`` (section elements) in its body."""
    patient = patient if patient is not None else (
        '<id root="1.2.3" extension="42"/><patient><name><given>Ann</given>'
        '<family>Lee</family></name><birthTime value="19700101"/></patient>')
    return (
        '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<templateId root="2.16.840.1.113883.10.20.22.1.1"/>'
        '<templateId root="2.16.840.1.113883.10.20.22.1.2"/>'
        '<id root="9.9" extension="d1"/><code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>'
        '<title>Summary</title><effectiveTime value="20130718111836-0400"/>'
        f'<recordTarget><patientRole>{patient}</patientRole></recordTarget>{header}'
        f'<component><structuredBody>{sections}</structuredBody></component></ClinicalDocument>')


def section(entries: str, code: str = "48765-2", text: str = "") -> str:
    """A section component with ``entries`` and narrative ``text``."""
    return (f'<component><section><templateId root="2.16.840.1.113883.10.20.22.2.6.1"/>'
            f'<code code="{code}" codeSystem="2.16.840.1.113883.6.1"/><text>{text}</text>'
            f'{entries}</section></component>')


def read(xml: str, key: str = "doc1") -> DocumentRead:
    """read_document on hand-written XML with the built-in aliases."""
    return read_document(parse(xml), key, "fixture.xml", aliases())


def rows(result: DocumentRead, table: str) -> list:
    """The rows of ``table``."""
    return [r for r in result.rows if r.table == table]


def sample_files() -> list[Path]:
    """The 95 real documents, sorted; skips the test when the set is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"the C-CDA sample set is not at {SAMPLES.resolve()} (read-only shared data)")
    return sorted(p for p in SAMPLES.rglob("*") if p.suffix.lower() in (".xml", ".ccd"))


def read_sample(path: Path) -> tuple[etree._Element, DocumentRead]:
    """Parse and read one real document (its relative path as the document key)."""
    root = parse(path.read_bytes())
    return root, read_document(root, str(path.relative_to(SAMPLES)), path.name, aliases())
