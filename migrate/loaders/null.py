"""A loader that writes nothing: the target of dry runs (`emr-migrate validate`).

Resources are counted as if written, and can be handed to an ``observer`` (a callable taking
each chunk) so that checks over the whole output (references, US Core elements) see exactly
what a real run would load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrate.loaders.base import Loader

Observer = Callable[[list[dict[str, Any]]], None]


class NullLoader(Loader):
    """Discards every resource after showing it to the optional ``observer``."""

    name = "null"

    def __init__(self, observer: Observer | None = None) -> None:
        self.observer = observer
        super().__init__()

    def describe(self) -> str:
        """``null`` (nothing is loaded)."""
        return "null (dry run: nothing is loaded)"

    def _send(self, resources: list[dict[str, Any]]) -> None:
        if self.observer is not None:
            self.observer(resources)
        written = self.summary.written
        for res in resources:
            written[res["resourceType"]] += 1
