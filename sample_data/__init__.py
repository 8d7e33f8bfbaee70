"""The bundled sample practice, installed as the package ``migrate_sample``.

Only ``migration.yaml`` with the Synthea CSV export in ``synthea/``, and
``riverside/migration.yaml`` with the WardBook CSV export in ``riverside/``, ship in the wheel (see
``[tool.setuptools.package-data]`` in pyproject.toml and setup.py; the generators stay out);
``emr-migrate sample [--name riverside] DIR`` copies one into a project folder.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def folder() -> Traversable:
    """The folder holding ``migration.yaml``, ``synthea/`` and ``riverside/``."""
    return files(__name__)
