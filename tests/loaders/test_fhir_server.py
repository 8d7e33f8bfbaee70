"""The FHIR server loader against httpx.MockTransport: modes, waves, pacing, tokens, profiles.

Real-server behaviour is in tests/integration/test_load_resilience.py and tests/loaders/
test_auth.py (sekmet-fhir).
"""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from migrate.config import build_settings, build_target, read_project
from migrate.errors import ConfigError, LoadError
from migrate.http.retry import Backoff, RateLimiter
from migrate.loaders.deadletter import DeadLetterWriter, read_dead_letters
from migrate.loaders.fhir_server import FhirServerLoader
from tests.harness.standin import fhir_answer

BASE = "http://ehr.test/fhir"
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                                                          "diagnostics": "bad"}]}


def pats(n: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [{"resourceType": "Patient", "id": f"{prefix}{i}"} for i in range(n)]


def src(mapping: str, i: int) -> dict[str, Any]:
    return {"table": "t", "mapping": mapping, "rows": [{"Id": i}]}


class Fhir:
    """A fake FHIR server: ``judge(entry) -> status`` per entry; records requests."""

    def __init__(self, judge: Any = None, delay: float = 0.0) -> None:
        self.judge = judge or (lambda entry, kind: 200)
        self.delay = delay
        self.bundles: list[dict[str, Any]] = []
        self.log: list[tuple[str, float, float]] = []  # (first id, start, end)
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, json={"resourceType": "CapabilityStatement"})
        start = time.monotonic()
        bundle = orjson.loads(request.content)
        with self.lock:
            self.bundles.append(bundle)
        time.sleep(self.delay)
        statuses = [self.judge(e, bundle["type"]) for e in bundle["entry"]]
        with self.lock:
            self.log.append((bundle["entry"][0]["resource"].get("id", "?"), start,
                             time.monotonic()))
        if bundle["type"] == "transaction" and any(s >= 300 for s in statuses):
            return httpx.Response(400, json=OUTCOME)
        kind = f"{bundle['type']}-response"
        return httpx.Response(200, json={"resourceType": "Bundle", "type": kind, "entry": [
            {"response": {"status": f"{s} X", **({"outcome": OUTCOME} if s >= 400 else {})}}
            for s in statuses]})


def make(server: Any, tmp_path: Path | None = None, **kw: Any) -> FhirServerLoader:
    loader = FhirServerLoader(BASE, client=httpx.Client(transport=httpx.MockTransport(server)),
                              **kw)
    loader.http.sleep = lambda seconds: None  # type: ignore[method-assign]
    if tmp_path is not None:
        loader.dead_letters = DeadLetterWriter(tmp_path / "dead_letters.ndjson")
    loader.open()
    return loader


def test_a_refused_transaction_is_resent_as_a_batch_and_only_the_bad_entry_is_dead(
        tmp_path: Path) -> None:
    server = Fhir(lambda e, kind: 400 if e["resource"]["id"] == "p2" else 200)
    loader = make(server, tmp_path, bundle_size=5)
    loader.load(pats(5), [src("m", i) for i in range(5)])
    summary = loader.close()
    loader.dead_letters.close()  # type: ignore[union-attr]
    assert [b["type"] for b in server.bundles] == ["transaction", "batch"]
    assert summary.written == {"Patient": 4}
    [letter] = list(read_dead_letters(tmp_path / "dead_letters.ndjson"))
    assert letter.resource == {"resourceType": "Patient", "id": "p2"}
    assert (letter.status, letter.outcome, letter.attempts) == (400, OUTCOME, 2)
    assert letter.source == {"table": "t", "mapping": "m", "rows": [{"Id": 2}]}


def test_batch_mode_retries_only_throttled_entries() -> None:
    answers = {"p1": [503, 201], "p2": [400]}

    def judge(e: dict[str, Any], kind: str) -> int:
        queue = answers.get(e["resource"]["id"])
        return queue.pop(0) if queue else 201

    server = Fhir(judge)
    loader = make(server, mode="batch", bundle_size=10)
    loader.load(pats(4))
    summary = loader.close()
    assert [len(b["entry"]) for b in server.bundles] == [4, 1]
    assert server.bundles[1]["entry"][0]["resource"]["id"] == "p1"
    assert summary.written == {"Patient": 3}
    assert [(f.id, f.status) for f in summary.failures] == [("p2", 400)]


