"""The header rows: documents, patients, organizations, practitioners, and the keys that
decide who is the same person across documents."""

from __future__ import annotations

from collections import defaultdict

import pytest

from migrate.extractors.ccda.keys import key
from tests.extractors.ccda.ccda_e2_docs import document, read, read_sample, rows, sample_files

PERSON = ('<patient><name use="L"><given>Ann</given><given>B</given><family>Lee</family>'
          '</name><administrativeGenderCode code="F"/><birthTime value="{birth}"/></patient>')


def _patient_key(ids: str, birth: str = "19700101", doc: str = "doc1") -> str:
    return read(document("", patient=ids + PERSON.format(birth=birth)), doc).rows[1].key


def test_the_patient_key_is_the_id_with_name_and_birth_date() -> None:
    ssn = '<id root="2.16.840.1.113883.4.1" extension="111-00-2330"/>'
    mrn = '<id root="1.2.3" extension="42"/>'
    first = _patient_key(ssn + mrn)
    assert first == key("patient", "1.2.3", "42", "lee", "ann", "19700101")  # SSN skipped
    assert _patient_key(mrn, birth="19700101120000", doc="doc2") == first  # 8 digits, other doc
    assert _patient_key(mrn, birth="19700102") != first  # same id, another person
    assert _patient_key(ssn) == key("patient", "2.16.840.1.113883.4.1", "111-00-2330", "lee",
                                    "ann", "19700101")  # only an SSN: it is used


def test_no_usable_id_gives_one_patient_per_document() -> None:
    null = '<id nullFlavor="NI"/>'
    assert _patient_key(null) == key("patient", "document", "doc1")
    assert _patient_key(null, doc="doc2") != _patient_key(null)


def test_the_patient_row() -> None:
    patient = ('<id root="1.2.3" extension="42"/><id root="2.16.840.1.113883.4.1" '
               'extension="1"/><addr use="HP"><streetAddressLine>1 Main St</streetAddressLine>'
               '<city>Town</city><state nullFlavor="UNK"/></addr>'
               '<telecom value="tel:+1-555" use="HP"/><telecom value="mailto:a@b"/>'
               + PERSON.format(birth="19700101").replace(
                   "</patient>", '<raceCode code="2106-3" codeSystem="2.16.840.1.113883.6.238"/>'
                   '<sdtc:deceasedInd value="false"/></patient>'))
    v = read(document("", patient=patient)).rows[1].values
    assert (v["id_root"], v["id_extension"], v["id2_root"]) == ("1.2.3", "42",
                                                               "2.16.840.1.113883.4.1")
    assert (v["family"], v["given"], v["name_use"], v["gender_code"]) == ("Lee", "Ann B", "L",
                                                                          "F")
    assert (v["street"], v["city"], v["state"], v["address_use"]) == ("1 Main St", "Town",
                                                                      None, "HP")
    assert (v["phone"], v["phone_use"], v["email"]) == ("tel:+1-555", "HP", "mailto:a@b")
    assert (v["race_code"], v["deceased"], v["birth_time"]) == ("2106-3", "false", "19700101")


HEADER = (
    '<author><time value="20130101"/><assignedAuthor>'
    '<id root="2.16.840.1.113883.4.6" extension="111"/><assignedPerson><name>'
    '<given>Henry</given><family>Seven</family></name></assignedPerson>'
    '<representedOrganization><id root="7.7" extension="org1"/><name>Good Health</name>'
    '</representedOrganization></assignedAuthor></author>'
    '<author><assignedAuthor><id root="8.8"/><assignedAuthoringDevice>'
    '<softwareName>EHR</softwareName></assignedAuthoringDevice></assignedAuthor></author>'
    '<custodian><assignedCustodian><representedCustodianOrganization><id nullFlavor="NI"/>'
    '<name>Clinic One</name><addr><city>Boston</city></addr>'
    '</representedCustodianOrganization></assignedCustodian></custodian>'
    '<legalAuthenticator><assignedEntity><id root="9.9"/><assignedPerson><name>'
    '<given>Jo</given><family>Doe</family></name></assignedPerson></assignedEntity>'
    '</legalAuthenticator>')


def test_organizations_and_practitioners_of_the_header() -> None:
    doc = read(document("", header=HEADER))
    orgs = {r.values["name"]: r.key for r in rows(doc, "organizations")}
    assert orgs == {"Good Health": key("organization", "7.7", "org1"),
                    "Clinic One": key("organization", "name", "clinic one", "boston")}
    people = {r.values["family"]: r for r in rows(doc, "practitioners")}
    assert set(people) == {"Seven", "Doe"}  # the device author is no practitioner
    assert people["Seven"].key == key("practitioner", "npi", "111")
    assert people["Seven"].values["organization_key"] == orgs["Good Health"]
    assert people["Doe"].key == key("practitioner", "name", "doe", "jo", "")
    d = doc.rows[0].values
    assert (d["author_key"], d["author_time"]) == (people["Seven"].key, "20130101")
    assert d["custodian_key"] == orgs["Clinic One"]
    assert (d["doc_template"], d["effective"], d["code_code"]) == (
        "2.16.840.1.113883.10.20.22.1.2", "20130718111836-0400", "34133-9")
    assert (d["body"], d["sections"], d["entries"]) == ("structuredBody", "0", "0")


@pytest.fixture(scope="module")
def patients() -> dict:
    """File name -> patient key, for every real document."""
    return {p.name: read_sample(p)[1].rows[1].key for p in sample_files()}


def test_emerge_gives_fifty_patients_despite_one_shared_id(patients: dict) -> None:
    emerge = {k for n, k in patients.items() if n.startswith("Patient-")}
    assert len(emerge) == 50


# Survey §1.3: the documents that share id AND name and birth date, by a fragment of their
# file name; every group is one patient, and no two groups are the same patient.
GROUPS = {
    "hl7": ["HL7_Samples_CCD.sample", "HL7_Samples_Consults", "HL7_Samples_DS.sample",
            "HL7_Samples_HandP", "HL7_Samples_OpNote", "HL7_Samples_Procedure_Note",
            "HL7_Samples_Progress_Note", "HL7_Samples_UD"],
    "kidd": ["_CCDA.xml", "_TOCAMB.xml", "_TOCINPT.xml"],
    "everyman": ["170.314B2_Amb_CCD", "170.314B2_Amb_SummaryOfCare", "b_7_AMB_Patient5"],
    "grant": ["170.314_e_1_AMB", "170.314_e_1_InPt"],
}


def test_the_survey_groups_share_one_key_each(patients: dict) -> None:
    keys = defaultdict(set)
    for group, fragments in GROUPS.items():
        for fragment in fragments:
            [name] = [n for n in patients if fragment in n]
            keys[group].add(patients[name])
    assert all(len(k) == 1 for k in keys.values())
    assert len(set().union(*keys.values())) == 4
    assert len(set(patients.values())) == 95 - 16 + 4
