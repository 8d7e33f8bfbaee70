"""Review of the ``mappings/ccda`` output on the 95 real documents, as a clinician and as a
US Core server would read it: the invariants and bindings that fhir.resources does not check
(ait-1, vs-2, per-1, required elements of the US Core profiles), checked over the whole
output, and the clinical facts that were lost or inverted (no known allergies, blood pressure
outside its vital-signs panel, a year-1 end date, lab reports without a time)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import orjson
import pytest

from migrate.pipeline import run_pipeline
from tests import ccda_oracle as oracle
from tests.conftest import REPO, make_settings

PACK = REPO / "mappings" / "ccda"
SAMPLES = oracle.SAMPLES
SCT = "http://snomed.info/sct"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=oracle.SKIP_REASON)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The resources of one run of the pack over the sample documents, by type."""
    folder = tmp_path_factory.mktemp("ccda-review")
    report = run_pipeline(make_settings({"type": "ccda", "path": str(SAMPLES)},
                                        f"ndjson:{folder / 'nd'}", folder, PACK))
    assert report.status == "ok", report.problems()
    return {p.stem: [orjson.loads(x) for x in p.read_bytes().splitlines()]
            for p in (folder / "nd").glob("*.ndjson")}


def _code(concept: dict | None) -> str | None:
    return ((concept or {}).get("coding") or [{}])[0].get("code")


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v, path)]
    return [(path, value)]


def _dicts(value: Any) -> list[dict]:
    if isinstance(value, dict):
        return [value, *[d for v in value.values() for d in _dicts(v)]]
    if isinstance(value, list):
        return [d for v in value for d in _dicts(v)]
    return []


def test_no_known_allergies_is_a_coded_confirmed_situation(out: dict) -> None:
    """negationInd true without a substance ("No Known Allergies"): US Core needs a code, and
    the fact is that the patient has no known (drug) allergy, not a refuted unnamed one."""
    nka = [r for r in out["AllergyIntolerance"]
           if _code(r.get("code")) in {"409137002", "716186003", "429625007", "428607008"}]
    assert len(nka) == 2
    by_text = {r["code"]["text"]: r for r in nka}
    drug = by_text["No Known Allergies"]  # value 416098002 drug allergy: no known drug allergy
    assert drug["code"]["coding"] == [{"system": SCT, "code": "409137002"}]
    for r in nka:
        assert r["code"]["coding"][0]["system"] == SCT
        assert _code(r["clinicalStatus"]) == "active"
        assert _code(r["verificationStatus"]) == "confirmed"
        assert "type" not in r
        assert "category" not in r


def test_an_allergy_observation_without_substance_is_not_an_active_allergy(out: dict) -> None:
    """Partners writes "No allergy data is applicable" as an allergy observation (nullFlavor
    NASK, value 419199007, no participant): it used to become 5 active, confirmed allergies
    without a code."""
    for r in out["AllergyIntolerance"]:
        assert r.get("code"), r["id"]
        assert r["code"].get("coding") or r["code"].get("text"), r["id"]
        assert "No allergy data" not in orjson.dumps(r).decode()


def test_allergy_status_invariants(out: dict) -> None:
    """ait-1: clinicalStatus unless entered-in-error (refuted included); ait-2: none when
    entered-in-error."""
    for r in out["AllergyIntolerance"]:
        erroneous = _code(r.get("verificationStatus")) == "entered-in-error"
        assert ("clinicalStatus" in r) != erroneous, r["id"]


def test_a_blood_pressure_is_a_member_of_its_vital_signs_panel(out: dict) -> None:
    """Every blood-pressure panel is listed by its organizer's vital-signs panel (through its
    systolic; 7 organizers of the sample set have a diastolic only), and no vital-signs panel
    is left with neither member nor value (vs-2): there were 76."""
    obs = out["Observation"]
    members = Counter(m["reference"] for r in obs for m in r.get("hasMember", []))
    assert max(members.values()) == 1
    bp = [r for r in obs if _code(r["code"]) == "85354-9"]
    unlisted = [r for r in bp if members[f"Observation/{r['id']}"] == 0]
    assert len(bp) == 215
    assert len(unlisted) == 7
    assert all(c["code"]["coding"][0]["code"] == "8462-4"
               for r in unlisted for c in r["component"] if "valueQuantity" in c)
    empty = [r for r in obs if _code(r["code"]) == "85353-1" and not r.get("hasMember")]
    assert len(empty) == 12  # the 7 above and 5 whose only members were set aside