def test_conditional_mode_puts_by_identifier_and_makes_references_conditional() -> None:
    server = Fhir()
    loader = make(server, mode="conditional", identifier_system="urn:x:id")
    obs = {"resourceType": "Observation", "id": "o1", "status": "final",
           "identifier": [{"system": "urn:lab", "value": "42"}],
           "subject": {"reference": "Patient/p0"},
           "performer": [{"reference": "https://other.org/fhir/Practitioner/9"}]}
    loader.load([*pats(1), obs, {"resourceType": "Observation"}])
    summary = loader.close()
    entries = [e for b in server.bundles for e in b["entry"]]
    assert [e["request"] for e in entries] == [
        {"method": "PUT", "url": "Patient?identifier=urn:x:id|p0"},
        {"method": "PUT", "url": "Observation?identifier=urn:x:id|o1"}]
    sent = entries[1]["resource"]
    assert "id" not in sent
    assert sent["identifier"] == [{"system": "urn:lab", "value": "42"},
                                  {"system": "urn:x:id", "value": "o1"}]
    assert sent["subject"] == {"reference": "Patient?identifier=urn:x:id|p0"}
    assert sent["performer"] == obs["performer"]  # absolute: not ours, left alone
    assert obs["subject"] == {"reference": "Patient/p0"}  # the caller's dict is untouched
    assert summary.written == {"Patient": 1, "Observation": 1}
    assert [(f.resource_type, f.status) for f in summary.failures] == [("Observation", None)]


def test_referring_bundles_wait_for_the_wave_they_refer_to() -> None:
    server = Fhir(delay=0.05)
    loader = make(server, bundle_size=1, concurrency=4)
    loader.plan_order({"patients": set(), "orgs": set(), "encounters": {"patients"}})
    orgs = [{"resourceType": "Organization", "id": f"org{i}"} for i in range(4)]
    encs = [{"resourceType": "Encounter", "id": f"e{i}"} for i in range(4)]
    loader.load(pats(4), [src("patients", i) for i in range(4)])
    loader.load(orgs, [src("orgs", i) for i in range(4)])  # independent: no wait
    loader.load(encs, [src("encounters", i) for i in range(4)])
    loader.close()
    ends = {rid: end for rid, _, end in server.log}
    starts = {rid: start for rid, start, _ in server.log}
    assert min(starts[f"e{i}"] for i in range(4)) >= max(ends[f"p{i}"] for i in range(4))
    assert min(starts[f"org{i}"] for i in range(4)) < max(ends[f"p{i}"] for i in range(4))


def test_without_dependencies_each_new_type_waits_for_the_previous_ones() -> None:
    server = Fhir(delay=0.03)
    loader = make(server, bundle_size=1, concurrency=4)
    loader.load([*pats(3), {"resourceType": "Encounter", "id": "e0"}])
    loader.close()
    ends = [end for rid, _, end in server.log if rid.startswith("p")]
    assert next(start for rid, start, _ in server.log if rid == "e0") >= max(ends)


def test_rate_limit_spaces_requests() -> None:
    loader = make(Fhir(), bundle_size=1, concurrency=4, rate_limit=20)
    t0 = time.monotonic()
    loader.load(pats(8))
    loader.close()
    assert time.monotonic() - t0 >= 7 / 20 * 0.95
    limiter = RateLimiter(None)
    limiter.acquire()  # no limit: returns at once


def test_backoff_honours_retry_after_within_the_cap() -> None:
    b = Backoff(base=0.5, cap=30, max_wait=300)
    assert 0.25 <= b.delay(0) <= 0.5
    assert 15 <= b.delay(6) <= 30  # the ceiling min(30, 0.5 * 2**6) = 30, jitter to half
    assert all(15 <= b.delay(6) <= 30 for _ in range(1000))
    assert b.delay(0, "3") >= 3
    assert 9 <= b.delay(0, formatdate(time.time() + 10, usegmt=True)) <= 10.5
    assert Backoff(max_wait=5).delay(0, "120") == 5


