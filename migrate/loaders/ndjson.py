"""Write one ``<ResourceType>.ndjson`` file per type (FHIR Bulk Data format)."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import Field

from migrate.files import commit, discard, leftovers, open_partial, private_dir, writing
from migrate.loaders.base import Loader, LoaderCapabilities, LoadSummary, folder_after
from migrate.registry import PluginOptions


class NdjsonOptions(PluginOptions):
    """Options of the ``ndjson`` target (``target: ndjson:DIR``)."""

    path: Path = Field(description="The folder that receives one TYPE.ndjson file per type.")


class NdjsonLoader(Loader):
    """NDJSON files in a folder; earlier ``*.ndjson`` files there are replaced by the run.

    Each file is written as ``<Type>.ndjson.partial`` (0600) and renamed when the run
    finishes: a failed run removes its partial files, a killed one leaves them marked.
    """

    name = "ndjson"
    Options = NdjsonOptions
    text_forms = ('ndjson:DIR',)
    text_rank = 10
    capabilities = LoaderCapabilities(raw_resources=True)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__()
        self._files: dict[str, IO[bytes]] = {}

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """``ndjson:DIR``."""
        return folder_after("ndjson", text)

    def describe(self) -> str:
        """``ndjson:<folder>``."""
        return f"ndjson:{self.path}"

    def open(self) -> None:
        """Create the folder and remove NDJSON files of an earlier run (finished or not)."""
        private_dir(self.path)
        for old in [*self.path.glob("*.ndjson"), *leftovers(self.path)]:
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
                fh = files[rtype] = open_partial(self.path / f"{rtype}.ndjson")
            lines.append(b"")
            with writing(self.path / f"{rtype}.ndjson"):
                fh.write(b"\n".join(lines))
            written[rtype] += len(lines) - 1

    def close(self) -> LoadSummary:
        """Close every file and give it its final name."""
        for rtype, fh in self._files.items():
            path = self.path / f"{rtype}.ndjson"
            with writing(path):
                fh.close()
            commit(path)
        self._files.clear()
        return super().close()

    def abort(self) -> None:
        """Close and remove the unfinished files."""
        for rtype, fh in self._files.items():
            try:
                fh.close()
            except OSError:
                pass  # a full disk: the file is removed anyway
            discard(self.path / f"{rtype}.ndjson")
        self._files.clear()
