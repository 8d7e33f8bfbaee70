"""Benchmark: a re-sync after 1% of the source rows changed, against the full load.

Takes a generated practice (Synthea CSV format, made with the project's generator and cached in
--data-dir like bench/transform.py's), copies it to a scratch folder, starts a real sekmet-fhir
server (tests/harness/sekmet.py), runs the first sync (the full load), changes 1% of the rows of
every mapped table (a description or address edited), and runs the re-sync. Reports both wall
times, what each one sent, and the ratio (target: at most 5%).

It also reports the re-sync's pace: rows examined per second, resources sent per second, and
resources covered per second (every resource of the practice, as the re-sync establishes that
each is up to date: the full load's resource count over the re-sync's wall time). In the same
run it measures the floor of bench/transform.py, pandas reading the CSVs the pack maps and
orjson writing as many resources as the full load made (one process, after the server stopped),
and reports the re-sync's resources covered per second as a share of it.

Mind the full load: ``sync`` writes transaction bundles, which sekmet-fhir takes at about 500
resources/s, so it is about a minute per 100 patients (about 1.5 hours at 10,000). Progress
goes to stderr, the JSON summary to stdout.

    python bench/resync.py --patients 100
    # in two steps, e.g. to run the long full load once and the re-sync later:
    python bench/resync.py --patients 10000 --work-dir /var/tmp/rs10k --phase full
    python bench/resync.py --patients 10000 --work-dir /var/tmp/rs10k --phase resync
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _common import ensure_data, note, pack_tables, run_floor

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EDITABLE = {"patients": "ADDRESS", "encounters": "DESCRIPTION", "conditions": "DESCRIPTION",
            "observations": "DESCRIPTION", "medications": "DESCRIPTION",
            "immunizations": "DESCRIPTION", "procedures": "DESCRIPTION",
            "allergies": "DESCRIPTION", "careplans": "DESCRIPTION", "supplies": "DESCRIPTION",
            "devices": "DESCRIPTION", "organizations": "NAME", "providers": "NAME"}
SENT = ("created", "updated", "deleted", "acknowledged", "conflicts", "dead_letters")
"""Outcomes of the writer, one per resource sent (``bundles`` counts bundles)."""


def change_one_percent(src: Path, seed: int = 1) -> int:
    """Edit 1% of the rows of every mapped table; returns how many rows changed."""
    rng = random.Random(seed)
    changed = 0
    for table, column in EDITABLE.items():
        path = src / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields, rows = reader.fieldnames, list(reader)
        for row in rng.sample(rows, max(1, len(rows) // 100) if rows else 0):
            row[column] = f"{row[column]} (revised)"
            changed += 1
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return changed


def _settings(src: Path, work: Path, base_url: str) -> Any:
    from migrate.config import RunSettings

    return RunSettings(
        mappings=REPO / "mappings" / "synthea", source={"type": "csv", "path": str(src)},
        target={"type": "fhir-server", "url": base_url, "bundle_size": 500},
        output=work / "out", namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
        source_system="urn:emr-migrate:bench", progress=True)


def full_phase(source: Path, work: Path) -> dict[str, Any]:
    """Copy the practice into ``work``, start a fresh server there and run the first sync."""
    from migrate.sync import run_sync
    from tests.harness.sekmet import SekmetServer

    commit = _commit()  # when the phase starts: the code it runs
    src = work / "src"
    shutil.copytree(source, src)  # the cached practice stays as generated
    with SekmetServer(work / "sekmet") as server:
        note(f"full sync of {source.name} (transaction bundles of 500)")
        t0 = time.perf_counter()
        full = run_sync(_settings(src, work, server.base_url))
        t_full = time.perf_counter() - t0
        port = server.port
    resources = sum(full.report.resources.values())
    note(f"full sync: {resources:,} resources in {t_full:.1f}s, {resources / t_full:,.0f}/s")
    record = {"source": str(source), "port": port, "full_load_s": round(t_full, 2),
              "resources": resources, "rows": full.report.read, "full_load_writes": full.writes,
              "commit": commit}
    return record


def resync_phase(work: Path, full: dict[str, Any], patients: int, seed: int) -> dict[str, Any]:
    """Change 1% of the rows of the practice a full phase left in ``work`` and re-sync."""
    from migrate.sync import run_sync
    from tests.harness.sekmet import SekmetServer

    commit = _commit()  # when the phase starts: the code it runs
    src = work / "src"
    # A restart on a big database takes a while (sekmet scans its versions table at start).
    server = SekmetServer(work / "sekmet", port=full["port"]).start(timeout=900, fresh=False)
    try:
        # Edited once the server is up: a phase that failed to start leaves the rows as they were.
        changed = change_one_percent(src)
        note(f"changed {changed:,} of {full['rows']:,} rows; re-sync")
        t0 = time.perf_counter()
        resync = run_sync(_settings(src, work, server.base_url))
        t_resync = time.perf_counter() - t0
    finally:
        server.stop()
    note(f"re-sync: {resync.report.read:,} rows in {t_resync:.1f}s, "
         f"sent {sum(resync.writes.get(k, 0) for k in SENT):,} resources")
    source, resources, t_full = Path(full["source"]), full["resources"], full["full_load_s"]
    note("floor: pandas read of the pack's CSVs + orjson write of as many resources")
    floor = run_floor(source, pack_tables(), resources, work)
    note(f"floor: {floor['per_s']:,.0f} resources/s ({floor['wall_s']:.1f}s)")
    full_sent = sum(full["full_load_writes"].get(k, 0) for k in SENT)
    sent = sum(resync.writes.get(k, 0) for k in SENT)
    covered_per_s = resources / t_resync
    return {
        "benchmark": "resync", "patients": patients, "seed": seed,
        "machine": platform.machine(), "rows": full["rows"], "rows_changed": changed,
        "resources": resources, "full_load_s": t_full,
        "full_load_commit": full["commit"], "resync_commit": commit,
        "full_load_writes": full["full_load_writes"],
        "full_load_resources_sent_per_s": round(full_sent / t_full, 1),
        "resync_s": round(t_resync, 2), "resync_plan": resync.plan,
        "resync_writes": resync.writes,
        "resync_rows_examined_per_s": round(resync.report.read / t_resync),
        "resync_resources_sent_per_s": round(sent / t_resync, 1),
        "resync_resources_covered_per_s": round(covered_per_s),
        "floor_pandas_orjson_per_s": round(floor["per_s"]),
        "floor_per_core": round(floor["per_core"]),
        "resync_share_of_floor": round(covered_per_s / floor["per_s"], 4),
        "ratio": round(t_resync / t_full, 4),
    }


def _commit() -> str:
    """The checked-out commit (with ``+dirty`` for local changes), for the record."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                              text=True, check=False).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain",
                                                                   "--untracked-files=no")
                                                  else "")


