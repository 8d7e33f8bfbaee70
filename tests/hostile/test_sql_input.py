"""Hostile database sources (issue 16): rows read are compared with COUNT(*) taken when the read
began, and a row whose text cannot be decoded is quarantined, not the run (SQLite, which
stores whatever bytes it is given)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.extractors.sql import SqlExtractor
from migrate.pipeline import run_pipeline
from tests.conftest import make_settings
from tests.test_pipeline import PATIENT_YAML, write

ROWS = 200


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A SQLite legacy database of ROWS people; returns the database file."""
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (pid TEXT, last TEXT, sex TEXT, dob TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?, 'F', '1970-01-02')",
                         [(str(i), f"Name{i}") for i in range(1, ROWS + 1)])
    return db


def migrate(tmp_path: Path, db: Path, query: str | None = None) -> tuple[Any, dict[str, Any],
                                                                         list[dict[str, Any]]]:
    """Run the mini patient pack over ``db`` (reading ``query`` when given, with a ``seq()``
    function that counts its calls across statements): report, people's run.json entry,
    quarantine records."""
    import sqlalchemy as sa

    yaml = PATIENT_YAML + (f"query: {query}\n" if query else "")
    pack = write(tmp_path / "pack", {"patient.yaml": yaml})
    engine = sa.create_engine(f"sqlite:///{db}")
    calls = [0]

    def seq() -> int:
        calls[0] += 1
        return calls[0]

    sa.event.listen(engine, "connect", lambda conn, _r: conn.create_function("seq", 0, seq))
    out = tmp_path / "out"
    settings = make_settings({"type": "sql", "url": f"sqlite:///{db}"}, f"ndjson:{out / 'nd'}",
                             out, mappings=pack)
    report = run_pipeline(settings, extractor=SqlExtractor(engine=engine))
    run_json = orjson.loads((out / "run.json").read_bytes())
    assert run_json["status"] == report.status
    quarantine = [orjson.loads(x) for x in (out / "quarantine.ndjson").read_bytes().splitlines()]
    return report, run_json["tables"][0], quarantine


def test_all_rows_read_match_the_count(tmp_path: Path, legacy: Path) -> None:
    report, people, quarantine = migrate(tmp_path, legacy)
    assert report.status == "ok"
    assert (people["read"], people["emitted"], people["expected_rows"]) == (ROWS, ROWS, ROWS)
    assert (people["complete"], people["balanced"], quarantine) == (True, True, [])
    assert "read_problem" not in people


def test_an_undecodable_text_value_quarantines_its_row(tmp_path: Path, legacy: Path) -> None:
    with sqlite3.connect(legacy) as conn:  # 'Jos\xe9': Latin-1 bytes stored as TEXT
        conn.execute("UPDATE people SET last = CAST(x'4a6f73e9' AS TEXT) WHERE pid = '7'")
    report, people, quarantine = migrate(tmp_path, legacy)
    assert report.status == "ok"
    assert (people["read"], people["emitted"], people["quarantined"]) == (ROWS, ROWS - 1, 1)
    assert (people["expected_rows"], people["complete"], people["balanced"]) == (ROWS, True, True)
    [record] = quarantine
    message = record["reasons"][0]["message"]
    assert message.startswith("people (")
    assert message.endswith(": row 7 of the read: column 'last' is not valid utf-8 at byte 3; "
                            "fix the value in the database")


def test_fewer_rows_than_counted_mark_the_read_incomplete(tmp_path: Path, legacy: Path) -> None:
    """seq() numbers rows across statements: the count sees 200 pass, the read only 100."""
    query = f"SELECT * FROM people WHERE seq() <= {ROWS + 100}"
    report, people, _ = migrate(tmp_path, legacy, query)
    assert (people["read"], people["expected_rows"], people["complete"]) == (100, ROWS, False)
    assert people["balanced"] is True  # what was read is accounted for; the rest is missing
    assert people["read_problem"].startswith("people (")
    assert people["read_problem"].endswith(
        f": read 100 rows but COUNT(*) was {ROWS} when the read began; 100 row(s) may be missing")


def test_rows_added_during_the_read_are_reported(tmp_path: Path, legacy: Path) -> None:
    report, people, _ = migrate(tmp_path, legacy, "SELECT * FROM people WHERE seq() > 100")
    assert (people["read"], people["expected_rows"], people["complete"]) == (ROWS, 100, True)
    assert people["read_problem"].endswith(
        f": read {ROWS} rows, 100 more than COUNT(*) (100) when the read began (rows added "
        "during the read)")


def test_the_count_respects_the_incremental_filter(legacy: Path) -> None:
    with sqlite3.connect(legacy) as conn:
        conn.execute("UPDATE people SET dob = '2001-01-01' WHERE CAST(pid AS INTEGER) <= 30")
    ext = SqlExtractor(url=f"sqlite:///{legacy}")
    rows = [r for b in ext.iter_batches("people", 50, since=("dob", "2000-01-01")) for r in b.rows]
    account = ext.account("people")
    assert account is not None
    assert (len(rows), account.expected_rows, account.complete) == (30, 30, True)
    ext.close()
