"""The loader (target) contract: options errors, describe, counting, and abort."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

from migrate.loaders.base import open_loader
from migrate.testing._common import check_misspelt_option


class LoaderContract:
    """Contract tests for a loader. Subclass it and define the fixture ``target``: the
    options (``type`` included) of a target to write to; a ``path`` option names the folder a
    file target writes into, which must start empty."""

    secret: ClassVar[str | None] = None
    """A secret in the options (a token in the URL) that ``describe`` must not show."""
    resources: ClassVar[list[dict[str, Any]]] = [
        *({"resourceType": "Patient", "id": f"contract-p{i}", "active": True} for i in range(3)),
        *({"resourceType": "Organization", "id": f"contract-o{i}", "name": f"Org {i}"}
          for i in range(2))]

    @pytest.fixture
    def target(self) -> dict[str, Any]:
        """The target's options, ``type`` included: define it."""
        raise NotImplementedError("define the fixture 'target' in your contract subclass")

    def test_a_misspelt_option_is_refused_with_did_you_mean(
            self, target: dict[str, Any]) -> None:
        check_misspelt_option(open_loader, target)

    def test_describe_shows_no_secret(self, target: dict[str, Any]) -> None:
        text = open_loader(target).describe()
        assert text
        if self.secret:
            assert self.secret not in text

    def test_every_resource_written_is_counted(self, target: dict[str, Any]) -> None:
        loader = open_loader(target)
        loader.open()
        loader.load(self.resources[:2])
        loader.load(self.resources[2:])
        summary = loader.close()
        assert summary.written == Counter(r["resourceType"] for r in self.resources)
        assert not summary.failures

    def test_a_file_target_has_its_file_contract(self, target: dict[str, Any]) -> None:
        assert "path" not in target or isinstance(self, FileTargetContract), (
            "a target that writes into a folder: add FileTargetContract to the bases")


class FileTargetContract:
    """For targets that write files into a folder (a ``path`` option): add it to the bases."""

    resources: ClassVar[list[dict[str, Any]]]

    def test_abort_leaves_no_partial_file(self, target: dict[str, Any]) -> None:
        loader = open_loader(target)
        loader.open()
        loader.load(self.resources)
        loader.abort()
        folder = Path(target["path"])
        left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        assert left == [], f"abort left {left} in {folder}"
