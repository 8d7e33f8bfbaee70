"""Write transaction Bundle files of ``PUT Type/id`` entries, ready to post to any server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import Field

from migrate.files import leftovers, private_dir, write_atomic
from migrate.loaders.base import (
    DEFAULT_BUNDLE_SIZE,
    Loader,
    LoadSummary,
    folder_after,
    transaction_entry,
)
from migrate.registry import PluginOptions


class BundlesOptions(PluginOptions):
    """Options of the ``bundles`` target (``target: bundles:DIR``)."""

    path: Path = Field(description="The folder that receives bundle-NNNNNN.json files.")
    bundle_size: int = Field(DEFAULT_BUNDLE_SIZE, ge=1,
                             description="Entries per transaction bundle.")


class BundleFileLoader(Loader):
    """``bundle-000001.json``, ... in a folder, each a transaction of ``bundle_size`` entries.

    Entries keep load order, so referenced resources come in earlier bundles (or earlier in
    the same bundle) than those that reference them.
    """

    name = "bundles"
    Options = BundlesOptions
    text_forms = ('bundles:DIR',)
    text_rank = 20

    def __init__(self, path: str | Path, bundle_size: int = DEFAULT_BUNDLE_SIZE) -> None:
        self.path, self.bundle_size = Path(path), bundle_size
        super().__init__()
        self._entries: list[dict[str, Any]] = []
        self._count = 0

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """``bundles:DIR``."""
        return folder_after("bundles", text)

    def describe(self) -> str:
        """``bundles:<folder>``."""
        return f"bundles:{self.path}"

    def open(self) -> None:
        """Create the folder and remove bundle files of an earlier run (finished or not)."""
        private_dir(self.path)
        for old in [*self.path.glob("bundle-*.json"), *leftovers(self.path)]:
            old.unlink()

    def _send(self, resources: list[dict[str, Any]]) -> None:
        for res in resources:
            self._entries.append(transaction_entry(res, f"urn:uuid:{res['id']}"))
            self.summary.written[res["resourceType"]] += 1
            if len(self._entries) >= self.bundle_size:
                self._flush()

    def _flush(self) -> None:
        if not self._entries:
            return
        self._count += 1
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": self._entries}
        # Each file appears whole (temporary name, then renamed) or not at all.
        write_atomic(self.path / f"bundle-{self._count:06d}.json", orjson.dumps(bundle),
                     sync=False)
        self._entries = []

    def abort(self) -> None:
        """Remove this run's bundle files: an incomplete set must not pass for a load."""
        for n in range(1, self._count + 1):
            (self.path / f"bundle-{n:06d}.json").unlink(missing_ok=True)
        self._entries, self._count = [], 0

    def close(self) -> LoadSummary:
        """Write the last, partly filled bundle."""
        self._flush()
        return super().close()
