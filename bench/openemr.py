"""Benchmark: OpenEMR on MariaDB -> validated NDJSON with the OpenEMR pack.

Generates an OpenEMR practice of N patients with the project's own generator
(``sample_data/openemr/generate.py``) as a MariaDB SQL script, cached under --data-dir; starts
a private MariaDB in a temporary folder with the test harness (``tests/harness/mariadb.py``)
and loads the script; then runs the full pipeline (SQL source through SQLAlchemy + PyMySQL with
server-side cursors, map, validate, write) to an NDJSON folder with the OpenEMR pack, in a
child process of its own. It reports resources per second per core (resources / CPU seconds
of that process), wall time, peak memory (max RSS of that process, so neither the generator
nor the data load counts) and, separately, the CPU seconds the MariaDB server spent meanwhile.
In the same run it measures a floor: reading the same queries from the same database with
pandas (``pd.read_sql``, same SQLAlchemy URL) and writing the same number of resources (plain
dicts) with orjson, and reports our speed as a share of it.

    python bench/openemr.py --patients 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.harness

PACK = REPO / "mappings" / "openemr"
GENERATOR = REPO / "sample_data" / "openemr" / "generate.py"
DATABASE = "openemr"
TIMEZONE = "America/New_York"  # as sample_data/openemr/migration.yaml: naive local times
READONLY = ("emr_bench_ro", "bench-read-only")


def note(message: str) -> None:
    """One progress line on stderr, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_data(patients: int, seed: int, data_dir: Path) -> tuple[Path, float | None]:
    """The practice as a MariaDB SQL script, made once and reused; (path, seconds or None)."""
    script = data_dir / f"openemr-{patients}p-seed{seed}" / "openemr.sql"
    if script.exists():
        return script, None
    script.parent.mkdir(parents=True, exist_ok=True)
    note(f"generating {patients} patients (seed {seed}) into {script}")
    wall0 = time.perf_counter()
    # A separate process, so the generator's memory does not count anywhere here.
    subprocess.run([sys.executable, str(GENERATOR), "--patients", str(patients), "--seed",
                    str(seed), "--sql-out", str(script), "--create-schema", "--quiet"],
                   check=True)
    return script, time.perf_counter() - wall0


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(workdir: Path, buffer_pool: str) -> Any:
    """A private MariaDB from the test harness, with a buffer pool that holds the practice."""
    from tests.harness.mariadb import MariaDBServer

    class BenchServer(MariaDBServer):
        def command(self, server_bin: Path) -> list[str]:
            # the harness's 64M pool suits tests; a later option wins in mariadbd
            return [*super().command(server_bin), f"--innodb-buffer-pool-size={buffer_pool}"]

    return BenchServer(workdir).start()


def load_practice(server: Any, script: Path) -> tuple[str, float, float]:
    """Create the database, run the script into it; (read-only URL, wall s, server CPU s)."""
    from tests.harness.mariadb import openemr_generator

    pid = int(server.pid_path.read_text())
    cpu0, wall0 = server_cpu(pid), time.perf_counter()
    openemr_generator().load_sql(server.create_database(DATABASE), script)
    wall, cpu = time.perf_counter() - wall0, server_cpu(pid) - cpu0
    return server.create_readonly_user(*READONLY, DATABASE), wall, cpu


