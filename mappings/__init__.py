"""The built-in mapping packs, installed as the package ``migrate_packs``.

This folder is the package's source (see ``[tool.setuptools.package-dir]`` in pyproject.toml):
each subfolder is a pack, shipped as package data. The functions below are the targets of the
``migrate.packs`` entry points: each gives its pack's folder.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def synthea() -> Traversable:
    """The Synthea CSV pack's folder."""
    return files(__name__) / "synthea"


def openemr() -> Traversable:
    """The OpenEMR (SQL) pack's folder."""
    return files(__name__) / "openemr"


def riverside() -> Traversable:
    """The Riverside General Hospital (WardBook CSV export) pack's folder."""
    return files(__name__) / "riverside"


def ccda() -> Traversable:
    """The C-CDA documents pack's folder (the ``ccda`` extractor's tables to US Core)."""
    return files(__name__) / "ccda"
