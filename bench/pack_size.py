"""How big a mapping pack is: the YAML a pack author writes and the concept-map rows.

Counts, for any pack folder (or installed pack name given as a path):

* mapping lines: non-blank, non-comment lines of the mapping files (``*.yaml``/``*.yml``
  except ``pack.yaml``; a comment line is one whose text starts with ``#``);
* pack.yaml lines, counted the same way, and expectation lines (``expectations/*.yaml``);
* concept-map rows: data rows of ``concept_maps/*.csv`` (the header not counted; rows are CSV
  records, so a quoted value with a line break is one row).

Usage::

    python bench/pack_size.py mappings/riverside
    python bench/pack_size.py mappings/synthea mappings/openemr --json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PackSize:
    """The counts of one pack."""

    pack: str
    # mapping_files, mapping_lines, pack_yaml_lines, expectation_lines, concept_maps,
    # concept_map_rows
    totals: Counter[str] = field(default_factory=Counter)
    per_file: dict[str, int] = field(default_factory=dict)


def yaml_lines(path: Path) -> int:
    """Non-blank lines of ``path`` that are not comments."""
    text = path.read_text(encoding="utf-8")
    return sum(1 for line in text.splitlines() if line.strip() and not
               line.lstrip().startswith("#"))


def csv_rows(path: Path) -> int:
    """Data records of a CSV file (header excluded)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return max(sum(1 for row in csv.reader(handle) if row) - 1, 0)


def measure(folder: Path) -> PackSize:
    """The counts of the pack in ``folder``."""
    size = PackSize(folder.name)
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        if path.name in ("pack.yaml", "pack.yml"):
            size.totals["pack_yaml_lines"] += yaml_lines(path)
            continue
        size.per_file[path.name] = yaml_lines(path)
        size.totals.update(mapping_files=1, mapping_lines=size.per_file[path.name])
    for path in sorted((folder / "expectations").glob("*.yaml")):
        size.totals["expectation_lines"] += yaml_lines(path)
    for path in sorted((folder / "concept_maps").glob("*.csv")):
        size.per_file[f"concept_maps/{path.name}"] = csv_rows(path)
        size.totals.update(concept_maps=1, concept_map_rows=csv_rows(path))
    return size


def render(size: PackSize) -> str:
    """One pack's counts as text."""
    t = size.totals
    lines = [f"pack {size.pack}: {t['mapping_lines']} mapping lines in {t['mapping_files']} "
             f"files, {t['pack_yaml_lines']} pack.yaml lines, {t['concept_map_rows']} "
             f"concept-map rows in {t['concept_maps']} maps, {t['expectation_lines']} "
             "expectation lines"]
    lines += [f"  {name:<40} {count:>5}" for name, count in size.per_file.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Count a mapping pack's lines and rows.")
    parser.add_argument("packs", nargs="+", type=Path, help="pack folders")
    parser.add_argument("--json", action="store_true", help="JSON instead of text")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.packs if not p.is_dir()]
    if missing:
        parser.error(f"not a folder: {', '.join(missing)}")
    sizes = [measure(p) for p in args.packs]
    if args.json:
        print(json.dumps([{"pack": s.pack, **s.totals, "per_file": s.per_file} for s in sizes],
                         indent=1))
    else:
        print("\n\n".join(render(s) for s in sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
