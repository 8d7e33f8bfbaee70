"""Loading into a real sekmet-fhir through a fault-injecting proxy, and dead letters.

The proxy throws 429 (Retry-After), 503, dropped connections before and after the server did
the work, and replies slower than the loader's timeout. The load must still end with exactly
the resources the source makes: the same counts and the same ids, nothing duplicated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from migrate.cli import cli
from migrate.loaders.fhir_server import FhirServerLoader
from migrate.pipeline import run_pipeline
from tests.conftest import REPO, make_settings
from tests.harness.faultproxy import FaultProxy, Faults

pytestmark = pytest.mark.integration
SAMPLE = REPO / "sample_data" / "synthea"


def trimmed_sample(folder: Path, rows: int = 150) -> Path:
    """The sample practice with only the first ``rows`` rows of its four biggest tables
    (their references still point at patients and encounters that are all there)."""
    import shutil

    shutil.copytree(SAMPLE, folder)
    for name in ("observations", "procedures", "conditions", "immunizations"):
        path = folder / f"{name}.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    return folder


def ids_of(source: Path, out: Path) -> dict[str, set[str]]:
    """Resource ids per type that the pack makes from ``source``."""
    run_pipeline(make_settings(source, f"ndjson:{out / 'nd'}", out))
    return {p.stem: {orjson.loads(line)["id"] for line in p.read_bytes().splitlines()}
            for p in (out / "nd").glob("*.ndjson")}


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller copy of the sample practice (about 1,500 resources)."""
    return trimmed_sample(tmp_path_factory.mktemp("small") / "synthea")


