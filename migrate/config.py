"""The project file (``migration.yaml``) and the run settings built from it and from flags.

Precedence: command-line flag > project file > default. Secrets never live in the file: a
value written ``${NAME}`` is read from the environment variable NAME.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from migrate.errors import ConfigError, MappingError
from migrate.mappers.installed import resolve_mappings
from migrate.mappers.spec import parse_model
from migrate.mappers.yamlio import read_yaml

_STRICT = ConfigDict(extra="forbid")
DEFAULT_OUTPUT = "out"
DEFAULT_TARGET = "ndjson:out/ndjson"


class IdentityConfig(BaseModel):
    """How resource ids are made. Set once per migration; never change it mid-migration."""

    model_config = _STRICT
    namespace: uuid.UUID | None = Field(None, description="Random UUID for this migration.")
    source_system: str | None = Field(None, description="URI naming the legacy EMR instance.")


class ThresholdConfig(BaseModel):
    """When a run counts as failed for its data (exit code 1)."""

    model_config = _STRICT
    max_quarantine_rate: float = Field(0.01, ge=0, le=1,
                                       description="Largest share of rows quarantined, over "
                                       "the run and in each table.")
    tables: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="A table's (or mapping's) own largest share of rows "
        "quarantined, by name: {encounters: 0.05}.")
    max_dangling_references: int = Field(
        0, ge=0, description="Most references a run may emit to rows it quarantined.")


class ValidateConfig(BaseModel):
    """``validate:``: when `emr-migrate validate` says NO-GO (exit code 3)."""

    model_config = _STRICT
    max_quarantine_rate: float | None = Field(
        None, ge=0, le=1, description="Largest share of rows quarantined (default: "
        "thresholds.max_quarantine_rate).")
    max_unmapped_code_rate: float = Field(
        0.01, ge=0, le=1, description="Largest share of rows whose code fell to an "
        "unmapped-code policy (uses per rows read).")
    max_dangling_references: int = Field(
        0, ge=0, description="Most references to resources the output does not contain.")
    fail_on_critical_expectations: bool = Field(
        True, description="A failed critical source expectation means NO-GO.")
    expectations: str | None = Field(
        None, description="Source expectations: a YAML file or folder (default: the pack's "
        "expectations/ folder).")


class ProjectConfig(BaseModel):
    """``migration.yaml``. Relative paths are read from the file's folder."""

    model_config = _STRICT
    version: Literal[1] = 1
    mappings: str | None = Field(None, description="Mapping pack: a folder, or the name of "
                                   "an installed pack (`emr-migrate packs` lists them).")
    source: str | dict[str, Any] | None = Field(None, description="CSV folder or SQL URL.")
    target: str | dict[str, Any] | None = Field(None, description="ndjson:DIR, bundles:DIR or URL.")
    targets: dict[str, dict[str, Any]] | None = Field(
        None, description="Named target profiles; `--target NAME` picks one.")
    output: str | None = Field(None, description="Folder for run.json and quarantine.ndjson.")
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    timezone: str | None = Field(None, description="Zone of naive source datetimes.")
    chunk_size: int | None = Field(None, ge=1)
    bundle_size: int | None = Field(None, ge=1)
    thresholds: ThresholdConfig = Field(default_factory=ThresholdConfig)
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")