def test_401_gets_one_new_token_then_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_SECRET", "s3cret")
    tokens = iter(["t1", "t2", "t3", "t4"])
    accepted = {"t2"}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 3600})
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, json={"resourceType": "CapabilityStatement"})
        seen.append(request.headers["authorization"])
        ok = request.headers["authorization"].removeprefix("Bearer ") in accepted
        return httpx.Response(200 if ok else 401, json=fhir_answer(orjson.loads(request.content)))

    auth = {"type": "client-credentials", "token_url": "http://idp.test/token",
            "client_id": "c", "client_secret_env": "CC_SECRET"}
    loader = make(handler, auth=auth)
    loader.load(pats(2))
    assert loader.close().written == {"Patient": 2}
    assert seen == ["Bearer t1", "Bearer t2"]
    accepted.clear()
    again = make(handler, auth=auth)
    again.load(pats(1))
    with pytest.raises(LoadError, match="answered 401: the server refused our credentials"):
        again.close()
    assert seen[2:] == ["Bearer t3", "Bearer t4"]


def test_tokens_are_refreshed_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_SECRET", "s3cret")
    fetched: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            fetched.append(1)
            return httpx.Response(200, json={"access_token": f"t{len(fetched)}",
                                             "expires_in": 1})
        return httpx.Response(200, json={"resourceType": "CapabilityStatement"})

    loader = make(handler, auth={"type": "client-credentials", "client_id": "c",
                                 "token_url": "http://idp.test/token",
                                 "client_secret_env": "CC_SECRET"})
    assert loader.auth is not None
    assert loader.auth.token() == "t1"
    assert loader.auth.token() == "t1"
    time.sleep(0.6)  # past half the token's life
    assert loader.auth.token() == "t2"
    loader.close()


def test_target_profile_problems_are_all_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text("version: 1\ntarget:\n  type: fhir-server\n  url: ftp://x\n"
                    "  mode: upsert\n  bundle_size: 0\n  concurency: 4\n"
                    "  auth: {type: kerberos}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_project(path)
    text = str(err.value)
    assert text.startswith("project file has 5 problem(s):")
    for where in ("4: target.url", "5: target.mode", "6: target.bundle_size",
                  "7: target.concurency: unknown key", "8: target.auth"):
        assert f"{path}:{where}" in text, text


def test_named_targets_and_url_flags_keep_the_profile(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text(
        "version: 1\nmappings: pack\nsource: src\nidentity: {namespace: "
        "0b6f7c2e-5d1a-4e8b-9f3c-7a2d4c6e8b10}\n"
        "target: {type: fhir-server, url: 'https://prod/fhir', mode: batch, "
        "ca_bundle: ca.pem, auth: {type: smart-backend, client_id: c, key_file: k.pem}}\n"
        "targets:\n  staging: {type: fhir-server, url: 'https://staging/fhir', "
        "concurrency: 2}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)
    (tmp_path / "pack").mkdir()  # a bare name that is no folder is now refused at once
    project = read_project(path)
    assert build_settings(project, tmp_path, target="staging").target == {
        "type": "fhir-server", "url": "https://staging/fhir", "concurrency": 2}
    url_flag = build_target(project, tmp_path, "http://localhost:8080/fhir/")
    assert url_flag["url"] == "http://localhost:8080/fhir"
    assert url_flag["mode"] == "batch"
    assert url_flag["ca_bundle"] == str(tmp_path / "ca.pem")
    assert url_flag["auth"]["key_file"] == str(tmp_path / "k.pem")


def test_a_dead_letter_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    path = tmp_path / "d.ndjson"
    path.write_text('{"resource": {"resourceType": "Patient", "id": "a"}}\n{"x": 1}\n')
    with pytest.raises(ConfigError, match=r"d.ndjson:2: not a dead-letter record"):
        list(read_dead_letters(path))
