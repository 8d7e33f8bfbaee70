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
    # more re-syncs of the same practice, each editing another 1% (seed = round), against a
    # target whose database is read from disk (cold) or already in memory (warm):
    python bench/resync.py --work-dir /var/tmp/rs10k --phase resync --round 2 --target-cache cold
    python bench/resync.py --work-dir /var/tmp/rs10k --phase resync --round 3 --target-cache warm

The split of the re-sync's wall time is reported too: the seconds the sync was held up by its
sends (``resync_blocked_s``) and the rest, our own part (``resync_own_s``, ``ratio_own``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
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


CACHE_MODES = ("as-is", "cold", "warm")
"""The target database before a re-sync: as the machine has it, dropped from the OS page cache
(read from disk, as after a reboot), or read into it (as a long-running server keeps it)."""


def set_target_cache(data: Path, mode: str) -> None:
    """Put the target's database files in the page-cache state ``mode`` names."""
    if mode == "cold":
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")  # root only; the whole machine's
    elif mode == "warm":
        for path in sorted(data.iterdir()):
            with path.open("rb") as fh:
                while fh.read(8 << 20):
                    pass


def resync_phase(work: Path, full: dict[str, Any], patients: int, seed: int, *,
                 round_no: int = 1, cache: str = "as-is") -> dict[str, Any]:
    """Change 1% of the rows of the practice a full phase left in ``work`` (the rows round
    ``round_no`` picks) and re-sync."""
    from migrate.sync import run_sync
    from tests.harness.sekmet import SekmetServer

    commit = _commit()  # when the phase starts: the code it runs
    src = work / "src"
    set_target_cache(work / "sekmet" / "data", cache)
    # A restart on a big database takes a while (sekmet scans its versions table at start).
    t0 = time.perf_counter()
    server = SekmetServer(work / "sekmet", port=full["port"]).start(timeout=900, fresh=False)
    t_start = time.perf_counter() - t0
    note(f"target up in {t_start:.1f}s (page cache: {cache})")
    try:
        # Edited once the server is up: a phase that failed to start leaves the rows as they were.
        changed = change_one_percent(src, seed=round_no)
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
    blocked = resync.timing["blocked_s"]
    return {
        "benchmark": "resync", "patients": patients, "seed": seed, "round": round_no,
        "target_cache": cache, "target_start_s": round(t_start, 1),
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
        "resync_server_s": resync.timing["server_s"], "resync_blocked_s": blocked,
        "resync_own_s": round(t_resync - blocked, 2),
        "ratio": round(t_resync / t_full, 4),
        "ratio_own": round((t_resync - blocked) / t_full, 4),
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


def _round_file(round_no: int) -> str:
    return "resync.json" if round_no == 1 else f"resync-{round_no}.json"


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
                             "changes that copy). Needs --work-dir.")
    parser.add_argument("--round", type=int, default=1,
                        help="With --phase resync: the how-many-th re-sync of the kept practice; "
                             "round N edits the 1%% of rows seed N picks and is recorded in "
                             "WORK_DIR/resync-N.json (round 1: resync.json).")
    parser.add_argument("--target-cache", choices=CACHE_MODES, default="as-is",
                        help="The target database before the re-sync: as-is; cold (dropped "
                             "from the OS page cache: needs root, affects the whole machine); "
                             "warm (read once into it).")
    args = parser.parse_args()
    if args.phase != "both" and args.work_dir is None:
        parser.error("--phase full or resync needs --work-dir")
    if args.round < 1 or (args.round > 1 and args.phase != "resync"):
        parser.error("--round N > 1 needs --phase resync (and N >= 1)")
    if args.target_cache == "cold" and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        parser.error("--target-cache cold needs root (it writes /proc/sys/vm/drop_caches)")
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
            if (work / _round_file(args.round)).is_file():
                parser.error(f"{work} had re-sync round {args.round} already "
                             f"({_round_file(args.round)}); pass --round {args.round + 1}")
            full = json.loads((work / "full.json").read_text())
        result = resync_phase(work, full, full["patients"], full["seed"], round_no=args.round,
                              cache=args.target_cache)
        if args.work_dir is not None:
            (work / _round_file(args.round)).write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
