"""Integration tests for the sekmet-fhir harness, pinning the server behaviour we rely on.

Every assertion here was checked against sekmet-fhir 0.1.1; if an upgrade changes one of them,
the failing test names the behaviour our loaders must cope with differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.common import free_port
from tests.harness.sekmet import SekmetServer, ensure_sekmet, put_bundle

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """One sekmet server for the whole module."""
    with SekmetServer(tmp_path_factory.mktemp("sekmet")) as server:
        yield server


@pytest.fixture
def server(sekmet: SekmetServer) -> SekmetServer:
    """The module's server, emptied before each test."""
    sekmet.reset()
    return sekmet


def patient(pid: str, **extra: Any) -> dict[str, Any]:
    """A small valid Patient with a client-assigned id."""
    return {"resourceType": "Patient", "id": pid, "name": [{"family": "Doe", "given": ["Jane"]}],
            "gender": "female", "birthDate": "1970-01-01", **extra}


def observation(oid: str, **extra: Any) -> dict[str, Any]:
    """A small valid Observation."""
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": "Patient/p-1"}, **extra}


def test_server_settings(server: SekmetServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/fhir"
    assert server.log_path.is_file()
    metadata = server.client.get("metadata").json()
    assert metadata["resourceType"] == "CapabilityStatement"
    assert metadata["fhirVersion"] == "4.0.1"
    assert server.counts(["Patient", "Observation"]) == {"Patient": 0, "Observation": 0}


def test_ensure_sekmet_honours_env(monkeypatch: pytest.MonkeyPatch, sekmet: SekmetServer) -> None:
    assert sekmet.exe is not None
    monkeypatch.setenv("SEKMET_BIN", str(sekmet.exe))
    assert ensure_sekmet() == sekmet.exe
    monkeypatch.setenv("SEKMET_BIN", "/nonexistent/sekmet")
    with pytest.raises(FileNotFoundError):
        ensure_sekmet()


def test_transaction_put_with_client_id(server: SekmetServer) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": f"{server.base_url}/Patient/pat-1",
        "resource": patient("pat-1"),
        "request": {"method": "PUT", "url": "Patient/pat-1"},
    }]}
    first = server.post_bundle(bundle)
    assert first.status_code == 200
    body = first.json()
    assert body["type"] == "transaction-response"
    response = body["entry"][0]["response"]
    assert response["status"] == "201 Created"
    assert response["etag"] == 'W/"1"'
    assert response["location"] == f"{server.base_url}/Patient/pat-1/_history/1"
    assert body["entry"][0]["resource"]["meta"]["versionId"] == "1"
    assert server.count("Patient") == 1

    second = server.post_bundle(bundle)
    assert second.status_code == 200
    response = second.json()["entry"][0]["response"]
    # Not idempotent at the version level: identical content still makes version 2.
    assert response["status"] == "200 OK"
    assert response["etag"] == 'W/"2"'
    assert server.count("Patient") == 1
    stored = server.read("Patient", "pat-1")
    assert stored is not None
    assert stored["meta"]["versionId"] == "2"


@pytest.mark.parametrize("bad", [
    patient("bad-1", gender=12),
    patient("bad-2", favouriteColour="blue"),
    patient("bad-3", birthDate="1970-13-45"),
    {k: v for k, v in observation("bad-4").items() if k != "status"},
    {"resourceType": "Condition", "id": "bad-5", "code": {"text": "no subject"}},
    patient("bad_6"),
], ids=["wrong-json-type", "unknown-element", "bad-date", "missing-status", "missing-subject",
        "invalid-id"])
def test_structurally_invalid_resource_is_refused(server: SekmetServer,
                                                  bad: dict[str, Any]) -> None:
    resp = server.client.put(f"{bad['resourceType']}/{bad['id']}", json=bad)
    assert resp.status_code == 400
    assert resp.json()["resourceType"] == "OperationOutcome"
    assert server.count(bad["resourceType"]) == 0


