"""An independent count of what the ``ccda`` extractor should read from real C-CDA documents.

This module is the test oracle of issue 20: it shares NO code with
``migrate.extractors.ccda`` (it must not import it). It reads each document with lxml and
plain XPath and says, per document, how many sections and top-level entries there are, which
statement templates the entries carry, how many rows each table of
``migrate/extractors/ccda/tables.py`` should get (design.md, "E2 behaviour"), which entries
are not read (per template) and who the patient is (design.md, "Keys"). The tests compare
these numbers with the extractor's rows and ``source_report()``.

Choices the oracle makes where design.md leaves room (the extractor must agree, or one of the
two is wrong):

- Dispatch is on the templateId roots of the top-level statement (any of them), never on the
  element name or the section. A statement with ``@nullFlavor`` is "no information".
- Nested statements are looked for on the direct paths the C-CDA templates define
  (``entryRelationship/observation`` under a concern act, ``component/observation`` under an
  organizer), not anywhere below.
- result_observations = 4.2 observations and untemplated observations that are *components*
  of a 4.1 organizer. (Partners' 144 untemplated observations sit below a 4.2 as an
  ``entryRelationship`` "information source", LOINC 48766-0: they are not results.)
- An entry "read" gives at least one row; a dispatched entry giving no row (a 4.3 act with no
  4.4 inside) counts as unread under its template.
- The unread template of an entry is its statement's first templateId root, or
  "(no template)".
- Patient identity: the first ``patientRole/id`` without nullFlavor whose root is not the SSN
  root (else the first id without nullFlavor), the first name's first family and all its given
  names joined by one space, normalised like keys.norm (spaces collapsed, case-folded), and
  the first 8 digits of birthTime. No usable id: the document is a patient of its own.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
SAMPLES = (REPO / ".." / "shared" / "data" / "ccda-samples").resolve()
SKIP_REASON = f"the real C-CDA samples are not on this machine ({SAMPLES})"

NS = {"h": "urn:hl7-org:v3"}
T = "2.16.840.1.113883.10.20.22.4."
SSN = "2.16.840.1.113883.4.1"
SMOKING_TYPO = "2.16.840.1.113883.10.22.4.78"
EXTENSIONS = (".xml", ".ccd", ".cda")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True, remove_pis=True)


def _t(*numbers: int) -> frozenset[str]:
    return frozenset(f"{T}{n}" for n in numbers)


# Top-level statement templates -> the table their entry feeds (design.md "E2 behaviour").
PROCEDURES = _t(12, 13, 14)
SOCIAL = _t(78, 38, 85) | {SMOKING_TYPO}
PLAN = _t(44, 39, 40, 41, 42, 43)
ENTRY_TABLES = ("encounters", "encounter_diagnoses", "problems", "allergies",
                "allergy_reactions", "medications", "immunizations", "results",
                "result_observations", "vital_signs", "vital_observations", "procedures",
                "social_history", "plan_of_care")


def _xp(path: str) -> etree.XPath:
    return etree.XPath(path, namespaces=NS)


def _has(tpl: str) -> str:
    return f"[h:templateId/@root='{tpl}']"


_SECTIONS = _xp("//h:section")
_ENTRIES = _xp("//h:section/h:entry")
_SECTION_ENTRIES = _xp("h:entry")
_SECTION_CODE = _xp("h:code/@code")
_ROOTS = _xp("h:templateId/@root")
_FIRST_ID = _xp("h:id[1]")
_CONCERN_PROBLEMS = _xp(f"h:entryRelationship/h:observation{_has(T + '4')}")
_ALLERGIES = _xp(f"h:entryRelationship/h:observation{_has(T + '7')}")
_REACTIONS = _xp(f"h:entryRelationship/h:observation{_has(T + '9')}")
_DIAGNOSES = _xp(f"h:entryRelationship/h:act{_has(T + '80')}"
                 f"/h:entryRelationship/h:observation{_has(T + '4')}")
_DISCHARGE_MEDS = _xp(f"h:entryRelationship/h:substanceAdministration{_has(T + '16')}")
_RESULT_OBS = _xp(f"h:component/h:observation[h:templateId/@root='{T}2' "
                  "or not(h:templateId)]")
_VITAL_OBS = _xp(f"h:component/h:observation{_has(T + '27')}")
_PATIENT_IDS = _xp("/h:ClinicalDocument/h:recordTarget[1]/h:patientRole/h:id")
_PATIENT = _xp("/h:ClinicalDocument/h:recordTarget[1]/h:patientRole/h:patient")
_FAMILY = _xp("h:name[1]/h:family[1]")
_GIVEN = _xp("h:name[1]/h:given")
_BIRTH = _xp("h:birthTime/@value")


@dataclass
class Row:
    """One row the extractor should make: its table, its id (root, ext) or None when the
    id cannot key it (no id, nullFlavor id, or repeated in this table of this document),
    and its parent row (for child tables)."""

    table: str
    ident: tuple[str, str] | None
    parent: Row | None = None


@dataclass
class DocCounts:
    """What one document holds, counted by XPath."""

    file: str                       # path relative to the samples folder
    sha256: str                     # = the extractor's document_key
    sections: int = 0
    entries: int = 0
    entries_read: int = 0
    no_information: int = 0
    templates: Counter[str] = field(default_factory=Counter)   # top-level, first root
    unread: Counter[str] = field(default_factory=Counter)
    narrative_only: Counter[str] = field(default_factory=Counter)  # section code -> no entry
    rows: list[Row] = field(default_factory=list)
    patient: tuple[str, ...] = ()

    def table_rows(self) -> Counter[str]:
        """Rows per table (entry tables only) before any merge."""
        return Counter(r.table for r in self.rows)


def sample_files(folder: Path = SAMPLES) -> list[Path]:
    """The C-CDA files of ``folder`` as the extractor finds them (recursive, sorted by
    relative path, .xml/.ccd/.cda in any case)."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def count_folder(folder: Path = SAMPLES) -> list[DocCounts]:
    """The counts of every document of ``folder``."""
    return [count_document(p, folder) for p in sample_files(folder)]


