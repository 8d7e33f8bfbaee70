"""A small generic registry: plugins are chosen by name, unknown names list the valid ones."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from migrate.errors import ConfigError, UnknownPluginError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lowercase, hyphenated names to plugin classes or functions of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None) -> Callable[[T], T] | T:
        """Register ``item`` under ``name``; usable as a decorator when ``item`` is omitted."""
        if item is not None:
            self._items[name] = item
            return item

        def deco(obj: T) -> T:
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the plugin registered as ``name`` or raise an error listing the valid names."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownPluginError(self.kind, name, list(self._items)) from None

    def create(self, name: str, options: dict[str, Any], where: str) -> Any:
        """Instantiate the plugin ``name`` with ``options``, refusing unknown option names
        (with "did you mean") before the plugin sees them. ``where`` names the setting."""
        problems = self.option_problems(name, options, where)
        if problems:
            raise ConfigError("; ".join(problems))
        return self.get(name)(**options)  # type: ignore[operator]

    def option_problems(self, name: str, options: dict[str, Any], where: str) -> list[str]:
        """One message per option the plugin ``name`` does not take, with "did you mean"."""
        return [f"{where}: {self.kind} {name!r} has no option {key!r}{hint}"
                for key, hint in unknown_options(self.get(name), options)]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items


def unknown_options(item: Any, options: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, hint)`` for each option ``item``'s constructor does not take (none when it
    takes ``**options`` and checks them itself)."""
    params = inspect.signature(item).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    known = [n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    out = []
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (options: {', '.join(known)})"
            out.append((str(key), hint))
    return out
