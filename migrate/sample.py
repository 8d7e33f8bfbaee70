"""The bundled sample practices as project folders, for a wheel install (no repository).

The samples ship in the package ``migrate_sample`` (the repository's sample_data/):

* ``synthea``: migration.yaml and the Synthea CSV export synthea/ (a small practice);
* ``riverside``: riverside/migration.yaml and the WardBook CSV export of Riverside General
  Hospital (a fictional hospital EMR whose schema looks like neither Synthea nor OpenEMR).

`write_sample` copies an export into a folder (as export/) and writes its project file there,
with the installed pack by name, outputs under the folder, and a fresh random id namespace.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from migrate.errors import ConfigError, InternalError
from migrate.files import private_dir, write_atomic

SAMPLE_PACKAGE = "migrate_sample"
# Not the pack's name: a folder of the pack's name would be read as the pack (the folder wins).
EXPORT = "export"
HEADER = ("# Project file for the bundled sample practice, written by `emr-migrate sample`.\n"
          "# Run it:  emr-migrate run -c {path}\n"
          "# Relative paths below are read from this file's folder.\n")
# Settings of the repository's sample project file replaced for a standalone folder.
REPLACE = {
    "mappings": "mappings: {pack}                   # the installed pack (emr-migrate packs)",
    "source": "source: export                      # the sample's CSV files",
    "target": "target: ndjson:out/ndjson           # one <ResourceType>.ndjson per type",
    "output": "output: out                         # run.json and quarantine.ndjson",
    "  namespace": "  namespace: {namespace}   # random for this project; never change it",
}


@dataclass(frozen=True)
class Sample:
    """One bundled sample: its export's folder and project file in ``migrate_sample``."""

    export: str  # folder of the CSV files
    project: str  # the repository's project file of the sample
    pack: str  # the installed pack that maps it


SAMPLES = {
    "synthea": Sample("synthea", "migration.yaml", "synthea"),
    "riverside": Sample("riverside", "riverside/migration.yaml", "riverside"),
}


def sample_folder() -> Traversable:
    """The installed samples: ``migration.yaml``, ``synthea/`` and ``riverside/``."""
    return files(SAMPLE_PACKAGE)


def write_sample(dest: Path, source: Traversable | None = None, name: str = "synthea") -> Path:
    """Copy the export of sample ``name`` to ``dest/export`` and write ``dest/migration.yaml``;
    returns the project file. ConfigError when ``dest`` exists and is not an empty folder, or
    ``name`` is no sample."""
    if name not in SAMPLES:
        raise ConfigError(f"no sample {name!r}; samples: {', '.join(sorted(SAMPLES))}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"{dest} exists and is not an empty folder; not overwriting it")
    sample, source = SAMPLES[name], source or sample_folder()
    private_dir(dest / EXPORT)
    for item in sorted(source.joinpath(sample.export).iterdir(), key=lambda t: t.name):
        if item.name.endswith(".csv"):
            write_atomic(dest / EXPORT / item.name, item.read_bytes(), sync=False)
    project = dest / "migration.yaml"
    text = project_text(source.joinpath(sample.project).read_text(encoding="utf-8"),
                        uuid.uuid4(), project, sample.pack)
    write_atomic(project, text.encode())  # 0600: the namespace reverses resource ids
    return project


def project_text(text: str, namespace: uuid.UUID, path: Path, pack: str = "synthea") -> str:
    """A sample's repository project file made standalone (see `REPLACE`)."""
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    for key, line in REPLACE.items():
        body, n = re.subn(rf"^{key}:.*$", line.format(namespace=namespace, pack=pack), body,
                          flags=re.MULTILINE)
        if n != 1:
            raise InternalError(ValueError(f"sample migration.yaml has {n} '{key.strip()}:' "
                                           "lines, expected 1"))
    return HEADER.format(path=path) + body
