"""The one acknowledgement check (`migrate.loaders.acks`) on answers a real server never gives."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from migrate.errors import LoadError
from migrate.loaders.acks import check_capability_statement, read_answer, read_bundle_answer

URL = "https://ehr.test/fhir"


def answer(body: Any, status: int = 200, ctype: str = "application/fhir+json") -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.Response(status, content=content, headers={"Content-Type": ctype})


def bundle(kind: str, *statuses: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"response": {} if s is None else {"status": s}} for s in statuses]}


@pytest.mark.parametrize(("resp", "why"), [
    (answer(b"<html>Sign in</html>", ctype="text/html"),
     f"{URL} answered 200 text/html, not a FHIR batch-response (the body is not JSON)"),
    (answer([1, 2]), "(JSON with resourceType None, not a Bundle)"),
    (answer({"resourceType": "OperationOutcome"}), "(JSON with resourceType 'OperationOutcome'"),
    (answer(bundle("transaction-response", "200 OK")), "(a Bundle of type 'transaction-response')"),
    (answer(bundle("batch-response", "200 OK", "200 OK", "200 OK")), "(3 entries for the 2 sent)"),
    (answer({**bundle("batch-response"), "entry": {"a": 1}}), "(no list of entries for the 2"),
    (answer(bundle("batch-response", "200 OK", "200 OK"), status=302), "answered 302"),
])
def test_answers_that_acknowledge_nothing_say_why(resp: httpx.Response, why: str) -> None:
    result = read_bundle_answer(resp, "batch", 2, URL)
    assert result.problem is not None
    assert why in result.problem
    assert result.problem.endswith("; nothing counted as written")
    assert result.entries == []
    assert result.outcome()["issue"][0]["diagnostics"] == result.problem


def test_a_batch_is_acknowledged_entry_by_entry() -> None:
    resp = answer(bundle("batch-response", "201 Created", None, "OK", "404 Not Found", "204"))
    result = read_bundle_answer(resp, "batch", 5, URL)
    assert result.problem is None
    assert [(e.status, e.ok) for e in result.entries] == [
        (201, True), (None, False), (None, False), (404, False), (204, True)]
    assert "has no readable status (response.status: 'OK')" in str(result.entries[2].outcome)


def test_a_transaction_is_acknowledged_only_when_every_entry_is() -> None:
    ok = read_bundle_answer(answer(bundle("transaction-response", "201", "200 OK")),
                            "transaction", 2, URL)
    assert ok.problem is None
    bad = read_bundle_answer(answer(bundle("transaction-response", "201", "400 Bad Request")),
                             "transaction", 2, URL)
    assert bad.problem is not None
    assert "(entry 2 answered '400 Bad Request', not 2xx)" in bad.problem
    assert [e.status for e in bad.entries] == [201, 400]  # kept for a per-entry retry


def test_metadata_must_be_a_capability_statement() -> None:
    check_capability_statement(answer({"resourceType": "CapabilityStatement"}), URL)
    with pytest.raises(LoadError, match=f"{URL}/metadata answered 200 text/html, not a FHIR "
                                        "CapabilityStatement; check the base URL"):
        check_capability_statement(answer(b"<html/>", ctype="text/html"), URL)


def test_a_read_must_answer_the_resource_asked_for() -> None:
    patient = {"resourceType": "Patient", "id": "p1"}
    assert read_answer(answer(patient), "Patient", "p1", URL) == patient
    assert read_answer(answer({"resourceType": "OperationOutcome"}, 410), "Patient", "p1",
                       URL) is None
    for wrong in (answer(b"<html/>", ctype="text/html"), answer({**patient, "id": "p2"}),
                  answer(patient, 500)):
        with pytest.raises(LoadError, match=f"{URL}/Patient/p1 answered .*, not the Patient "
                                            "asked for"):
            read_answer(wrong, "Patient", "p1", URL)


def test_the_reason_names_the_target_without_its_credentials() -> None:
    """The reason goes to dead letters and to the console: a token in the URL is masked."""
    url = "https://ehr.example.org/fhir?access_token=s3cret"
    got = read_bundle_answer(answer(b"<html>", ctype="text/html"), "transaction", 2, url)
    assert got.problem is not None
    assert got.problem.startswith("https://ehr.example.org/fhir?access_token=*** answered 200")
    assert "s3cret" not in got.problem
