"""The OpenEMR test database on a real MariaDB: schema, generated practice, server behaviour.

One private MariaDB per module (per xdist worker) holds the practice of
``sample_data/openemr/generate.py`` with the default patients and seed, the same practice that
``sample_data/openemr/openemr.sqlite`` holds.  The tests pin what a migration reading it relies
on: OpenEMR's exact column names, order and types, how zero dates come back through PyMySQL and
SQLAlchemy, a SELECT-only user, determinism, referential integrity and the deliberate quirks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.harness.mariadb import (
    OPENEMR_READONLY_USER,
    MariaDBServer,
    OpenEMRDatabase,
    load_openemr,
    openemr_database,
    openemr_generator,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "data" / "openemr" / "OPENEMR_CORE_COLUMNS.txt"
SAMPLE_DIR = REPO / "sample_data" / "openemr"
SQLITE_SAMPLE = SAMPLE_DIR / "openemr.sqlite"
GENERATOR = SAMPLE_DIR / "generate.py"
_DISPLAY_WIDTHS = {"tinyint": "4", "smallint": "6", "mediumint": "9", "int": "11",
                   "bigint": "20"}


@pytest.fixture(scope="module")
def openemr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenEMRDatabase]:
    """A private MariaDB with the schema and the default practice (40 patients)."""
    with openemr_database(tmp_path_factory) as db:
        yield db


@pytest.fixture(scope="module")
def engine(openemr: OpenEMRDatabase) -> Iterator[sa.Engine]:
    """A root engine on the practice database."""
    eng = sa.create_engine(openemr.url)
    yield eng
    eng.dispose()


def scalar(engine: sa.Engine, sql: str) -> Any:
    """The single value a query returns."""
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def reference_columns() -> dict[str, list[tuple[str, str]]]:
    """``table -> [(column, type)]`` from the reference list in ../shared (skip if absent)."""
    if not REFERENCE.is_file():
        print(f"reference column list not found at {REFERENCE}; comparing is skipped")
        pytest.skip(f"reference column list not found at {REFERENCE} (it lives in ../shared)")
    tables: dict[str, list[tuple[str, str]]] = {}
    text = REFERENCE.read_text(encoding="utf-8")
    for match in re.finditer(r"^## (\w+) \((\d+) columns\)\n(.+)$", text, re.M):
        parts, depth, current = [], 0, ""
        for char in match.group(3):
            depth += char == "("
            depth -= char == ")"
            if char == "," and depth == 0:
                parts.append(current.strip())
                current = ""
            else:
                current += char
        parts.append(current.strip())
        assert len(parts) == int(match.group(2)), match.group(1)
        tables[match.group(1)] = [(p.split(" ", 1)[0], p.split(" ", 1)[1]) for p in parts]
    assert len(tables) == 21
    return tables


def normalise_type(declared: str) -> str:
    """A declared type as MariaDB reports COLUMN_TYPE: lower case, no spaces, default widths."""
    text = re.sub(r"\s+", "", declared.lower()).removesuffix("unique")
    base = re.match(r"[a-z]+", text)
    assert base is not None, declared
    if text == base.group(0) and text in _DISPLAY_WIDTHS:
        text += f"({_DISPLAY_WIDTHS[text]})"
    return text


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key."""
    eng = sa.create_engine(url)
    try:
        inspector = sa.inspect(eng)
        result = {}
        with eng.connect() as conn:
            for table in inspector.get_table_names():
                keys = inspector.get_pk_constraint(table)["constrained_columns"]
                order = ", ".join(f"`{k}`" for k in keys)
                result[table] = [tuple(r) for r in conn.execute(
                    sa.text(f"SELECT * FROM `{table}` ORDER BY {order}"))]
        return result
    finally:
        eng.dispose()


# ---------------------------------------------------------------------- server