@pytest.fixture(scope="module")
def sample_ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Resource ids per type that the pack makes from the bundled sample practice."""
    return ids_of(SAMPLE, tmp_path_factory.mktemp("nd"))


def server_ids(server: Any, types: list[str]) -> dict[str, list[str]]:
    return {t: sorted(server.iter_ids(t)) for t in types}


@pytest.mark.parametrize(("mode", "bundle_size", "concurrency", "full"),
                         [("transaction", 100, 3, True), ("batch", 50, 2, False)])
def test_full_load_through_faults_has_exact_counts_and_no_duplicates(
        sekmet_server: Any, sample_ids: dict[str, set[str]], small_sample: Path,
        tmp_path: Path, mode: str, bundle_size: int, concurrency: int, full: bool) -> None:
    """The whole sample in transactions; a smaller one in (slower) batches."""
    source = SAMPLE if full else small_sample
    expected_ids = sample_ids if full else ids_of(small_sample, tmp_path / "nd")
    sekmet_server.reset()
    # sekmet writes ~300 entries/s in transactions and ~100/s in batches, one bundle at a
    # time (SQLite): the timeout leaves room for bundles queued behind each other.
    faults = Faults(rate_429=0.08, rate_503=0.06, rate_drop=0.05, rate_drop_after=0.05,
                    rate_slow=0.04, slow_seconds=6, retry_after="1", seed=11, max_faults=20,
                    lifetime=300)
    with FaultProxy(sekmet_server.base_url, faults) as proxy:
        target = {"type": "fhir-server", "url": proxy.base_url, "mode": mode,
                  "bundle_size": bundle_size, "concurrency": concurrency, "timeout": 5,
                  "max_retries": 10}
        report = run_pipeline(make_settings(source, target, tmp_path))
    assert set(proxy.injected) == {"429", "503", "drop", "drop_after", "slow"}, proxy.injected
    assert report.status == "ok"
    assert report.load["failed"] == 0
    assert report.load["retries"] >= sum(proxy.injected.values()) - proxy.injected["slow"]
    expected = {t: len(ids) for t, ids in expected_ids.items()}
    assert report.load["written"] == expected
    types = sorted(expected)
    assert sekmet_server.counts(types) == expected
    on_server = server_ids(sekmet_server, types)
    assert {t: len(ids) for t, ids in on_server.items()} == expected  # no duplicate ids listed
    assert {t: set(ids) for t, ids in on_server.items()} == expected_ids
    assert not (tmp_path / "dead_letters.ndjson").exists()


class BreakOneObservation(FhirServerLoader):
    """Gives one Observation an element FHIR R4 does not have, after our validator passed it."""

    broken: str | None = None

    def _send_traced(self, resources: list[dict[str, Any]],
                     sources: list[dict[str, Any] | None]) -> None:
        for res in resources:
            if self.broken is None and res["resourceType"] == "Observation":
                res["valueWhatever"] = 1
                type(self).broken = res["id"]
        super()._send_traced(resources, sources)


def test_a_refused_resource_becomes_a_dead_letter_and_replays_once_fixed(
        sekmet_server: Any, sample_ids: dict[str, set[str]], tmp_path: Path) -> None:
    sekmet_server.reset()
    BreakOneObservation.broken = None
    loader = BreakOneObservation(sekmet_server.base_url, bundle_size=200)
    report = run_pipeline(make_settings(SAMPLE, {"type": "fhir-server",
                                                 "url": sekmet_server.base_url}, tmp_path),
                          loader=loader)
    bad_id = BreakOneObservation.broken
    assert bad_id is not None
    assert report.status == "load-errors"
    assert report.load["failed"] == 1
    expected = {t: len(ids) for t, ids in sample_ids.items()}
    assert sekmet_server.counts(sorted(expected)) == {**expected,
                                                      "Observation": expected["Observation"] - 1}
    dead_file = tmp_path / "dead_letters.ndjson"
    assert report.outputs["dead_letters"] == str(dead_file)
    [letter] = [orjson.loads(x) for x in dead_file.read_bytes().splitlines()]
    assert letter["resource"]["id"] == bad_id
    assert letter["status"] == 400
    assert "valueWhatever" in orjson.dumps(letter["outcome"]).decode()
    assert letter["source"]["table"] == "observations"
    assert letter["source"]["mapping"] == "synthea.observation"
    assert set(letter["source"]["rows"][0]) == {"PATIENT", "ENCOUNTER", "DATE", "CODE"}
    assert letter["attempts"] >= 2  # the transaction, then the batch that singled it out
    assert sekmet_server.read("Observation", bad_id) is None

    runner = CliRunner()
    args = ["load", "--replay", str(dead_file), "--target", sekmet_server.base_url,
            "--out", str(tmp_path)]
    again = runner.invoke(cli, args)
    assert again.exit_code == 4, again.output
    assert "loaded 0, refused 1" in again.output
    assert dead_file.exists()  # rewritten with the new answer

    letter["resource"].pop("valueWhatever")  # the user fixes the resource
    fixed = tmp_path / "fixed.ndjson"
    fixed.write_bytes(orjson.dumps(letter) + b"\n")
    done = runner.invoke(cli, [*args[:2], str(fixed), *args[3:]])
    assert done.exit_code == 0, done.output
    assert "loaded 1, refused 0" in done.output
    assert sekmet_server.counts(sorted(expected)) == expected
    assert sekmet_server.read("Observation", bad_id) is not None


@pytest.mark.parametrize(("mode", "on_refusal"), [("transaction", "bisect"), ("batch", "batch")])
def test_only_the_refused_entries_are_set_aside(sekmet_server: Any, tmp_path: Path, mode: str,
                                                on_refusal: str) -> None:
    sekmet_server.reset()
    good = [{"resourceType": "Patient", "id": f"pat-{i}", "gender": "female"} for i in range(9)]
    too_long = {"resourceType": "Patient", "id": "x" * 70}
    bad_date = {"resourceType": "Patient", "id": "pat-bad", "birthDate": "1990-13-45"}
    resources = [*good[:3], too_long, *good[3:6], bad_date, *good[6:]]
    loader = FhirServerLoader(sekmet_server.base_url, mode=mode, on_refusal=on_refusal,
                              bundle_size=20)
    loader.open()
    loader.load(resources, [{"table": "t", "mapping": "m", "rows": [{"k": i}]}
                            for i in range(len(resources))])
    summary = loader.close()
    assert summary.written == {"Patient": 9}
    assert sorted(f.id for f in summary.failures) == sorted(["pat-bad", "x" * 70])
    assert all(f.status == 400 for f in summary.failures)
    assert sekmet_server.ids("Patient") == {r["id"] for r in good}
