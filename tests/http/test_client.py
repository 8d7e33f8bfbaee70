"""The one FHIR HTTP client (migrate.http.client) against httpx.MockTransport and stand-in fronts:
retries and Retry-After, budgets, stop, credentials only to the server's origin, TLS, redaction,
JSON-body checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrate.errors import LoadError, MigrateError, TransientLoadError
from migrate.http import FhirClient, RetryPolicy
from migrate.loaders.fhir_server import fhir_client, read_target_profile
from tests.harness.standin import lying_front, serving
from tests.hostile.test_messages import https_server  # noqa: F401 - a fixture, used by name

BASE = "http://ehr.test/fhir"
SECRET = "s3cr3t-token-value"
OK = {"resourceType": "CapabilityStatement"}


class Token(httpx.Auth):
    """A bearer token flow, as `migrate.loaders.auth` builds them."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {SECRET}"
        yield request


class Script:
    """Answers from a queue (a status, ``(status, headers)``, an exception or a callable);
    records every request."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)  # type: ignore[no-any-return]
        status, headers = (answer, {}) if isinstance(answer, int) else answer
        return httpx.Response(status, headers=headers, json=OK)


def make(script: Script, base: str = BASE, **kw: Any) -> tuple[FhirClient, list[float]]:
    """A client on ``script`` whose waits are recorded instead of slept."""
    client = FhirClient(base, httpx.Client(transport=httpx.MockTransport(script)), **kw)
    waits: list[float] = []
    client.sleep = waits.append  # type: ignore[method-assign]
    return client, waits


def test_retry_after_in_seconds_is_honoured() -> None:
    client, waits = make(Script((429, {"Retry-After": "7"}), 200))
    assert client.get("metadata").status_code == 200
    assert len(waits) == 1
    assert 7 <= waits[0] <= 7.01  # longer than the first backoff (at most 0.5 s)
    assert (client.stats.requests, client.stats.retries) == (2, 1)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = formatdate(time.time() + 20, usegmt=True)
    client, waits = make(Script((503, {"Retry-After": when}), 200))
    assert client.get("metadata").status_code == 200
    assert 18 <= waits[0] <= 21


def test_retry_after_is_capped_by_the_longest_wait() -> None:
    client, waits = make(Script((429, {"Retry-After": "3600"}), 200),
                         retry=RetryPolicy(max_wait=5))
    client.get("metadata")
    assert waits == [5]


def test_a_dropped_connection_then_success() -> None:
    script = Script(httpx.RemoteProtocolError("peer closed"), httpx.ReadTimeout("slow"), 200)
    counted: list[tuple[int, int]] = []
    client, waits = make(script, on_count=lambda req, ret: counted.append((req, ret)))
    assert client.post("", b"{}").status_code == 200
    assert len(script.requests) == 3
    assert len(waits) == 2
    assert (client.stats.requests, client.stats.retries) == (3, 2)
    assert sum(r for r, _ in counted) == 3
    assert sum(r for _, r in counted) == 2
    assert script.requests[0].headers["Content-Type"] == "application/fhir+json"


def test_a_429_past_the_budget_is_a_clean_transient_error() -> None:
    script = Script(*[(429, {"Retry-After": "1"})] * 5)
    client, waits = make(script, retry=RetryPolicy(max_retries=2), advice="run it again")
    with pytest.raises(TransientLoadError) as err:
        client.get("Patient", {"_count": "10"})
    assert str(err.value) == ("http://ehr.test/fhir/Patient?_count=10 answered 429 after 3 "
                              "attempts; run it again")
    assert err.value.exit_code == 4
    assert len(script.requests) == 3
    assert len(waits) == 2  # no wait after the last attempt


def test_a_refused_connection_can_be_reported_at_once() -> None:
    script = Script(httpx.ConnectError("refused"), 200)
    client, _ = make(script)
    with pytest.raises(httpx.ConnectError):
        client.get("metadata", retry_connect=False)
    assert len(script.requests) == 1


def test_refused_credentials_stop_at_once() -> None:
    script = Script(401, 200)
    client, _ = make(script, auth=Token())
    with pytest.raises(LoadError, match="answered 401: the server refused our credentials"):
        client.get("Patient/1")
    assert len(script.requests) == 1


def test_a_set_stop_event_sends_nothing_more() -> None:
    stop = threading.Event()
    script = Script(503, 200)
    client = FhirClient(BASE, httpx.Client(transport=httpx.MockTransport(script)), stop=stop)
    stop.set()
    t0 = time.monotonic()
    client.sleep(30)  # a stopping client does not wait out its backoff
    assert time.monotonic() - t0 < 1
    with pytest.raises(LoadError, match="stopped"):
        client.get("metadata")
    assert script.requests == []


def test_a_200_html_page_is_not_an_answer() -> None:
    with serving(lying_front("html", html_on_get=True)) as url:
        client = FhirClient(url)
        resp = client.get("metadata")
        assert resp.status_code == 200
        with pytest.raises(LoadError) as err:
            client.json(resp, "CapabilityStatement")
        client.close()
    assert str(err.value) == (f"{url}/metadata answered 200 text/html, not a FHIR "
                              "CapabilityStatement; the target is not answering as a FHIR server")
    assert "Sign in" not in str(err.value)  # the body is never quoted


def test_json_of_the_wrong_resource_type_is_not_an_answer() -> None:
    client, _ = make(Script(200))
    resp = client.get("Patient")
    assert client.json(resp) == OK
    with pytest.raises(LoadError, match="not a FHIR Bundle"):
        client.json(resp, "Bundle")


def test_credentials_go_only_to_the_server_origin() -> None:
    script = Script(200, 200, 200)
    client, _ = make(script, auth=Token())
    client.get("Patient")
    client.get("https://ehr.test/fhir/Patient")  # another scheme is another origin
    client.get("http://evil.test/fhir/Patient?page=2")  # a "next" link pointing elsewhere
    sent = [r.headers.get("Authorization") for r in script.requests]
    assert sent == [f"Bearer {SECRET}", None, None]


def test_a_redirect_to_another_host_is_not_followed_with_credentials() -> None:
    script = Script((302, {"Location": "http://evil.test/steal"}))
    # even a transport that would follow redirects by default does not
    http = httpx.Client(transport=httpx.MockTransport(script), follow_redirects=True)
    client = FhirClient(BASE, http, auth=Token())
    resp = client.get("metadata")
    assert resp.status_code == 302
    assert [r.url.host for r in script.requests] == ["ehr.test"]


def test_a_download_redirected_to_another_host_goes_there_without_credentials(
        tmp_path: Path) -> None:
    def storage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"resourceType":"Patient","id":"p1"}\n',
                              headers={"Content-Type": "application/fhir+ndjson"})

    script = Script((307, {"Location": "http://files.test/x.ndjson"}), storage)
    client, _ = make(script, auth=Token())
    size = client.download("bulk-files/1/Patient.ndjson", tmp_path / "Patient.ndjson")
    assert size == len((tmp_path / "Patient.ndjson").read_bytes()) > 0
    sent = [(r.url.host, r.headers.get("Authorization")) for r in script.requests]
    assert sent == [("ehr.test", f"Bearer {SECRET}"), ("files.test", None)]


def test_tls_is_verified_by_default(https_server: tuple[str, Path]) -> None:  # noqa: F811
    url, _cert = https_server
    client = fhir_client(read_target_profile({"url": url, "max_retries": 3}))
    with pytest.raises(LoadError) as err:
        client.get("metadata")
    assert "the server's TLS certificate could not be verified: self-signed" in str(err.value)
    assert not isinstance(err.value, TransientLoadError)  # not retried: it will not heal
    assert client.stats.retries == 0


@pytest.mark.parametrize("failure", [
    lambda: Script(*[503] * 3),
    lambda: Script(401),
    lambda: Script(*[httpx.ConnectError("refused")] * 3),
])
def test_secrets_in_the_url_never_reach_a_message(failure: Callable[[], Script]) -> None:
    client, _ = make(failure(), base=f"http://user:{SECRET}@ehr.test/fhir",
                     retry=RetryPolicy(max_retries=2))
    with pytest.raises(MigrateError) as err:
        client.get(f"Patient?access_token={SECRET}&name=x")
    assert SECRET not in str(err.value)
    assert "***" in str(err.value)
    assert SECRET not in repr(client)
