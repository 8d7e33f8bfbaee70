"""Benchmark: resources per second into sekmet-fhir, our loader against a plain httpx client.

Makes the resources once (the Synthea pack over a source folder, NDJSON), starts a private
sekmet-fhir with the test harness, then loads the same transaction bundles of ``PUT Type/id``
(same bundle size, same order: one resource type after another, each type waiting for the
previous one) with

* a plain ``httpx.Client`` and a thread pool, at concurrency 1, 2, 4 and 8 (the floor: no
  retries, no accounting, no dead letters);
* ``FhirServerLoader`` at the same concurrencies.

The server is emptied before every load. Each figure is the best of ``--repeat`` loads,
the two clients taking turns. The
ratio is our best over the plain client's best.

    python bench/load.py                       # sample_data/synthea (5,568 resources)
    python bench/load.py --patients 100        # a generated 100-patient practice
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_resources(source: Path, out: Path) -> list[dict[str, Any]]:
    """The pack's output for ``source``, in load order (types in the pack's order)."""
    from migrate.config import RunSettings
    from migrate.mappers.pack import load_pack
    from migrate.pipeline import run_pipeline

    settings = RunSettings(
        mappings=REPO / "mappings" / "synthea", source={"type": "csv", "path": str(source)},
        target={"type": "ndjson", "path": str(out / "nd")}, output=out,
        namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
        source_system="urn:emr-migrate:bench", progress=False)
    run_pipeline(settings)
    order = load_pack(REPO / "mappings" / "synthea").resource_type_order()
    resources: list[dict[str, Any]] = []
    for rtype in order:
        path = out / "nd" / f"{rtype}.ndjson"
        if path.exists():
            resources.extend(orjson.loads(x) for x in path.read_bytes().splitlines())
    return resources


def waves(base: str, resources: list[dict[str, Any]], size: int) -> list[list[bytes]]:
    """Transaction bundles (serialized), one list per resource type."""
    out: list[list[bytes]] = []
    current: str | None = None
    for i in range(0, len(resources)):
        res = resources[i]
        if res["resourceType"] != current:
            current = res["resourceType"]
            out.append([])
            chunk: list[dict[str, Any]] = []
        chunk.append({"fullUrl": f"{base}/{current}/{res['id']}", "resource": res,
                      "request": {"method": "PUT", "url": f"{current}/{res['id']}"}})
        last = i + 1 == len(resources) or resources[i + 1]["resourceType"] != current
        if len(chunk) == size or last:
            out[-1].append(orjson.dumps({"resourceType": "Bundle", "type": "transaction",
                                         "entry": chunk}))
            chunk = []
    return out


def plain_httpx(base: str, bundles: list[list[bytes]], concurrency: int) -> None:
    """The floor: POST each bundle, a thread pool per wave, nothing else."""
    import httpx

    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
               "Prefer": "return=minimal"}
    with httpx.Client(timeout=300) as client, ThreadPoolExecutor(concurrency) as pool:
        def post(body: bytes) -> None:
            client.post(base, content=body, headers=headers).raise_for_status()

        for wave in bundles:
            list(pool.map(post, wave))


def ours(base: str, resources: list[dict[str, Any]], concurrency: int, size: int) -> None:
    """FhirServerLoader, fed the resources in chunks as the pipeline would."""
    from migrate.loaders.fhir_server import FhirServerLoader

    loader = FhirServerLoader(base, bundle_size=size, concurrency=concurrency, timeout=300)
    loader.open()
    for i in range(0, len(resources), 5000):
        loader.load(resources[i:i + 5000])
    summary = loader.close()
    assert sum(summary.written.values()) == len(resources), summary.as_dict()


def measure(server: Any, fn: Callable[[], None], n: int) -> float:
    """Resources/s of one load into an emptied server."""
    server.reset()
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO / "sample_data" / "synthea")
    ap.add_argument("--patients", type=int, help="Generate a practice of N patients instead.")
    ap.add_argument("--bundle-size", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--concurrency", default="1,2,4,8")
    args = ap.parse_args()
    from tests.harness.sekmet import SekmetServer

    work = Path(tempfile.mkdtemp(prefix="emr-bench-load-"))
    source = args.source
    if args.patients:
        source = work / "src"
        subprocess.run([sys.executable, str(REPO / "sample_data" / "generate.py"),
                        "--patients", str(args.patients), "--seed", "1", "--out", str(source)],
                       check=True)
    resources = make_resources(source, work / "run")
    levels = [int(c) for c in args.concurrency.split(",")]
    with SekmetServer(work / "sekmet") as server:
        bundles = waves(server.base_url, resources, args.bundle_size)
        n = len(resources)
        plain: dict[int, float] = dict.fromkeys(levels, 0.0)
        mine: dict[int, float] = dict.fromkeys(levels, 0.0)
        for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits both
            for c in levels:
                plain[c] = max(plain[c], measure(
                    server, lambda c=c: plain_httpx(server.base_url, bundles, c), n))
                mine[c] = max(mine[c], measure(
                    server, lambda c=c: ours(server.base_url, resources, c, args.bundle_size),
                    n))
    result = {
        "resources": n, "bundle_size": args.bundle_size, "repeat": args.repeat,
        "plain_httpx_per_s": {c: round(v) for c, v in plain.items()},
        "ours_per_s": {c: round(v) for c, v in mine.items()},
        "ratio_best": round(max(mine.values()) / max(plain.values()), 3),
        "ratio_default_concurrency_4": round(mine.get(4, 0) / max(plain.values()), 3),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
