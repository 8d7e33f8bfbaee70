"""The bundled sample practice, installed as the package ``migrate_sample``.

Only ``migration.yaml`` and the Synthea CSV export in ``synthea/`` ship in the wheel (see
``[tool.setuptools.package-data]`` in pyproject.toml and setup.py); ``emr-migrate sample DIR``
copies them into a project folder.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def folder() -> Traversable:
    """The folder holding ``migration.yaml`` and ``synthea/``."""
    return files(__name__)
