"""Written means acknowledged (issue 16, case 4): fronts that answer writes with 200 but store
nothing (a login page, a WAF, a proxy, a broken server) must not be counted as written.

Each lie of `tests.harness.standin.LIES` is tried against ``run --target``, ``load --replay``
and ``sync``; the real sekmet-fhir server gives the positive path (its answers must still pass).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.errors import LoadError
from migrate.loaders.acks import read_bundle_answer
from migrate.state import StateStore
from migrate.sync.writer import OutboxWriter
from tests.conftest import REPO, TEST_NAMESPACE
from tests.harness.standin import LIES, fhir_answer, lying_front, serving
from tests.integration.test_sync import generate

pytestmark = pytest.mark.integration
REASONS = {  # what the message must name, per lie
    "html": "answered 200 text/html, not a FHIR transaction-response (the body is not JSON)",
    "empty-json": "answered 200 application/json, not a FHIR transaction-response (JSON with "
                  "resourceType None, not a Bundle)",
    "fewer-entries": "not a FHIR transaction-response (",  # "(N entries for the M sent)"
    "no-status": "not a FHIR transaction-response (entry 1 answered None, not 2xx)",
    "entries-400": "not a FHIR transaction-response (entry 1 answered '400 Bad Request', not 2xx)",
    "numeric-status": "not a FHIR transaction-response (entry 1 answered 200, not 2xx)",
}


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated patient: a few hundred resources of every type."""
    src = tmp_path_factory.mktemp("practice") / "src"
    generate(1, 3, src)
    return src


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert not isinstance(result.exception, AssertionError | TypeError | KeyError), result.output
    return result.exit_code, result.output


