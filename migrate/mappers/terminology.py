"""CSV concept maps: code translation as data (one file per map, in the pack's ``concept_maps/``).

A concept map is a CSV file whose name (without ``.csv``) is the map's name, with the columns::

    source_code,target_system,target_code,target_display[,source_system][,comment]

Each source code appears once. ``target_system`` may be empty when the target is a plain FHIR
``code`` (for example ``male`` for ``Patient.gender``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from migrate.errors import Problem
from migrate.files import inside

REQUIRED_COLUMNS = ("source_code", "target_system", "target_code", "target_display")
OPTIONAL_COLUMNS = ("source_system", "comment")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a source code translates to."""

    system: str | None
    code: str
    display: str | None

    def coding(self) -> dict[str, str]:
        """The target as a FHIR Coding dict, without empty members."""
        out = {"system": self.system, "code": self.code, "display": self.display}
        return {k: v for k, v in out.items() if v}


@dataclass
class ConceptMap:
    """One concept map: source code to target, read from a CSV file."""

    name: str
    path: Path
    entries: dict[str, Target]
    source_system: str | None = None

    def get(self, code: str) -> Target | None:
        """The target of ``code``, or None when the code is unmapped."""
        return self.entries.get(code)


def read_concept_map(path: Path, problems: list[Problem]) -> ConceptMap | None:
    """Read one concept map CSV, appending every problem found (with its line) to ``problems``."""
    name = path.stem
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
            if missing or unknown:
                what = []
                if missing:
                    what.append(f"missing column(s) {', '.join(missing)}")
                if unknown:
                    what.append(f"unknown column(s) {', '.join(unknown)}")
                problems.append(Problem(str(path), 1, "header", "; ".join(what)))
                return None
            return _read_rows(name, path, reader, problems)
    except OSError as exc:
        problems.append(Problem(str(path), None, "", f"cannot read: {exc.strerror}"))
        return None


def _read_rows(
    name: str, path: Path, reader: csv.DictReader[str], problems: list[Problem]
) -> ConceptMap:
    entries: dict[str, Target] = {}
    systems: set[str] = set()
    for line, row in enumerate(reader, start=2):
        src, code = (row.get("source_code") or "").strip(), (row.get("target_code") or "").strip()
        if not src or not code:
            problems.append(
                Problem(str(path), line, "row", "source_code and target_code are required"))
            continue
        if src in entries:
            problems.append(Problem(str(path), line, "row", f"source code {src!r} appears twice"))
            continue
        entries[src] = Target(
            (row.get("target_system") or "").strip() or None,
            code,
            (row.get("target_display") or "").strip() or None,
        )
        if row.get("source_system"):
            systems.add(row["source_system"].strip())
    source_system = systems.pop() if len(systems) == 1 else None
    return ConceptMap(name, path, entries, source_system)


def read_concept_maps(folder: Path, problems: list[Problem]) -> dict[str, ConceptMap]:
    """Read every ``*.csv`` concept map in ``folder`` (absent folder: no maps)."""
    maps: dict[str, ConceptMap] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.csv")):
            if not inside(path, folder.parent):
                problems.append(Problem(str(path), None, "", "a link to a file outside the "
                                        "pack; copy the file into the pack instead"))
                continue
            cmap = read_concept_map(path, problems)
            if cmap is not None:
                maps[cmap.name] = cmap
    return maps