def test_periods_are_ordered_and_no_year_one(out: dict) -> None:
    """per-1 (start <= end) over every resource; Allscripts Sunrise's 00010101000000 (an
    unknown time) is no date at all, not 0001-01-01."""
    for rs in out.values():
        for r in rs:
            for path, value in _walk(r):
                if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d\d)*(T.*)?", value):
                    assert not value.startswith("0001"), (r["id"], path, value)
            for v in _dicts(r):  # every Period, boundsPeriod of a dosage included
                if isinstance(v.get("start"), str) and isinstance(v.get("end"), str):
                    assert v["start"][:10] <= v["end"][:10], (r["id"], v)


def test_every_lab_report_with_a_time_in_its_observations_has_effective(out: dict) -> None:
    """US Core requires DiagnosticReport.effective[x]; 239 of 273 organizers have no
    effectiveTime: their observations' times give it (one: a dateTime; several: a period)."""
    reports = out["DiagnosticReport"]
    without = [r for r in reports if "effectiveDateTime" not in r
               and "effectivePeriod" not in r]
    assert len(without) == 4  # 3 whose observations have no time either, 1 Sunrise year-1
    # Each panel is its own report (EMERGE's dateless panels under one id are keyed with what
    # they hold): its observations share one time, so no report needs a period here.
    assert len(reports) == 303
    assert [r for r in reports if "effectivePeriod" in r] == []


def test_no_time_without_zone_and_birth_date_is_a_date(out: dict) -> None:
    for rs in out.values():
        for r in rs:
            for path, value in _walk(r):
                if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value):
                    assert re.search(r"(Z|[+-]\d\d:\d\d)$", value), (r["id"], path, value)
    assert all(re.fullmatch(r"\d{4}(-\d\d(-\d\d)?)?", p["birthDate"])
               for p in out["Patient"] if "birthDate" in p)


def test_smoking_history_keeps_its_dates_translations_and_no_assertion_coding(out: dict) -> None:
    """C-CDA R1.1 smoking status: low = started, high = stopped, so "former smoker" keeps its
    quit date; ASSERTION (the act's code) is no coding of the observation's code; a code
    with nullFlavor keeps its translation; Tobacco Use 4.85 is LOINC 11367-0; no time at all
    is a data-absent-reason on the required effective."""
    social = [r for r in out["Observation"]
              if r["category"][0]["coding"][0]["code"] == "social-history"]
    assert "ASSERTION" not in orjson.dumps(social).decode()
    former = [r for r in social if _code(r.get("valueCodeableConcept")) == "8517006"]
    assert {"start": "2005-05-01", "end": "2011-02-27"} in [r.get("effectivePeriod")
                                                            for r in former]
    tobacco = [r for r in social if _code(r["code"]) == "11367-0"]
    assert [_code(r["valueCodeableConcept"]) for r in tobacco] == ["65568007"]
    local = [r for r in social if r["code"].get("text") == "Tobacco use"]
    assert local[0]["code"]["coding"][0]["code"] == "22154"
    unknown = [r for r in social if "_effectiveDateTime" in r]
    assert len(unknown) == 17
    assert all("effectivePeriod" not in r and "effectiveDateTime" not in r for r in unknown)


def _quantities(r: dict) -> list[dict]:
    found = [r.get("valueQuantity"), *[c.get("valueQuantity") for c in r.get("component", [])],
             *[x.get(k) for x in r.get("referenceRange", []) for k in ("low", "high")]]
    return [q for q in found if q]


