"""Benchmark: the Dask executor with 1 and 2 workers against the in-process executor.

Runs ``emr-migrate run`` on the same generated Synthea practice three times, each in its own
process: in-process (``--executor local``), then ``--executor dask --workers 1`` and
``--workers 2`` (a LocalCluster the command starts). Reports wall time and resources per second
of each, the speed-up of 2 workers over 1, and checks that the three runs wrote byte-identical
NDJSON files. In the same run it measures the floor (pandas read + orjson write of the same
number of resources) for reference.

    python bench/dask_executor.py --patients 1000
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, ensure_data, pack_tables, run_floor

NAMESPACE = "6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"


def run_cli(source: Path, out: Path, extra: list[str]) -> dict[str, float]:
    """One ``emr-migrate run`` in a new process; wall time measured around it."""
    cmd = [sys.executable, "-m", "migrate", "run", "--mappings", str(REPO / "mappings" / "synthea"),
           "--source", str(source), "--namespace", NAMESPACE, "--source-system",
           "urn:emr-migrate:bench", "--target", f"ndjson:{out / 'nd'}", "--out", str(out),
           "--no-progress", "--format", "json", *extra]
    wall0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - wall0
    if done.returncode != 0:
        sys.exit(f"{' '.join(extra) or 'local'} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads((out / "run.json").read_text())
    total = report["resources_total"]
    return {"resources": total, "wall_s": round(wall, 2), "per_s": round(total / wall),
            "executor": report["executor"]["name"],
            "partitions": report["executor"]["partitions"]}


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.glob("*.ndjson"))
    return names == sorted(p.name for p in b.glob("*.ndjson")) and all(
        filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    args = parser.parse_args()
    source = ensure_data(args.patients, args.seed, args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {"local": run_cli(source, root / "local", [])}
        for n in (1, 2):
            runs[f"dask-{n}"] = run_cli(source, root / f"dask-{n}",
                                        ["--executor", "dask", "--workers", str(n)])
        identical = all(same_files(root / "local" / "nd", root / k / "nd")
                        for k in ("dask-1", "dask-2"))
        floor = run_floor(source, pack_tables(), runs["local"]["resources"], root)
    result = {
        "benchmark": "dask-executor", "patients": args.patients, "cpus": os.cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(), "runs": runs,
        "speedup_2_over_1": round(runs["dask-1"]["wall_s"] / runs["dask-2"]["wall_s"], 2),
        "dask_2_over_local": round(runs["local"]["wall_s"] / runs["dask-2"]["wall_s"], 2),
        "identical_output": identical, "floor_per_s": round(floor["per_s"]),
    }
    print(json.dumps(result, indent=2))
    print(f"\n{args.patients} patients: local {runs['local']['wall_s']}s, dask 1 worker "
          f"{runs['dask-1']['wall_s']}s, 2 workers {runs['dask-2']['wall_s']}s "
          f"(speed-up {result['speedup_2_over_1']}x); identical output: {identical}",
          file=sys.stderr)
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
