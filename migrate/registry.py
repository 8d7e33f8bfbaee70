"""A small generic registry: plugins are chosen by name, unknown names list the valid ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from migrate.errors import UnknownPluginError

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

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
