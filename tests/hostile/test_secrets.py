"""Secrets never leak (issue 17): a password in a URL's user part or its query is redacted
everywhere a URL is printed or stored. The test greps every output of a real run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.redact import redact_text, redact_url
from tests.conftest import REPO, TEST_NAMESPACE
from tests.harness.mariadb import OpenEMRDatabase, mariadb_available, openemr_database

SECRET = "Hunter2-S3cret"


@pytest.mark.parametrize(("url", "shown"), [
    (f"mysql+pymysql://bob:{SECRET}@db/emr?charset=utf8mb4",
     "mysql+pymysql://bob:***@db/emr?charset=utf8mb4"),
    (f"mysql+pymysql://bob@db/emr?password={SECRET}&charset=utf8mb4",
     "mysql+pymysql://bob@db/emr?password=***&charset=utf8mb4"),
    (f"postgresql:///emr?host=/run/pg&sslpassword={SECRET}",
     "postgresql:///emr?host=/run/pg&sslpassword=***"),
    (f"https://ehr.example.org/fhir?access_token={SECRET}&_format=json",
     "https://ehr.example.org/fhir?access_token=***&_format=json"),
    (f"https://ehr.example.org/fhir?api_key={SECRET}", "https://ehr.example.org/fhir?api_key=***"),
    ("sqlite:///emr.db", "sqlite:///emr.db"),
])
def test_every_credential_bearing_part_is_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_text(f"cannot reach {url}: refused") == f"cannot reach {shown}: refused"


@pytest.fixture(scope="module")
def openemr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenEMRDatabase]:
    if not mariadb_available():
        pytest.skip("needs Debian's mariadb-server")
    with openemr_database(tmp_path_factory) as db:
        yield db


def migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def every_output(out: Path, done: subprocess.CompletedProcess[str]) -> str:
    texts = [done.stdout, done.stderr]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*")
              if p.is_file()]
    return "\n".join(texts)


@pytest.mark.integration
@pytest.mark.parametrize("where", ["user-part", "query"])
def test_a_run_from_a_password_protected_database_stores_no_password(
        openemr: OpenEMRDatabase, tmp_path: Path, where: str) -> None:
    server = openemr.server
    server.create_readonly_user("reader", SECRET, openemr.database)
    base = f"127.0.0.1:{server.port}/{openemr.database}"
    url = (f"mysql+pymysql://reader:{SECRET}@{base}?charset=utf8mb4" if where == "user-part"
           else f"mysql+pymysql://reader@{base}?password={SECRET}&charset=utf8mb4")
    out = tmp_path / "out"
    done = migrate("run", "--mappings", str(REPO / "mappings" / "openemr"), "--source", url,
                   "--namespace", str(TEST_NAMESPACE), "--target", f"ndjson:{out / 'nd'}",
                   "--out", str(out), "--no-progress", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "reader" in (out / "run.json").read_text(encoding="utf-8")  # the URL is there...
    assert SECRET not in every_output(out, done)  # ...without its password
    # A failing run prints the URL in its error: still without the password.
    broken = url.replace(f"/{openemr.database}?", "/no_such_db?")
    failed = migrate("run", "--mappings", str(REPO / "mappings" / "openemr"), "--source", broken,
                     "--namespace", str(TEST_NAMESPACE), "--target", f"ndjson:{out / 'nd'}",
                     "--out", str(out), "--no-progress")
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert SECRET not in every_output(out, failed)
