"""Write one ``<ResourceType>.ndjson`` file per type (FHIR Bulk Data format)."""

from __future__ import annotations

from operator import itemgetter
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
        dumps = orjson.dumps
        rtypes = set(map(itemgetter("resourceType"), resources))
        if len(rtypes) == 1:  # the common case: a chunk of one table, one type
            self._write({rtypes.pop(): list(map(dumps, resources))})
        else:
            self.load_raw([(res["resourceType"], dumps(res)) for res in resources])

    def load_raw(self, items: list[tuple[str, bytes]]) -> None:
        """Write resources already serialized as JSON: ``(resourceType, bytes)`` pairs."""
        by_type: dict[str, list[bytes]] = {}
        for rtype, data in items:
            lines = by_type.get(rtype)
            if lines is None:
                lines = by_type[rtype] = []
            lines.append(data)
        self._write(by_type)

    def _write(self, by_type: dict[str, list[bytes]]) -> None:
        written, files = self.summary.written, self._files
        for rtype, lines in by_type.items():
            fh = files.get(rtype)
            if fh is None:
                fh = files[rtype] = (self.path / f"{rtype}.ndjson").open("ab")
            lines.append(b"")
            fh.write(b"\n".join(lines))
            written[rtype] += len(lines) - 1

    def close(self) -> LoadSummary:
        """Close every file."""
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        return super().close()