def count_document(path: Path, folder: Path) -> DocCounts:
    """The counts of one document."""
    data = path.read_bytes()
    root = etree.fromstring(data, _PARSER)
    doc = DocCounts(file=path.relative_to(folder).as_posix(),
                    sha256=hashlib.sha256(data).hexdigest())
    sections = _SECTIONS(root)
    doc.sections = len(sections)
    doc.narrative_only.update(_section_code(s) for s in sections if not _SECTION_ENTRIES(s))
    doc.patient = patient_identity(root, doc.sha256)
    for entry in _ENTRIES(root):
        _count_entry(doc, entry)
    _mark_repeated_ids(doc.rows)
    return doc


def _section_code(section: etree._Element) -> str:
    codes = _SECTION_CODE(section)
    return str(codes[0]) if codes else "(no code)"


def _count_entry(doc: DocCounts, entry: etree._Element) -> None:
    doc.entries += 1
    statement = next((c for c in entry if isinstance(c.tag, str)), None)
    roots = list(_ROOTS(statement)) if statement is not None else []
    template = roots[0] if roots else "(no template)"
    doc.templates[template] += 1
    if statement is None or statement.get("nullFlavor"):
        doc.no_information += 1
        return
    rows = statement_rows(statement, set(roots))
    if rows:
        doc.entries_read += 1
        doc.rows.extend(rows)
    else:
        doc.unread[template] += 1


def statement_rows(st: etree._Element, roots: set[str]) -> list[Row]:
    """The rows one top-level statement gives (empty: not read)."""
    if T + "49" in roots:
        enc = _row("encounters", st)
        return [enc, *(_row("encounter_diagnoses", o, enc) for o in _DIAGNOSES(st))]
    if T + "3" in roots:
        return [_row("problems", o) for o in _CONCERN_PROBLEMS(st)]
    if T + "4" in roots:
        return [_row("problems", st)]
    if T + "30" in roots:
        rows = []
        for obs in _ALLERGIES(st):
            allergy = _row("allergies", obs)
            rows += [allergy, *(_row("allergy_reactions", r, allergy) for r in _REACTIONS(obs))]
        return rows
    if T + "16" in roots:
        return [_row("medications", st)]
    if T + "35" in roots:
        return [_row("medications", m) for m in _DISCHARGE_MEDS(st)]
    if T + "52" in roots:
        return [_row("immunizations", st)]
    for organizer, child, nested, table in (("1", "result_observations", _RESULT_OBS, "results"),
                                            ("26", "vital_observations", _VITAL_OBS,
                                             "vital_signs")):
        if T + organizer in roots:
            parent = _row(table, st)
            return [parent, *(_row(child, o, parent) for o in nested(st))]
    for templates, table in ((PROCEDURES, "procedures"), (SOCIAL, "social_history"),
                             (PLAN, "plan_of_care")):
        if roots & templates:
            return [_row(table, st)]
    return []


