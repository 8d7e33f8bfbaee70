"""Extractor contract tests, run over every registered extractor, plus per-extractor details."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.errors import ExtractError, UnknownPluginError
from migrate.extractors import EXTRACTORS, Extractor, open_extractor

HEADER = ["id", "name", "zip"]
ROWS = [("1", "Ann", "02081"), ("2", "Bob", ""), ("3", "Cy, Jr.", "10001"), ("4", "Di", "9")]


def make_csv(folder: Path) -> Extractor:
    folder.mkdir()
    lines = [",".join(HEADER)] + [",".join(f'"{v}"' if "," in v else v for v in r) for r in ROWS]
    (folder / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return open_extractor("csv", path=str(folder))


def make_sql(folder: Path) -> Extractor:
    folder.mkdir()
    db = folder / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (id TEXT, name TEXT, zip TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?)", ROWS)
    return open_extractor("sql", url=f"sqlite:///{db}")


FACTORIES = {"csv": make_csv, "sql": make_sql}


def test_every_registered_extractor_has_a_contract_test() -> None:
    open_extractor("csv", path=".")
    # ccda reads documents into fixed tables: its contract is tests/extractors/ccda/
    # test_contract.py (the migrate.testing kit on its patients table).
    assert set(EXTRACTORS.names()) == set(FACTORIES) | {"ccda"}


@pytest.fixture(params=sorted(FACTORIES))
def extractor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Extractor]:
    ext = FACTORIES[request.param](tmp_path / "src")
    yield ext
    ext.close()


def test_contract_columns(extractor: Extractor) -> None:
    assert extractor.columns("people") == HEADER


def test_contract_streams_every_row_in_chunks(extractor: Extractor) -> None:
    batches = list(extractor.iter_batches("people", chunk_size=3))
    assert [len(b.rows) for b in batches if b.rows] == [3, 1]
    rows = [r for b in batches for r in b.rows]
    assert [(r["id"], r["name"], r["zip"]) for r in rows] == ROWS


def test_contract_estimate_is_exact_for_small_tables(extractor: Extractor) -> None:
    assert extractor.estimate_rows("people") == 4


def test_contract_missing_table_names_it(extractor: Extractor) -> None:
    with pytest.raises(ExtractError, match="'nobody'"):
        extractor.columns("nobody")


def test_csv_keeps_text_and_leading_zeros(tmp_path: Path) -> None:
    ext = make_csv(tmp_path / "src")
    rows = [r for b in ext.iter_batches("people") for r in b.rows]
    assert rows[0]["zip"] == "02081"
    assert rows[1]["zip"] == ""


def test_csv_delimiter_encoding_and_file_names(tmp_path: Path) -> None:
    (tmp_path / "Export_People.txt").write_bytes("id;name\n1;Zoë\n".encode("cp1252"))
    ext = open_extractor("csv", path=str(tmp_path), delimiter=";", encoding="cp1252",
                         files={"people": "Export_People.txt"})
    assert [r for b in ext.iter_batches("people") for r in b.rows] == [{"id": "1", "name": "Zoë"}]


def test_csv_ragged_rows_are_rejected_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3\n4,5,6\n7,8\n", encoding="utf-8")
    batches = list(open_extractor("csv", path=str(tmp_path)).iter_batches("t"))
    rows = [r for b in batches for r in b.rows]
    rejects = [r for b in batches for r in b.rejects]
    assert rows == [{"a": "1", "b": "2"}, {"a": "7", "b": "8"}]
    path = tmp_path / "t.csv"
    assert [(r.line, r.message, r.raw) for r in rejects] == [
        (3, f"{path}: line 3: expected 2 fields, found 1", "3"),
        (4, f"{path}: line 4: expected 2 fields, found 3", "4,5,6")]


def test_csv_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="CSV source folder '.*nope' does not exist"):
        open_extractor("csv", path=str(tmp_path / "nope"))


def test_sql_declared_query_and_its_columns(tmp_path: Path) -> None:
    ext = make_sql(tmp_path / "src")
    query = "SELECT id AS pid, upper(name) AS name FROM people WHERE zip <> ''"
    assert ext.query_columns(query) == ["pid", "name"]  # type: ignore[attr-defined]
    rows = [r for b in ext.iter_batches("people", 2, query) for r in b.rows]
    assert rows == [{"pid": "1", "name": "ANN"}, {"pid": "3", "name": "CY, JR."},
                    {"pid": "4", "name": "DI"}]
    assert ext.estimate_rows("people", query) == 3


def test_sql_bad_url_is_reported_without_password() -> None:
    with pytest.raises(ExtractError) as err:
        open_extractor("sql", url="nosuchdialect://user:s3cret@host/db")
    assert "s3cret" not in str(err.value)
    assert "cannot open database nosuchdialect://user:***@host/db" in str(err.value)


def test_unknown_extractor_lists_the_valid_names() -> None:
    with pytest.raises(UnknownPluginError) as err:
        open_extractor("excel", path=".")
    assert str(err.value) == "unknown extractor 'excel'; valid names: ccda, csv, sql"


def test_sql_session_is_read_only(tmp_path: Path) -> None:
    import sqlalchemy as sa

    ext = make_sql(tmp_path / "src")
    with ext.engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.execute(sa.text("INSERT INTO people VALUES ('9', 'Eve', '1')"))
    assert ext.estimate_rows("people") == 4


def test_sql_values_arrive_as_the_text_a_csv_export_would_hold(tmp_path: Path) -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    from migrate.extractors.sql import _text

    raw = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert _text(raw.bytes) == str(raw)
    assert _text(b"plain") == "plain"
    assert _text(b"\xff\xfe") == "fffe"
    assert _text(Decimal("170.500000")) == "170.500000"
    assert _text(Decimal("0E-6")) == "0.000000"
    assert _text(dt.datetime(2021, 3, 4, 10, 15)) == "2021-03-04 10:15:00"
    assert _text(dt.date(2021, 3, 4)) == "2021-03-04"
    assert _text(7) == "7"
    assert _text(True) == "1"
    assert _text("0000-00-00") == "0000-00-00"
    assert _text(None) is None
