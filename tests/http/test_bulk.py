"""FHIR Bulk Data ``$export`` through the one client (migrate.http.bulk): the kick-off, the status
poll honouring Retry-After, failures, streamed downloads; and a real export from sekmet-fhir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from migrate.errors import LoadError, TransientLoadError
from migrate.files import partial_path
from migrate.http import ExportFile, FhirClient, Manifest, RetryPolicy
from migrate.loaders.fhir_server import FhirServerLoader

BASE = "http://ehr.test/fhir"
STATUS = "http://ehr.test/fhir/bulk-status/42"
MANIFEST = {"transactionTime": "2026-12-07T10:00:00Z", "request": f"{BASE}/$export",
            "requiresAccessToken": True, "error": [],
            "output": [{"type": "Patient", "url": f"{BASE}/bulk-files/42/Patient.ndjson",
                        "count": 2}]}
NDJSON = b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n'


class Exporter:
    """A scripted Bulk Data server: kick-off, then the status answers queued, then files."""

    def __init__(self, *status: httpx.Response) -> None:
        self.status = list(status)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/$export"):
            return httpx.Response(202, headers={"Content-Location": STATUS})
        if request.url.path.endswith("/42"):
            return self.status.pop(0)
        return httpx.Response(200, content=NDJSON,
                              headers={"Content-Type": "application/fhir+ndjson"})


def running(after: str | None = "3", progress: str = "collecting") -> httpx.Response:
    headers = {"X-Progress": progress, **({"Retry-After": after} if after else {})}
    return httpx.Response(202, headers=headers)


def make(server: Any, **kw: Any) -> tuple[FhirClient, list[float]]:
    client = FhirClient(BASE, httpx.Client(transport=httpx.MockTransport(server)), **kw)
    waits: list[float] = []
    client.sleep = waits.append  # type: ignore[method-assign]
    return client, waits


def test_kick_off_then_poll_honouring_retry_after_gives_the_manifest() -> None:
    server = Exporter(running("3"), running(None, "writing"), httpx.Response(200, json=MANIFEST))
    client, waits = make(server)
    manifest = client.bulk_export(("Patient", "Encounter"), since="2026-01-01T00:00:00Z")
    assert manifest == Manifest(
        "2026-12-07T10:00:00Z", f"{BASE}/$export", True,
        (ExportFile("Patient", f"{BASE}/bulk-files/42/Patient.ndjson", 2),), ())
    kick = server.requests[0]
    assert kick.headers["Prefer"] == "respond-async"
    assert dict(kick.url.params) == {"_type": "Patient,Encounter",
                                     "_since": "2026-01-01T00:00:00Z",
                                     "_outputFormat": "application/fhir+ndjson"}
    assert [str(r.url) for r in server.requests[1:]] == [STATUS] * 3
    assert waits == [3.0, 2.0]  # the server's Retry-After, then our own backoff


def test_a_failed_export_is_reported_without_retrying_it() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "exception", "diagnostics": "Smith, John broke it"}]}
    server = Exporter(httpx.Response(500, json=outcome))
    client, _ = make(server)
    with pytest.raises(LoadError) as err:
        client.bulk_export()
    assert str(err.value) == (f"{STATUS} answered 500 application/json (OperationOutcome: "
                              "exception): the export failed")
    assert len(server.requests) == 2  # the kick-off and one status poll


def test_an_export_past_its_timeout_is_a_transient_error() -> None:
    client, _ = make(Exporter(running("120")))
    with pytest.raises(TransientLoadError, match="not complete after 60 s"):
        client.bulk_export(timeout=60)


def test_a_kick_off_refused_says_so() -> None:
    client, _ = make(lambda request: httpx.Response(400, json={
        "resourceType": "OperationOutcome", "issue": [{"severity": "error",
                                                        "code": "not-supported"}]}))
    with pytest.raises(LoadError, match="did not start a Bulk Data export"):
        client.bulk_export()


def test_an_html_status_page_is_not_a_manifest() -> None:
    client, _ = make(Exporter(httpx.Response(200, content=b"<html>login</html>",
                                             headers={"Content-Type": "text/html"})))
    with pytest.raises(LoadError, match="answered 200 text/html, not a JSON object"):
        client.bulk_export()


class DropsOnce(httpx.SyncByteStream):
    """A file body whose connection drops after the first line, the first time only."""

    drops = 1

    def __iter__(self) -> Iterator[bytes]:
        yield NDJSON[:36]
        if DropsOnce.drops:
            DropsOnce.drops -= 1
            raise httpx.RemoteProtocolError("peer closed connection")
        yield NDJSON[36:]


def test_a_download_dropped_mid_file_starts_again(tmp_path: Path) -> None:
    def files(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=DropsOnce(),
                              headers={"Content-Type": "application/fhir+ndjson"})

    client, waits = make(files, retry=RetryPolicy(max_retries=2))
    dest = tmp_path / "Patient.ndjson"
    assert client.download(MANIFEST["output"][0]["url"], dest) == len(NDJSON)
    assert dest.read_bytes() == NDJSON
    assert not partial_path(dest).exists()
    assert (dest.stat().st_mode & 0o777) == 0o600
    assert (client.stats.requests, client.stats.retries, len(waits)) == (2, 1, 1)


def test_an_html_file_is_not_ndjson(tmp_path: Path) -> None:
    client, _ = make(lambda request: httpx.Response(200, content=b"<html/>",
                                                    headers={"Content-Type": "text/html"}))
    with pytest.raises(LoadError, match="answered 200 text/html, not an NDJSON export file"):
        client.download(f"{BASE}/bulk-files/42/Patient.ndjson", tmp_path / "P.ndjson")
    assert not (tmp_path / "P.ndjson").exists()


@pytest.mark.integration
def test_export_from_sekmet_gives_back_what_was_loaded(sekmet_server: Any,
                                                       tmp_path: Path) -> None:
    sekmet_server.reset()
    patients = [{"resourceType": "Patient", "id": f"bulk-{i}", "gender": "female"}
                for i in range(3)]
    loader = FhirServerLoader(sekmet_server.base_url)
    loader.open()
    loader.load(patients)
    assert loader.close().written == {"Patient": 3}
    client = FhirClient(sekmet_server.base_url)
    try:
        manifest = client.bulk_export(("Patient",), timeout=120)
        [file] = manifest.output
        assert (file.type, file.count) == ("Patient", 3)
        client.download(file.url, tmp_path / "Patient.ndjson",
                        credentials=manifest.requires_access_token)
    finally:
        client.close()
    lines = (tmp_path / "Patient.ndjson").read_bytes().splitlines()
    got = sorted((orjson.loads(line) for line in lines), key=lambda r: r["id"])
    assert [(r["id"], r["gender"]) for r in got] == [(p["id"], "female") for p in patients]


def test_the_servers_progress_text_is_shown_without_terminal_escapes(
        caplog: pytest.LogCaptureFixture) -> None:
    server = Exporter(running("1", "\x1b[2J50%\x1b]0;owned\x07" + "x" * 200),
                      httpx.Response(200, json=MANIFEST))
    client, _ = make(server)
    with caplog.at_level("INFO", logger="migrate.http"):
        client.bulk_export()
    shown = [r.getMessage() for r in caplog.records if "in progress" in r.getMessage()]
    assert shown
    assert "\x1b" not in shown[0]
    assert "\x07" not in shown[0]
    assert "50%" in shown[0]
    assert "x" * 81 not in shown[0]


def test_a_full_disk_mid_download_leaves_no_half_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from migrate import files
    from migrate.errors import OutputError

    real_open = files.open_partial

    class FullAfterFirstWrite:
        def __init__(self, fh: Any) -> None:
            self.fh, self.writes = fh, 0

        def write(self, data: bytes) -> int:
            self.writes += 1
            if self.writes > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __enter__(self) -> FullAfterFirstWrite:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    monkeypatch.setattr(files, "open_partial", lambda path: FullAfterFirstWrite(real_open(path)))
    client, _ = make(lambda request: httpx.Response(
        200, content=iter([NDJSON, NDJSON]), headers={"Content-Type": "application/fhir+ndjson"}))
    dest = tmp_path / "Patient.ndjson"
    with pytest.raises(OutputError, match="disk is full"):
        client.download(MANIFEST["output"][0]["url"], dest)
    assert not dest.exists()
    assert not partial_path(dest).exists()