def _row(table: str, element: etree._Element, parent: Row | None = None) -> Row:
    first = _FIRST_ID(element)
    ident = None
    if first and first[0].get("root") and not first[0].get("nullFlavor"):
        ident = (first[0].get("root"), first[0].get("extension") or "")
    return Row(table, ident, parent)


def _mark_repeated_ids(rows: list[Row]) -> None:
    """An id met twice among the rows of one table of one document keys none of them."""
    seen = Counter((r.table, r.ident) for r in rows if r.ident)
    for r in rows:
        if r.ident and seen[(r.table, r.ident)] > 1:
            r.ident = None


def patient_identity(root: etree._Element, sha256: str) -> tuple[str, ...]:
    """Who the patient is (design.md "Keys"); documents with equal identities are one
    patient."""
    usable = [i for i in _PATIENT_IDS(root) if i.get("root") and not i.get("nullFlavor")]
    chosen = next((i for i in usable if i.get("root") != SSN), usable[0] if usable else None)
    if chosen is None:
        return ("document", sha256)
    patient = _PATIENT(root)
    family = given = birth = ""
    if patient:
        fam = _FAMILY(patient[0])
        family = _norm(fam[0].text if fam else "")
        given = _norm(" ".join(g.text or "" for g in _GIVEN(patient[0])))
        birth = (list(_BIRTH(patient[0])) or [""])[0][:8]
    return (chosen.get("root"), chosen.get("extension") or "", family, given, birth)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def patient_groups(docs: list[DocCounts]) -> dict[tuple[str, ...], list[str]]:
    """Patient identity -> the files of its documents (sorted)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for d in docs:
        groups.setdefault(d.patient, []).append(d.file)
    return groups


def totals(docs: list[DocCounts]) -> dict[str, Counter[str]]:
    """Corpus totals: 'rows' per table, 'templates' and 'unread' per template root,
    'narrative_only' sections per section code, 'count' of documents, sections, entries,
    entries_read, no_information."""
    out: dict[str, Counter[str]] = {"rows": Counter(), "templates": Counter(),
                                    "unread": Counter(), "narrative_only": Counter(),
                                    "count": Counter()}
    for d in docs:
        out["rows"].update(d.table_rows())
        out["templates"].update(d.templates)
        out["unread"].update(d.unread)
        out["narrative_only"].update(d.narrative_only)
        out["count"].update(documents=1, sections=d.sections, entries=d.entries,
                            entries_read=d.entries_read, no_information=d.no_information)
    return out


def merged_bounds(docs: list[DocCounts]) -> dict[str, tuple[int, int]]:
    """Per entry table, the (least, most) rows left after the cross-document merge.

    A row whose id keys it (and whose parent's id keys the parent) is one row per distinct
    (patient, table, parent id, id): those merge exactly. The other rows are keyed by content
    (design.md "Keys"), which the oracle does not recompute: they give between 1 (all equal)
    and all of them.
    """
    keyed: dict[str, set[tuple[object, ...]]] = {}
    other: Counter[str] = Counter()
    for d in docs:
        for r in d.rows:
            chain = _id_chain(r)
            if chain is None:
                other[r.table] += 1
            else:
                keyed.setdefault(r.table, set()).add((d.patient, *chain))
    tables = set(keyed) | set(other)
    return {t: (len(keyed.get(t, ())) + min(other[t], 1), len(keyed.get(t, ())) + other[t])
            for t in tables}


def _id_chain(row: Row) -> tuple[tuple[str, str], ...] | None:
    chain = []
    r: Row | None = row
    while r is not None:
        if r.ident is None:
            return None
        chain.append(r.ident)
        r = r.parent
    return tuple(chain)