def test_server_settings(openemr: OpenEMRDatabase) -> None:
    server = openemr.server
    assert server.running
    assert server.startup_seconds is not None
    assert server.startup_seconds < 30
    mode, charset, zone, version = server.execute(
        "SELECT @@sql_mode, @@character_set_server, @@time_zone, @@version")[0]
    assert mode == "NO_ENGINE_SUBSTITUTION"
    assert charset == "utf8mb4"
    assert zone == "+00:00"
    assert "MariaDB" in version
    assert openemr.url == (f"mysql+pymysql://root@127.0.0.1:{server.port}/openemr"
                           "?charset=utf8mb4")
    assert server.url("x", user="u", password="p@ss:/") == (
        f"mysql+pymysql://u:p%40ss%3A%2F@127.0.0.1:{server.port}/x?charset=utf8mb4")
    assert server.socket_path.is_socket()


class _BrokenServer(MariaDBServer):
    """A server started with an option mariadbd does not know."""

    def command(self, server_bin: Path) -> list[str]:
        return [*super().command(server_bin), "--no-such-option=1"]


def test_startup_failure_reports_error_log(openemr: OpenEMRDatabase,
                                           tmp_path: Path) -> None:
    broken = _BrokenServer(tmp_path / "broken")
    with pytest.raises(RuntimeError, match=r"(?s)exited with code \d+.*no-such-option"):
        broken.start(timeout=30)
    assert not broken.running
    clash = MariaDBServer(tmp_path / "clash", port=openemr.server.port)
    with pytest.raises(RuntimeError, match="already in use"):
        clash.start(timeout=30)
    assert not clash.running


def test_readonly_user_can_select_only(openemr: OpenEMRDatabase) -> None:
    assert OPENEMR_READONLY_USER in openemr.readonly_url
    eng = sa.create_engine(openemr.readonly_url)
    try:
        with eng.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM patient_data")).scalar_one() == \
                openemr.counts["patient_data"]
            for sql in ("INSERT INTO list_options (list_id, option_id) VALUES ('x', 'y')",
                        "UPDATE patient_data SET fname = 'X'",
                        "DELETE FROM lists",
                        "CREATE TABLE t (i INT)",
                        "SELECT COUNT(*) FROM mysql.user"):
                with pytest.raises(sa.exc.OperationalError) as info:
                    conn.execute(sa.text(sql))
                assert info.value.orig is not None
                assert info.value.orig.args[0] == 1142, sql  # command denied
                conn.rollback()
    finally:
        eng.dispose()


# ---------------------------------------------------------------------- schema