def main() -> None:
    """Run the benchmark (or one of its phases) and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="Generator seed.")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--work-dir", type=Path,
                        help="Keep the practice copy, the server database and the state store "
                             "here (default: a temporary folder, removed at the end).")
    parser.add_argument("--phase", choices=["both", "full", "resync"], default="both",
                        help="full: only the first sync, recorded in WORK_DIR/full.json; "
                             "resync: the re-sync, on the WORK_DIR a full phase left (it "
                             "changes that copy: run it once). Needs --work-dir.")
    args = parser.parse_args()
    if args.phase != "both" and args.work_dir is None:
        parser.error("--phase full or resync needs --work-dir")
    with tempfile.TemporaryDirectory(prefix="emr-bench-resync-") as tmp_name:
        work = args.work_dir or Path(tmp_name)
        if args.phase in ("both", "full"):
            if work.exists() and any(work.iterdir()):
                parser.error(f"--work-dir {work} is not empty")
            work.mkdir(parents=True, exist_ok=True)
            full = full_phase(ensure_data(args.patients, args.seed, args.data_dir), work)
            full.update(patients=args.patients, seed=args.seed)
            (work / "full.json").write_text(json.dumps(full, indent=2))
            if args.phase == "full":
                print(json.dumps(full, indent=2))
                return
        else:
            if not (work / "full.json").is_file():
                parser.error(f"{work} holds no finished full phase (full.json)")
            if (work / "resync.json").is_file():
                parser.error(f"{work} was re-synced already (resync.json); run a new full phase")
            full = json.loads((work / "full.json").read_text())
        result = resync_phase(work, full, full["patients"], full["seed"])
        if args.work_dir is not None:
            (work / "resync.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
