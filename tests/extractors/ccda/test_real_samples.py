"""The ``ccda`` extractor on the 95 real C-CDA documents, checked against the oracle.

The oracle (tests/ccda_oracle.py) counts the documents with plain XPath and shares no code
with the extractor. How it predicts the cross-document merge: it cannot recompute content
keys, so per entry table it asserts (a) rows + ``rows_merged`` = statements read (exact,
from ``source_report``) and (b) rows lie between the distinct id-keyed rows (one per
(patient, table, parent id, id)) plus at least one content-keyed row, and that plus every
content-keyed row (`ccda_oracle.merged_bounds`). The re-send case (Kari Kidd TOCAMB and
TOCINPT differ only in 3 header timestamps) is checked exactly: the second document adds no
entry row.

No document of the set is expected in quarantine: all 95 are well-formed UTF-8 with no
DOCTYPE (survey §8), so any quarantined one is a bug of the extractor.
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from migrate.extractors import RejectedRow, open_extractor
from tests import ccda_oracle as oracle

pytestmark = pytest.mark.skipif(not oracle.SAMPLES.is_dir(), reason=oracle.SKIP_REASON)

AS_IT_ID = ("1.3.6.1.4.1.22812.3.99930.3", "110107073916280")
KIDD = "Allscripts_Samples_Sunrise_Clinical_Manager_C-CDA_101693_20130617{}_Kidd_Kari_CCDA_{}.xml"
TOCAMB, TOCINPT = KIDD.format("120344", "TOCAMB"), KIDD.format("120425", "TOCINPT")


def read_all(path: Path) -> dict[str, Any]:
    """Every table of the extractor on ``path``: rows and rejects per table, then the
    source report (asked after the reads, as the pipeline does)."""
    extractor = open_extractor("ccda", path=str(path))
    try:
        rows: dict[str, list[dict[str, Any]]] = {}
        rejects: dict[str, list[RejectedRow]] = {}
        for table in extractor.tables():
            rows[table], rejects[table] = [], []
            for batch in extractor.iter_batches(table):
                rows[table] += batch.rows
                rejects[table] += batch.rejects
        return {"rows": rows, "rejects": rejects, "report": extractor.source_report()}
    finally:
        extractor.close()


@pytest.fixture(scope="module")
def docs() -> list[oracle.DocCounts]:
    return oracle.count_folder()


@pytest.fixture(scope="module")
def read() -> dict[str, Any]:
    return read_all(oracle.SAMPLES)


def test_every_table_of_the_oracle_is_offered(read: dict[str, Any]) -> None:
    assert set(oracle.ENTRY_TABLES) | {"documents", "patients"} <= set(read["rows"])


def test_every_document_is_parsed_none_quarantined(read: dict[str, Any],
                                                   docs: list[oracle.DocCounts]) -> None:
    assert [(r.line, r.message) for r in read["rejects"]["documents"]] == []
    documents = read["report"]["documents"]
    assert (documents["files"], documents["parsed"]) == (95, 95)
    assert (documents["quarantined"], documents["duplicates"]) == (0, 0)
    keys = [r["document_key"] for r in read["rows"]["documents"]]
    assert sorted(keys) == sorted(d.sha256 for d in docs)    # document_key = sha256


def test_sections_and_entries_per_document(read: dict[str, Any],
                                           docs: list[oracle.DocCounts]) -> None:
    ours = {r["document_key"]: (r["sections"], r["entries"], r["entries_read"],
                                r["entries_unread"]) for r in read["rows"]["documents"]}
    expected = {d.sha256: (str(d.sections), str(d.entries), str(d.entries_read),
                           str(sum(d.unread.values()))) for d in docs}
    wrong = {d.file: (ours.get(d.sha256), expected[d.sha256]) for d in docs
             if ours.get(d.sha256) != expected[d.sha256]}
    assert wrong == {}


def test_entries_found_read_unread_per_template(read: dict[str, Any],
                                                docs: list[oracle.DocCounts]) -> None:
    totals = oracle.totals(docs)
    entries = read["report"]["entries"]
    count = totals["count"]
    assert entries["found"] == count["entries"]
    assert entries["read"] == count["entries_read"]
    assert entries["no_information"] == count["no_information"]
    assert entries["quarantined"] == 0
    assert entries["unread"] == sum(totals["unread"].values())
    assert entries["balanced"] is True
    assert read["report"]["unread_templates"] == dict(totals["unread"])
    assert read["report"]["narrative_only_sections"] == dict(totals["narrative_only"])


def test_no_entry_is_quarantined(read: dict[str, Any]) -> None:
    rejected = {t: [(r.line, r.message) for r in read["rejects"][t]]
                for t in oracle.ENTRY_TABLES if read["rejects"][t]}
    assert rejected == {}


def test_rows_per_table_after_the_merge(read: dict[str, Any],
                                        docs: list[oracle.DocCounts]) -> None:
    # Every statement read is a row or a merge: rows_merged counts each row that met a row
    # of the same key, in another document or in the same one (else entries vanish from the
    # account without a trace).
    statements = oracle.totals(docs)["rows"]
    merged = read["report"]["rows_merged"]
    bounds = oracle.merged_bounds(docs)
    got = {t: (len(read["rows"][t]), merged.get(t, 0)) for t in oracle.ENTRY_TABLES}
    assert {t: rows + m for t, (rows, m) in got.items()} == {
        t: statements[t] for t in oracle.ENTRY_TABLES}
    outside = {t: (rows, bounds[t]) for t, (rows, _) in got.items()
               if not bounds[t][0] <= rows <= bounds[t][1]}
    assert outside == {}


def test_entry_keys_are_unique_per_table(read: dict[str, Any]) -> None:
    repeated = {t: n for t in oracle.ENTRY_TABLES
                if (n := len(read["rows"][t]) - len({r["entry_key"] for r in read["rows"][t]}))}
    assert repeated == {}


def test_patients_are_the_oracle_groups(read: dict[str, Any],
                                        docs: list[oracle.DocCounts]) -> None:
    by_key: dict[str, set[str]] = defaultdict(set)
    for r in read["rows"]["documents"]:
        by_key[r["patient_key"]].add(r["document_key"])
    ours = sorted(sorted(g) for g in by_key.values())
    groups: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for d in docs:
        groups[d.patient].add(d.sha256)
    assert ours == sorted(sorted(g) for g in groups.values())
    assert len(read["rows"]["patients"]) == len(groups) == 83
    documents = sorted(int(r["documents"]) for r in read["rows"]["patients"])
    assert documents == sorted(len(g) for g in groups.values())
    patients = read["report"]["patients"]
    assert (patients["groups"], patients["documents_per_patient_max"]) == (83, 8)


def test_one_id_many_people(read: dict[str, Any], docs: list[oracle.DocCounts]) -> None:
    keys = {r["document_key"]: r["patient_key"] for r in read["rows"]["documents"]}
    emerge = {keys[d.sha256] for d in docs if d.file.startswith("EMERGE/")}
    assert len(emerge) == 50                    # one id, 50 names: 50 patients
    as_it = {keys[d.sha256] for d in docs if d.patient[:2] == AS_IT_ID}
    assert len(as_it) == 5                      # one id, 5 people
    strict = Counter(d.patient for d in docs)
    for identity in (p for p, n in strict.items() if n > 1):
        assert len({keys[d.sha256] for d in docs if d.patient == identity}) == 1


def test_a_resent_document_adds_no_entry_row(tmp_path: Path) -> None:
    once, twice = tmp_path / "once", tmp_path / "twice"
    once.mkdir()
    twice.mkdir()
    shutil.copy(oracle.SAMPLES / TOCAMB, once)
    for name in (TOCAMB, TOCINPT):
        shutil.copy(oracle.SAMPLES / name, twice)
    first, both = read_all(once), read_all(twice)
    assert len(both["rows"]["documents"]) == 2
    assert len(both["rows"]["patients"]) == 1
    for table in oracle.ENTRY_TABLES:
        keys = [r["entry_key"] for r in first["rows"][table]]
        assert [r["entry_key"] for r in both["rows"][table]] == keys, table
        assert {r["documents"] for r in both["rows"][table]} <= {"2"}, table
    assert sum(len(first["rows"][t]) for t in oracle.ENTRY_TABLES) > 0


def test_result_panels_of_one_document_stay_apart(tmp_path: Path,
                                                   docs: list[oracle.DocCounts]) -> None:
    # EMERGE gives every result organizer one id and no effectiveTime: the Blood Chemistry
    # panels of 2010-03-31 and of other days differ only by their components. Each is a
    # panel (a DiagnosticReport) of its own; one row for all would date them all alike.
    shutil.copy(oracle.SAMPLES / "EMERGE" / "Patient-1.xml", tmp_path)
    expected = next(d for d in docs if d.file == "EMERGE/Patient-1.xml").table_rows()
    rows = read_all(tmp_path)["rows"]
    assert (len(rows["results"]), len(rows["result_observations"])) == (
        expected["results"], expected["result_observations"])
