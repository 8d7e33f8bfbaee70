"""The C-CDA oracle (tests/ccda_oracle.py) checked against the survey of the real samples.

The survey (/work/notes/i20/survey.md §1.3, §2.1, §10) counted the 95 documents with another
script; the oracle must find the same numbers before the extractor is compared with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lxml import etree

from tests import ccda_oracle as oracle

pytestmark = pytest.mark.skipif(not oracle.SAMPLES.is_dir(), reason=oracle.SKIP_REASON)
T = oracle.T


@pytest.fixture(scope="module")
def docs() -> list[oracle.DocCounts]:
    return oracle.count_folder()


@pytest.fixture(scope="module")
def totals(docs: list[oracle.DocCounts]) -> dict:
    return oracle.totals(docs)


def test_oracle_never_imports_the_extractor() -> None:
    tree = ast.parse(Path(oracle.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not [m for m in imported if m.startswith("migrate")]


def test_documents_sections_entries_match_the_survey(totals: dict) -> None:
    count = totals["count"]
    assert (count["documents"], count["sections"], count["entries"]) == (95, 1069, 2510)
    # 6 EMERGE entries are a statement with @nullFlavor ("no information", survey §2).
    assert count["no_information"] == 6
    assert count["entries_read"] + count["no_information"] + sum(
        totals["unread"].values()) == count["entries"]


def test_top_level_templates_match_the_survey(totals: dict) -> None:
    tpl = totals["templates"]
    assert tpl[T + "30"] == 233
    assert tpl[T + "3"] == 308
    assert tpl["(no template)"] == 1
    # survey §10 says 286 top-level 4.16; its §2.1 rows add up to 288 (273 + 4 Cerner
    # + 9 Medications Administered + 2 Procedure Anesthesia), which is what is there.
    assert tpl[T + "16"] == 288
    assert (tpl[T + "52"], tpl[T + "1"], tpl[T + "26"], tpl[T + "49"]) == (149, 320, 257, 326)
    assert tpl[T + "78"] + tpl[oracle.SMOKING_TYPO] == 97
    assert tpl[oracle.SMOKING_TYPO] == 3
    assert (tpl[T + "13"], tpl[T + "12"], tpl[T + "14"]) == (118, 72, 57)


def test_rows_per_table(totals: dict) -> None:
    rows = totals["rows"]
    assert rows["allergies"] == 233
    assert rows["allergy_reactions"] == 77
    assert rows["vital_observations"] == 759
    assert rows["vital_signs"] == 257
    # 4.2 under 4.1: 475 (survey's 476 counts the one top-level 4.2 of Functional Status,
    # which is not in a results organizer); 5 of them sit in EMERGE organizers with
    # @nullFlavor ("no information"), so 470 rows from 315 read organizers.
    assert (rows["results"], rows["result_observations"]) == (315, 470)
    assert rows["problems"] == 308 + 13      # one 4.4 per 4.3 concern + 13 top-level 4.4
    assert rows["social_history"] == 97 + 24 + 1
    assert rows["procedures"] == 118 + 72 + 57
    assert rows["plan_of_care"] == 46 + 18 + 24 + 18 + 1
    assert rows["immunizations"] == 149
    assert rows["encounters"] == 326
    assert rows["medications"] == 288 + 7    # + the 4.16 inside Discharge Medication acts


def test_unread_templates_are_the_sections_not_in_the_issue(totals: dict) -> None:
    unread = totals["unread"]
    assert unread[T + "68"] == 24
    assert unread[T + "73"] == 21
    assert unread[T + "20"] == 46
    assert unread[T + "45"] == 5
    assert unread["2.16.840.1.113883.10.20.22.60"] == 1           # payers (typo OID)
    assert not set(unread) & {T + n for n in ("30", "3", "16", "52", "1", "26", "49", "78")}


def test_narrative_only_sections(totals: dict) -> None:
    narrative = totals["narrative_only"]
    assert sum(narrative.values()) == 123           # survey §2.1: 123 of 1,069
    assert narrative["42349-1"] == 20               # Reason for Referral, always narrative
    assert narrative["(no code)"] == 0              # the one section without code has entries


def test_patient_groups_by_the_design_rule(docs: list[oracle.DocCounts]) -> None:
    groups = oracle.patient_groups(docs)
    assert len(groups) == 95 - 16 + 4
    multi = sorted(len(files) for files in groups.values() if len(files) > 1)
    assert multi == [2, 3, 3, 8]
    assert sum(1 for files in groups.values() if files[0].startswith("EMERGE/")) == 50
    shared = [k for k in groups if k[:2] == ("1.3.6.1.4.1.22812.3.99930.3", "110107073916280")]
    assert len(shared) == 5                     # one id, five people (survey §1.2)


def test_repeated_id_in_one_table_keys_no_row() -> None:
    xml = (f"<ClinicalDocument xmlns='urn:hl7-org:v3'><component><structuredBody><component>"
           f"<section>{_allergy('x')}{_allergy('x')}{_allergy('y')}</section></component>"
           f"</structuredBody></component></ClinicalDocument>")
    root = etree.fromstring(xml)
    rows = [r for e in root.iter("{urn:hl7-org:v3}act")
            for r in oracle.statement_rows(e, {T + "30"})]
    oracle._mark_repeated_ids(rows)
    assert [r.ident for r in rows] == [None, None, ("y", "")]


def _allergy(ident: str) -> str:
    return (f"<entry><act><templateId root='{T}30'/><entryRelationship><observation>"
            f"<templateId root='{T}7'/><id root='{ident}'/></observation></entryRelationship>"
            f"</act></entry>")
