"""The bundled sample practice as a project folder, for a wheel install (no repository).

The sample ships in the package ``migrate_sample`` (the repository's sample_data/:
migration.yaml and the Synthea CSV export synthea/). `write_sample` copies the export into a
folder (as export/) and writes its project file there, with the installed ``synthea`` pack by
name, outputs under the folder, and a fresh random id namespace.
"""

from __future__ import annotations

import re
import uuid
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from migrate.errors import ConfigError, InternalError
from migrate.files import private_dir, write_atomic

SAMPLE_PACKAGE = "migrate_sample"
# Not "synthea": a folder of the pack's name would be read as the pack (the folder wins).
EXPORT = "export"
HEADER = ("# Project file for the bundled sample practice, written by `emr-migrate sample`.\n"
          "# Run it:  emr-migrate run -c {path}\n"
          "# Relative paths below are read from this file's folder.\n")
# Settings of the repository's sample_data/migration.yaml replaced for a standalone folder.
REPLACE = {
    "mappings": "mappings: synthea                   # the installed pack (emr-migrate packs)",
    "source": "source: export                      # the sample's Synthea CSV files",
    "target": "target: ndjson:out/ndjson           # one <ResourceType>.ndjson per type",
    "output": "output: out                         # run.json and quarantine.ndjson",
    "  namespace": "  namespace: {namespace}   # random for this project; never change it",
}


def sample_folder() -> Traversable:
    """The installed sample: ``migration.yaml`` and ``synthea/``."""
    return files(SAMPLE_PACKAGE)


def write_sample(dest: Path, source: Traversable | None = None) -> Path:
    """Copy the sample export to ``dest/export`` and write ``dest/migration.yaml``; returns
    the project file. ConfigError when ``dest`` exists and is not an empty folder."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"{dest} exists and is not an empty folder; not overwriting it")
    source = source or sample_folder()
    private_dir(dest / EXPORT)
    for item in sorted(source.joinpath("synthea").iterdir(), key=lambda t: t.name):
        if item.name.endswith(".csv"):
            write_atomic(dest / EXPORT / item.name, item.read_bytes(), sync=False)
    project = dest / "migration.yaml"
    text = project_text(source.joinpath("migration.yaml").read_text(encoding="utf-8"),
                        uuid.uuid4(), project)
    write_atomic(project, text.encode())  # 0600: the namespace reverses resource ids
    return project


def project_text(text: str, namespace: uuid.UUID, path: Path) -> str:
    """The repository's sample project file made standalone (see `REPLACE`)."""
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    for key, line in REPLACE.items():
        body, n = re.subn(rf"^{key}:.*$", line.format(namespace=namespace), body,
                          flags=re.MULTILINE)
        if n != 1:
            raise InternalError(ValueError(f"sample migration.yaml has {n} '{key.strip()}:' "
                                           "lines, expected 1"))
    return HEADER.format(path=path) + body
