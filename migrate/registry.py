"""A small generic registry: plugins are chosen by name, unknown names list the valid ones.

A registry with an entry-point ``group`` (`migrate.plugins`) reads that group lazily, the first
time a name is asked for or listed, and imports a plugin only when it is asked for: a plugin
that fails to import is a `ConfigError` naming its distribution and entry point, raised then
and only then. Plugin classes declare their options as a pydantic model (``Options``);
`Registry.create` checks the options against it before the plugin sees them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from migrate.errors import ConfigError, UnknownPluginError

T = TypeVar("T")
DEFAULT_TEXT_RANK = 50
"""Where a plugin's ``from_text`` is asked, by default: after the built-ins' own prefixes
(``ndjson:``, ``bundles:``, ``http(s)://``: 10-30), before the built-ins' catch-alls (any
``scheme://`` URL is ``sql``: 60; anything else is a ``csv`` folder: 90)."""


class PluginOptions(BaseModel):
    """Base of every plugin's options model: unknown keys are refused, values are frozen.

    Declare one next to the plugin with ``description=`` on every field and set it as the
    plugin class's ``Options``. Dependencies that are not configuration (an HTTP client, a
    database engine) stay keyword arguments of the constructor, outside the model.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True)


class NoOptions(PluginOptions):
    """The options of a plugin that takes none."""


class Plugin:
    """What every plugin class declares (extractors, targets, executors), with defaults; the
    registry and the CLI read these declarations and never probe a plugin for attributes."""

    name: ClassVar[str] = "base"
    capabilities: ClassVar[Any] = None
    """The kind's typed capability declaration (``ExtractorCapabilities``, ...), if it has one."""
    Options: ClassVar[type[BaseModel]] = NoOptions
    """The options model (a `PluginOptions`): the keys of ``source:`` or ``target:``."""
    text_forms: ClassVar[tuple[str, ...]] = ()
    """How the ``--source`` or ``--target`` strings this plugin reads look, for messages."""
    text_rank: ClassVar[int] = DEFAULT_TEXT_RANK
    """When `from_text` is asked, relative to other plugins of its kind (lower first)."""

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """This plugin's options (without ``type``) when ``text``, a ``--source`` or
        ``--target`` string, is in its form (see ``text_forms``); None when it is not."""
        return None


def plugin_class(kind: str, name: str, item: Any) -> type[Plugin]:
    """``item`` as a plugin class; a ConfigError when a registered item is not one."""
    if isinstance(item, type) and issubclass(item, Plugin):
        return item
    raise ConfigError(f"{kind} {name!r} ({item!r}) is not a plugin class: it must subclass "
                      "the kind's base class (Extractor, Loader, Executor)")


class Registry(Generic[T]):
    """Maps lowercase, hyphenated names to plugin classes or functions of one kind."""

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind, self.group = kind, group
        self._items: dict[str, T] = {}
        self._points: dict[str, Any] | None = None  # name -> EntryPoint, read once
        self._from_points: set[str] = set()

    def register(self, name: str, item: T | None = None) -> Callable[[T], T] | T:
        """Register ``item`` under ``name``; usable as a decorator when ``item`` is omitted."""
        if item is not None:
            self._items[name] = item
            return item

        def deco(obj: T) -> T:
            self._items[name] = obj
            return obj

        return deco

    def _entry_points(self) -> dict[str, Any]:
        """The group's entry points by name (read once; nothing is imported)."""
        if self._points is None:
            from migrate.plugins import entry_points

            self._points = {}
            for ep in entry_points(self.group) if self.group else []:
                self._points.setdefault(ep.name, ep)
        return self._points

    def get(self, name: str) -> T:
        """Return the plugin registered as ``name`` (importing its entry point the first time)
        or raise an error listing the valid names."""
        if name not in self._items:
            ep = self._entry_points().get(name)
            if ep is None:
                raise UnknownPluginError(self.kind, name, self.names())
            self._items[name] = _load(self.kind, ep)
            self._from_points.add(name)
        return self._items[name]

    def reset(self) -> None:
        """Forget the entry points read and the plugins loaded from them (they are read again
        when next asked for): for tests that install or remove a distribution."""
        for name in self._from_points:
            self._items.pop(name, None)
        self._from_points.clear()
        self._points = None

    def distribution(self, name: str) -> str:
        """``name version`` of the distribution that provides ``name`` (for listings)."""
        from migrate.plugins import distribution_of

        ep = self._entry_points().get(name)
        if ep is not None:
            return distribution_of(ep)
        if getattr(self._items.get(name), "__module__", "").startswith("migrate."):
            from migrate import __version__

            return f"emr-migrate {__version__}"
        return "registered in code"

    def create(self, name: str, options: dict[str, Any], where: str, **deps: Any) -> Any:
        """Instantiate the plugin ``name`` from ``options`` checked by its ``Options`` model
        (every problem at once: unknown keys with "did you mean", wrong types named), plus
        ``deps``, keyword arguments that are not configuration. ``where`` names the setting."""
        model = plugin_class(self.kind, name, self.get(name)).Options
        try:
            checked = model.model_validate(options)
        except ValidationError as exc:
            raise ConfigError("; ".join(self._problems(name, exc, model, where))) from None
        values = {key: getattr(checked, key) for key in checked.model_fields_set}
        return self.get(name)(**values, **deps)  # type: ignore[operator]

    def option_problems(self, name: str, options: dict[str, Any], where: str) -> list[str]:
        """One message per problem of ``options`` for the plugin ``name``."""
        model = plugin_class(self.kind, name, self.get(name)).Options
        try:
            model.model_validate(options)
        except ValidationError as exc:
            return self._problems(name, exc, model, where)
        return []

    def _problems(self, name: str, exc: ValidationError, model: type[BaseModel],
                  where: str) -> list[str]:
        known = list(model.model_fields)
        out = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = (f"; did you mean {close[0]!r}?" if close
                        else f" (options: {', '.join(known) or 'none'})")
                out.append(f"{where}: {self.kind} {name!r} has no option {key!r}{hint}")
            elif err["type"] == "missing":
                out.append(f"{where}.{key}: {self.kind} {name!r} needs this option")
            else:
                out.append(f"{where}.{key}: {err['msg']} (got {type(err['input']).__name__})")
        return out

    def from_text(self, text: str, where: str) -> dict[str, Any]:
        """Options (``type`` included) of the plugin that claims ``text`` (a ``--source`` or
        ``--target`` string). Plugins are asked in the order of their ``text_rank`` (then
        name), each through its ``from_text``; a plugin whose ``from_text`` raises is passed
        over. When none claims it, a ConfigError lists every plugin's ``text_forms`` (and any
        plugin that could not be loaded or failed to read the text)."""
        plugins, broken = [], []
        for name in self.names():
            try:
                plugin = plugin_class(self.kind, name, self.get(name))
            except ConfigError as exc:
                broken.append(str(exc))
                continue
            plugins.append((plugin.text_rank, name, plugin))
        plugins.sort(key=lambda p: (p[0], p[1]))
        for _, name, plugin in plugins:
            try:
                claimed = plugin.from_text(text)
            except Exception as exc:  # noqa: BLE001 - foreign code must not stop other plugins
                broken.append(f"{self.kind} {name!r} ({self.distribution(name)}) failed to read "
                              f"it: {type(exc).__name__}")
                continue
            if claimed is None:
                continue
            if not isinstance(claimed, dict):
                raise ConfigError(f"{where} {text!r}: {self.kind} {name!r} "
                                  f"({self.distribution(name)}) claims it but its from_text "
                                  f"answered a {type(claimed).__name__}, not options; fix or "
                                  "update that plugin")
            return {"type": name, **claimed}
        forms = [f for _, _, p in plugins for f in p.text_forms]
        listed = ", ".join(forms[:-1]) + f" or {forms[-1]}" if len(forms) > 1 else \
            "".join(forms) or f"the form of any {self.kind}"
        raise ConfigError(f"{where} {text!r} is not {listed}"
                          + "".join(f"; {b}" for b in broken))

    def names(self) -> list[str]:
        """The registered names (in code or as entry points), sorted."""
        return sorted({*self._items, *self._entry_points()})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._entry_points()


def _load(kind: str, ep: Any) -> Any:
    """Import an entry point; a failure is a ConfigError naming the distribution."""
    from migrate.plugins import distribution_of

    try:
        return ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure of foreign code
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(
            f"{kind} {ep.name!r} (entry point {ep.value!r} of {distribution_of(ep)}) cannot be "
            f"loaded: {type(exc).__name__}{': ' + first if first else ''}; reinstall or "
            "remove that distribution, or leave it out of MIGRATE_LOAD_PLUGINS") from None

