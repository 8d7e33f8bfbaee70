"""Read ONE parsed C-CDA document into the rows of the C-CDA tables (``tables.TABLES``).

``read_document`` is a pure function of an lxml tree: the extractor (``CcdaExtractor``)
parses, spools and deduplicates; this module only reads. Rows come in the order the
extractor expects: the document row, the patient, organizations, practitioners, then entries.
Entry keys are computed once the whole document is read, because an entry id keys its row
only if it occurs once among the rows of its table in this document (EMERGE gives three
allergies one UUID); otherwise the row is keyed by its content (``tables.NATURAL``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter

from lxml import etree

from migrate.extractors.ccda import header
from migrate.extractors.ccda.coded import HL7
from migrate.extractors.ccda.context import Context, Pending, Row
from migrate.extractors.ccda.keys import key
from migrate.extractors.ccda.sections import read_sections
from migrate.extractors.ccda.tables import CONCERN, ENTRY, NATURAL, PARENTS, TABLES

__all__ = ["DocumentRead", "NotClinicalDocument", "Row", "read_document"]


class NotClinicalDocument(Exception):
    """The root element is not ``{urn:hl7-org:v3}ClinicalDocument``."""


@dataclass
class DocumentRead:
    """The rows of one document and the account of its entries."""

    rows: list[Row]
    entries_found: int = 0
    entries_read: int = 0
    entries_no_information: int = 0
    entries_failed: list[tuple[str, int | None, str]] = field(default_factory=list)
    unread: Counter[str] = field(default_factory=Counter)
    narrative_only: Counter[str] = field(default_factory=Counter)
    # Statements nested in read entries that no reader takes (not part of the invariant,
    # which is about top-level entries): template root or "(no template) <tag>" -> count.
    nested_unread: Counter[str] = field(default_factory=Counter)


def read_document(root: etree._Element, document_key: str, file: str,
                  template_aliases: Mapping[str, str]) -> DocumentRead:
    """Read the document rooted at ``root`` (``document_key``: sha256 of its bytes; ``file``
    only names it in an error; ``template_aliases``: wrong template OID -> the one meant)."""
    if root.tag != HL7 + "ClinicalDocument":
        name = etree.QName(root)
        raise NotClinicalDocument(
            f"{file}: the root element is <{name.localname}> (namespace "
            f"{name.namespace or 'none'}), not a C-CDA <ClinicalDocument> in urn:hl7-org:v3")
    ctx = Context(root, document_key, template_aliases)
    patient = header.patient_row(ctx, root)
    custodian, author, author_time = header.parties(ctx, root)
    tally = read_sections(ctx, root)
    _assign_keys(tally.rows, ctx.patient_key)
    doc = header.document_values(ctx, root)
    doc.update(custodian_key=custodian, author_key=author, author_time=author_time,
               sections=str(tally.sections), entries=str(tally.found),
               entries_read=str(tally.read), entries_unread=str(sum(tally.unread.values())))
    parties = sorted(ctx.parties, key=lambda r: r.table != "organizations")
    rows = [Row("documents", document_key, doc, root.sourceline), patient, *parties,
            *(Row(p.table, p.key, p.values, p.line) for p in tally.rows)]
    return DocumentRead(rows, tally.found, tally.read, tally.no_information, tally.failed,
                        tally.unread, tally.narrative_only, ctx.nested_unread)


def _assign_keys(pending: list[Pending], patient_key: str) -> None:
    """Key every entry row (parents come before their children in ``pending``).

    An id keys its row when the rows of the table carrying it in this document state the
    same fact (``_fact``; a value one row leaves out is no contradiction): the same
    statement repeated (a discharge medication also listed top-level) keeps the key it has
    in documents that list it once. Rows keyed by content that collide but contradict each
    other (the same drug and start at two doses) are told apart by their whole content:
    two facts never become one row."""
    for p in pending:  # an organizer is what it holds (EMERGE: one id, no date, 5 panels)
        if p.parent is not None and p.parent.table in ORGANIZERS:
            p.parent.members.append(_natural(p))
    by_id: dict[tuple[str | None, ...], list[Pending]] = {}
    for p in pending:
        if p.id_usable:
            by_id.setdefault(_id_of(p), []).append(p)
    keyed_by_id = {i for i, ps in by_id.items() if len(ps) == 1 or _agree(ps)}
    said: dict[tuple[str, str], tuple[str | None, ...]] = {}  # content key -> what its rows said
    for p in pending:
        v = p.values
        parent = [p.parent.key] if p.parent is not None else []
        if parent:
            v[PARENTS[p.table][0]] = parent[0]
        if p.id_usable and _id_of(p) in keyed_by_id:
            p.key = key(p.table, patient_key, *parent, "id", v["id_root"], v["id_extension"])
            v["entry_key"], v["id_keys"] = p.key, "true"
            continue
        v["id_keys"] = "false"
        p.key = key(p.table, patient_key, *parent, "content", *_natural(p))
        fact, before = _fact(p), said.get((p.table, p.key))
        if before is None or _compatible(before, fact):
            said[(p.table, p.key)] = fact if before is None else _union(before, fact)
        else:
            p.key = key(p.table, patient_key, *parent, "content", *_natural(p), "fact", *fact)
        v["entry_key"] = p.key


def _compatible(a: tuple[str | None, ...], b: tuple[str | None, ...]) -> bool:
    """No column where both facts have a value and the values differ."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def _union(a: tuple[str | None, ...], b: tuple[str | None, ...]) -> tuple[str | None, ...]:
    """What two compatible facts say together."""
    return tuple(x if x is not None else y for x, y in zip(a, b, strict=True))


def _agree(rows: list[Pending]) -> bool:
    """The rows state one fact: each agrees with what the ones before it said (linear, so
    a document repeating one id 100,000 times costs no more than reading it)."""
    said = _fact(rows[0])
    for p in rows[1:]:
        fact = _fact(p)
        if not _compatible(said, fact):
            return False
        said = _union(said, fact)
    return True


def _id_of(p: Pending) -> tuple[str | None, ...]:
    return p.table, p.values["id_root"], p.values["id_extension"]


def _natural(p: Pending) -> tuple[str | None, ...]:
    return _NATURAL_OF[p.table](p.values) + _members(p)


def _fact(p: Pending) -> tuple[str | None, ...]:
    """Every value of the row that states the fact, in column order (for an organizer, its
    observations too)."""
    return _FACT_OF[p.table](p.values) + _members(p)


def _members(p: Pending) -> tuple[str | None, ...]:
    """An organizer's observations as one value (none for other rows): two panels of one
    code without ids or dates are two facts when their results differ."""
    if p.table not in ORGANIZERS:
        return ()
    return ("members", "\x1f".join(sorted("\x1e".join(x or "" for x in m)
                                             for m in p.members)) or None)


def _getter(columns: list[str]) -> Callable[[dict], tuple[str | None, ...]]:
    get = itemgetter(*columns)
    return (lambda v: (get(v),)) if len(columns) == 1 else get


# Columns that say where or how a fact was written, not what it is (the same problem in a
# concern of the Problems section and top-level in Past Medical History is one fact).
_NOT_FACT = frozenset(ENTRY) - {"mood", "negated", "status"} | {
    "narrative_text", *CONCERN, *(column for column, _ in PARENTS.values())}
_NATURAL_OF = {t: _getter(cols) for t, cols in NATURAL.items()}
ORGANIZERS = frozenset({"results", "vital_signs"})
_FACT_OF = {t: _getter([c for c in TABLES[t] if c not in _NOT_FACT]) for t in NATURAL}
