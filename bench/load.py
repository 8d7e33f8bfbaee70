"""Benchmark: resources per second into sekmet-fhir, our loader against a plain httpx client.

Makes the resources once (the Synthea pack over a source folder, NDJSON on disk), starts a
private sekmet-fhir with the test harness, then loads the same transaction bundles of
``PUT Type/id`` (same bundle size, same order: one resource type after another, each type
waiting for the previous one) with

* a plain ``httpx.Client`` and a thread pool (the HTTP floor: bundles serialized beforehand, no
  retries, no accounting, no dead letters);
* ``FhirServerLoader``, fed the NDJSON in chunks of 5,000 as the pipeline would (parsing the
  chunk is part of its time: ~25 us a resource, ~1.5% of a load at 600/s, and it overlaps the
  server's work),

at each ``--concurrency`` level. The server is emptied before every load. Each figure is the
best of ``--repeat`` loads, the two clients taking turns. The ratio is our best over the plain
client's best.

In the same run it measures a second reference, the floor of bench/transform.py: pandas reading
the CSVs the pack maps and orjson writing the same number of resources (one process, before the
server starts), and reports our resources/s as a share of it.

Only the serialized bundles of the plain client stay in memory (about the size of the NDJSON),
so large practices fit. sekmet-fhir takes about 600 resources/s in transactions, so a
1,000-patient practice (~270k resources) is ~7.5 minutes per load: pick one concurrency and one
repeat for it (and, for 10,000 patients, one client per run with ``--clients``). Progress goes to
stderr, the JSON summary to stdout.

    python bench/load.py                       # sample_data/synthea (5,568 resources)
    python bench/load.py --patients 100        # a generated 100-patient practice
    python bench/load.py --patients 1000 --concurrency 2 --repeat 1
    python bench/load.py --patients 10000 --concurrency 2 --repeat 1 --clients ours
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from _common import Progress, ensure_data, note, pack_tables, run_floor

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FEED_CHUNK = 5000
KEYS = {"plain": "plain_httpx", "ours": "ours"}
"""Each client's name in the JSON summary."""


def make_resources(source: Path, out: Path) -> list[tuple[str, Path, int]]:
    """Run the pack over ``source`` to NDJSON; (type, file, count) in load order."""
    from migrate.config import RunSettings
    from migrate.mappers.pack import load_pack
    from migrate.pipeline import run_pipeline

    settings = RunSettings(
        mappings=REPO / "mappings" / "synthea", source={"type": "csv", "path": str(source)},
        target={"type": "ndjson", "path": str(out / "nd")}, output=out,
        namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
        source_system="urn:emr-migrate:bench", progress=True)
    run_pipeline(settings)
    order = load_pack(REPO / "mappings" / "synthea").resource_type_order()
    files: list[tuple[str, Path, int]] = []
    for rtype in order:
        path = out / "nd" / f"{rtype}.ndjson"
        if path.exists():
            with path.open("rb") as fh:
                files.append((rtype, path, sum(1 for _ in fh)))
    return files


def read_chunks(path: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    """The resources of one NDJSON file, ``size`` at a time."""
    with path.open("rb") as fh:
        while chunk := list(itertools.islice(fh, size)):
            yield [orjson.loads(line) for line in chunk]


def waves(base: str, files: list[tuple[str, Path, int]],
          size: int) -> list[list[tuple[bytes, int]]]:
    """Transaction bundles (serialized, with their entry count), one list per resource type."""
    out: list[list[tuple[bytes, int]]] = []
    for rtype, path, _ in files:
        wave: list[tuple[bytes, int]] = []
        for chunk in read_chunks(path, size):
            entries = [{"fullUrl": f"{base}/{rtype}/{res['id']}", "resource": res,
                        "request": {"method": "PUT", "url": f"{rtype}/{res['id']}"}}
                       for res in chunk]
            wave.append((orjson.dumps({"resourceType": "Bundle", "type": "transaction",
                                       "entry": entries}), len(entries)))
        out.append(wave)
    return out


def plain_httpx(base: str, bundles: list[list[tuple[bytes, int]]], concurrency: int,
                progress: Progress) -> None:
    """The HTTP floor: POST each bundle, a thread pool per wave, nothing else."""
    import httpx

    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
               "Prefer": "return=minimal"}
    done = 0
    with httpx.Client(timeout=300) as client, ThreadPoolExecutor(concurrency) as pool:
        def post(bundle: tuple[bytes, int]) -> int:
            client.post(base, content=bundle[0], headers=headers).raise_for_status()
            return bundle[1]

        for wave in bundles:
            for n in pool.map(post, wave):
                done += n
                progress.update(done)


