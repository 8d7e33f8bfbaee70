"""``emr-migrate plugins``: every installed plugin by kind, with the distribution that
provides it, its declared capabilities and its options (``--schema``: as JSON Schema)."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import click

from migrate.commands import CONTEXT

KINDS = ("extractors", "targets", "executors", "packs", "transforms")


@dataclass
class PluginInfo:
    """One plugin as `emr-migrate plugins` lists it: its ``kind``, ``name`` and
    ``distribution`` (name and version); ``error`` when it cannot be loaded; else, from its
    declarations, the options' JSON ``schema``, the ``capabilities`` it declares true, its
    string ``forms`` and its ``options`` (name, type, default, description)."""

    kind: str
    name: str
    distribution: str
    error: str | None = None
    schema: dict[str, Any] | None = None
    capabilities: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    options: list[dict[str, str]] = field(default_factory=list)


def _registries() -> dict[str, Any]:
    from migrate.executors import EXECUTORS
    from migrate.extractors.base import EXTRACTORS
    from migrate.loaders.base import LOADERS
    from migrate.mappers.transforms import TRANSFORMS

    return {"extractors": EXTRACTORS, "targets": LOADERS, "executors": EXECUTORS,
            "transforms": TRANSFORMS}


def catalog() -> list[PluginInfo]:
    """Every plugin of every kind; one that cannot be loaded carries its ``error``."""
    from migrate.errors import ConfigError
    from migrate.plugins import distribution_of, entry_points

    out: list[PluginInfo] = []
    registries = _registries()
    for kind in KINDS:
        registry = registries.get(kind)
        if registry is None:  # packs: listed from their entry points alone
            out += [PluginInfo(kind, ep.name, distribution_of(ep))
                    for ep in entry_points(f"migrate.{kind}")]
            continue
        for name in registry.names():
            info = PluginInfo(kind, name, registry.distribution(name))
            try:
                _describe(info, registry.get(name))
            except ConfigError as exc:
                info.error = str(exc)
            out.append(info)
        if kind == "transforms":  # transforms declared by other distributions
            out += [PluginInfo(kind, ep.name, distribution_of(ep))
                    for ep in entry_points("migrate.transforms") if ep.name not in registry]
    return out


def _describe(info: PluginInfo, plugin: Any) -> None:
    """Fill capabilities, string forms and options from the plugin's declarations."""
    # deferred: the registry imports pydantic (~0.1 s) that `emr-migrate --help` does not need
    from migrate.registry import NoOptions, Plugin

    if not (isinstance(plugin, type) and issubclass(plugin, Plugin)):
        return  # a transform: a function, described by its docstring in the docs
    caps = plugin.capabilities
    if dataclasses.is_dataclass(caps):
        info.capabilities = [f.name for f in dataclasses.fields(caps) if getattr(caps, f.name)]
    info.forms = list(plugin.text_forms)
    model = plugin.Options
    if model is not NoOptions:
        info.schema = model.model_json_schema()
        info.options = [{"name": f.alias or name, "type": _type_name(f.annotation),
                         "default": "required" if f.is_required() else _default(f),
                         "description": f.description or ""}
                        for name, f in model.model_fields.items()]


def _type_name(annotation: Any) -> str:
    """A readable type: ``int``, ``str | None``, ``dict[str, str]``, ``Literal['a', 'b']``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is None and isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:typing|[a-z_]+(?:\.[a-z_]+)*)\.(?=[A-Za-z])", "", str(annotation))


def _default(f: Any) -> str:
    return "computed" if f.default_factory is not None else repr(f.default)


def render(infos: list[PluginInfo]) -> str:
    """The listing as text, by kind."""
    lines: list[str] = []
    for kind in KINDS:
        found = [i for i in infos if i.kind == kind]
        if not found and kind == "packs":
            continue
        lines.append(f"{kind}:")
        for i in found:
            lines.append(f"  {i.name}  ({i.distribution})")
            if i.error:
                lines.append(f"    cannot be loaded: {i.error}")
            if i.capabilities:
                lines.append(f"    capabilities: {', '.join(i.capabilities)}")
            if i.forms:
                lines.append(f"    --{'source' if kind == 'extractors' else 'target'}: "
                             f"{' | '.join(i.forms)}")
            lines += [f"    {o['name']} ({o['type']}, {o['default']}): {o['description']}"
                      for o in i.options]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@click.command("plugins", context_settings=CONTEXT)
@click.option("--schema", is_flag=True,
              help="Print the options models of extractors and targets as JSON Schema.")
def plugins(schema: bool) -> None:
    """List the installed extractors, targets, executors, packs and transforms.

    Each with the distribution (and version) that provides it, the capabilities it declares
    and its options (name, type, default, description). Plugins come from the entry points
    of installed distributions; MIGRATE_LOAD_PLUGINS limits which third-party ones load.

    \b
    Example:
      emr-migrate plugins
      emr-migrate plugins --schema > plugin-options.schema.json
    """
    import orjson

    from migrate.errors import ConfigError

    infos = catalog()
    if schema:
        tree = {kind: {i.name: i.schema for i in infos if i.kind == kind and i.schema}
                for kind in ("extractors", "targets")}
        click.echo(orjson.dumps(tree, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render(infos), nl=False)
    broken = [i.error for i in infos if i.error]
    if broken:
        raise ConfigError("\n".join(broken))
