"""Finding plugins: the entry points of installed distributions, built-ins included.

emr-migrate registers its own extractors, targets, executors and packs through the same entry
point groups a third-party package uses (see ``[project.entry-points.*]`` in pyproject.toml),
so a package adds a plugin without touching ours. Groups:

``migrate.extractors`` · ``migrate.loaders`` · ``migrate.executors`` · ``migrate.packs`` ·
``migrate.transforms``

``MIGRATE_LOAD_PLUGINS`` (a comma-separated list of distribution names, spaces and case
ignored) limits which
third-party distributions are loaded; emr-migrate's own are always loaded.
"""

from __future__ import annotations

import os
from importlib import metadata

GROUPS = ("migrate.extractors", "migrate.loaders", "migrate.executors", "migrate.packs",
          "migrate.transforms")
OWN_DISTRIBUTION = "emr-migrate"


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def allowed(dist_name: str | None) -> bool:
    """Whether a distribution's plugins may load (``MIGRATE_LOAD_PLUGINS`` allow-list)."""
    if dist_name is None or _normal(dist_name) == OWN_DISTRIBUTION:
        return True
    allow = os.environ.get("MIGRATE_LOAD_PLUGINS")
    if allow is None:
        return True
    return _normal(dist_name) in {_normal(n.strip()) for n in allow.split(",") if n.strip()}


def entry_points(group: str) -> list[metadata.EntryPoint]:
    """The allowed entry points of ``group``, emr-migrate's own first, then by name."""
    found = [ep for ep in metadata.entry_points(group=group)
             if allowed(ep.dist.name if ep.dist else None)]
    return sorted(found, key=lambda ep: (not _own(ep), ep.name))


def _own(ep: metadata.EntryPoint) -> bool:
    return ep.dist is not None and _normal(ep.dist.name) == OWN_DISTRIBUTION


def distribution_of(ep: metadata.EntryPoint) -> str:
    """``name version`` of the distribution that declares ``ep`` (for listings)."""
    if ep.dist is None:
        return "unknown"
    return f"{ep.dist.name} {ep.dist.version}"
