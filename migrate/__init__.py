"""emr-migrate: move a medical practice's records from a legacy EMR into a FHIR R4 EHR.

Library first: everything the CLI does is callable from here. Importing this package has no
side effects and loads no heavy dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "MigrateError",
    "RunReport",
    "RunSettings",
    "__version__",
    "build_settings",
    "load_pack",
    "read_project",
    "run_pipeline",
]

if TYPE_CHECKING:
    from migrate.config import RunSettings, build_settings, read_project
    from migrate.errors import MigrateError
    from migrate.mappers.pack import load_pack
    from migrate.pipeline import run_pipeline
    from migrate.report.model import RunReport

_LAZY = {
    "MigrateError": "migrate.errors", "RunReport": "migrate.report.model",
    "RunSettings": "migrate.config", "build_settings": "migrate.config",
    "read_project": "migrate.config", "load_pack": "migrate.mappers.pack",
    "run_pipeline": "migrate.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'migrate' has no attribute {name!r}")