def test_vital_sign_units_are_ucum_in_the_us_core_bindings(out: dict) -> None:
    """Vital signs need a UCUM code (Partners writes `in` and `lbs`; Allscripts `[in_us]`,
    valid UCUM but outside the body-height binding cm | [in_i]); lab units that vendors spell
    their own way (`10+3/ul`, `K/uL`, `mMol/L`) get their UCUM code too."""
    vitals = [q for r in out["Observation"] for q in _quantities(r)
              if r["category"][0]["coding"][0]["code"] == "vital-signs"]
    assert len(vitals) > 700
    assert all(q.get("system") == "http://unitsofmeasure.org" for q in vitals)
    assert "[in_us]" not in {q["code"] for q in vitals}
    labs = [q for r in out["Observation"] for q in _quantities(r)
            if r["category"][0]["coding"][0]["code"] == "laboratory" and q.get("unit")]
    assert {q["unit"] for q in labs if "code" not in q} == {"NA", "mgAlb/gCre", "uug"}


def test_interpretation_flags_are_kept_on_blood_pressure_and_with_their_words(out: dict) -> None:
    """A systolic / diastolic flagged High (NIST) keeps the flag in its blood-pressure panel
    component; the interpretation's originalText ("Normal", "HI") travels as its text, alone
    when the code is UNK."""
    bp = [r for r in out["Observation"] if _code(r["code"]) == "85354-9"]
    flags = Counter((c["code"]["coding"][0]["code"], _code(i), i.get("text"))
                    for r in bp for c in r["component"] for i in c.get("interpretation", []))
    assert flags[("8480-6", "H", "High")] == 1
    assert flags[("8462-4", "H", "High")] == 1
    assert sum(flags.values()) == 14
    assert all(i.get("coding") or i.get("text") for r in out["Observation"]
               for i in r.get("interpretation", []))
    texts = Counter(i.get("text") for r in out["Observation"]
                    for i in r.get("interpretation", []) if i.get("text"))
    assert texts == Counter({"Normal": 7, "HI": 1, "Extreme High": 1})


def test_document_format_code_says_release_and_body(out: dict) -> None:
    """Every sample is C-CDA R1.1 (no template extension) and HL7_UD has a non-XML body: the
    IHE format code said structuredBody:2.1 for all 95."""
    formats = Counter(c["format"]["code"] for r in out["DocumentReference"]
                      for c in r["content"])
    assert formats == Counter({"urn:hl7-org:sdwg:ccda-structuredBody:1.1": 94,
                               "urn:hl7-org:sdwg:ccda-nonXMLBody:1.1": 1})


def test_a_medication_keeps_its_free_text_sig(out: dict) -> None:
    """The sig of a Medication Activity is its text (narrative reference): Allscripts writes
    "INHALE 2 PUFFS Every 6 hours PRN wheezing" there and nowhere else; the Instructions act
    (4.20) is the patient instruction."""
    requests = out["MedicationRequest"]
    sigs = [d["text"] for r in requests for d in r.get("dosageInstruction", []) if "text" in d]
    assert len(sigs) == 75
    assert any("INHALE 2 PUFFS Every 6 hours PRN wheezing" in s for s in sigs)
    patient = [d["patientInstruction"] for r in requests
               for d in r.get("dosageInstruction", []) if "patientInstruction" in d]
    assert "Take twice daily for 7 days" in patient
    assert len(patient) == 19  # a copy listed twice in one document keeps both details


def test_no_problems_is_an_asserted_condition_not_lost(out: dict) -> None:
    """Practice Fusion's negated problem without a code ("No Problems indicated") was
    filtered as no information: it says the patient has no current problem (160245001)."""
    none = [r for r in out["Condition"] if _code(r["code"]) == "160245001"]
    assert len(none) == 1
    assert none[0]["code"]["text"] == "No Problems indicated"
    assert _code(none[0]["clinicalStatus"]) == "active"
    assert _code(none[0]["verificationStatus"]) == "confirmed"
    for r in out["Condition"]:  # con-3 for every problem-list item
        if r["category"][0]["coding"][0]["code"] == "problem-list-item":
            assert "clinicalStatus" in r or _code(r["verificationStatus"]) == "entered-in-error"


