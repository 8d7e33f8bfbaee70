"""Installed packs: mapping packs found by name through the ``migrate.packs`` entry points.

A distribution declares a pack with an entry point whose object gives the pack's folder (a
function returning an ``importlib.resources`` Traversable or a path, or the path itself)::

    [project.entry-points."migrate.packs"]
    synthea = "migrate_packs:synthea"

``--mappings`` (and ``mappings:`` in a project file) is a path when it is absolute, holds a
slash or starts with ``.`` or ``~``; a bare name is an installed pack, unless a folder of that
name exists where the setting is read from: the folder wins, with a warning. Entry points are
passed in as a parameter so that resolution can be tested without installing anything.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

from migrate.errors import ConfigError, MappingError, MigrateError, Problem
from migrate.mappers.spec import UNVERSIONED, read_pack_spec
from migrate.plugins import distribution_of, entry_points

GROUP = "migrate.packs"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstalledPack:
    """A pack an installed distribution declares."""

    name: str  # the entry point's name: what --mappings NAME asks for
    folder: Path
    distribution: str  # "name version" of the distribution declaring it


@dataclass(frozen=True)
class PackIdentity:
    """What run.json and the state store record of the pack a run used."""

    name: str
    version: str  # semver text, or "unversioned"
    source: str  # "<distribution> <version>" for an installed pack, else "folder <path>"


def _entry_points(eps: Iterable[EntryPoint] | None) -> dict[str, EntryPoint]:
    """Entry points by name; the first of a name wins (emr-migrate's own come first)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(GROUP) if eps is None else eps:
        found.setdefault(ep.name, ep)
    return found


def pack_folder(ep: EntryPoint) -> Path:
    """The folder the entry point ``ep`` gives; ConfigError when it gives no folder."""
    where = f"pack {ep.name!r} ({distribution_of(ep)}, entry point {ep.value})"
    try:
        obj: Any = ep.load()
        folder = Path(str(obj() if callable(obj) else obj))
    except MigrateError:
        raise
    except Exception as exc:
        raise ConfigError(f"{where}: could not be loaded ({type(exc).__name__}: {exc})") from None
    if not folder.is_dir():
        raise ConfigError(f"{where}: gives {folder}, which is not a folder")
    return folder


def installed_packs(eps: Iterable[EntryPoint] | None = None) -> list[InstalledPack]:
    """Every installed pack, by name; one whose entry point is broken is left out (logged)."""
    out = []
    for name, ep in sorted(_entry_points(eps).items()):
        try:
            out.append(InstalledPack(name, pack_folder(ep), distribution_of(ep)))
        except ConfigError as exc:
            log.warning("warning: %s", exc)
    return out


def looks_like_path(value: str) -> bool:
    """Whether a ``--mappings`` value is a path rather than a pack name."""
    return (Path(value).is_absolute() or "/" in value or "\\" in value
            or value.startswith((".", "~")))


def resolve_mappings(value: str | Path, base: Path,
                     eps: Iterable[EntryPoint] | None = None) -> Path:
    """The pack folder ``--mappings`` (or ``mappings:``) names; relative paths from ``base``.

    Raises ConfigError (exit 2) for a bare name that is neither a folder nor an installed pack,
    listing the installed packs with "did you mean".
    """
    if isinstance(value, Path) or looks_like_path(value):
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path).resolve()
    by_name = _entry_points(eps)
    folder = base / value
    if folder.is_dir():
        if value in by_name:
            log.warning("warning: mappings %r is the folder %s, not the installed pack of that "
                        "name (write the pack's name where no such folder exists)", value,
                        folder.resolve())
        return folder.resolve()
    if value in by_name:
        folder = pack_folder(by_name[value])
        pack_version(folder, by_name[value])
        return folder
    raise ConfigError(unknown_pack_message(value, sorted(by_name), base))


def unknown_pack_message(value: str, names: list[str], base: Path) -> str:
    """Why ``value`` names no pack: what is installed, and the closest name."""
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    installed = ", ".join(names) if names else "none"
    return (f"mappings: {value!r} is neither a folder in {base} nor an installed pack "
            f"(installed packs: {installed}){hint} `emr-migrate packs` lists them; for a "
            f"folder, write a path (./{value}).")


def pack_source(folder: Path, eps: Iterable[EntryPoint] | None = None) -> str:
    """Where the pack at ``folder`` comes from: its distribution, else ``folder <path>``."""
    target = folder.resolve()
    for ep in _entry_points(eps).values():
        try:
            if pack_folder(ep).resolve() == target:
                return distribution_of(ep)
        except ConfigError:
            continue  # a broken third-party pack is not the one this run uses
    return f"folder {target}"


def pack_version(folder: Path, ep: EntryPoint | None = None) -> str:
    """The version ``pack.yaml`` declares, else ``unversioned``; an installed pack (``ep``)
    must declare one (ConfigError naming the file)."""
    problems: list[Problem] = []
    spec = read_pack_spec(folder, problems)
    if problems:
        raise MappingError(problems)
    if spec.version is None and ep is not None:
        raise ConfigError(f"{folder / 'pack.yaml'}: version: is missing; installed pack "
                          f"{ep.name!r} ({distribution_of(ep)}) must declare its version "
                          "(semver text, e.g. version: \"1.0.0\")")
    return spec.version or UNVERSIONED


def identify(folder: Path, eps: Iterable[EntryPoint] | None = None) -> PackIdentity:
    """The name, version and source of the pack at ``folder``, for run.json and the state."""
    problems: list[Problem] = []
    spec = read_pack_spec(folder, problems)
    if problems:
        raise MappingError(problems)
    return PackIdentity(spec.name, spec.version or UNVERSIONED, pack_source(folder, eps))


def describe_installed(eps: Iterable[EntryPoint] | None = None) -> list[dict[str, Any]]:
    """What `emr-migrate packs` lists: per installed pack its name, version, description,
    source, folder, number of mapping files, and the problems of its pack.yaml (if any); a
    pack whose entry point gives no folder is listed too (``path`` None, ``broken`` True),
    its problem saying why."""
    out: list[dict[str, Any]] = []
    for name, ep in sorted(_entry_points(eps).items()):
        try:
            pack = InstalledPack(name, pack_folder(ep), distribution_of(ep))
        except ConfigError as exc:
            out.append({"name": name, "version": "?", "description": "",
                        "source": distribution_of(ep), "path": None, "mappings": 0,
                        "problems": [str(exc)], "broken": True})
            continue
        problems: list[Problem] = []
        spec = read_pack_spec(pack.folder, problems)
        files = [p for p in [*pack.folder.glob("*.yaml"), *pack.folder.glob("*.yml")]
                 if p.name not in ("pack.yaml", "pack.yml")]
        out.append({"name": pack.name, "version": spec.version or UNVERSIONED,
                    "description": " ".join((spec.description or "").split()),
                    "source": pack.distribution, "path": str(pack.folder),
                    "mappings": len(files), "problems": [str(p) for p in problems],
                    "broken": False})
    return out