def ours(base: str, files: list[tuple[str, Path, int]], concurrency: int, size: int,
         progress: Progress) -> None:
    """FhirServerLoader, fed the resources in chunks as the pipeline would."""
    from migrate.loaders.fhir_server import FhirServerLoader

    loader = FhirServerLoader(base, bundle_size=size, concurrency=concurrency, timeout=300)
    loader.open()
    fed = 0
    for _, path, _ in files:
        for chunk in read_chunks(path, FEED_CHUNK):
            loader.load(chunk)
            fed += len(chunk)
            progress.update(fed)  # fed, not yet acknowledged: at most 2 x concurrency bundles
    summary = loader.close()
    total = sum(n for _, _, n in files)
    assert sum(summary.written.values()) == total, summary.as_dict()


def measure(server: Any, fn: Callable[[Progress], None], n: int, label: str) -> float:
    """Resources/s of one load into an emptied server."""
    server.reset()
    progress = Progress(label, n)
    note(f"{label}: started")
    t0 = time.perf_counter()
    fn(progress)
    wall = time.perf_counter() - t0
    note(f"{label}: {n:,} resources in {wall:.1f}s, {n / wall:,.0f}/s")
    return n / wall


def _levels(text: str) -> list[int]:
    levels = [int(c) for c in text.split(",") if c.strip()]
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"not a list of concurrencies: {text!r}")
    return levels


def _clients(text: str) -> list[str]:
    clients = [c.strip() for c in text.split(",") if c.strip()]
    if not clients or not set(clients) <= {"plain", "ours"}:
        raise argparse.ArgumentTypeError(f"clients are plain and/or ours, not {text!r}")
    return [c for c in ("plain", "ours") if c in clients]


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO / "sample_data" / "synthea")
    ap.add_argument("--patients", type=int,
                    help="Generate (or reuse from --data-dir) a practice of N patients instead.")
    ap.add_argument("--seed", type=int, default=1, help="Generator seed with --patients.")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    ap.add_argument("--bundle-size", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5, help="Loads per client and concurrency.")
    ap.add_argument("--concurrency", type=_levels, default=[1, 2, 4, 8],
                    help="Comma-separated concurrency levels, e.g. 1,2,4,8 or 2.")
    ap.add_argument("--clients", type=_clients, default=["plain", "ours"],
                    help="plain,ours (default) or one of them, to split a very long run.")
    args = ap.parse_args()
    from tests.harness.sekmet import SekmetServer

    levels: list[int] = args.concurrency
    clients: list[str] = args.clients
    source = args.source
    if args.patients:
        source = ensure_data(args.patients, args.seed, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="emr-bench-load-") as tmp:
        work = Path(tmp)
        note(f"making resources from {source} (the pipeline, with validation)")
        t0 = time.perf_counter()
        files = make_resources(source, work / "run")
        n = sum(count for _, _, count in files)
        note(f"{n:,} resources of {len(files)} types in {time.perf_counter() - t0:.1f}s")
        note("floor: pandas read of the pack's CSVs + orjson write of as many resources")
        floor = run_floor(source, pack_tables(), n, work)
        (work / "floor.ndjson").unlink()
        note(f"floor: {floor['per_s']:,.0f} resources/s ({floor['wall_s']:.1f}s)")
        best: dict[str, dict[int, float]] = {c: dict.fromkeys(levels, 0.0) for c in clients}
        with SekmetServer(work / "sekmet") as server:
            base = server.base_url
            bundles = waves(base, files, args.bundle_size) if "plain" in clients else []
            runs: dict[str, Callable[[int, Progress], None]] = {
                "plain": lambda c, p: plain_httpx(base, bundles, c, p),
                "ours": lambda c, p: ours(base, files, c, args.bundle_size, p)}
            loads, k = len(clients) * len(levels) * args.repeat, 0
            for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits both
                for c in levels:
                    for client in clients:
                        k += 1
                        label = f"load {k}/{loads} {KEYS[client].replace('_', ' ')} c={c}"
                        best[client][c] = max(best[client][c], measure(
                            server, lambda p, c=c, run=runs[client]: run(c, p), n, label))
    result: dict[str, Any] = {
        "source": str(source), "patients": args.patients,
        "resources": n, "bundle_size": args.bundle_size, "repeat": args.repeat,
        **{f"{KEYS[c]}_per_s": {lv: round(v) for lv, v in best[c].items()} for c in clients},
    }
    top = {c: max(best[c].values()) for c in clients}
    if len(clients) == 2:
        result["ratio_best"] = round(top["ours"] / top["plain"], 3)
        if 4 in levels:  # FhirServerLoader's default concurrency
            result["ratio_default_concurrency_4"] = round(best["ours"][4] / top["plain"], 3)
    result["floor_pandas_orjson_per_s"] = round(floor["per_s"])
    result["floor_per_core"] = round(floor["per_core"])
    for c in clients:
        result[f"{KEYS[c]}_share_of_floor"] = round(top[c] / floor["per_s"], 4)
    result["machine"] = (f"{platform.machine()}, {os.cpu_count() or 0} cores, "
                         f"Python {platform.python_version()}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