def run_ours(url: str, out: str) -> dict[str, float]:
    """The real pipeline (in a child process); CPU and wall time of the run alone, peak RSS."""
    from migrate.config import RunSettings
    from migrate.pipeline import run_pipeline

    settings = RunSettings(
        mappings=PACK, source={"type": "sql", "url": url},
        target={"type": "ndjson", "path": str(Path(out) / "ndjson")}, output=Path(out),
        namespace=uuid.UUID("5d0c7e2a-91b4-4c8e-a3f6-2e7b9d1c4a58"),
        source_system="urn:emr-migrate:bench", timezone=TIMEZONE, progress=False,
        chunk_size=5000)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = run_pipeline(settings)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    total = sum(report.resources.values())
    return {"resources": total, "rows": report.read, "quarantined": report.quarantined,
            "cpu_s": cpu, "wall_s": wall, "per_core": total / cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def pack_queries() -> list[str]:
    """What the pipeline reads, one statement per mapping (its query, else the whole table)."""
    from migrate.mappers.pack import load_pack

    return [m.spec.query or f"SELECT * FROM `{m.table}`"
            for m in load_pack(PACK).ordered_mappings()]


def run_floor(url: str, queries: list[str], resources: int, out: Path) -> dict[str, float]:
    """pandas read of the same queries + orjson write of ``resources`` plain dicts."""
    import orjson
    import pandas as pd
    import sqlalchemy as sa

    cpu0, wall0 = time.process_time(), time.perf_counter()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        frames = [pd.read_sql(sa.text(q), conn) for q in queries]
    engine.dispose()
    read_cpu = time.process_time() - cpu0
    rows = (r for f in frames for r in f.to_dict("records"))
    with (out / "floor.ndjson").open("wb") as fh:
        for i in range(resources):
            row = next(rows, None)
            if row is None:
                rows = (r for f in frames for r in f.to_dict("records"))
                row = next(rows)
            # default=str: Decimal, bytes (uuid) and pandas' NaT / Timestamp
            fh.write(orjson.dumps({"resourceType": "Basic", "id": str(i), **row},
                                  default=str) + b"\n")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cpu_s": cpu, "read_cpu_s": read_cpu, "wall_s": wall, "per_core": resources / cpu,
            "rows": sum(len(f) for f in frames)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--buffer-pool", default="1G",
                        help="MariaDB innodb_buffer_pool_size (default 1G)")
    args = parser.parse_args()
    script, generate_s = ensure_data(args.patients, args.seed, args.data_dir)
    queries = pack_queries()
    with tempfile.TemporaryDirectory(prefix="emr-bench-openemr-") as tmp:
        wall0 = time.perf_counter()
        server = start_server(Path(tmp) / "mariadb", args.buffer_pool)
        try:
            start_s = time.perf_counter() - wall0
            pid = int(server.pid_path.read_text())
            version = server.execute("SELECT VERSION()")[0][0]
            note(f"MariaDB {version} up in {start_s:.1f}s; loading {script.name} "
                 f"({script.stat().st_size / 1e6:.0f} MB)")
            url, load_s, load_server_s = load_practice(server, script)
            note(f"loaded in {load_s:.1f}s; running the pipeline")
            out = Path(tmp) / "out"
            cpu0 = server_cpu(pid)
            # a fresh process: its peak RSS is the pipeline's alone
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                ours = pool.submit(run_ours, url, str(out)).result()
            ours_server_s = server_cpu(pid) - cpu0
            note(f"pipeline: {ours['resources']:.0f} resources in {ours['wall_s']:.1f}s; "
                 "running the floor")
            cpu0 = server_cpu(pid)
            floor = run_floor(url, queries, int(ours["resources"]), Path(tmp))
            floor_server_s = server_cpu(pid) - cpu0
        finally:
            server.stop()
    result = {
        "benchmark": "openemr", "patients": args.patients, "seed": args.seed,
        "machine": platform.machine(), "python": platform.python_version(),
        "mariadb": version, "innodb_buffer_pool": args.buffer_pool, "cores_used": 1,
        **{k: round(v, 2) for k, v in ours.items() if k != "peak_rss_mb"},
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "server_cpu_s": round(ours_server_s, 2),
        "per_core_incl_server": round(ours["resources"] / (ours["cpu_s"] + ours_server_s), 2),
        "floor_per_core": round(floor["per_core"]), "floor_cpu_s": round(floor["cpu_s"], 2),
        "floor_read_cpu_s": round(floor["read_cpu_s"], 2),
        "floor_wall_s": round(floor["wall_s"], 2), "floor_rows": floor["rows"],
        "floor_server_cpu_s": round(floor_server_s, 2),
        "share_of_floor": round(ours["per_core"] / floor["per_core"], 4),
        "steps": {"generate_s": None if generate_s is None else round(generate_s, 1),
                  "data_cached": generate_s is None,
                  "script_mb": round(script.stat().st_size / 1e6, 1),
                  "server_start_s": round(start_s, 1), "load_s": round(load_s, 1),
                  "load_server_cpu_s": round(load_server_s, 1)},
    }
    print(json.dumps(result, indent=2))
    print(f"\n{args.patients} patients: {ours['rows']:.0f} rows, {ours['resources']:.0f} "
          f"resources, {ours['per_core']:.0f} validated resources/s per core (MariaDB server "
          f"+{ours_server_s:.1f} CPU s), wall {ours['wall_s']:.1f}s, peak RSS "
          f"{ours['peak_rss_mb']:.0f} MB; floor (pandas read_sql + orjson) "
          f"{floor['per_core']:.0f}/s", file=sys.stderr)


if __name__ == "__main__":
    main()
