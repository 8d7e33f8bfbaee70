"""Adversarial review of the C-CDA document reader: statements a real vendor could send
that used to end in no row and in no count (silent loss), and entries keyed wrongly.

Every test here failed before the fix it guards."""

from __future__ import annotations

import time
from pathlib import Path

from migrate.extractors.ccda import CcdaExtractor
from migrate.extractors.ccda.coded import NARRATIVE_BUDGET
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


def vital(value: str, template: bool = True) -> str:
    tpl = f'<templateId root="{TPL}27"/>' if template else ""
    return (f'<component><observation classCode="OBS" moodCode="EVN">{tpl}'
            f'<code code="8480-6"/><effectiveTime value="20200101"/>'
            f'<value xsi:type="PQ" value="{value}" unit="mm[Hg]"/></observation></component>')


def test_an_untemplated_observation_of_a_vital_signs_organizer_is_read() -> None:
    doc = read(document(section(
        f'<entry><organizer classCode="CLUSTER" moodCode="EVN"><templateId root="{TPL}26"/>'
        f'<code code="46680005"/><effectiveTime value="20200101"/>{vital("120")}'
        f'{vital("80", template=False)}</organizer></entry>', code="8716-3")))
    assert sorted(r.values["value"] for r in rows(doc, "vital_observations")) == ["120", "80"]
    assert not doc.nested_unread


def test_statements_nested_in_a_read_entry_that_give_no_row_are_counted() -> None:
    comment = (f'<entryRelationship typeCode="SUBJ" inversionInd="true"><act>'
               f'<templateId root="{TPL}64"/><code code="48767-8"/></act></entryRelationship>')
    untemplated = ('<entryRelationship typeCode="SUBJ"><observation><code code="x"/>'
                   '</observation></entryRelationship>')
    organizer = (f'<organizer classCode="BATTERY" moodCode="EVN"><templateId root="{TPL}1"/>'
                 '<code code="24357-6"/><component><sequenceNumber value="1"/>'
                 '<procedure><code code="p"/></procedure></component>'
                 f'<component><organizer><templateId root="{TPL}1"/></organizer></component>'
                 '</organizer>')
    doc = read(document(section(
        f'<entry>{concern(problem("a", "1"), comment, untemplated)}</entry>'
        f'<entry>{organizer}</entry>')))
    assert (len(rows(doc, "problems")), len(rows(doc, "results"))) == (1, 1)
    assert dict(doc.nested_unread) == {f"{TPL}64": 1, "(no template) <observation>": 1,
                                       "(no template) <procedure>": 1, f"{TPL}1": 1}
    assert balanced(doc)


