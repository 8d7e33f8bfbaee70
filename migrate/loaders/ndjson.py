"""Write one ``<ResourceType>.ndjson`` file per type (FHIR Bulk Data format)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from migrate.loaders.base import LOADERS, Loader, LoadSummary


@LOADERS.register("ndjson")
class NdjsonLoader(Loader):
    """NDJSON files in a folder; earlier ``*.ndjson`` files there are replaced by the run."""

    name = "ndjson"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__()
        self._files: dict[str, IO[bytes]] = {}

    def describe(self) -> str:
        """``ndjson:<folder>``."""
        return f"ndjson:{self.path}"

    def open(self) -> None:
        """Create the folder and remove NDJSON files of an earlier run."""
        self.path.mkdir(parents=True, exist_ok=True)
        for old in self.path.glob("*.ndjson"):
            old.unlink()

    def _send(self, resources: list[dict[str, Any]]) -> None:
        written = self.summary.written
        files = self._files
        for res in resources:
            rtype = res["resourceType"]
            fh = files.get(rtype)
            if fh is None:
                fh = files[rtype] = (self.path / f"{rtype}.ndjson").open("ab")
            fh.write(orjson.dumps(res) + b"\n")
            written[rtype] += 1

    def load_raw(self, items: list[tuple[str, bytes]]) -> None:
        """Write resources already serialized as JSON: ``(resourceType, bytes)`` pairs."""
        written = self.summary.written
        files = self._files
        for rtype, data in items:
            fh = files.get(rtype)
            if fh is None:
                fh = files[rtype] = (self.path / f"{rtype}.ndjson").open("ab")
            fh.write(data + b"\n")
            written[rtype] += 1

    def close(self) -> LoadSummary:
        """Close every file."""
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        return super().close()
