"""Benchmark: a re-sync after 1% of the source rows changed, against the full load.

Generates a practice (Synthea CSV format) with the project's generator, starts a real
sekmet-fhir server (tests/harness/sekmet.py), runs the first sync (the full load), changes 1% of
the rows of every mapped table (a description or address edited), and runs the re-sync. Reports
both wall times, what each one sent, and the ratio (target: at most 5%).

    python bench/resync.py --patients 100
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EDITABLE = {"patients": "ADDRESS", "encounters": "DESCRIPTION", "conditions": "DESCRIPTION",
            "observations": "DESCRIPTION", "medications": "DESCRIPTION",
            "immunizations": "DESCRIPTION", "procedures": "DESCRIPTION",
            "allergies": "DESCRIPTION", "careplans": "DESCRIPTION", "supplies": "DESCRIPTION",
            "devices": "DESCRIPTION", "organizations": "NAME", "providers": "NAME"}


def change_one_percent(src: Path, seed: int = 1) -> int:
    """Edit 1% of the rows of every mapped table; returns how many rows changed."""
    rng = random.Random(seed)
    changed = 0
    for table, column in EDITABLE.items():
        path = src / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields, rows = reader.fieldnames, list(reader)
        for row in rng.sample(rows, max(1, len(rows) // 100)):
            row[column] = f"{row[column]} (revised)"
            changed += 1
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return changed


def main() -> None:
    from migrate.config import RunSettings
    from migrate.sync import run_sync
    from tests.harness.sekmet import SekmetServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "src"
        subprocess.run([sys.executable, str(REPO / "sample_data" / "generate.py"), "--patients",
                        str(args.patients), "--seed", str(args.seed), "--out", str(src),
                        "--quiet"], check=True)
        with SekmetServer(tmp / "sekmet") as server:
            settings = RunSettings(
                mappings=REPO / "mappings" / "synthea", source={"type": "csv", "path": str(src)},
                target={"type": "fhir-server", "url": server.base_url, "bundle_size": 500},
                output=tmp / "out", namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
                source_system="urn:emr-migrate:bench", progress=False)
            t0 = time.perf_counter()
            full = run_sync(settings)
            t_full = time.perf_counter() - t0
            rows = full.report.read
            changed = change_one_percent(src)
            t0 = time.perf_counter()
            resync = run_sync(settings)
            t_resync = time.perf_counter() - t0
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "benchmark": "resync", "patients": args.patients, "machine": platform.machine(),
        "rows": rows, "rows_changed": changed, "full_load_s": round(t_full, 2),
        "full_load_writes": full.writes, "resync_s": round(t_resync, 2),
        "resync_plan": resync.plan, "resync_writes": resync.writes,
        "ratio": round(t_resync / t_full, 4),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
