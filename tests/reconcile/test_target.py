"""The reconcile reader goes through the one FHIR client: retries with Retry-After, credentials
only for the target's own origin (a ``next`` link elsewhere is read without them), and answers
that are not FHIR refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from migrate.errors import LoadError
from migrate.reconcile.target import TargetReader

BASE = "http://ehr.test/fhir"
TOKEN = "reader-token-123"


def page(ids: list[str], nxt: str | None = None) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": {"resourceType": "Patient", "id": i}} for i in ids],
            "link": [{"relation": "next", "url": nxt}] if nxt else []}


def reader_on(handler: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[TargetReader, list[float]]:
    monkeypatch.setenv("MIGRATE_FHIR_TOKEN", TOKEN)
    reader = TargetReader({"type": "fhir-server", "url": BASE},
                          client=httpx.Client(transport=httpx.MockTransport(handler)))
    waits: list[float] = []
    reader.http.sleep = waits.append  # type: ignore[method-assign]
    return reader, waits


def test_pages_are_read_with_retries_and_credentials_stay_home(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []
    answers = [httpx.Response(503, headers={"Retry-After": "4"}),
               httpx.Response(200, json=page(["a", "b"], "http://mirror.test/fhir/p2")),
               httpx.Response(200, json=page(["c"]))]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        return answers.pop(0)

    reader, waits = reader_on(handler, monkeypatch)
    assert list(reader.iter_keys("Patient")) == ["a", "b", "c"]
    assert seen == [("ehr.test", f"Bearer {TOKEN}"), ("ehr.test", f"Bearer {TOKEN}"),
                    ("mirror.test", None)]
    assert len(waits) == 1
    assert waits[0] >= 4


def test_a_login_page_is_not_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    reader, _ = reader_on(lambda request: httpx.Response(
        200, content=b"<html>sign in</html>", headers={"Content-Type": "text/html"}),
        monkeypatch)
    with pytest.raises(LoadError, match="answered 200 text/html, not a FHIR Bundle"):
        reader.count("Patient")


def test_a_read_of_another_resource_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    reader, _ = reader_on(lambda request: httpx.Response(
        200, json={"resourceType": "Patient", "id": "someone-else"}), monkeypatch)
    with pytest.raises(LoadError, match="not the Patient asked for"):
        reader.read("Patient", "p1")
