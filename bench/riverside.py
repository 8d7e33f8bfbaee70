"""Benchmark: the WardBook export (sample_data/riverside) -> validated NDJSON with its pack.

The riverside pack is the one that uses the mapping language of issue 19 throughout: look-ups
(dictionaries and the related admission row), rules, comparisons, `replace`, number separators,
pack units and `_birthDate`. Generates an export of N patients with the sample's own generator
(cached under --data-dir), runs the full pipeline (the look-up tables loaded once, extract, map,
validate, write) and reports resources per second per core, wall time and peak memory; in the
same run the floor (pandas read of the same CSVs, dictionaries included, + orjson write of as
many resources) and our share of it. ``--repeat N`` runs N pairs and reports the medians.

    python bench/riverside.py --patients 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import run_floor, run_ours

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "mappings" / "riverside"


def ensure_export(patients: int, data_dir: Path) -> Path:
    """The generated WardBook export, made once and reused."""
    folder = data_dir / f"riverside-{patients}p"
    if (folder / "labevents.csv").exists():
        return folder
    subprocess.run([sys.executable, str(REPO / "sample_data" / "riverside" / "generate.py"),
                    "--patients", str(patients), "--out", str(folder), "--quiet"], check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs (ours, floor)")
    args = parser.parse_args()
    source = ensure_export(args.patients, args.data_dir)
    tables = sorted(p.stem for p in source.glob("*.csv"))  # every table, dictionaries too
    runs: list[dict[str, float]] = []
    peak_mb = 0.0
    for n in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory() as tmp:
            ours = run_ours(source, Path(tmp), PACK, timezone="America/Chicago",
                            max_quarantine_rate=1.0)
            if n == 0:
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            floor = run_floor(source, tables, int(ours["resources"]), Path(tmp))
        runs.append({**ours, "floor_per_core": floor["per_core"]})
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {"benchmark": "riverside", "patients": args.patients,
              **{k: round(v, 2) for k, v in med.items() if k != "floor_per_core"},
              "peak_rss_mb": round(peak_mb, 1), "floor_per_core": round(med["floor_per_core"]),
              "share_of_floor": round(med["per_core"] / med["floor_per_core"], 4)}
    if len(runs) > 1:
        result["runs"] = [{"per_core": round(r["per_core"]),
                           "floor_per_core": round(r["floor_per_core"])} for r in runs]
    print(json.dumps(result, indent=2))
    print(f"\n{args.patients} patients: {med['rows']:.0f} rows, {med['resources']:.0f} "
          f"resources, {med['per_core']:.0f} validated resources/s per core, wall "
          f"{med['wall_s']:.1f}s, peak RSS {peak_mb:.0f} MB; floor (pandas + orjson) "
          f"{med['floor_per_core']:.0f}/s", file=sys.stderr)


if __name__ == "__main__":
    main()