@pytest.mark.parametrize("accepted", [
    patient("ok-1", gender="bogus"),
    observation("ok-2", status="foo"),
    patient("ok-3", meta={"profile": [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]}),
    patient("ok-4", extension=[{"url": "http://example.org/unknown", "valueString": "x"}]),
    observation("ok-5", valueQuantity={"value": 1, "system": "http://unitsofmeasure.org",
                                       "code": "not-a-unit"}),
    {"resourceType": "Condition", "id": "ok-6", "code": {"text": "x"},
     "subject": {"reference": "Patient/does-not-exist"}},
], ids=["unknown-code", "unknown-status", "unchecked-profile", "unknown-extension",
        "unchecked-ucum", "dangling-reference"])
def test_strict_validation_is_structural_only(server: SekmetServer,
                                              accepted: dict[str, Any]) -> None:
    """sekmet does not catch these: our own validation must."""
    resp = server.client.put(f"{accepted['resourceType']}/{accepted['id']}", json=accepted)
    assert resp.status_code == 201


def test_transaction_is_atomic(server: SekmetServer) -> None:
    resources = [patient("at-1"), patient("at-2"), patient("at-bad", gender=12), patient("at-3")]
    resp = server.post_bundle(put_bundle(server.base_url, resources))
    assert resp.status_code == 400
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith("Transaction rolled back")
    assert outcome["issue"][0]["expression"] == ["Patient.gender"]
    assert server.count("Patient") == 0


def test_batch_reports_per_entry(server: SekmetServer) -> None:
    resources = [patient("b-1"), patient("b-bad", gender=12), patient("b-2")]
    resp = server.post_bundle(put_bundle(server.base_url, resources, bundle_type="batch"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "400 Bad Request", "201 Created"]
    assert body["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert server.ids("Patient") == {"b-1", "b-2"}


def test_read_delete_and_count(server: SekmetServer) -> None:
    server.put_bundle([patient("d-1"), patient("d-2")])
    assert server.count("Patient") == 2
    assert server.read("Patient", "missing") is None
    server.delete("Patient", "d-1")
    assert server.read("Patient", "d-1") is None
    assert server.client.get("Patient/d-1").status_code == 410
    assert server.count("Patient") == 1
    server.delete("Patient", "never-existed")  # 200 as well
    again = server.client.put("Patient/d-1", json=patient("d-1"))
    assert again.status_code == 201
    assert again.headers["etag"] == 'W/"3"'  # versions continue across the delete


def test_list_ids_follows_paging(server: SekmetServer) -> None:
    wanted = {f"l-{i}" for i in range(25)}
    server.put_bundle([patient(pid) for pid in sorted(wanted)])
    assert set(server.iter_ids("Patient", page_size=10)) == wanted
    first_page = server.client.get("Patient", params={"_elements": "id", "_count": "10"}).json()
    assert first_page["total"] == 25
    assert {link["relation"] for link in first_page["link"]} == {"self", "first", "next", "last"}
    assert set(first_page["entry"][0]["resource"]) == {"resourceType", "id", "meta"}


def test_reset_empties_the_store(server: SekmetServer) -> None:
    server.put_bundle([patient("r-1"), observation("r-2")])
    assert server.counts(["Patient", "Observation"]) == {"Patient": 1, "Observation": 1}
    server.reset()
    assert server.counts(["Patient", "Observation"]) == {"Patient": 0, "Observation": 0}
    resp = server.client.put("Patient/r-1", json=patient("r-1"))
    assert resp.headers["etag"] == 'W/"1"'


def test_restart_keeps_data_unless_fresh(tmp_path: Path) -> None:
    server = SekmetServer(tmp_path)
    with server:
        server.put_bundle([patient("k-1")])
    server.start(fresh=False)
    try:
        assert server.read("Patient", "k-1") is not None
    finally:
        server.stop()
    assert not server.running


def test_restart_on_the_same_port_right_after_traffic(tmp_path: Path) -> None:
    """A keep-alive connection the server closes on stop sits in TIME_WAIT on the server's port
    for a minute; a restart on that fixed port must not take it for a port in use."""
    server = SekmetServer(tmp_path, port=free_port())
    with server, httpx.Client(base_url=server.base_url) as client:
        assert client.get("/metadata").status_code == 200  # left open: the server closes it
        server.stop()
        server.start(fresh=False)
        try:
            assert server.read("Patient", "none") is None
        finally:
            server.stop()
