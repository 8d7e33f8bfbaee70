"""What the source says the target should hold: ids per type and a sample of resources."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from migrate.config import RunSettings
from migrate.errors import ConfigError


@dataclass
class Expected:
    """Per resource type: every id the mappings produce, and a random sample of resources."""

    sample_size: int
    seed: int = 0
    ids: dict[str, set[str]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - sampling, not security

    def add(self, resources: Iterable[dict[str, Any]]) -> None:
        """Count resources in; keep a reservoir sample of ``sample_size`` per type."""
        for res in resources:
            rtype, rid = res["resourceType"], res["id"]
            self.ids.setdefault(rtype, set()).add(rid)
            n = self._seen[rtype] = self._seen.get(rtype, 0) + 1
            sample = self.samples.setdefault(rtype, [])
            if len(sample) < self.sample_size:
                sample.append(res)
            else:
                slot = self._rng.randrange(n)
                if slot < self.sample_size:
                    sample[slot] = res


def expected_from_source(settings: RunSettings, sample: int, seed: int = 0) -> Expected:
    """Run the pipeline (extract, map, validate) with a loader that only collects."""
    from migrate.loaders.null import NullLoader
    from migrate.pipeline import run_pipeline

    expected = Expected(sample, seed)
    with tempfile.TemporaryDirectory(prefix="emr-reconcile-") as tmp:
        quiet = settings.model_copy(update={"output": Path(tmp), "progress": settings.progress})
        run_pipeline(quiet, loader=NullLoader(observer=expected.add))
    return expected


def expected_from_ndjson(folder: Path, sample: int, seed: int = 0) -> Expected:
    """Read the ``<Type>.ndjson`` files of an earlier run's NDJSON output."""
    files = sorted(folder.glob("*.ndjson"))
    if not files:
        raise ConfigError(f"{folder} has no *.ndjson files; give the folder an NDJSON run wrote")
    expected = Expected(sample, seed)
    for path in files:
        with path.open("rb") as fh:
            expected.add(orjson.loads(line) for line in fh if line.strip())
    return expected
