"""Loaders: file targets, and the FHIR server loader against httpx.MockTransport.

The real-server behaviour (sekmet-fhir) is covered in tests/integration/test_load_sekmet.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from migrate.errors import ConfigError, LoadError, TransientLoadError
from migrate.loaders import LOADERS, open_loader, parse_target
from migrate.loaders.fhir_server import FhirServerLoader
from tests.harness.standin import fhir_answer

RESOURCES = [{"resourceType": "Patient", "id": f"p{i}"} for i in range(3)] + [
    {"resourceType": "Observation", "id": "o1", "status": "final"}]


def test_parse_target_forms() -> None:
    assert parse_target("ndjson:out/x") == {"type": "ndjson", "path": "out/x"}
    assert parse_target("bundles:/b") == {"type": "bundles", "path": "/b"}
    assert parse_target("https://ehr/fhir/") == {"type": "fhir-server", "url": "https://ehr/fhir"}
    with pytest.raises(ConfigError, match="target 'csv:x' is not ndjson:DIR"):
        parse_target("csv:x")


def test_ndjson_one_file_per_type_replacing_an_earlier_run(tmp_path: Path) -> None:
    (tmp_path / "Old.ndjson").write_text("{}\n")
    loader = open_loader({"type": "ndjson", "path": str(tmp_path)})
    loader.open()
    loader.load(RESOURCES[:2])
    loader.load(RESOURCES[2:])
    summary = loader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Observation.ndjson", "Patient.ndjson"]
    lines = (tmp_path / "Patient.ndjson").read_bytes().splitlines()
    assert [orjson.loads(x)["id"] for x in lines] == ["p0", "p1", "p2"]
    assert summary.as_dict() == {"target": f"ndjson:{tmp_path}",
                                 "written": {"Observation": 1, "Patient": 3}, "failed": 0,
                                 "requests": 0, "retries": 0}


def test_bundle_files_are_transactions_of_put(tmp_path: Path) -> None:
    loader = open_loader({"type": "bundles", "path": str(tmp_path), "bundle_size": 3})
    loader.open()
    loader.load(RESOURCES)
    loader.close()
    first = json.loads((tmp_path / "bundle-000001.json").read_text())
    second = json.loads((tmp_path / "bundle-000002.json").read_text())
    assert first["type"] == "transaction"
    assert [e["request"] for e in first["entry"]] == [
        {"method": "PUT", "url": f"Patient/p{i}"} for i in range(3)]
    assert first["entry"][0]["fullUrl"] == "urn:uuid:p0"
    assert [e["resource"]["id"] for e in second["entry"]] == ["o1"]


class Server:
    """A scripted FHIR server: answers come from a queue; requests are recorded."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.bundles: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, json={"resourceType": "CapabilityStatement"})
        bundle = json.loads(request.content)
        self.bundles.append(bundle)
        self.headers.append(request.headers)
        answer = self.answers.pop(0) if self.answers else 200
        if callable(answer):
            return answer(bundle)
        if isinstance(answer, Exception):
            raise answer
        status, headers = (answer, {}) if isinstance(answer, int) else answer
        return httpx.Response(status, headers=headers, json=fhir_answer(bundle))


def make_loader(server: Server, **kw: Any) -> FhirServerLoader:
    client = httpx.Client(transport=httpx.MockTransport(server))
    loader = FhirServerLoader("http://ehr.test/fhir", client=client, **kw)
    loader.http.sleep = lambda seconds: None  # type: ignore[method-assign]
    loader.open()
    return loader


def test_server_gets_transaction_bundles_in_order() -> None:
    """A new resource type starts a new wave: its bundles wait for the earlier ones."""
    server = Server()
    loader = make_loader(server, bundle_size=2)
    loader.load(RESOURCES)
    summary = loader.close()
    assert [len(b["entry"]) for b in server.bundles] == [2, 1, 1]
    assert server.bundles[0]["type"] == "transaction"
    assert server.bundles[0]["entry"][0]["fullUrl"] == "http://ehr.test/fhir/Patient/p0"
    assert summary.written == {"Patient": 3, "Observation": 1}
    assert server.headers[0]["content-type"] == "application/fhir+json"


def test_transient_failures_are_retried() -> None:
    server = Server((429, {"Retry-After": "0"}), 503, httpx.ReadTimeout("slow"), 200)
    loader = make_loader(server)
    loader.load(RESOURCES[:3])
    summary = loader.close()
    assert summary.requests == 4
    assert summary.retries == 3
    assert sum(summary.written.values()) == 3


def test_retry_budget_runs_out_with_a_clear_error() -> None:
    loader = make_loader(Server(*[503] * 10), max_retries=2)
    loader.load(RESOURCES[:3])  # the bundle fails in the background ...
    with pytest.raises(TransientLoadError, match="answered 503 after 3 attempts; try again"):
        loader.close()  # ... and the error surfaces at the next call


def test_a_refused_bundle_is_split_until_only_the_bad_entry_is_left() -> None:
    def judge(bundle: dict[str, Any]) -> httpx.Response:
        bad = any(e["resource"]["id"] == "p1" for e in bundle["entry"])
        if bad:
            return httpx.Response(400, json={"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "invalid", "diagnostics": "p1 is wrong"}]})
        return httpx.Response(200, json=fhir_answer(bundle))

    loader = make_loader(Server(*[judge] * 10), bundle_size=4, on_refusal="bisect")
    loader.load(RESOURCES)
    summary = loader.close()
    assert summary.written == {"Patient": 2, "Observation": 1}
    assert [(f.resource_type, f.id, f.status) for f in summary.failures] == [
        ("Patient", "p1", 400)]
    assert summary.failures[0].outcome["issue"][0]["diagnostics"] == "p1 is wrong"


def test_bearer_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATE_FHIR_TOKEN", "t0ken")
    server = Server()
    loader = make_loader(server, bundle_size=10)
    loader.load(RESOURCES)
    loader.close()
    assert server.headers[0]["authorization"] == "Bearer t0ken"


def test_tls_is_verified_by_default() -> None:
    loader = FhirServerLoader("https://ehr.test/fhir")
    pool = loader.client._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    loader.client.close()


def test_not_a_fhir_server() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    loader = FhirServerLoader("http://ehr.test/fhir", client=client)
    with pytest.raises(LoadError, match="metadata answered 404 .*, not a FHIR CapabilityStatement"):
        loader.open()


def test_registry_names() -> None:
    open_loader({"type": "ndjson", "path": "/tmp/x-unused"})
    assert LOADERS.names() == ["bundles", "fhir-server", "ndjson", "null"]
