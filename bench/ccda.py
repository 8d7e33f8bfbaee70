"""Benchmark: a folder of C-CDA documents read by the ``ccda`` source, against a bare lxml parse.

Replicates the 50 synthetic EMERGE documents of ../shared/data/ccda-samples to N distinct
documents (default 2,000; cached under --data-dir): copy k of a document gets another patient
id extension, given and family name and document id, so every copy is another patient in
another document (content hashes differ, nothing merges). Then, in the same run:

(a) the floor: read every file and parse it with lxml (the extractor's safe parser settings),
    nothing else;
(b) ours, each in a child process so that its peak memory is its own: by default the
    ``ccda`` extractor alone, every table read to the end (documents, rows and the source
    report); with ``--pipeline`` the real pipeline with the ``mappings/ccda`` pack to NDJSON
    (validated resources);
(c) peak RSS of (b) on the first 500 documents and on all N, to show memory is flat.

Per core = documents (or resources) divided by the CPU seconds of the process doing the work.

    python bench/ccda.py                      # extractor alone, 2,000 documents
    python bench/ccda.py --pipeline --repeat 3
    python bench/ccda.py --pipeline --pack PATH   # another pack (e.g. a stand-in)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import note, run_ours

REPO = Path(__file__).resolve().parents[1]
EMERGE = REPO.parent / "shared" / "data" / "ccda-samples" / "EMERGE"
PACK = REPO / "mappings" / "ccda"
V3 = "{urn:hl7-org:v3}"
SMALL = 500


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           remove_comments=True, remove_pis=True)


def replicate(documents: int, data_dir: Path) -> Path:
    """The folder of ``documents`` distinct copies of the EMERGE documents, made once."""
    folder = data_dir / f"ccda-emerge-{documents}"
    if len(list(folder.glob("*.xml"))) == documents:
        return folder
    from lxml import etree

    sources = sorted(EMERGE.glob("*.xml"))
    if not sources:
        sys.exit(f"the EMERGE samples are not at {EMERGE}")
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    keep = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for n in range(documents):
        copy, source = divmod(n, len(sources))
        root = etree.parse(str(sources[source]), keep).getroot()
        _make_another(root, f"{copy:04d}", _letters(copy))
        data = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        seen.add(hashlib.sha256(data).hexdigest())
        (folder / f"c{copy:04d}-{sources[source].name}").write_bytes(data)
    if len(seen) != documents:
        sys.exit(f"only {len(seen)} of {documents} copies differ")
    return folder


def _make_another(root: Any, number: str, letters: str) -> None:
    """Another patient (id extensions, names) in another document (its id)."""
    doc_id = root.find(f"{V3}id")
    doc_id.set("extension", f"bench-{number}")
    role = root.find(f"{V3}recordTarget/{V3}patientRole")
    for ident in role.findall(f"{V3}id"):
        ident.set("extension", f"{ident.get('extension', '')}-{number}")
    for part in role.iterfind(f"{V3}patient/{V3}name/*"):
        if part.text:
            part.text = f"{part.text}{letters}"


def _letters(n: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'ba': a suffix that keeps a name a name."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = chr(97 + r) + out
        if not n:
            return out


def subset(folder: Path, count: int) -> Path:
    """A folder holding the first ``count`` documents of ``folder`` (hard links)."""
    small = folder.parent / f"{folder.name}-first{count}"
    if len(list(small.glob("*.xml"))) == count:
        return small
    small.mkdir(exist_ok=True)
    for path in sorted(folder.glob("*.xml"))[:count]:
        target = small / path.name
        if not target.exists():
            os.link(path, target)
    return small


def floor(folder: Path) -> dict[str, float]:
    """Read and parse every file with lxml, nothing else."""
    from lxml import etree

    parser, files = _parser(), sorted(folder.glob("*.xml"))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for path in files:
        etree.fromstring(path.read_bytes(), parser)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"documents": len(files), "cpu_s": cpu, "wall_s": wall,
            "docs_per_core": len(files) / cpu}


def extract_only(folder: Path) -> dict[str, Any]:
    """The ``ccda`` extractor alone: every table read to its end."""
    from migrate.extractors import open_extractor

    cpu0, wall0 = time.process_time(), time.perf_counter()
    extractor = open_extractor("ccda", path=str(folder))
    try:
        rows = {t: sum(len(b.rows) for b in extractor.iter_batches(t))
                for t in extractor.tables()}
        report = extractor.source_report()
    finally:
        extractor.close()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"documents": report["documents"]["parsed"], "rows": sum(rows.values()),
            "cpu_s": cpu, "wall_s": wall}


def child(mode: str, folder: Path, pack: Path) -> None:
    """The measured side, in its own process: one JSON line on stdout."""
    if mode == "pipeline":
        with tempfile.TemporaryDirectory() as tmp:
            out = run_ours(folder, Path(tmp), pack, source_type="ccda",
                           max_quarantine_rate=1.0)
        out["documents"] = len(list(folder.glob("*.xml")))
    else:
        out = extract_only(folder)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(mode: str, folder: Path, pack: Path) -> dict[str, Any]:
    """Run ``child`` in a subprocess and return what it measured."""
    done = subprocess.run([sys.executable, __file__, "--child", mode, str(folder), str(pack)],
                          check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["docs_per_core"] = result["documents"] / result["cpu_s"]
    if "resources" in result:
        result["resources_per_core"] = result["resources"] / result["cpu_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "emr-bench")
    parser.add_argument("--pipeline", action="store_true",
                        help="run the mappings/ccda pack to NDJSON, not the extractor alone")
    parser.add_argument("--pack", type=Path, default=PACK,
                        help="the pack --pipeline runs (default: mappings/ccda)")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs (ours, floor)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FOLDER", "PACK"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    mode = "pipeline" if args.pipeline else "extract"
    if args.pipeline and not args.pack.is_dir():
        sys.exit(f"--pipeline needs a pack, not found at {args.pack}")
    folder = replicate(args.documents, args.data_dir)
    note(f"{args.documents} documents in {folder}; measuring {mode} and the floor")
    runs = []
    for _ in range(max(args.repeat, 1)):
        ours = measure(mode, folder, args.pack)
        runs.append({**ours, "floor_docs_per_core": floor(folder)["docs_per_core"]})
    small = measure(mode, subset(folder, min(SMALL, args.documents)), args.pack)
    report(args.documents, mode, runs, small)


def report(documents: int, mode: str, runs: list[dict[str, Any]],
           small: dict[str, Any]) -> None:
    """The medians as JSON on stdout, one summary line on stderr."""
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {"benchmark": "ccda", "mode": mode, "documents": documents,
              **{k: round(v, 2) for k, v in med.items() if k != "peak_rss_mb"},
              "share_of_floor": round(med["docs_per_core"] / med["floor_docs_per_core"], 4),
              "peak_rss_mb": {str(small["documents"]): round(small["peak_rss_mb"], 1),
                              str(documents): round(runs[0]["peak_rss_mb"], 1)},
              "peak_ratio": round(runs[0]["peak_rss_mb"] / small["peak_rss_mb"], 3)}
    if len(runs) > 1:
        result["runs"] = [{"docs_per_core": round(r["docs_per_core"]),
                           "floor_docs_per_core": round(r["floor_docs_per_core"])} for r in runs]
    print(json.dumps(result, indent=2))
    what = (f"{med['resources']:.0f} resources, {med['resources_per_core']:.0f} resources/s per "
            "core, " if "resources" in med else f"{med['rows']:.0f} rows, ")
    print(f"\n{documents} documents ({mode}): {what}{med['docs_per_core']:.0f} documents/s "
          f"per core, floor (lxml parse) {med['floor_docs_per_core']:.0f}/s "
          f"({100 * result['share_of_floor']:.1f}%), peak RSS {small['peak_rss_mb']:.0f} MB at "
          f"{small['documents']}, {runs[0]['peak_rss_mb']:.0f} MB at {documents}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
