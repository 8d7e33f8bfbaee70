"""The tables a folder of C-CDA documents is read as: their names and columns.

This is the contract between the document reader (`statements`), the extractor (which
deduplicates rows across documents) and the ``mappings/ccda`` pack. Every value is text or
None. Coded elements give six columns under one prefix (``code``, ``value``, ``substance``,
...): ``<p>_code``, ``<p>_system`` (the OID or literal as written), ``<p>_display``,
``<p>_null`` (the nullFlavor), ``<p>_text`` (originalText, its narrative reference resolved)
and the first translation's ``<p>_tr_code``, ``<p>_tr_system``, ``<p>_tr_display``. Times are
the HL7 TS text as written (``20130718111836-0400``); ``*_null`` holds a nullFlavor.
"""

from __future__ import annotations


def coded(prefix: str) -> list[str]:
    """The columns of one coded element (CD/CE) under ``prefix``."""
    return [f"{prefix}_{part}" for part in
            ("code", "system", "display", "null", "text", "tr_code", "tr_system", "tr_display")]


# Every row read from an entry carries these: its key, the patient's, the document it was
# last seen in, how many documents held it, where it sits, and the narrative it points to.
# ``id_keys`` is "true" when the entry's id keys its row (unique to one fact in its
# document), else "false": an id shared by different statements is no identifier of either.
ENTRY = ["entry_key", "patient_key", "document_key", "documents", "section_code",
         "section_template", "template", "template_version", "id_root", "id_extension",
         "id_keys",
         "mood", "negated", "status", "narrative_ref", "narrative_text", "line"]
TIMES = ["effective", "effective_null", "effective_low", "effective_low_null",
         "effective_high", "effective_high_null"]
VALUE = ["value_type", "value", "value_unit", "value_low", "value_high",
         *coded("value")]
STATEMENT = [*ENTRY, *coded("code"), *TIMES, *VALUE]
CONCERN = ["concern_status", "concern_low", "concern_high", "concern_high_null"]
ADDRESS = ["street", "street2", "city", "state", "postal_code", "country", "address_use"]

TABLES: dict[str, list[str]] = {
    "documents": [
        "document_key", "patient_key", "file", "size", "sha1_base64", "data_base64",
        "content_type", "doc_id_root", "doc_id_extension", "set_id_root", "set_id_extension",
        "version", *coded("code"), "title", "effective", "confidentiality", "language",
        "doc_template", "template_version", "custodian_key", "author_key", "author_time",
        "body", "sections", "entries", "entries_read", "entries_unread"],
    "patients": [
        "patient_key", "document_key", "documents", "id_root", "id_extension", "id2_root",
        "id2_extension", "family", "given", "prefix", "suffix", "name_use", "gender_code",
        "gender_null", "birth_time", "birth_time_null", "deceased", "deceased_time",
        *coded("marital"), *coded("race"), *coded("ethnicity"), "language_code", *ADDRESS,
        "phone", "phone_use", "email", "organization_key"],
    "encounters": [*STATEMENT, "location_name", "performer_key", *coded("discharge")],
    "encounter_diagnoses": [*STATEMENT, "encounter_key"],
    "problems": [*STATEMENT, *CONCERN, *coded("problem_status")],
    "allergies": [*STATEMENT, *CONCERN, *coded("substance"), *coded("severity"),
                  *coded("clinical_status")],
    "allergy_reactions": [*STATEMENT, "allergy_key", *coded("severity")],
    "medications": [*STATEMENT, "frequency_period", "frequency_unit", "dose", "dose_unit",
                    "dose_low", "dose_high", "repeat", *coded("route"), *coded("med"),
                    "instructions"],
    "immunizations": [*STATEMENT, *coded("vaccine"), "lot", "manufacturer", *coded("route"),
                      "dose", "dose_unit", *coded("refusal")],
    "results": [*STATEMENT],
    "result_observations": [*STATEMENT, "result_key", *coded("interpretation"),
                            "reference_text", "reference_low", "reference_high",
                            "reference_unit"],
    "vital_signs": [*STATEMENT],
    "vital_observations": [*STATEMENT, "vital_key", *coded("interpretation")],
    "procedures": [*STATEMENT, "kind", *coded("target_site")],
    "social_history": [*STATEMENT],
    "plan_of_care": [*STATEMENT, "kind"],
    "practitioners": [
        "practitioner_key", "documents", "npi", "id_root", "id_extension", "family", "given",
        "prefix", "suffix", "phone", *ADDRESS, "organization_key", *coded("role")],
    "organizations": [
        "organization_key", "documents", "id_root", "id_extension", "name", "phone",
        *ADDRESS],
}

# The key column of each table (one column, unique in the table after deduplication).
KEYS: dict[str, str] = {
    "documents": "document_key", "patients": "patient_key",
    "practitioners": "practitioner_key", "organizations": "organization_key",
    **{t: "entry_key" for t in TABLES if "entry_key" in TABLES[t]},
}

# Child tables: the column holding the parent row's key, and the parent table.
PARENTS: dict[str, tuple[str, str]] = {
    "encounter_diagnoses": ("encounter_key", "encounters"),
    "allergy_reactions": ("allergy_key", "allergies"),
    "result_observations": ("result_key", "results"),
    "vital_observations": ("vital_key", "vital_signs"),
}

# The columns that say what an entry *is*, for entries whose id cannot key them (no id, a
# nullFlavor id, or an id used twice in one table of one document): the natural key is a hash
# of these (with the patient, the table and, for child rows, the parent's key).
NATURAL: dict[str, list[str]] = {
    "encounters": ["code_code", "code_system", "code_text", "effective", "effective_low"],
    "encounter_diagnoses": ["value_code", "value_system", "value_text", "effective_low"],
    "problems": ["value_code", "value_system", "value_text", "effective_low"],
    "allergies": ["substance_code", "substance_system", "substance_text", "value_code"],
    "allergy_reactions": ["value_code", "value_system", "value_text"],
    "medications": ["med_code", "med_system", "med_text", "mood", "effective_low",
                    "effective"],
    "immunizations": ["vaccine_code", "vaccine_system", "vaccine_text", "effective",
                      "effective_low", "negated"],
    "results": ["code_code", "code_system", "code_text", "effective", "effective_low"],
    "result_observations": ["code_code", "code_system", "code_text", "effective",
                            "value", "value_unit", "value_code"],
    "vital_signs": ["code_code", "effective", "effective_low"],
    "vital_observations": ["code_code", "code_system", "effective", "value", "value_unit"],
    "procedures": ["code_code", "code_system", "code_text", "effective", "effective_low"],
    "social_history": ["template", "code_code", "code_system", "value", "value_code",
                       "effective", "effective_low"],
    "plan_of_care": ["kind", "code_code", "code_system", "code_text", "effective",
                     "effective_low"],
}


def columns(table: str) -> list[str]:
    """The columns of ``table`` (a KeyError for an unknown table: callers check TABLES)."""
    return list(TABLES[table])
