"""Benchmark: LinuxForHealth csvtofhir side by side with our pipeline, same data, same machine.

Both sides convert the same generated Synthea CSV practice (``bench/transform.py``'s
``ensure_data``, cached under --data-dir) to FHIR R4 NDJSON, one after the other, each in its own
process and each timed from its first read to its last write after imports (CPU seconds of its
process, and wall time). "Per core" is resources divided by those CPU seconds.

- csvtofhir (PyPI ``linuxforhealth-csvtofhir==1.2.0``) runs in its own virtualenv,
  ``.tools/csvtofhir-venv`` (made on first use from a Python 3.10 or 3.9 interpreter: it pins
  pandas<1.5, which has no wheels for 3.11, plus pydantic 1 and fhir.resources 6, which clash with
  ours), through ``bench/_csvtofhir_runner.py``: its data contract there maps the nine Synthea
  tables csvtofhir has a converter for (patients, providers, encounters, allergies, conditions,
  immunizations, medications, observations, procedures). csvtofhir builds resources with pydantic
  ``construct()``, so it does not validate them; a sample of its output is validated afterwards,
  outside the clock, to show what that leaves.
- Ours runs the real pipeline (Synthea pack, every resource validated with fhir.resources plus our
  code-set and US Core checks, NDJSON target) on a copy of the pack restricted to the same tables,
  plus organizations, which Encounter.serviceProvider refers to (the pack does not load without
  it). --full-pack runs the whole pack instead.

    python bench/peer_csvtofhir.py --patients 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RUNNER = BENCH / "_csvtofhir_runner.py"
DEFAULT_VENV = REPO / ".tools" / "csvtofhir-venv"
# numpy<2: pip would otherwise pair pandas 1.4.4 (built against numpy 1.x) with numpy 2, which
# fails on import ("numpy.dtype size changed").
REQUIREMENTS = ["linuxforhealth-csvtofhir==1.2.0", "numpy<2"]
PEER_PYTHONS = ("3.10", "3.9")  # csvtofhir 1.2.0 supports 3.9 and 3.10
MARKER = ".emr-bench-installed"
# Mappings kept in our restricted pack although csvtofhir has no converter for their table:
# encounters.yaml refers to synthea.organization (Encounter.serviceProvider).
KEEP_FOR_REFS = {"organizations"}


def _peer_python(explicit: str | None) -> str:
    """An interpreter csvtofhir 1.2.0 installs on: --venv-python, else python3.10 / 3.9."""
    if explicit:
        return explicit
    candidates = [f"python{v}" for v in PEER_PYTHONS]
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for v in PEER_PYTHONS:
        candidates += sorted((str(p) for p in root.glob(f"versions/{v}.*/bin/python{v}")),
                             reverse=True)
    for cand in candidates:
        exe = shutil.which(cand) or cand
        if Path(exe).is_file() and subprocess.run(
                [exe, "--version"], capture_output=True, check=False).returncode == 0:
            return exe
    sys.exit("peer_csvtofhir: csvtofhir 1.2.0 needs Python 3.9 or 3.10 (pandas<1.5); none found. "
             "Install one or pass --venv-python.")


def ensure_venv(venv: Path, python: str | None) -> Path:
    """csvtofhir's own virtualenv, made (once) if missing; returns its python."""
    exe = venv / "bin" / "python"
    want = "\n".join(REQUIREMENTS)
    marker = venv / MARKER
    if exe.is_file() and marker.is_file() and marker.read_text() == want:
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (exe.is_file() and marker.is_file() and marker.read_text() == want):
            print(f"[peer_csvtofhir] installing {' '.join(REQUIREMENTS)} into {venv} (one-off)",
                  file=sys.stderr, flush=True)
            if not exe.is_file():
                subprocess.run([_peer_python(python), "-m", "venv", str(venv)], check=True)
            subprocess.run([str(exe), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                           check=True)
            marker.write_text(want)
    return exe


def run_peer(python: Path, source: Path, out: Path) -> dict:
    """csvtofhir through the runner, in its venv; the runner's JSON plus its stderr line count."""
    proc = subprocess.run([str(python), str(RUNNER), str(source), str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"peer_csvtofhir: the csvtofhir runner failed ({proc.returncode}):\n"
                 f"{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr_lines"] = len(proc.stderr.splitlines())
    return result


def restricted_pack(tables: set[str], folder: Path) -> Path:
    """A copy of the Synthea pack without the mappings of tables outside ``tables``."""
    import yaml

    pack = folder / "synthea"
    shutil.copytree(REPO / "mappings" / "synthea", pack)
    for path in pack.glob("*.yaml"):
        if path.name in ("pack.yaml", "pack.yml"):
            continue
        source = (yaml.safe_load(path.read_text()) or {}).get("source")
        if source and source not in tables | KEEP_FOR_REFS:
            path.unlink()
    return pack


def run_ours(mappings: Path, source: Path, out: Path) -> dict:
    """The real pipeline (as bench/transform.py runs it) with ``mappings``; pack loading timed."""
    from migrate.config import RunSettings
    from migrate.pipeline import run_pipeline

    settings = RunSettings(
        mappings=mappings, source={"type": "csv", "path": str(source)},
        target={"type": "ndjson", "path": str(out / "ndjson")}, output=out,
        namespace=uuid.UUID("6f2d3c1e-8b4a-4f0e-9d2c-1a7b5e3f9c08"),
        source_system="urn:emr-migrate:bench", progress=False, chunk_size=5000)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = run_pipeline(settings)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"by_type": dict(report.resources), "resources": sum(report.resources.values()),
            "rows": report.read, "quarantined": report.quarantined, "cpu_s": cpu, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="csvtofhir's virtualenv (made if missing)")
    parser.add_argument("--venv-python", help="interpreter for a new venv (3.9 or 3.10)")
    parser.add_argument("--full-pack", action="store_true",
                        help="run our whole Synthea pack, not the tables csvtofhir covers")
    args = parser.parse_args()

    sys.path.insert(0, str(BENCH))
    from _csvtofhir_runner import FILE_DEFINITIONS
    from transform import ensure_data

    source = ensure_data(args.patients, args.seed, args.data_dir)
    peer_python = ensure_venv(args.venv, args.venv_python)
    peer_types = sorted({d["resourceType"] for d in FILE_DEFINITIONS.values()})

    with tempfile.TemporaryDirectory(prefix="peer-csvtofhir-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "peer").mkdir()
        (tmp_path / "ours").mkdir()
        peer = run_peer(peer_python, source, tmp_path / "peer")
        mappings = (REPO / "mappings" / "synthea" if args.full_pack
                    else restricted_pack(set(FILE_DEFINITIONS), tmp_path))
        ours = run_ours(mappings, source, tmp_path / "ours")

    same = sum(n for t, n in ours["by_type"].items() if t in peer_types)
    ours.update(same_types_resources=same, per_core=round(ours["resources"] / ours["cpu_s"]),
                same_types_per_core=round(same / ours["cpu_s"]),
                pack="full" if args.full_pack else "restricted to the csvtofhir tables "
                "(+ organizations)", validates=True)
    peer.update(per_core=round(peer["resources"] / peer["cpu_s"]),
                primary_per_core=round(peer["primary_resources"] / peer["cpu_s"]),
                validates=False, validation_note=(
                    "resources are built with pydantic construct(), which skips model "
                    "validation; only fields assigned after construction are type-checked "
                    "(validate_assignment), and input rows are parsed by csvtofhir's CSV models; "
                    "no code-set or profile checks"))
    for side in (ours, peer):
        side["cpu_s"], side["wall_s"] = round(side["cpu_s"], 2), round(side["wall_s"], 2)
    result = {
        "benchmark": "peer_csvtofhir", "date": dt.date.today().isoformat(),
        "patients": args.patients, "seed": args.seed, "machine": platform.machine(),
        "cores": os.cpu_count(), "python": platform.python_version(), "types": peer_types,
        "ours": ours, "csvtofhir": peer,
        "ratio_per_core": round(ours["same_types_per_core"] / peer["per_core"], 3),
        "ratio_per_core_primary": round(ours["same_types_per_core"] / peer["primary_per_core"], 3),
    }
    print(json.dumps(result, indent=2))
    print(f"{args.patients} patients, {len(peer_types)} types: ours {same:,} validated resources, "
          f"{ours['same_types_per_core']:,}/s per core, wall {ours['wall_s']:.0f}s; csvtofhir "
          f"{peer['resources']:,} resources ({peer['primary_resources']:,} primary), "
          f"{peer['per_core']:,}/s per core ({peer['primary_per_core']:,} primary), unvalidated, "
          f"wall {peer['wall_s']:.0f}s; ours/csvtofhir {result['ratio_per_core']:.2f}x",
          file=sys.stderr)


if __name__ == "__main__":
    main()