class RunSettings(BaseModel):
    """Everything a run needs, resolved (absolute paths, defaults applied)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mappings: Path
    source: dict[str, Any]
    target: dict[str, Any]
    output: Path
    namespace: uuid.UUID
    source_system: str
    timezone: str | None = None  # None: the pack's default, else UTC
    chunk_size: int = 5000
    max_quarantine_rate: float = 0.01
    table_quarantine_rates: dict[str, float] = Field(default_factory=dict)
    max_dangling_references: int = 0
    progress: bool = True
    executor: str = "local"  # "local" (in-process) or "dask"
    scheduler: str | None = None  # dask: scheduler address; None starts a LocalCluster
    workers: int | None = None  # dask LocalCluster: worker processes (default: CPU count)
    partitions: int | None = None  # dask: key ranges per table (default: 2 per worker)
    show_values: bool = False  # source values (unmapped codes) in run.json and reports


def read_project(path: Path) -> ProjectConfig:
    """Read and check a project file, reporting every problem with its line (and warning when
    group or others can read it: its namespace reverses resource ids)."""
    from migrate.files import warn_if_open

    warn_if_open(path, "project")
    try:
        data = read_yaml(path)
    except MappingError as exc:
        raise ConfigError(str(exc)) from None
    data = _expand_env(data, str(path))
    cfg, problems = parse_model(ProjectConfig, data, str(path))
    problems = sorted([*problems, *_target_problems(data, str(path))],
                      key=lambda p: (p.line or 0, p.where))
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"project file has {len(problems)} problem(s):\n{lines}")
    return cfg


def _target_problems(data: Any, file: str) -> list[Any]:
    """Every problem of the fhir-server target profiles (``target``, ``targets.NAME``)."""
    from migrate.loaders.fhir_server import target_problems

    if not isinstance(data, dict):
        return []
    found = target_problems(data.get("target"), file, "target")
    named = data.get("targets")
    for name, node in named.items() if isinstance(named, dict) else ():
        found += target_problems(node, file, f"targets.{name}")
    return found


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(node: Any, file: str) -> Any:
    if isinstance(node, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise ConfigError(f"{file}: environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]
        return _ENV.sub(sub, node)
    if isinstance(node, dict):
        for k in list(node):
            node[k] = _expand_env(node[k], file)
    elif isinstance(node, list):
        return [_expand_env(v, file) for v in node]
    return node


def parse_source(value: str | dict[str, Any], base: Path) -> dict[str, Any]:
    """A source flag or setting as extractor options (``type`` plus its options): a string
    goes to the extractor that claims it; a ``path`` is read from ``base``."""
    from migrate.extractors.base import EXTRACTORS, parse_source_text

    if isinstance(value, dict):
        opts = dict(value)
        if "type" not in opts:
            raise ConfigError(f"source: 'type' is required ({' or '.join(EXTRACTORS.names())})")
    else:
        opts = parse_source_text(value)
        if opts["type"] == "sql":
            opts["url"] = _sqlite_relative(opts["url"], base)
    if "path" in opts:
        opts["path"] = str(_resolve(opts["path"], base))
    return opts


def _sqlite_relative(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url != prefix:
        return prefix + str(_resolve(url[len(prefix):], base))
    return url


def parse_target_setting(value: str | dict[str, Any], base: Path) -> dict[str, Any]:
    """A target flag or setting as loader options, paths made absolute."""
    from migrate.loaders.base import parse_target

    opts = parse_target(value) if isinstance(value, str) else dict(value)
    if "type" not in opts:
        raise ConfigError("target: 'type' is required (ndjson, bundles or fhir-server)")
    if "path" in opts:
        opts["path"] = str(_resolve(opts["path"], base))
    if opts.get("ca_bundle"):
        opts["ca_bundle"] = str(_resolve(opts["ca_bundle"], base))
    auth = opts.get("auth")
    if isinstance(auth, dict) and auth.get("key_file"):
        opts["auth"] = {**auth, "key_file": str(_resolve(auth["key_file"], base))}
    return opts


def _resolve(path: str | Path, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def build_settings(project: ProjectConfig | None, base: Path, **flags: Any) -> RunSettings:
    """Merge flags over the project file over defaults; report every missing setting at once."""
    p = project or ProjectConfig()
    cwd = Path.cwd()

    def pick(flag: str, value: Any) -> tuple[Any, Path]:
        return (flags[flag], cwd) if flags.get(flag) is not None else (value, base)

    mappings, mbase = pick("mappings", p.mappings)
    source, sbase = pick("source", p.source)
    target, tbase = pick("target", p.target)
    target, tbase = _named_target(p, target, tbase, base)
    output, obase = pick("output", p.output)
    namespace = flags.get("namespace") or p.identity.namespace
    system = flags.get("source_system") or p.identity.source_system
    missing = [name for name, v in [("--mappings", mappings), ("--source", source),
                                    ("--namespace (identity.namespace)", namespace)] if not v]
    if missing:
        raise ConfigError(f"missing setting(s): {', '.join(missing)}. Give them as flags or in "
                          "a project file (-c migration.yaml); `emr-migrate init` writes one.")
    try:
        ns = uuid.UUID(str(namespace))
    except ValueError:
        raise ConfigError(f"identity.namespace {namespace!r} is not a UUID") from None
    bundle_size = flags.get("bundle_size") or p.bundle_size
    tgt = parse_target_setting(target or DEFAULT_TARGET, tbase if target else cwd)
    if bundle_size and _takes(tgt["type"], "bundle_size"):
        tgt.setdefault("bundle_size", bundle_size)
        if flags.get("bundle_size"):
            tgt["bundle_size"] = flags["bundle_size"]
    src = parse_source(source, sbase)
    _check_plugin_options(src, tgt)
    return RunSettings(
        mappings=resolve_mappings(mappings, mbase), source=src, target=tgt,
        output=_resolve(output or DEFAULT_OUTPUT, obase if output else cwd), namespace=ns,
        source_system=system or f"urn:uuid:{ns}",
        timezone=flags.get("timezone") or p.timezone,
        chunk_size=flags.get("chunk_size") or p.chunk_size or 5000,
        max_quarantine_rate=_first(flags.get("max_quarantine_rate"),
                                   p.thresholds.max_quarantine_rate),
        table_quarantine_rates=dict(p.thresholds.tables),
        max_dangling_references=p.thresholds.max_dangling_references,
        progress=flags.get("progress", True),
        executor=flags.get("executor") or ("dask" if flags.get("scheduler") else "local"),
        scheduler=flags.get("scheduler"),
        workers=flags.get("workers"),
        partitions=flags.get("partitions"),
        show_values=bool(flags.get("show_values")),
    )


def _takes(kind: str, option: str) -> bool:
    """Whether the target plugin ``kind`` has the option ``option``."""
    from migrate.loaders.base import LOADERS

    return kind in LOADERS and option in LOADERS.get(kind).Options.model_fields


def _check_plugin_options(source: dict[str, Any], target: dict[str, Any]) -> None:
    """Unknown source and target options, all reported at once with "did you mean"."""
    from migrate.extractors.base import EXTRACTORS
    from migrate.loaders.base import LOADERS

    problems = []
    for where, registry, opts in (("source", EXTRACTORS, source), ("target", LOADERS, target)):
        kind = opts.get("type")
        if kind not in registry:
            continue  # reported when the plugin is opened, with the valid names
        rest = {k: v for k, v in opts.items() if k != "type"}
        problems += registry.option_problems(kind, rest, where)
    if problems:
        raise ConfigError("\n".join(problems))


def build_target(project: ProjectConfig | None, base: Path, target: str | None) -> dict[str, Any]:
    """Loader options of ``--target`` (a URL, NAME or ndjson:DIR) over the project's target."""
    p = project or ProjectConfig()
    value, tbase = (target, Path.cwd()) if target else (p.target, base)
    value, tbase = _named_target(p, value, tbase, base)
    if not value:
        raise ConfigError("no target: give --target URL or set target in the project file")
    return parse_target_setting(value, tbase)


def _named_target(p: ProjectConfig, target: Any, tbase: Path, base: Path) -> tuple[Any, Path]:
    """``--target NAME`` picks ``targets.NAME``; ``--target URL`` keeps the profile's settings."""
    if isinstance(target, str) and p.targets and target in p.targets:
        return p.targets[target], base
    profile = p.target
    if (isinstance(target, str) and target.startswith(("http://", "https://"))
            and isinstance(profile, dict) and profile.get("type") == "fhir-server"):
        return {**profile, "url": target.rstrip("/")}, base
    return target, tbase


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)