def run_to(src: Path, url: str, out: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    code, output = invoke("run", "--mappings", str(REPO / "mappings" / "synthea"), "--source",
                          str(src), "--namespace", str(TEST_NAMESPACE), "--target", url,
                          "--out", str(out), "--no-progress", *extra)
    run_json = orjson.loads((out / "run.json").read_bytes()) if (out / "run.json").exists() \
        else {}
    return code, output, run_json


def letters(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def refused_by_a_login_page(practice: Path, out: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A run against an HTML front: its dead-letter file, and the letters in it."""
    with serving(lying_front("html")) as url:
        run_to(practice, url, out)
    return out / "dead_letters.ndjson", letters(out / "dead_letters.ndjson")


def replay_with(answer: Any, dead_file: Path, tmp_path: Path, profile: str) -> tuple[int, str]:
    """``load --replay`` to a front whose bundles ``answer`` answers, with a target profile."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(LIES, "scripted", answer)
        with serving(lying_front("scripted")) as url:
            project = tmp_path / "p.yaml"
            project.write_text(f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\n"
                               f"target: {{type: fhir-server, url: '{url}', {profile}}}\n")
            return invoke("load", "--replay", str(dead_file), "-c", str(project),
                          "--out", str(dead_file.parent))


def emitted(run_json: dict[str, Any]) -> int:
    """Resources the run handed to the loader."""
    return int(run_json["resources_total"])


@pytest.mark.parametrize("lie", sorted(LIES))
def test_run_against_a_lying_front_writes_nothing_and_keeps_every_resource(
        practice: Path, tmp_path: Path, lie: str) -> None:
    with serving(lying_front(lie)) as url:
        code, output, run_json = run_to(practice, url, tmp_path / "out")
    assert code == 4, output
    assert run_json["status"] == "load-errors"
    assert run_json["load"]["written"] == {}
    dead = letters(tmp_path / "out" / "dead_letters.ndjson")
    assert len(dead) == emitted(run_json) == run_json["load"]["failed"] > 100
    assert len({(d["resource"]["resourceType"], d["resource"]["id"]) for d in dead}) == len(dead)
    for d in dead:
        assert d["status"] == 200
        diagnostics = d["outcome"]["issue"][0]["diagnostics"]
        assert diagnostics.startswith(url)
        assert REASONS[lie] in diagnostics
        assert diagnostics.endswith("nothing counted as written")
        if lie == "fewer-entries":
            got, sent = map(int, re.findall(r"\((\d+) entries for the (\d+) sent\)",
                                            diagnostics)[0])
            assert got == sent - 1
    assert f"written to {url}: 0, refused {len(dead)}" in output
    assert REASONS[lie] in output  # the summary says why


def test_a_front_answering_metadata_with_a_login_page_is_refused_before_sending(
        practice: Path, tmp_path: Path) -> None:
    front = lying_front("html", html_on_get=True)
    with serving(front) as url:
        code, output, _ = run_to(practice, url, tmp_path / "out")
    assert code == 4
    assert f"{url}/metadata answered 200 text/html, not a FHIR CapabilityStatement" in output
    assert front.posts == 0
    assert not (tmp_path / "out" / "dead_letters.ndjson").exists()


@pytest.mark.parametrize("lie", ["html", "entries-400", "no-status", "numeric-status"])
def test_replay_against_a_lying_front_keeps_every_dead_letter(
        practice: Path, tmp_path: Path, sekmet_server: Any, lie: str) -> None:
    dead_file, before = refused_by_a_login_page(practice, tmp_path / "out")
    with serving(lying_front(lie)) as url:
        code, output = invoke("load", "--replay", str(dead_file), "--target", url,
                              "--out", str(dead_file.parent))
    assert code == 4, output
    assert f"replayed {len(before)} from {dead_file}: loaded 0, refused {len(before)}" in output
    after = letters(dead_file)  # rewritten, not deleted: still every letter, with the new reason
    assert [d["resource"] for d in after] == [d["resource"] for d in before]
    assert all(REASONS[lie] in d["outcome"]["issue"][0]["diagnostics"] for d in after)
    assert not dead_file.with_name(dead_file.name + ".part").exists()
    # a real server acknowledges them all: then, and only then, the file goes
    sekmet_server.reset()
    code, output = invoke("load", "--replay", str(dead_file), "--target",
                          sekmet_server.base_url, "--out", str(dead_file.parent))
    assert code == 0, output
    assert f"loaded {len(before)}, refused 0" in output
    assert not dead_file.exists()


def test_replay_keeps_exactly_the_letters_not_acknowledged(
        practice: Path, tmp_path: Path) -> None:
    """A batch answered entry by entry: the acknowledged go, the rest stay (with why)."""
    dead_file, before = refused_by_a_login_page(practice, tmp_path / "out")
    statuses = iter(["201 Created", "", "200 OK", "500 Internal Server Error"] * len(before))

    def answer(bundle: dict[str, Any]) -> tuple[str, bytes]:
        body = fhir_answer(bundle, [next(statuses) for _ in bundle["entry"]])
        return "application/fhir+json", orjson.dumps(body)

    code, output = replay_with(answer, dead_file, tmp_path, "mode: batch, max_retries: 0")
    assert code == 4, output
    kept = letters(dead_file)
    assert len(kept) == sum(1 for i in range(len(before)) if i % 4 in (1, 3))
    assert all(d["status"] in (None, 500) for d in kept)
    assert {d["resource"]["id"] for d in kept} < {d["resource"]["id"] for d in before}


def test_a_replay_that_stops_half_way_keeps_every_letter_not_acknowledged(
        practice: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The first bundle is acknowledged, then the server fails for good: the file keeps the
    rest (never answered), atomically rewritten, and exit 4 names the failure."""
    dead_file, before = refused_by_a_login_page(practice, tmp_path / "out")
    posts = iter(range(10_000))

    def answer(bundle: dict[str, Any]) -> tuple[str, bytes, int]:
        if next(posts) == 0:
            return "application/fhir+json", orjson.dumps(fhir_answer(bundle)), 200
        return "application/fhir+json", b'{"resourceType": "OperationOutcome"}', 503

    code, output = replay_with(answer, dead_file, tmp_path,
                               "bundle_size: 50, concurrency: 1, max_retries: 0")
    assert code == 4, output
    assert "answered 503 after 1 attempts" in output
    # the first bundle: up to 50 letters, of the first resource type (a new type starts a wave)
    rtype = before[0]["resource"]["resourceType"]
    first = next((i for i, d in enumerate(before) if d["resource"]["resourceType"] != rtype), 50)
    first = min(first, 50)
    kept = letters(dead_file)
    assert [d["resource"] for d in kept] == [d["resource"] for d in before[first:]]
    assert kept == before[first:]  # never answered: kept exactly as they were
    assert (f"replay stopped: {len(kept)} of {len(before)} letters not acknowledged, kept in "
            f"{dead_file}") in caplog.text


def test_sync_to_a_lying_front_records_nothing_and_the_next_sync_sends_everything(
        practice: Path, tmp_path: Path, sekmet_server: Any) -> None:
    out = tmp_path / "out"
    common = ["--mappings", str(REPO / "mappings" / "synthea"), "--source", str(practice),
              "--namespace", str(TEST_NAMESPACE), "--out", str(out), "--no-progress"]
    with serving(lying_front("html")) as url:
        code, output = invoke("sync", "--target", url, *common)
    assert code == 4, output
    assert f"{url} answered 200 text/html, not a FHIR transaction-response" in output
    assert "writes stay pending and the next sync sends them again" in output
    store = StateStore(f"sqlite:///{out / 'state.sqlite'}")
    assert store.counts()["resources_live"] == 0  # nothing recorded as delivered
    store.engine.dispose()
    sekmet_server.reset()
    code, output = invoke("sync", "--target", sekmet_server.base_url, *common)
    assert code == 0, output
    _, _, expected = run_to(practice, f"ndjson:{tmp_path / 'nd'}", tmp_path / "ndout")
    on_server = sum(sekmet_server.counts(list(expected["load"]["written"])).values())
    assert on_server == sum(expected["load"]["written"].values()) > 100


@pytest.mark.parametrize("mode", ["transaction", "batch", "conditional"])
def test_the_real_server_is_acknowledged_in_every_mode(
        practice: Path, tmp_path: Path, sekmet_server: Any, mode: str) -> None:
    sekmet_server.reset()
    project = tmp_path / "p.yaml"
    project.write_text(f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\n"
                       f"source: {practice}\noutput: {tmp_path / 'out'}\n"
                       f"identity: {{namespace: '{TEST_NAMESPACE}'}}\n"
                       f"target: {{type: fhir-server, url: '{sekmet_server.base_url}', "
                       f"mode: {mode}}}\n")
    code, output = invoke("run", "-c", str(project), "--no-progress")
    assert code == 0, output
    run_json = orjson.loads((tmp_path / "out" / "run.json").read_bytes())
    assert run_json["status"] == "ok"
    assert sum(run_json["load"]["written"].values()) == emitted(run_json)
    assert not (tmp_path / "out" / "dead_letters.ndjson").exists()


def test_the_check_reads_what_sekmet_really_answers(sekmet_server: Any) -> None:
    """A probe of the real server with the loader's headers (Prefer: return=minimal)."""
    sekmet_server.reset()
    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    for kind in ("transaction", "batch"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": {"resourceType": "Patient", "id": f"{kind}-1"},
             "request": {"method": "PUT", "url": f"Patient/{kind}-1"}},
            {"request": {"method": "DELETE", "url": "Patient/never-there"}}]}
        with httpx.Client(timeout=30) as client:
            resp = client.post(sekmet_server.base_url, content=orjson.dumps(bundle),
                               headers=headers)
        answer = read_bundle_answer(resp, kind, 2, sekmet_server.base_url)
        assert answer.problem is None
        assert [e.status for e in answer.entries] == [201, 200]
        assert all(e.ok for e in answer.entries)


def test_a_sync_read_answered_with_a_login_page_stops_with_the_write_pending(
        tmp_path: Path) -> None:
    """On a 412 the writer reads the resource back; a login page there is not 'no resource'
    (which would record a false conflict): the sync stops, nothing recorded, write pending."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    store.enqueue(run, [{"rtype": "Patient", "rid": "p1", "method": "PUT", "if_match": "1",
                         "payload": b'{"resourceType": "Patient", "id": "p1"}',
                         "content_hash": "h1", "mapping": "m", "key_hash": "k1"}])

    def precondition_failed(bundle: dict[str, Any]) -> tuple[str, bytes]:
        return "application/fhir+json", orjson.dumps(
            fhir_answer(bundle, ["412 Precondition Failed"] * len(bundle["entry"])))

    front = lying_front("scripted", html_on_get=True)  # every GET: a login page
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(LIES, "scripted", precondition_failed)
        with serving(front) as url:
            writer = OutboxWriter(store, run, {"type": "fhir-server", "url": url,
                                               "mode": "batch"})
            with pytest.raises(LoadError, match=f"{url}/Patient/p1 answered 200 text/html, "
                                                "not the Patient asked for"):
                writer.drain()
            writer.close()
    assert [w["rid"] for w in store.pending()] == ["p1"]
    assert store.counts()["conflicts"] == 0
    store.engine.dispose()