def test_the_source_report_counts_nested_statements_left_unread(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    comment = (f'<entryRelationship typeCode="SUBJ"><act><templateId root="{TPL}64"/>'
               '</act></entryRelationship>')
    (src / "a.xml").write_text(document(section(
        f'<entry>{concern(problem("a", "1"), comment)}</entry>')), encoding="utf-8")
    ext = CcdaExtractor(src, spool_dir=tmp_path)
    try:
        report = ext.source_report()
    finally:
        ext.close()
    assert report["unread_nested_templates"] == {f"{TPL}64": 1}
    assert report["entries"]["balanced"] is True


def medication(dose: str, ext: str | None = None) -> str:
    """A medication activity 4.16 of one drug started 2020-01-01 (no id unless ``ext``)."""
    id_ = f'<id root="5.5" extension="{ext}"/>' if ext else ""
    return (f'<substanceAdministration classCode="SBADM" moodCode="INT">'
            f'<templateId root="{TPL}16"/>{id_}<effectiveTime xsi:type="IVL_TS">'
            '<low value="20200101"/></effectiveTime>'
            f'<doseQuantity value="{dose}" unit="mg"/><consumable><manufacturedProduct>'
            '<manufacturedMaterial><code code="855332" codeSystem="2.16.840.1.113883.6.88"/>'
            '</manufacturedMaterial></manufacturedProduct></consumable>'
            '</substanceAdministration>')


def med_keys(entries: str) -> list[tuple[str, str | None]]:
    doc = read(document(section(entries, code="10160-0")))
    return [(r.key, r.values["dose"]) for r in rows(doc, "medications")]


def test_two_different_facts_with_the_same_content_key_stay_two_rows() -> None:
    # The same drug from the same day at two doses, no ids: two facts, never one row;
    # the same statement written twice is still one.
    keys = med_keys(f"<entry>{medication('5')}</entry><entry>{medication('2.5')}</entry>"
                    f"<entry>{medication('5')}</entry>")
    assert keys[0][0] != keys[1][0]
    assert keys[0][0] == keys[2][0]
    # A copy without a dose agrees with both; the two doses still never share a row.
    undosed = medication("5").replace('<doseQuantity value="5" unit="mg"/>', "")
    keys = med_keys(f"<entry>{undosed}</entry><entry>{medication('5')}</entry>"
                    f"<entry>{medication('2.5')}</entry>")
    assert keys[0][0] == keys[1][0] != keys[2][0]


def test_an_id_repeated_for_the_same_statement_still_keys_it() -> None:
    # A discharge medication act 4.35 repeating a top-level 4.16 (same id): the row keeps
    # the key it has in a document listing it once, so the two documents give one row.
    discharge = (f'<act classCode="ACT" moodCode="EVN"><templateId root="{TPL}35"/>'
                 f'<entryRelationship typeCode="SUBJ">{medication("5", "m1")}'
                 '</entryRelationship></act>')
    twice = med_keys(f"<entry>{medication('5', 'm1')}</entry><entry>{discharge}</entry>")
    once = med_keys(f"<entry>{medication('5', 'm1')}</entry>")
    assert {k for k, _ in twice} == {once[0][0]}


def test_an_id_shared_by_different_statements_does_not_key_them() -> None:
    # EMERGE gives several allergies one UUID: the content keys them apart.
    keys = med_keys(f"<entry>{medication('5', 'same')}</entry>"
                    f"<entry>{medication('2.5', 'same')}</entry>")
    assert len({k for k, _ in keys}) == 2


def test_a_problem_whose_status_changed_between_documents_stays_one_problem() -> None:
    def status(code: str) -> str:
        return (f'<entryRelationship typeCode="REFR"><observation><templateId root="{TPL}6"/>'
                f'<value xsi:type="CD" code="{code}"/></observation></entryRelationship>')

    def doc(code: str) -> list:
        obs = (f'<observation classCode="OBS" moodCode="EVN"><templateId root="{TPL}4"/>'
               '<code code="55607006"/><effectiveTime><low value="2019"/></effectiveTime>'
               f'<value xsi:type="CD" code="38341003"/>{status(code)}</observation>')
        entry = f"<entry>{concern(f'<entryRelationship>{obs}</entryRelationship>')}</entry>"
        return rows(read(document(section(entry))), "problems")

    [active], [resolved] = doc("55561003"), doc("413322009")
    assert active.values["problem_status_code"] != resolved.values["problem_status_code"]
    assert active.key == resolved.key


def patient_key(given: str, family: str, birth: str = "19700101", doc: str = "d") -> str:
    person = (f'<id root="1.2.3" extension="42"/><patient><name>{given}'
              f'<family>{family}</family></name><birthTime value="{birth}"/></patient>')
    return read(document("", patient=person), doc).rows[1].key


def test_one_person_written_differently_by_two_systems_is_one_patient() -> None:
    first = patient_key("<given>José</given><given>Maria</given>", "Núñez")
    assert patient_key("<given>JOSE</given>", "  nunez ", "19700101083000", "e") == first
    assert patient_key("<given>Jose</given><given>M</given>", "Nunez", doc="f") == first


def test_same_id_with_another_first_name_family_or_birth_date_is_another_patient() -> None:
    first = patient_key("<given>José</given>", "Núñez")
    assert patient_key("<given>Josefa</given>", "Núñez") != first
    assert patient_key("<given>José</given>", "Núñes") != first
    assert patient_key("<given>José</given>", "Núñez", "19700102") != first


def test_references_to_one_huge_paragraph_cost_bounded_time_and_text() -> None:
    # 1 MB of narrative referenced by 100 entries: 100 MB of text if each were resolved
    # on its own. The text is made once and, past the budget, entries are set aside.
    big = "word " * 200_000
    obs = "".join(f'<entry><observation><templateId root="{TPL}78"/><code code="c">'
                  '<originalText><reference value="#big"/></originalText></code>'
                  f'<value xsi:type="CD" code="{i}"/></observation></entry>'
                  for i in range(100))
    started = time.monotonic()
    doc = read(document(section(obs, text=f'<paragraph ID="big">{big}</paragraph>')))
    assert time.monotonic() - started < 10
    texts = [r.values["code_text"] for r in rows(doc, "social_history")]
    assert sum(len(t) for t in texts) <= NARRATIVE_BUDGET
    assert len(texts) + len(doc.entries_failed) == 100
    assert "narrative references" in doc.entries_failed[0][2]
    assert balanced(doc)


def test_a_free_text_allergen_drug_or_vaccine_keeps_its_name() -> None:
    allergy = (f'<act classCode="ACT" moodCode="EVN"><templateId root="{TPL}30"/>'
               '<entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">'
               f'<templateId root="{TPL}7"/><value xsi:type="CD" code="419199007"/>'
               '<participant typeCode="CSM"><participantRole><playingEntity>{code}'
               '<name>{name}</name></playingEntity></participantRole></participant>'
               '</observation></entryRelationship></act>')
    material = ('<consumable><manufacturedProduct><manufacturedMaterial>'
                '<code nullFlavor="OTH"/><name>{name}</name></manufacturedMaterial>'
                '</manufacturedProduct></consumable>')
    med = (f'<substanceAdministration classCode="SBADM" moodCode="INT">'
           f'<templateId root="{TPL}16"/>{material.format(name="Grandma remedy")}'
           '</substanceAdministration>')
    vaccine = (f'<substanceAdministration classCode="SBADM" moodCode="EVN">'
               f'<templateId root="{TPL}52"/>{material.format(name="Travel shot")}'
               '</substanceAdministration>')
    null_code = '<code nullFlavor="OTH"/>'
    doc = read(document(section(
        f'<entry>{allergy.format(code="", name="Cats")}</entry>'
        f'<entry>{allergy.format(code=null_code, name="Dust")}</entry>'
        f'<entry>{med}</entry><entry>{vaccine}</entry>')))
    allergies = rows(doc, "allergies")
    assert [r.values["substance_text"] for r in allergies] == ["Cats", "Dust"]
    assert allergies[0].key != allergies[1].key
    assert rows(doc, "medications")[0].values["med_text"] == "Grandma remedy"
    assert rows(doc, "immunizations")[0].values["vaccine_text"] == "Travel shot"


def test_unread_counts_hold_no_source_text() -> None:
    # Their keys go to run.json: template OIDs and section codes only, never free text.
    doc = read(document(
        section('<entry><observation><templateId root="Smith, John 1970"/></observation>'
                f'</entry><entry><act><templateId root="{"1." * 5000}1"/></act></entry>'
                '<entry><act><templateId root="2.16.840.1.113883.10.20.22.4.64"/></act></entry>')
        + section("", code="Jane Roe")))
    assert dict(doc.unread) == {"(not an OID)": 2, "2.16.840.1.113883.10.20.22.4.64": 1}
    assert dict(doc.narrative_only) == {"(not a code)": 1}


def test_an_id_only_back_reference_is_no_unread_statement() -> None:
    link = ('<entryRelationship typeCode="COMP" inversionInd="true"><encounter>'
            '<id root="1.3.6" extension="7"/></encounter></entryRelationship>')
    doc = read(document(section(f"<entry>{concern(problem('a', '1'), link)}</entry>")))
    assert len(rows(doc, "problems")) == 1
    assert not doc.nested_unread


def test_a_dispatched_entry_that_gives_no_row_is_failed_not_lost() -> None:
    empty = {
        "problems": concern(),
        "allergies": f'<act><templateId root="{TPL}30"/></act>',
        "medications": f'<act><templateId root="{TPL}35"/>{problem("x", "1")}</act>',
    }
    doc = read(document(section("".join(f"<entry>{e}</entry>" for e in empty.values()))))
    assert [t for t, _, _ in doc.entries_failed] == list(empty)
    assert all("holds none of the statements" in r for _, _, r in doc.entries_failed)
    assert (doc.entries_found, doc.entries_read) == (3, 0)
    assert dict(doc.nested_unread) == {f"{TPL}4": 1}  # the 4.4 under a discharge act
    assert balanced(doc)


def test_a_statement_and_its_less_detailed_copy_are_one_row() -> None:
    # A problem in a Problems concern (with its status) and again top-level in Past
    # Medical History (without): one fact, one row; a contradicting copy stays apart.
    def obs(status: str = "") -> str:
        rel = (f'<entryRelationship typeCode="REFR"><observation><templateId root="{TPL}6"/>'
               f'<value xsi:type="CD" code="{status}"/></observation></entryRelationship>'
               if status else "")
        return (f'<observation classCode="OBS" moodCode="EVN"><templateId root="{TPL}4"/>'
                '<code code="55607006"/><effectiveTime><low value="2019"/></effectiveTime>'
                f'<value xsi:type="CD" code="38341003"/>{rel}</observation>')

    listed = concern(f"<entryRelationship>{obs('55561003')}</entryRelationship>")
    doc = read(document(section(f"<entry>{listed}</entry>")
                        + section(f"<entry>{obs()}</entry>", code="11348-0")
                        + section(f"<entry>{obs('413322009')}</entry>", code="11348-0")))
    keys = [r.key for r in rows(doc, "problems")]
    assert keys[0] == keys[1]
    assert keys[2] != keys[0]


def test_a_fact_stated_twice_in_a_document_keeps_the_details_of_both(
        tmp_path: Path) -> None:
    # Allscripts lists a medication (with its frequency) and, under the same id, again in
    # Medications Administered (without): one row that keeps the frequency (the spool
    # used to keep the later, less detailed copy whole).
    listed = medication("5", "m1").replace(
        "</effectiveTime>", '</effectiveTime><effectiveTime xsi:type="PIVL_TS" '
        'institutionSpecified="true" operator="A"><period value="6" unit="h"/></effectiveTime>')
    xml = document(section(f"<entry>{listed}</entry>", code="10160-0")
                   + section(f"<entry>{medication('5', 'm1')}</entry>", code="29549-3"))
    assert len({r.key for r in rows(read(xml), "medications")}) == 1
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.xml").write_text(xml, encoding="utf-8")
    ext = CcdaExtractor(src, spool_dir=tmp_path)
    try:
        [row] = [r for b in ext.iter_batches("medications") for r in b.rows]
    finally:
        ext.close()
    assert (row["frequency_period"], row["frequency_unit"], row["dose"]) == ("6", "h", "5")
    assert row["documents"] == "1"


def test_same_vaccine_on_two_days_and_two_results_at_one_time_stay_apart() -> None:
    def shot(day: str) -> str:
        return (f'<entry><substanceAdministration classCode="SBADM" moodCode="EVN">'
                f'<templateId root="{TPL}52"/><effectiveTime value="{day}"/><consumable>'
                '<manufacturedProduct><manufacturedMaterial><code code="141" '
                'codeSystem="2.16.840.1.113883.12.292"/></manufacturedMaterial>'
                '</manufacturedProduct></consumable></substanceAdministration></entry>')

    def result(value: str) -> str:
        return (f'<component><observation classCode="OBS" moodCode="EVN">'
                f'<templateId root="{TPL}2"/><code code="2345-7"/>'
                '<effectiveTime value="20200101080000"/>'
                f'<value xsi:type="PQ" value="{value}" unit="mg/dL"/></observation></component>')

    panel = (f'<entry><organizer classCode="BATTERY" moodCode="EVN"><templateId root="{TPL}1"/>'
             f'<code code="24323-8"/>{result("90")}{result("140")}</organizer></entry>')
    doc = read(document(section(shot("20190101") + shot("20200101") + panel)))
    assert len({r.key for r in rows(doc, "immunizations")}) == 2
    assert len({r.key for r in rows(doc, "result_observations")}) == 2