def test_uuid_roots_are_urn_uuid_and_no_shared_root_only_encounter_id(out: dict) -> None:
    """A UUID is never a urn:oid (Practice Fusion's vital-sign id roots, the EMERGE
    encounter id) and is lower case; EMERGE's 275 encounters sharing one root-only id no
    longer carry it as their identifier (a server would merge them)."""
    uuid = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}")
    for rs in out.values():
        for r in rs:
            for ident in r.get("identifier", []):
                # a UUID extension is a plain value; a UUID root is the system, or the
                # value of a urn:ietf:rfc:3986 identifier
                uri = ident.get("system")
                if uri == "urn:ietf:rfc:3986":
                    uri = ident["value"]
                # (Practice Fusion's one root "A71277db8-..." is neither a UUID nor an OID)
                if uri and uuid.fullmatch(uri.rsplit(":", 1)[-1]):
                    assert uri.startswith("urn:uuid:"), (r["id"], ident)
                    assert uri == uri.lower(), (r["id"], ident)
    shared = Counter((i.get("system"), i["value"]) for r in out["Encounter"]
                     for i in r.get("identifier", []))
    assert max(shared.values()) <= 8  # an Allscripts test id in 8 documents of 5 people
    pf = [r for r in out["Observation"] if any(
        i["system"] == "urn:uuid:09468747-f093-477d-a1d4-95227bc949e5"
        for i in r.get("identifier", []))]
    assert len(pf) == 6  # the seventh's id is shared by another statement: no identifier


def test_misnamed_code_system_oids_follow_their_codes(out: dict) -> None:
    """Survey 3 flagged two OIDs to check against their codes: EMERGE's 2.16.840.1.113883.6.13
    (the CDT OID) holds HCPCS Level II codes (G0202 screening mammography), Cerner's .6.104
    (ICD-9-CM procedures) holds diagnosis codes (599.0 urinary tract infection)."""
    codings = [v for rs in out.values() for r in rs for p, v in _walk(r) if p.endswith("system")]
    assert "urn:oid:2.16.840.1.113883.6.13" not in codings
    assert "urn:oid:2.16.840.1.113883.6.104" not in codings
    systems = {(c.get("system"), c.get("code")) for r in out["Procedure"] + out["Condition"]
               for c in r["code"].get("coding", [])}
    assert ("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "G0202") in systems
    assert ("http://hl7.org/fhir/sid/icd-9-cm", "599.0") in systems


def test_a_reaction_takes_the_allergy_severity_when_it_has_none(out: dict) -> None:
    """C-CDA R1.1 writes the Severity Observation on the allergy observation; its reactions
    then have none of their own: 2 reaction severities became 14."""
    severities = Counter(x["severity"] for r in out["AllergyIntolerance"]
                         for x in r.get("reaction", []) if "severity" in x)
    assert severities == Counter({"mild": 7, "moderate": 6, "severe": 1})


def test_patient_language_is_bcp_47(out: dict) -> None:
    """Vendors write ISO 639-2 (`eng`, `spa`) under a BCP 47 system, which takes the shortest
    code (`en`, `es`); codes already BCP 47 (`en`, `fr-CN`) stay as written."""
    codes = Counter(c["code"] for p in out["Patient"] for x in p.get("communication", [])
                    for c in x["language"]["coding"])
    assert codes == Counter({"es": 51, "en": 23, "fr-CN": 2})


def test_an_entry_without_code_named_by_its_text_is_kept(out: dict) -> None:
    """Allscripts result observations without code whose entry text names them (a chest
    X-ray "consistent with pneumonia") were set aside as observations without code; plan of
    care goals and a planned aspirin with only a text were filtered as no information."""
    labs = {r["code"].get("text"): r for r in out["Observation"]
            if r["category"][0]["coding"][0]["code"] == "laboratory"}
    xray = labs["CHEST XRAY, PA & LATERAL (71020)"]
    assert xray["valueString"] == "Comments: consistent with pneumonia"
    assert "Result excluded/not available" not in labs
    listed = {m["reference"] for r in out["DiagnosticReport"] for m in r.get("result", [])}
    assert f"Observation/{xray['id']}" in listed
    plans = [r["code"].get("text", "") for r in out["ServiceRequest"]]
    assert sum(t.startswith("Goal: ") for t in plans) == 3
    assert any(t.startswith("aspirin Tablet... Give 81 milliGRAM(s)") for t in plans)
    assert not any("excluded/not available" in t for t in plans)
