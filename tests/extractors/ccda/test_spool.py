"""The spool: private on disk, gone after close; rows deduplicated by (table, key)."""

from __future__ import annotations

import gc
import stat
from pathlib import Path

from migrate.extractors.ccda.spool import Spool


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_spool_is_private_and_removed_on_close(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    folder = spool.folder
    assert folder.parent == tmp_path
    assert mode(folder) == 0o700
    assert mode(folder / "spool.sqlite") == 0o600
    spool.add("problems", "k", {"a": "1"}, "0", 0)
    spool.commit()
    spool.close()
    assert not folder.exists()
    spool.close()  # twice is harmless


def test_a_spool_never_closed_is_removed_when_collected(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    folder = spool.folder
    del spool
    gc.collect()
    assert not folder.exists()


def test_rows_keep_their_first_place_take_the_latest_values_and_count_documents(
        tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.add("t", "a", {"v": "a from doc 0"}, "20200101", 0)
    spool.add("t", "b", {"v": "b from doc 0"}, "20200101", 0)
    spool.add("t", "a", {"v": "a again in doc 0"}, "20200101", 0)  # same document: one
    spool.add("t", "c", {"v": "c from doc 1"}, "20190101", 1)
    spool.add("t", "a", {"v": "a from older doc 1"}, "20190101", 1)
    spool.add("t", "a", {"v": "a from newest doc 2"}, "20210101", 2)
    spool.add("u", "a", {"v": "another table"}, "20210101", 2)
    spool.commit()
    rows = [(r.key, r.values["v"], r.documents) for part in spool.rows("t", 2) for r in part]
    assert rows == [("a", "a from newest doc 2", 3), ("b", "b from doc 0", 1),
                    ("c", "c from doc 1", 1)]
    assert [len(part) for part in spool.rows("t", 2)] == [2, 1]
    assert spool.merged() == {"t": 3}  # 6 occurrences of t, 3 rows: the same-document copy too
    assert spool.count("t") == (3, 0)
    spool.close()


def test_rejects_are_kept_per_table_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.reject("documents", 3, "x.xml: line 3: broken", "x.xml")
    spool.reject("problems", None, "y.xml: no code", "y.xml")
    spool.reject("documents", None, "z.xml: empty", "z.xml")
    spool.commit()
    assert [r.message for r in spool.rejects("documents")] == [
        "x.xml: line 3: broken", "z.xml: empty"]
    assert spool.count("documents") == (0, 2)
    spool.close()


def test_a_document_hash_is_new_only_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.first_time("abc")
    assert not spool.first_time("abc")
    assert spool.first_time("abd")
    spool.close()


def test_patient_groups_and_one_id_shared_by_two_people(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.add("patients", "p1", {"id_root": "1.2", "id_extension": "7"}, "1", 0)
    spool.add("patients", "p1", {"id_root": "1.2", "id_extension": "7"}, "2", 1)
    spool.add("patients", "p2", {"id_root": "1.2", "id_extension": "7"}, "3", 2)
    spool.add("patients", "p3", {"id_root": "1.2", "id_extension": "8"}, "3", 2)
    spool.add("patients", "p4", {"id_root": None, "id_extension": None}, "3", 3)
    spool.add("patients", "p5", {"id_root": None, "id_extension": None}, "3", 4)
    spool.commit()
    assert spool.patients() == {"groups": 5, "documents_per_patient_max": 2,
                                "same_id_other_person": 1}
    spool.close()
