"""Adversarial review of the C-CDA document reader: statements a real vendor could send
that used to end in no row and in no count (silent loss), and entries keyed wrongly.

Every test here failed before the fix it guards."""

from __future__ import annotations

from migrate.extractors.ccda.statements import DocumentRead
from tests.extractors.ccda.ccda_e2_docs import TPL, document, read, rows, section


def balanced(doc: DocumentRead) -> bool:
    """The invariant every document must keep."""
    return doc.entries_found == (doc.entries_read + doc.entries_no_information
                                 + len(doc.entries_failed) + sum(doc.unread.values()))


def problem(ext: str, code: str, rel: bool = True) -> str:
    """A problem observation 4.4 (inside an entryRelationship when ``rel``)."""
    obs = (f'<observation classCode="OBS" moodCode="EVN"><templateId root="{TPL}4"/>'
           f'<id root="1.1" extension="{ext}"/><code code="55607006"/>'
           f'<value xsi:type="CD" code="{code}" codeSystem="2.16.840.1.113883.6.96"/>'
           '</observation>')
    return f'<entryRelationship typeCode="SUBJ">{obs}</entryRelationship>' if rel else obs


def concern(*inner: str) -> str:
    return f'<act classCode="ACT" moodCode="EVN"><templateId root="{TPL}3"/>{"".join(inner)}</act>'


def test_an_entry_with_its_own_template_id_is_read_by_its_statement() -> None:
    # CDA lets <entry> carry realmCode/typeId/templateId before its statement.
    doc = read(document(section(
        f'<entry typeCode="DRIV"><realmCode code="US"/><templateId root="9.9.9"/>'
        f'{concern(problem("a", "1"))}</entry>')))
    assert [r.values["value_code"] for r in rows(doc, "problems")] == ["1"]
    assert (doc.entries_found, doc.entries_read, dict(doc.unread)) == (1, 1, {})


def test_a_second_statement_in_one_entry_is_read_and_counted() -> None:
    doc = read(document(section(
        f'<entry>{concern(problem("a", "1"))}{concern(problem("b", "2"))}</entry>')))
    assert sorted(r.values["value_code"] for r in rows(doc, "problems")) == ["1", "2"]
    assert (doc.entries_found, doc.entries_read) == (2, 2)
    assert balanced(doc)


def test_an_entry_without_a_statement_is_counted_unread_once() -> None:
    doc = read(document(section('<entry><templateId root="9.9.9"/></entry>')))
    assert (doc.entries_found, dict(doc.unread)) == (1, {"(no statement)": 1})
    assert balanced(doc)
