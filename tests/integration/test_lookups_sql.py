"""Look-ups over a real PostgreSQL source give what they give over the same data as CSV files.

The runnable example ``tests/golden/spec/lookup-admission`` (a one-to-one look-up, a ``last``
and a ``collect`` over one-to-many, a filtered miss) runs over its CSV input and over the same
tables in PostgreSQL, where the look-up keys are integers and the procedures' ``hadm_id`` is
text: keys compare as text, so both runs give the same resources and counts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.harness.postgres import PostgresServer, postgres_or_skip
from tests.test_golden import produce

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[1] / "golden" / "spec" / "lookup-admission"
INTEGER = {("admissions", "hadm_id"), ("admissions", "subject_id"),
           ("patients", "subject_id"), ("procedures_icd", "row_id"),
           ("procedures_icd", "subject_id")}


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A private PostgreSQL server."""
    yield from postgres_or_skip(tmp_path_factory.mktemp("pg"))


def _load(url: str) -> None:
    """The example's CSV files as tables; the id columns as integers, the rest text."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for path in sorted((EXAMPLE / "input").glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            table, header = path.stem, rows[0]
            cols = ", ".join(f'"{c}" {"INTEGER" if (table, c) in INTEGER else "TEXT"}'
                             for c in header)
            conn.exec_driver_sql(f'CREATE TABLE "{table}" ({cols})')
            marks = ", ".join(f":{c}" for c in header)
            values = [{c: (int(v) if (table, c) in INTEGER else (v or None))
                       for c, v in zip(header, row, strict=True)} for row in rows[1:]]
            conn.execute(sa.text(f'INSERT INTO "{table}" VALUES ({marks})'), values)
    engine.dispose()


def test_same_pack_over_csv_and_postgresql(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.fresh_database("lookups")
    _load(url)
    over_csv = produce(tmp_path / "csv", EXAMPLE / "input", EXAMPLE / "pack")
    over_sql = produce(tmp_path / "sql", url, EXAMPLE / "pack")  # type: ignore[arg-type]
    for name in ("Patient.json", "Procedure.json", "quarantine.json"):
        assert over_sql[name] == over_csv[name], name
    assert '"lookup-miss.adm": 1' in over_sql["counts.json"]
    assert over_sql["Procedure.json"].count('"performedDateTime"') == 3