def test_tables_have_reference_columns_in_order(openemr: OpenEMRDatabase) -> None:
    reference = reference_columns()
    rows = openemr.server.execute(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", [openemr.database])
    actual: dict[str, list[tuple[str, str]]] = {}
    for table, column, column_type in rows:
        actual.setdefault(table, []).append((column, column_type))
    assert set(actual) == set(reference) | {"list_options"}
    for table, columns in reference.items():
        assert [c for c, _ in actual[table]] == [c for c, _ in columns], table
        assert [t for _, t in actual[table]] == [normalise_type(t) for _, t in columns], table


def test_schema_sql_parses_to_reference_columns() -> None:
    reference = reference_columns()
    tables = openemr_generator().oe_schema.load_schema()
    for name, columns in reference.items():
        assert tables[name].column_names == [c for c, _ in columns]
        assert [normalise_type(c.type) for c in tables[name].columns] == \
            [normalise_type(t) for _, t in columns], name


def test_sqlalchemy_reflects_every_table_without_warnings(engine: sa.Engine) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inspector = sa.inspect(engine)
        for table in inspector.get_table_names():
            assert inspector.get_columns(table)
            assert inspector.get_pk_constraint(table)["constrained_columns"]
    uuid_type = next(c["type"] for c in inspector.get_columns("patient_data")
                     if c["name"] == "uuid")
    assert isinstance(uuid_type, sa.BINARY)
    assert uuid_type.length == 16


# ---------------------------------------------------------------------- zero dates


def test_zero_dates_come_back_as_strings_through_pymysql(openemr: OpenEMRDatabase) -> None:
    conn = openemr.server.connect(openemr.database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT deceased_date FROM patient_data WHERE deceased_date = "
                        "'0000-00-00 00:00:00' LIMIT 1")
            assert cur.fetchone() == ("0000-00-00 00:00:00",)
            cur.execute("SELECT `date`, CAST(`date` AS CHAR), `date` IS NULL FROM "
                        "insurance_data WHERE `date` = '0000-00-00' LIMIT 1")
            assert cur.fetchone() == ("0000-00-00", "0000-00-00", 0)
            cur.execute("SELECT DOB FROM patient_data ORDER BY pid LIMIT 1")
            assert isinstance(cur.fetchone()[0], date)  # valid dates are date objects
            cur.execute("SELECT end_date FROM prescriptions WHERE end_date = '0000-00-00'")
            assert {r[0] for r in cur.fetchall()} == {"0000-00-00"}
            cur.execute("SELECT begdate FROM lists WHERE begdate = '0000-00-00 00:00:00'")
            assert {r[0] for r in cur.fetchall()} == {"0000-00-00 00:00:00"}
    finally:
        conn.close()


def test_zero_dates_through_sqlalchemy_text_and_reflected_tables(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        text_value = conn.execute(sa.text(
            "SELECT `date` FROM insurance_data WHERE `date` = '0000-00-00' LIMIT 1")).scalar()
        assert text_value == "0000-00-00"
        table = sa.Table("patient_data", sa.MetaData(), autoload_with=conn)
        values = {r[0] for r in conn.execute(sa.select(table.c.deceased_date))}
        assert "0000-00-00 00:00:00" in values  # typed DATETIME column: still the string
        assert None in values
        assert any(isinstance(v, datetime) for v in values)


def test_zero_date_round_trip(openemr: OpenEMRDatabase) -> None:
    server = openemr.server
    server.execute_script([
        "CREATE TABLE zero_probe (d DATE, dt DATETIME, ts TIMESTAMP NULL DEFAULT NULL)",
        "INSERT INTO zero_probe VALUES ('0000-00-00', '0000-00-00 00:00:00', "
        "'0000-00-00 00:00:00'), ('2024-00-10', '2024-03-10 02:30:00', "
        "'2024-03-10 02:30:00')"], openemr.database)
    try:
        rows = server.execute("SELECT d, dt, ts FROM zero_probe ORDER BY dt", None,
                              openemr.database)
    finally:
        server.execute("DROP TABLE zero_probe", None, openemr.database)
    assert rows[0] == ("0000-00-00", "0000-00-00 00:00:00", "0000-00-00 00:00:00")
    # zero-in-date is kept too; the TIMESTAMP in a New York DST gap is not shifted (UTC zone)
    assert rows[1] == ("2024-00-10", datetime(2024, 3, 10, 2, 30), datetime(2024, 3, 10, 2, 30))


# ---------------------------------------------------------------------- the practice


def test_determinism_two_databases_same_seed(openemr: OpenEMRDatabase) -> None:
    twin = load_openemr(openemr.server, "openemr_twin")
    assert twin.counts == openemr.counts
    assert dump(twin.url) == dump(openemr.url)
    other = openemr.server.create_database("openemr_other")
    gen = openemr_generator()
    counts = gen.generate(other, patients=5, seed=7, create_schema=True)
    assert counts["patient_data"] == 5
    first = dump(other)["patient_data"][0]
    assert first != dump(openemr.url)["patient_data"][0]


def test_sql_script_loads_the_same_practice(openemr: OpenEMRDatabase, tmp_path: Path) -> None:
    gen = openemr_generator()
    script = tmp_path / "practice.sql"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--sql-out", str(script), "--create-schema"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^patient_data\s+40$", proc.stdout, re.M)
    url = openemr.server.create_database("openemr_script")
    assert gen.load_sql(url, script) > len(openemr.counts)
    assert dump(url) == dump(openemr.url)
    # the streamed pieces (tiny batches here) add up to the same practice, in order
    merged: dict[str, list[dict[str, Any]]] = {name: [] for name in gen.table_names()}
    for piece in gen.iter_practice(7, 3, batch_patients=2):
        for name, rows in piece.items():
            merged[name] += rows
    assert merged == gen.generate_practice(7, 3)


def test_sqlite_sample_matches_fresh_generation(openemr: OpenEMRDatabase,
                                                engine: sa.Engine) -> None:
    assert SQLITE_SAMPLE.is_file(), "regenerate it: see sample_data/openemr/README.md"
    assert SQLITE_SAMPLE.stat().st_size < 3_000_000
    lite = sa.create_engine(f"sqlite:///file:{SQLITE_SAMPLE}?mode=ro&uri=true")
    try:
        with lite.connect() as conn:
            counts = {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
                      for t in openemr.counts}
            people = conn.execute(sa.text(
                "SELECT pid, pubpid, fname, lname, DOB, deceased_date, uuid "
                "FROM patient_data ORDER BY pid")).all()
    finally:
        lite.dispose()
    assert counts == openemr.counts
    with engine.connect() as conn:
        maria = conn.execute(sa.text(
            "SELECT pid, pubpid, fname, lname, DOB, deceased_date, uuid "
            "FROM patient_data ORDER BY pid")).all()
    assert [tuple(r) for r in people] == [
        (pid, pubpid, fname, lname, dob.isoformat(),
         died.strftime("%Y-%m-%d %H:%M:%S") if isinstance(died, datetime) else died, uuid)
        for pid, pubpid, fname, lname, dob, died, uuid in maria]


def test_practice_size(openemr: OpenEMRDatabase) -> None:
    counts = openemr.counts
    assert counts["patient_data"] == 40
    assert counts["facility"] == 2
    assert counts["users"] == 5
    assert counts["insurance_companies"] == 3
    for table in ("form_encounter", "forms", "form_vitals", "lists", "prescriptions",
                  "immunizations", "procedure_order", "procedure_result", "insurance_data"):
        assert counts[table] >= 40, table


@pytest.mark.parametrize(("child", "parent"), [
    ("SELECT pid FROM form_encounter", "SELECT pid FROM patient_data"),
    ("SELECT pid FROM lists", "SELECT pid FROM patient_data"),
    ("SELECT pid FROM insurance_data", "SELECT pid FROM patient_data"),
    ("SELECT patient_id FROM prescriptions", "SELECT pid FROM patient_data"),
    ("SELECT patient_id FROM immunizations", "SELECT pid FROM patient_data"),
    ("SELECT patient_id FROM procedure_order", "SELECT pid FROM patient_data"),
    ("SELECT CONCAT(pid, '/', encounter) FROM forms",
     "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT CONCAT(patient_id, '/', encounter) FROM prescriptions",
     "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT CONCAT(patient_id, '/', encounter_id) FROM immunizations "
     "WHERE encounter_id IS NOT NULL", "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT CONCAT(patient_id, '/', encounter_id) FROM procedure_order",
     "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT CONCAT(pid, '/', encounter) FROM billing",
     "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT CONCAT(pid, '/', encounter) FROM issue_encounter",
     "SELECT CONCAT(pid, '/', encounter) FROM form_encounter"),
    ("SELECT form_id FROM forms WHERE formdir = 'newpatient'", "SELECT id FROM form_encounter"),
    ("SELECT form_id FROM forms WHERE formdir = 'vitals'", "SELECT id FROM form_vitals"),
    ("SELECT id FROM form_vitals", "SELECT form_id FROM forms WHERE formdir = 'vitals'"),
    ("SELECT form_id FROM forms WHERE formdir = 'procedure_order'",
     "SELECT procedure_order_id FROM procedure_order"),
    ("SELECT list_id FROM issue_encounter", "SELECT id FROM lists"),
    ("SELECT list_id FROM lists_medication", "SELECT id FROM lists WHERE type = 'medication'"),
    ("SELECT prescription_id FROM lists_medication WHERE prescription_id IS NOT NULL",
     "SELECT id FROM prescriptions"),
    ("SELECT procedure_order_id FROM procedure_order_code",
     "SELECT procedure_order_id FROM procedure_order"),
    ("SELECT CONCAT(procedure_order_id, '/', procedure_order_seq) FROM procedure_report",
     "SELECT CONCAT(procedure_order_id, '/', procedure_order_seq) FROM procedure_order_code"),
    ("SELECT procedure_report_id FROM procedure_result",
     "SELECT procedure_report_id FROM procedure_report"),
    ("SELECT provider FROM insurance_data", "SELECT CAST(id AS CHAR) FROM insurance_companies"),
    ("SELECT providerID FROM patient_data", "SELECT id FROM users WHERE authorized = 1"),
    ("SELECT provider_id FROM form_encounter", "SELECT id FROM users WHERE authorized = 1"),
    ("SELECT provider_id FROM prescriptions", "SELECT id FROM users WHERE authorized = 1"),
    ("SELECT facility_id FROM form_encounter", "SELECT id FROM facility"),
    ("SELECT billing_facility FROM form_encounter", "SELECT id FROM facility"),
    ("SELECT facility_id FROM users", "SELECT id FROM facility"),
])
def test_references_resolve(engine: sa.Engine, child: str, parent: str) -> None:
    with engine.connect() as conn:
        children = {r[0] for r in conn.execute(sa.text(child))}
        parents = {r[0] for r in conn.execute(sa.text(parent))}
    assert children, child
    assert children <= parents, sorted(children - parents)[:5]


@pytest.mark.parametrize(("table", "columns"), [
    ("patient_data", "pubpid"), ("patient_data", "pid"), ("form_encounter", "encounter"),
    ("forms", "formdir, form_id"), ("insurance_data", "pid, type, date"),
    ("users", "username"), ("procedure_result", "procedure_report_id, result_code"),
])
def test_natural_keys_unique(engine: sa.Engine, table: str, columns: str) -> None:
    assert scalar(engine, f"SELECT COUNT(*) - COUNT(DISTINCT {columns}) FROM {table}") == 0


@pytest.mark.parametrize(("column", "list_id"), [
    ("patient_data.sex", "sex"), ("patient_data.race", "race"),
    ("patient_data.ethnicity", "ethnicity"), ("patient_data.language", "language"),
    ("patient_data.status", "marital"), ("lists.reaction", "reaction"),
    ("lists.severity_al", "severity_ccda"), ("lists.outcome", "outcome"),
    ("prescriptions.route", "drug_route"), ("prescriptions.`interval`", "drug_interval"),
    ("prescriptions.form", "drug_form"), ("prescriptions.unit", "drug_units"),
    ("immunizations.route", "drug_route"),
    ("immunizations.administration_site", "immunization_administered_site"),
    ("immunizations.manufacturer", "Immunization_Manufacturer"),
    ("immunizations.completion_status", "Immunization_Completion_Status"),
    ("insurance_data.subscriber_relationship", "sub_relation"),
    ("procedure_result.abnormal", "proc_res_abnormal"),
    ("procedure_result.result_status", "proc_res_status"),
    ("procedure_report.report_status", "proc_rep_status"),
    ("form_encounter.class_code", "_ActEncounterCode"),
])
def test_coded_values_are_list_options(engine: sa.Engine, column: str, list_id: str) -> None:
    table, name = column.split(".")
    with engine.connect() as conn:
        used = {str(r[0]) for r in conn.execute(sa.text(
            f"SELECT DISTINCT {name} FROM {table} WHERE {name} IS NOT NULL AND {name} != ''"))}
        options = {r[0] for r in conn.execute(sa.text(
            "SELECT option_id FROM list_options WHERE list_id = :l"), {"l": list_id})}
    assert used, column
    assert used <= options, sorted(used - options)


@pytest.mark.parametrize("sql", [
    "SELECT COUNT(*) FROM patient_data WHERE deceased_date = '0000-00-00 00:00:00'",
    "SELECT COUNT(*) FROM patient_data WHERE deceased_date > '1900-01-01'",
    "SELECT COUNT(*) FROM patient_data WHERE mname = ''",
    "SELECT COUNT(*) FROM patient_data WHERE birth_lname IS NOT NULL",
    "SELECT COUNT(*) FROM patient_data WHERE preferred_name IS NOT NULL",
    "SELECT COUNT(*) FROM patient_data WHERE street_line_2 != ''",
    "SELECT COUNT(*) FROM insurance_data WHERE `date` = '0000-00-00'",
    "SELECT COUNT(*) FROM insurance_data WHERE date_end = '0000-00-00'",
    "SELECT COUNT(*) FROM insurance_data WHERE type = 'secondary'",
    "SELECT COUNT(*) FROM insurance_data WHERE subscriber_relationship = 'child'",
    "SELECT COUNT(*) FROM prescriptions WHERE end_date = '0000-00-00'",
    "SELECT COUNT(*) FROM lists WHERE begdate = '0000-00-00 00:00:00'",
    "SELECT COUNT(*) FROM lists WHERE activity = 0",
    "SELECT COUNT(*) FROM lists WHERE diagnosis LIKE 'ICD9:%'",
    "SELECT COUNT(*) FROM lists WHERE type = 'allergy' AND diagnosis = ''",
    "SELECT COUNT(*) FROM forms f JOIN form_vitals v ON v.id = f.form_id "
    "WHERE f.formdir = 'vitals' AND f.deleted = 1 AND v.activity = 1",
    "SELECT COUNT(*) FROM form_vitals WHERE weight = 0 AND bps != ''",
    "SELECT COUNT(*) FROM immunizations WHERE added_erroneously = 1",
    "SELECT COUNT(*) FROM immunizations WHERE encounter_id IS NULL",
    "SELECT COUNT(*) FROM form_encounter WHERE class_code = 'EMER'",
    "SELECT COUNT(*) FROM form_encounter WHERE class_code = 'IMP'",
    "SELECT COUNT(*) FROM form_encounter WHERE id != encounter",
    "SELECT COUNT(*) FROM procedure_result WHERE abnormal IN ('high', 'low')",
    "SELECT COUNT(*) FROM procedure_report WHERE date_collected_tz = '-0400'",
    "SELECT COUNT(*) FROM procedure_report WHERE date_collected_tz = '-0500'",
    "SELECT COUNT(*) FROM users WHERE authorized = 1 AND active = 0",
])
def test_deliberate_quirks_present(engine: sa.Engine, sql: str) -> None:
    assert scalar(engine, sql) > 0


def test_uuids_are_16_random_bytes(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        uuids = [r[0] for r in conn.execute(sa.text(
            "SELECT uuid FROM patient_data UNION ALL SELECT uuid FROM form_encounter "
            "UNION ALL SELECT uuid FROM lists"))]
    assert all(isinstance(u, bytes) and len(u) == 16 for u in uuids)
    assert len(set(uuids)) == len(uuids)


def test_cli_writes_sqlite(tmp_path: Path) -> None:
    target = tmp_path / "small.sqlite"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--patients", "3", "--seed", "5", "--url",
         f"sqlite:///{target}", "--create-schema"], capture_output=True, text=True,
        check=False)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^patient_data\s+3$", proc.stdout, re.M)
    lite = sa.create_engine(f"sqlite:///{target}")
    try:
        with lite.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM patient_data")).scalar_one() == 3
            row = conn.execute(sa.text("SELECT DOB, regdate, typeof(uuid) FROM patient_data "
                                       "LIMIT 1")).one()
    finally:
        lite.dispose()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row[1])
    assert row[2] == "blob"
