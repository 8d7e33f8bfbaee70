"""Benchmark: Synthea CSV -> validated NDJSON with the Synthea pack, in one process.

Generates a practice of N patients with the project's own generator (cached under
--data-dir), runs the full pipeline (extract, map, validate, write) to an NDJSON folder, and
reports resources per second per core (resources / CPU seconds of this process), wall time and
peak memory (max RSS). In the same run it measures a floor: reading the same CSVs with pandas and
writing the same number of resources with orjson, and reports our speed as a share of it.

The speed of a shared machine moves from minute to minute (by a third at times), so
``--repeat N`` runs N pairs, each our run followed by the floor, and reports every pair and the
medians (peak memory is that of the first run, taken before any floor runs).

    python bench/transform.py --patients 1000
    python bench/transform.py --patients 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from _common import ensure_data, run_floor, run_ours

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of runs (ours, then the floor); medians are reported")
    args = parser.parse_args()
    source = ensure_data(args.patients, args.seed, args.data_dir)
    from migrate.mappers.pack import load_pack

    tables = load_pack(REPO / "mappings" / "synthea").tables()
    runs: list[dict[str, float]] = []
    peak_mb = 0.0
    for n in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory() as tmp:
            ours = run_ours(source, Path(tmp))
            if n == 0:  # before any floor runs
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            floor = run_floor(source, tables, int(ours["resources"]), Path(tmp))
        runs.append({**ours, "floor_per_core": floor["per_core"]})
    ours = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "benchmark": "transform", "patients": args.patients, "machine": platform.machine(),
        "python": platform.python_version(), "cores_used": 1, **{k: round(v, 2) for k, v in
                                                                  ours.items()
                                                                  if k != "floor_per_core"},
        "peak_rss_mb": round(peak_mb, 1), "floor_per_core": round(ours["floor_per_core"]),
        "share_of_floor": round(ours["per_core"] / ours["floor_per_core"], 4),
    }
    if len(runs) > 1:
        result["runs"] = [{"per_core": round(r["per_core"]), "cpu_s": round(r["cpu_s"], 2),
                           "floor_per_core": round(r["floor_per_core"])} for r in runs]
    print(json.dumps(result, indent=2))
    print(f"\n{args.patients} patients: {ours['resources']:.0f} resources, "
          f"{ours['per_core']:.0f} validated resources/s per core, wall {ours['wall_s']:.1f}s, "
          f"peak RSS {peak_mb:.0f} MB; floor (pandas + orjson) {ours['floor_per_core']:.0f}/s"
          + (f" (medians of {len(runs)} pairs)" if len(runs) > 1 else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
