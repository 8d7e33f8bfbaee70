"""Shared by the benchmarks: the generated practice (cached) and the pandas + orjson floor.

The benchmarks are run as scripts (``python bench/NAME.py``), so this folder is on
``sys.path`` and they import this module as ``_common``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SYNTHEA_PACK = REPO / "mappings" / "synthea"


def ensure_data(patients: int, seed: int, data_dir: Path) -> Path:
    """The generated practice, made once and reused."""
    folder = data_dir / f"synthea-{patients}p-seed{seed}"
    if (folder / "observations.csv").exists():
        return folder
    # A separate process, so the generator's memory does not count in our peak.
    subprocess.run([sys.executable, str(REPO / "sample_data" / "generate.py"), "--patients",
                    str(patients), "--seed", str(seed), "--out", str(folder)], check=True)
    return folder


def pack_tables() -> list[str]:
    """The source tables the Synthea pack maps (the CSVs the floor reads)."""
    from migrate.mappers.pack import load_pack

    return load_pack(SYNTHEA_PACK).tables()


def run_ours(source: Path, out: Path, pack: Path = SYNTHEA_PACK, source_type: str = "csv",
             **extra: Any) -> dict[str, float]:
    """The real pipeline (pack to NDJSON); CPU and wall time of the run alone (pack loading
    included). ``source_type`` is the extractor reading ``source`` (``csv``, ``ccda``);
    ``extra`` are more `RunSettings` (a time zone, a quarantine threshold)."""
    import uuid

    from migrate.config import RunSettings
    from migrate.pipeline import run_pipeline

    settings = RunSettings(
        mappings=pack, source={"type": source_type, "path": str(source)},
        target={"type": "ndjson", "path": str(out / "ndjson")}, output=out,
        namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
        source_system="urn:emr-migrate:bench", progress=False, chunk_size=5000, **extra)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = run_pipeline(settings)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    total = sum(report.resources.values())
    return {"resources": total, "rows": report.read, "quarantined": report.quarantined,
            "cpu_s": cpu, "wall_s": wall, "per_core": total / cpu}


def run_floor(source: Path, tables: list[str], resources: int, out: Path) -> dict[str, float]:
    """pandas read of the same CSVs + orjson write of ``resources`` plain dicts.

    Returns CPU and wall seconds, ``per_core`` (resources per CPU second) and ``per_s``
    (resources per wall second).
    """
    import orjson
    import pandas as pd

    cpu0, wall0 = time.process_time(), time.perf_counter()
    frames = [_read(pd, source / f"{t}.csv") for t in tables]
    rows = (r for f in frames for r in f.to_dict("records"))
    with (out / "floor.ndjson").open("wb") as fh:
        for i in range(resources):
            row = next(rows, None)
            if row is None:
                rows = (r for f in frames for r in f.to_dict("records"))
                row = next(rows)
            fh.write(orjson.dumps({"resourceType": "Basic", "id": str(i), **row}) + b"\n")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"cpu_s": cpu, "wall_s": wall, "per_core": resources / cpu, "per_s": resources / wall}


def _read(pd: Any, path: Path) -> Any:
    """A CSV as text columns: pyarrow's reader, or pandas' own where values hold line breaks
    (pyarrow's fast path does not take them; a clinical note does)."""
    try:
        return pd.read_csv(path, dtype=str, engine="pyarrow")
    except pd.errors.ParserError:
        return pd.read_csv(path, dtype=str, keep_default_na=False)


class Progress:
    """Progress lines on stderr, at most one every ``every`` seconds (plus the forced ones)."""

    def __init__(self, label: str, total: int, every: float = 15.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.t0 = self.last = time.perf_counter()

    def update(self, done: int, *, force: bool = False) -> None:
        """Report ``done`` of ``total`` with the pace so far and the time left at that pace."""
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.t0
        pace = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / pace if pace > 0 else 0.0
        note(f"{self.label}: {done:,}/{self.total:,} ({100 * done / max(self.total, 1):.0f}%), "
             f"{pace:,.0f}/s, {elapsed:.0f}s elapsed, ~{left:.0f}s left")


def note(message: str) -> None:
    """One line on stderr, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
