"""Review of issue 18: the one FHIR client against servers that answer oddly."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from migrate.http.retry import Backoff, retry_after_seconds
from tests.http.test_bulk import BASE, MANIFEST, NDJSON, Exporter, make, running


@pytest.mark.parametrize("value", ["-5", "-0.5", "nan", "NaN", "-inf"])
def test_a_negative_or_nonsense_retry_after_is_no_hint(value: str) -> None:
    assert retry_after_seconds(value) is None
    assert Backoff(base=1.0).delay(0, value) >= 0.5


def test_a_status_poll_with_a_negative_retry_after_does_not_poll_in_a_tight_loop() -> None:
    server = Exporter(running("-30"), running("-30"), httpx.Response(200, json=MANIFEST))
    client, waits = make(server)
    client.bulk_export()
    assert waits == [1.0, 2.0]  # our own backoff, not 0 s


@pytest.mark.parametrize("value", ["0", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_a_status_poll_told_to_come_back_at_once_still_waits_a_second(value: str) -> None:
    server = Exporter(running(value), running(value), httpx.Response(200, json=MANIFEST))
    client, waits = make(server)
    client.bulk_export()
    assert waits == [1.0, 1.0]


def test_a_redirect_to_another_host_carries_no_credentials(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "ehr.test":
            return httpx.Response(302, headers={"Location": "https://cdn.other/f.ndjson"})
        return httpx.Response(200, content=NDJSON,
                              headers={"Content-Type": "application/fhir+ndjson"})

    client, _ = make(server, auth=httpx.BasicAuth("svc", "s3cret"))
    client.download(f"{BASE}/bulk-files/42/Patient.ndjson", tmp_path / "P.ndjson")
    assert "Authorization" in seen[0].headers
    assert [r.url.host for r in seen] == ["ehr.test", "cdn.other"]
    assert "Authorization" not in seen[1].headers
