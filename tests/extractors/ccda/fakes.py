"""A stand-in for the document reader (``statements.read_document``, slice E2) and small
documents for it: the extractor's plumbing is tested on its own, with results shaped as the
design's ``DocumentRead`` (rows, entry counts, entries failed, unread templates).

It returns the reader's own ``DocumentRead`` and ``Row``. The fake reads: the header's
``effectiveTime``, the patient's id and family name, and every
``<entry>``: an ``observation`` gives a ``problems`` row keyed by its id extension, an
``act bad="..."`` is an entry that failed, anything else is unread (counted by its
``template`` attribute). ``<ClinicalDocument lie="N">`` reports N entries more than exist.
"""

from __future__ import annotations

from typing import Any

from migrate.extractors.ccda.keys import key
from migrate.extractors.ccda.statements import DocumentRead, Row

V3 = "urn:hl7-org:v3"


def document(patient: str = "p1", family: str = "Doe", effective: str = "20200101",
             entries: tuple[tuple[str, str], ...] = (), extra: str = "", lie: int = 0,
             title: str = "CCD") -> bytes:
    """A tiny ClinicalDocument: ``entries`` are (id, code) observations; ``extra`` is more
    XML inside the body (entries the fake does not read, or fails)."""
    obs = "".join(f'<entry><observation><id root="9.9" extension="{i}"/>'
                  f'<value code="{c}"/></observation></entry>' for i, c in entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="{V3}" '
            f'lie="{lie}"><title>{title}</title><effectiveTime value="{effective}"/>\n'
            f'<recordTarget><patientRole><id root="1.2.3" extension="{patient}"/>'
            f'<patient><name><family>{family}</family></name></patient></patientRole>'
            f'</recordTarget>\n<component><structuredBody>{obs}{extra}</structuredBody>'
            f'</component></ClinicalDocument>\n').encode()


class FakeReader:
    """Reads `document` output; remembers the files it was given (to count parses)."""

    def __init__(self) -> None:
        self.files: list[str] = []

    def __call__(self, root: Any, document_key: str, file: str,
                 template_aliases: dict[str, str]) -> DocumentRead:
        self.files.append(file)
        ns = {"v": V3}
        pid = root.find(".//v:patientRole/v:id", ns)
        family = root.findtext(".//v:family", namespaces=ns)
        pkey = key("patient", pid.get("extension"), family)
        eff = root.find("v:effectiveTime", ns).get("value")
        rows = [Row("documents", document_key, {
                    "document_key": document_key, "patient_key": pkey, "effective": eff,
                    "title": root.findtext("v:title", namespaces=ns)}, 1),
                Row("patients", pkey, {
                    "patient_key": pkey, "document_key": document_key, "id_root": "1.2.3",
                    "id_extension": pid.get("extension"), "family": family}, pid.sourceline)]
        read = DocumentRead(rows)
        for entry in root.iter(f"{{{V3}}}entry"):
            self._entry(entry, pkey, document_key, read)
        read.entries_found += int(root.get("lie", "0"))
        return read

    @staticmethod
    def _entry(entry: Any, pkey: str, document_key: str, read: DocumentRead) -> None:
        read.entries_found += 1
        stmt = entry[0]
        if stmt.tag == f"{{{V3}}}observation":
            ext = stmt.find(f"{{{V3}}}id").get("extension")
            code = stmt.find(f"{{{V3}}}value").get("code")
            ekey = key("problems", pkey, "id", "9.9", ext)
            read.rows.append(Row("problems", ekey, {
                "entry_key": ekey, "patient_key": pkey, "document_key": document_key,
                "id_root": "9.9", "id_extension": ext, "value_code": code}, stmt.sourceline))
            read.entries_read += 1
        elif stmt.get("bad"):
            read.entries_failed.append(("problems", stmt.sourceline, stmt.get("bad")))
        else:
            read.unread[stmt.get("template", "(no template)")] += 1
