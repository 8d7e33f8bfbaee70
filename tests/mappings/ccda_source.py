"""The source the ccda pack tests run on: the tables of ``migrate/extractors/ccda/tables.py``
written as CSV files, every column of the contract in the header (empty when a row does not
fill it). When the ccda extractor lands, :func:`build_source` is the one place to switch:
return ``ccda:<folder of documents>`` instead of the CSV folder.
"""

from __future__ import annotations

import csv
from pathlib import Path

from migrate.extractors.ccda.tables import TABLES

LOINC, SNOMED, RXNORM = "2.16.840.1.113883.6.1", "2.16.840.1.113883.6.96", "2.16.840.1.113883.6.88"
CVX, CPT = "2.16.840.1.113883.12.292", "2.16.840.1.113883.6.12"
XML_B64 = "PENsaW5pY2FsRG9jdW1lbnQvPg=="  # <ClinicalDocument/>
XML_SHA1 = "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
ENTRY = {"patient_key": "P1", "document_key": "DOC1", "documents": "1", "id_keys": "true"}

# table -> rows (only the columns a row fills; the header is the table's full column list)
ROWS: dict[str, list[dict[str, str]]] = {
    "documents": [{
        "document_key": "DOC1", "patient_key": "P1", "file": "a.xml", "size": "19",
        "sha1_base64": XML_SHA1, "data_base64": XML_B64, "content_type": "text/xml",
        "doc_id_root": "2.16.840.1.113883.19.5", "doc_id_extension": "D-1",
        "code_code": "34133-9", "code_system": LOINC, "code_display": "Summary of episode note",
        "title": "Continuity of Care Document", "effective": "20130717114446-0500",
        "custodian_key": "O1", "author_key": "D1", "confidentiality": "N"}],
    "patients": [
        {"patient_key": "P1", "document_key": "DOC1", "documents": "2",
         "id_root": "2.16.840.1.113883.19.5.99999.2", "id_extension": "998991",
         "family": "Jones", "given": "Isabella Anne", "name_use": "L", "gender_code": "F",
         "birth_time": "19750501", "race_code": "2106-3", "race_display": "White",
         "race_system": "2.16.840.1.113883.6.238", "ethnicity_code": "2186-5",
         "ethnicity_display": "Not Hispanic or Latino", "city": "Beaverton", "state": "OR",
         "phone": "tel:+1(555)555-2003", "phone_use": "HP", "organization_key": "O1"},
        {"patient_key": "P2", "document_key": "DOC1", "documents": "1", "family": "Doe",
         "given": "Jo", "gender_null": "UNK", "birth_time_null": "ASKU"},
        {"patient_key": "P3", "document_key": "DOC1", "documents": "1", "family": "Kidd",
         "gender_code": "M", "race_code": "2131-1", "race_display": "Other Race",
         "id_root": "2.16.840.1.113883.4.1", "id_extension": "111-00-1234"}],
    "organizations": [{"organization_key": "O1", "documents": "1", "name": "Good Health Clinic",
                       "id_root": "2.16.840.1.113883.4.6", "id_extension": "1234567890"}],
    "practitioners": [{"practitioner_key": "D1", "documents": "1", "npi": "1112223334",
                       "family": "Seven", "given": "Henry"}],
    "encounters": [{**ENTRY, "entry_key": "E1", "code_code": "99213", "code_system": CPT,
                    "code_display": "Office visit", "effective_low": "201208060028+0500",
                    "status": "completed", "performer_key": "D1"}],
    "encounter_diagnoses": [{**ENTRY, "entry_key": "ED1", "encounter_key": "E1",
                             "value_code": "233604007", "value_system": SNOMED,
                             "value_display": "Pneumonia", "effective_low": "20120806"}],
    "problems": [
        {**ENTRY, "entry_key": "PB1", "value_code": "195967001", "value_system": SNOMED,
         "value_display": "Asthma", "effective_low": "199803", "problem_status_code": "55561003",
         "concern_status": "active", "concern_low": "20070103"},
        {**ENTRY, "entry_key": "PB2", "value_null": "NI"},  # nullFlavors only: no-information
        {**ENTRY, "entry_key": "PB3", "value_code": "38341003", "value_system": SNOMED,
         "effective_low": "201102013"}],  # not an HL7 TS: bad-datetime
    "allergies": [{**ENTRY, "entry_key": "A1", "value_code": "416098002",
                   "substance_code": "7980", "substance_system": RXNORM,
                   "substance_display": "Penicillin G", "effective_low": "20060501",
                   "concern_status": "active"}],
    "allergy_reactions": [
        {**ENTRY, "entry_key": "AR1", "allergy_key": "A1", "value_code": "247472004",
         "value_system": SNOMED, "value_display": "Hives", "severity_code": "6736007"},
        {**ENTRY, "entry_key": "AR2", "allergy_key": "A-gone", "value_code": "422587007",
         "value_system": SNOMED}],  # its allergy was set aside: lookup-miss
    "medications": [
        {**ENTRY, "entry_key": "M1", "mood": "EVN", "status": "active", "med_code": "573621",
         "med_system": RXNORM, "med_display": "Albuterol 0.09 MG/ACTUAT inhalant solution",
         "effective_low": "20120806", "route_code": "C38216",
         "route_system": "2.16.840.1.113883.3.26.1.1", "dose": "2", "dose_unit": "{puff}"},
        {**ENTRY, "entry_key": "M2", "mood": "INT", "status": "completed", "med_code": "197361",
         "med_system": RXNORM, "effective_low": "20130801"}],
    "immunizations": [{**ENTRY, "entry_key": "I1", "negated": "true", "mood": "EVN",
                       "vaccine_code": "88", "vaccine_system": CVX,
                       "vaccine_display": "Influenza virus vaccine", "effective": "201011",
                       "refusal_code": "PATOBJ",
                       "refusal_system": "2.16.840.1.113883.5.8"}],
    "results": [{**ENTRY, "entry_key": "RS1", "code_code": "57021-8", "code_system": LOINC,
                 "code_display": "CBC W Auto Differential panel", "effective": "20120810",
                 "status": "completed"}],
    "result_observations": [
        {**ENTRY, "entry_key": "RO1", "result_key": "RS1", "code_code": "718-7",
         "code_system": LOINC, "code_display": "Hemoglobin", "value_type": "PQ",
         "value": "13.2", "value_unit": "g/dL", "effective": "200803190830-0800",
         "interpretation_code": "N"},
        {**ENTRY, "entry_key": "RO2", "result_key": "RS1", "code_code": "26515-7",
         "code_system": LOINC, "code_display": "Platelets", "value_null": "NA"},
        {**ENTRY, "entry_key": "RO3", "result_key": "RS1", "code_code": "6690-2",
         "code_system": LOINC, "code_display": "Leukocytes", "value": "7.2",
         "value_unit": "10*3/uL", "effective": "20120810"},  # a value without xsi:type
        {**ENTRY, "entry_key": "RO4", "result_key": "RS1", "code_null": "UNK", "value": "5",
         "value_type": "PQ", "value_unit": "mg"}],  # no code at all: observation-without-code
    "vital_signs": [{**ENTRY, "entry_key": "VS1", "code_code": "46680005",
                     "code_system": SNOMED, "effective": "20120806"}],
    "vital_observations": [
        {**ENTRY, "entry_key": f"VO{code}", "vital_key": "VS1", "code_code": code,
         "code_system": LOINC, "value_type": "PQ", "value": value, "value_unit": unit,
         "effective": "20120806"}
        for code, value, unit in (("8480-6", "120", "mm[Hg]"), ("8462-4", "80", "mm[Hg]"),
                                  ("8302-2", "177", "cm"))],
    "procedures": [{**ENTRY, "entry_key": "PR1", "kind": "procedure", "code_code": "X-77",
                    "code_system": "1.2.3.4.5", "code_display": "Local procedure",
                    "effective": "20110203", "status": "completed"}],
    "social_history": [{**ENTRY, "entry_key": "SH1",
                        "template": "2.16.840.1.113883.10.20.22.4.78",
                        "code_code": "ASSERTION", "code_system": "2.16.840.1.113883.5.4",
                        "value_type": "CD", "value_code": "8517006", "value_system": SNOMED,
                        "value_display": "Former smoker", "effective_low": "2005"}],
    "plan_of_care": [{**ENTRY, "entry_key": "PC1", "kind": "observation", "mood": "RQO",
                      "code_code": "24605-8", "code_system": LOINC,
                      "code_display": "Mammography", "effective": "20130601"}],
}


def build_source(folder: Path) -> str:
    """Write the fixture tables into ``folder``; the source text for a run (a CSV folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in ROWS.items():
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=TABLES[table])
            writer.writeheader()
            writer.writerows(rows)
    return str(folder)
