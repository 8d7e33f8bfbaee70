"""read_document: every top-level entry accounted for, rows per table equal to independent
XPath counts on the 95 real documents, dispatch by template, entry keys, failures."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from migrate.extractors.ccda.statements import NotClinicalDocument
from migrate.extractors.ccda.tables import PARENTS, TABLES
from tests.extractors.ccda.ccda_e2_docs import (
    NS,
    SAMPLES,
    TPL,
    document,
    parse,
    read,
    read_sample,
    rows,
    sample_files,
    section,
)

_ORG = f"//h:entry/h:organizer[h:templateId/@root='{TPL}{{}}'][not(@nullFlavor)]"
_ACT = f"//h:entry/h:act[h:templateId/@root='{TPL}{{}}'][not(@nullFlavor)]"
_HAS = "[h:templateId/@root='" + TPL + "{}']"
# Rows per table, counted by XPath on the XML, independently of the reader.
XPATHS = {
    "allergies": _ACT.format(30) + "/h:entryRelationship/h:observation" + _HAS.format(7),
    "allergy_reactions": _ACT.format(30) + "/h:entryRelationship/h:observation"
    + _HAS.format(7) + "/h:entryRelationship/h:observation" + _HAS.format(9),
    "vital_signs": _ORG.format(26),
    "vital_observations": _ORG.format(26) + "/h:component/h:observation" + _HAS.format(27),
    "results": _ORG.format(1),
    "result_observations": _ORG.format(1) + "/h:component/h:observation["
    f"h:templateId/@root='{TPL}2' or not(h:templateId)]",
    "problems": _ACT.format(3) + "/h:entryRelationship/h:observation" + _HAS.format(4)
    + " | //h:entry/h:observation[not(@nullFlavor)]" + _HAS.format(4),
    "encounters": "//h:entry/h:encounter[not(@nullFlavor)]" + _HAS.format(49),
    "encounter_diagnoses": "//h:entry/h:encounter" + _HAS.format(49)
    + "/h:entryRelationship/h:act" + _HAS.format(80) + "/h:entryRelationship/h:observation"
    + _HAS.format(4),
    "medications": "//h:entry/h:substanceAdministration[not(@nullFlavor)]" + _HAS.format(16)
    + " | " + _ACT.format(35) + "/h:entryRelationship/h:substanceAdministration"
    + _HAS.format(16),
    "immunizations": "//h:entry/*[not(@nullFlavor)]" + _HAS.format(52),
    "procedures": "//h:entry/*[not(@nullFlavor)][h:templateId/@root='" + TPL + "14' or "
    f"h:templateId/@root='{TPL}13' or h:templateId/@root='{TPL}12']",
    "social_history": "//h:entry/*[not(@nullFlavor)][h:templateId/@root='" + TPL + "78' or "
    f"h:templateId/@root='2.16.840.1.113883.10.22.4.78' or h:templateId/@root='{TPL}38' "
    f"or h:templateId/@root='{TPL}85']",
    "plan_of_care": "//h:entry/*[not(@nullFlavor)][" + " or ".join(
        f"h:templateId/@root='{TPL}{n}'" for n in (44, 39, 40, 41, 42, 43)) + "]",
}


@pytest.fixture(scope="module")
def corpus() -> list:
    """(path, root, DocumentRead) of every real document."""
    return [(p, *read_sample(p)) for p in sample_files()]


def test_every_entry_is_accounted_for_on_the_real_documents(corpus: list) -> None:
    assert len(corpus) == 95
    total = 0
    for path, root, doc in corpus:
        xpath_entries = int(root.xpath("count(//h:section/h:entry)", namespaces=NS))
        assert doc.entries_found == xpath_entries, path.name
        assert doc.entries_found == (doc.entries_read + doc.entries_no_information
                                     + len(doc.entries_failed) + sum(doc.unread.values()))
        assert doc.entries_failed == [], path.name
        total += doc.entries_found
    assert total == 2510
    assert sum(d.entries_no_information for _, _, d in corpus) == 6


@pytest.mark.parametrize("table", sorted(XPATHS))
def test_rows_per_table_equal_an_independent_xpath_count(corpus: list, table: str) -> None:
    expected = sum(len(root.xpath(XPATHS[table], namespaces=NS)) for _, root, _ in corpus)
    got = sum(len(rows(doc, table)) for _, _, doc in corpus)
    assert got == expected
    assert got > 0


def test_known_totals_of_the_survey(corpus: list) -> None:
    count = Counter(r.table for _, _, d in corpus for r in d.rows)
    assert count["allergies"] == 233
    assert count["vital_observations"] == 759
    assert count["allergy_reactions"] == 77
    assert count["encounters"] == 326
    assert count["social_history"] == 122
    assert count["documents"] == 95


def test_every_row_has_exactly_the_columns_of_its_table(corpus: list) -> None:
    for _, _, doc in corpus:
        for row in doc.rows:
            skip = {"documents", "file", "size", "sha1_base64", "data_base64", "content_type"}
            assert set(row.values) == set(TABLES[row.table]) - skip, row.table
            assert all(v is None or isinstance(v, str) for v in row.values.values())


def test_unread_entries_are_counted_per_template(corpus: list) -> None:
    unread = Counter()
    for _, _, doc in corpus:
        unread.update(doc.unread)
    assert unread[TPL + "68"] == 24
    assert unread[TPL + "73"] == 21
    assert TPL + "4" not in unread
    assert TPL + "30" not in unread


def test_emerge_procedures_are_read_whatever_their_element(corpus: list) -> None:
    emerge = [d for p, _, d in corpus if p.parent.name == "EMERGE"]
    procs = [r for d in emerge for r in rows(d, "procedures")]
    assert len(procs) == 190
    kinds = Counter((r.values["template"][len(TPL):], r.values["kind"]) for r in procs)
    assert kinds[("13", "procedure")] == 108
    assert kinds[("12", "procedure")] == 66


def test_the_smoking_status_typo_template_is_read_as_smoking_status(corpus: list) -> None:
    social = [r for _, _, d in corpus for r in rows(d, "social_history")]
    smoking = [r for r in social if r.values["template"] == TPL + "78"]
    assert len(smoking) == 97


def test_r2_templates_with_an_extension_are_read_the_same() -> None:
    path = next(p for p in sample_files() if "Transition_of_Care_Referral" in p.name)
    data = path.read_bytes()
    r2 = data.replace(b'<templateId root="2.16.840.1.113883.10.20.22.4.',
                      b'<templateId extension="2015-08-01" root="2.16.840.1.113883.10.20.22.4.')
    assert r2 != data
    _, r1_doc = read_sample(path)
    from migrate.extractors.ccda.statements import read_document
    from migrate.extractors.ccda.templates import aliases
    r2_doc = read_document(parse(r2), str(path.relative_to(SAMPLES)), path.name, aliases())
    entry = [r for r in r2_doc.rows if "entry_key" in r.values]
    assert [r.key for r in entry] == [r.key for r in r1_doc.rows if "entry_key" in r.values]
    assert entry
    assert all(r.values["template_version"] == "2015-08-01" for r in entry)
    assert r2_doc.unread == r1_doc.unread


def test_repeated_ids_in_one_table_fall_back_to_content_keys(corpus: list) -> None:
    path, root, doc = next(c for c in corpus if c[0].name == "Patient-0.xml")
    allergies = rows(doc, "allergies")
    assert len(allergies) == 3
    assert {r.values["id_root"] for r in allergies} == {"4adc1020-7b14-11db-9fe1-0800200c9a66"}
    assert len({r.key for r in allergies}) == 3


def test_different_patients_never_share_an_entry_key(corpus: list) -> None:
    patients_of = defaultdict(set)
    for _, _, doc in corpus:
        for row in doc.rows:
            if "entry_key" in row.values:
                patients_of[(row.table, row.key)].add(row.values["patient_key"])
    assert max(len(p) for p in patients_of.values()) == 1


def test_the_same_entry_in_two_documents_of_one_patient_gets_one_key(corpus: list) -> None:
    def entry_keys(suffix: str) -> set:
        doc = next(d for p, _, d in corpus if p.name.endswith(suffix))
        return {(r.table, r.key) for r in doc.rows if "entry_key" in r.values}

    amb, inpt = entry_keys("_TOCAMB.xml"), entry_keys("_TOCINPT.xml")
    assert amb
    assert amb == inpt


def test_entry_keys_use_the_id_when_it_is_unique_in_the_table() -> None:
    obs = (f'<observation classCode="OBS" moodCode="EVN"><templateId root="{TPL}78"/>'
           '<id root="5.5" extension="{}"/><code code="72166-2"/>'
           '<value xsi:type="CD" code="{}"/></observation>')
    xml = document(section("".join(f"<entry>{obs.format(i, c)}</entry>"
                                   for i, c in (("a", "1"), ("b", "2"), ("b", "3")))))
    social = rows(read(xml), "social_history")
    assert len({r.key for r in social}) == 3
    again = rows(read(document(section(f"<entry>{obs.format('a', '9')}</entry>"))),
                 "social_history")
    assert again[0].key == social[0].key  # keyed by its id: the value does not matter
    assert social[1].key != rows(read(xml.replace('code="2"', 'code="7"')),
                                 "social_history")[1].key  # content key


def test_a_malformed_entry_is_set_aside_with_table_line_and_reason() -> None:
    bad = (f'<entry><act classCode="ACT" moodCode="EVN"><templateId root="{TPL}30"/>'
           f'<observation/><entryRelationship><observation><templateId root="{TPL}7"/>'
           '<code code="ASSERTION"><originalText>a</originalText>'
           '<originalText>b</originalText></code></observation></entryRelationship>'
           '</act></entry>')
    good = f'<entry><observation><templateId root="{TPL}78"/></observation></entry>'
    doc = read(document(section(bad + good)))
    assert doc.entries_found == 2
    assert doc.entries_read == 1
    [(table, line, reason)] = doc.entries_failed
    assert table == "allergies"
    assert line == 1
    assert "2 different originalText" in reason
    assert rows(doc, "allergies") == []


def test_an_empty_concern_is_failed_and_a_null_flavored_statement_is_no_information() -> None:
    empty = f'<entry><act><templateId root="{TPL}3"/><id root="1"/></act></entry>'
    null = f'<entry><organizer nullFlavor="NI"><templateId root="{TPL}1"/></organizer></entry>'
    unread = f'<entry><act><templateId root="{TPL}20"/></act></entry><entry><act/></entry>'
    doc = read(document(section(empty + null + unread)))
    assert [f[0] for f in doc.entries_failed] == ["problems"]
    assert doc.entries_no_information == 1
    assert doc.unread == Counter({TPL + "20": 1, "(no template)": 1})


def test_narrative_only_sections_are_counted_by_code() -> None:
    doc = read(document(section("", code="42349-1") + section("", code="42349-1")))
    assert doc.narrative_only == Counter({"42349-1": 2})
    assert doc.entries_found == 0


def test_rows_come_document_first_then_patient_then_parties_then_entries(corpus: list) -> None:
    order = {"documents": 0, "patients": 1, "organizations": 2, "practitioners": 3}
    for _, _, doc in corpus:
        ranks = [order.get(r.table, 4) for r in doc.rows]
        assert ranks == sorted(ranks)
        assert ranks[:2] == [0, 1]


def test_another_root_is_not_a_clinical_document() -> None:
    with pytest.raises(NotClinicalDocument, match="<feed>"):
        read('<feed xmlns="http://www.w3.org/2005/Atom"/>')
    with pytest.raises(NotClinicalDocument):
        read("<ClinicalDocument/>")  # no namespace


# Columns whose values are attribute values of the document, copied as written.
_ATTRIBUTE_COLUMNS = ("_code", "_system", "_null", "effective", "effective_low",
                      "effective_high", "id_root", "id_extension", "value_unit", "mood")


def test_no_value_is_invented(corpus: list) -> None:
    for path, root, doc in corpus:
        written = {v for el in root.iter() for v in el.attrib.values()}
        for row in doc.rows:
            if "entry_key" not in row.values:
                continue
            for column, v in row.values.items():
                if v is not None and column.endswith(_ATTRIBUTE_COLUMNS):
                    assert v in written, (path.name, row.table, column, v)


def test_null_flavors_land_in_the_null_columns(corpus: list) -> None:
    smoking = [r.values for _, _, d in corpus for r in rows(d, "social_history")
               if r.values["template"] == TPL + "78"]
    nulls = Counter(v["value_null"] for v in smoking if v["value_null"])
    assert nulls == Counter({"UNK": 5, "NI": 1})
    assert all(v["value_code"] is None for v in smoking if v["value_null"])


def test_child_rows_carry_their_parents_key(corpus: list) -> None:
    for _, _, doc in corpus:
        keys = {(r.table, r.key) for r in doc.rows}
        for row in doc.rows:
            if row.table in PARENTS:
                column, parent = PARENTS[row.table]
                assert (parent, row.values[column]) in keys


def test_an_unexpected_error_in_a_reader_fails_the_entry_not_the_document(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from migrate.extractors.ccda import entries

    def broken(*_args: object) -> list:
        raise ValueError("boom")

    monkeypatch.setitem(entries.READERS, "social_history", broken)
    xml = document(section(f'<entry><observation><templateId root="{TPL}78"/></observation>'
                           '</entry>'))
    doc = read(xml)
    assert doc.entries_failed == [("social_history", 1, "could not be read (ValueError)")]
    assert doc.entries_read == 0
