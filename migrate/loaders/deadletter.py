"""Dead letters: resources the target refused, kept so that they can be fixed and sent again.

``dead_letters.ndjson`` in the output folder has one JSON object per refused resource::

    {"resource": {...}, "status": 400, "outcome": {OperationOutcome},
     "source": {"table": "observations", "mapping": "synthea.observation", "rows": [{...}]},
     "attempts": 2}

``status`` is the HTTP status of the refusal (null when the loader set the entry aside itself,
e.g. a resource without an id), ``outcome`` the server's OperationOutcome, ``source`` the source
rows the resource was made from (null for resources that did not come through the pipeline) and
``attempts`` how many requests carried the entry. Fix ``resource`` in an editor, then::

    emr-migrate load --replay out/dead_letters.ndjson --target https://ehr.example.org/fhir
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from migrate.errors import ConfigError
from migrate.files import open_private, private_dir

DEAD_LETTERS_FILE = "dead_letters.ndjson"
log = logging.getLogger("migrate.loaders.deadletter")


@dataclass
class DeadLetter:
    """One refused resource, with the server's answer and where it came from."""

    resource: dict[str, Any]
    status: int | None
    outcome: Any
    source: dict[str, Any] | None = None
    attempts: int = 1

    def as_dict(self) -> dict[str, Any]:
        """The NDJSON record."""
        return {"resource": self.resource, "status": self.status, "outcome": self.outcome,
                "source": self.source, "attempts": self.attempts}


class DeadLetterWriter:
    """Appends dead letters to an NDJSON file, from any thread; the file exists only if needed.

    Args:
        path: the file to write; an existing file is replaced on the first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[bytes] | None = None
        self._lock = threading.Lock()

    def write(self, letter: DeadLetter) -> None:
        """Append one record (flushed at once, so a crash keeps what was refused so far)."""
        line = orjson.dumps(letter.as_dict(), default=str) + b"\n"
        with self._lock:
            if self._fh is None:
                private_dir(self.path.parent)
                self._fh = open_private(self.path, "wb")
            self._fh.write(line)
            self._fh.flush()
            self.count += 1

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __repr__(self) -> str:
        return f"DeadLetterWriter({str(self.path)!r}, count={self.count})"


def read_dead_letters(path: Path) -> Iterator[DeadLetter]:
    """The records of a dead-letter file; a bad line is an error naming the line."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read dead-letter file {path}: {exc.strerror}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                rec = None
            res = rec.get("resource") if isinstance(rec, dict) else None
            if not isinstance(res, dict) or "resourceType" not in res:
                raise ConfigError(f"{path}:{n}: not a dead-letter record (a JSON object with a "
                                  "'resource' that has a resourceType)")
            assert isinstance(rec, dict)
            yield DeadLetter(res, rec.get("status"), rec.get("outcome"), rec.get("source"),
                             int(rec.get("attempts") or 0))


def write_dead_letters(path: Path, letters: list[DeadLetter]) -> None:
    """Replace ``path`` with exactly ``letters``, atomically: a temporary file beside it is
    written, flushed to disk and renamed over it, so a crash leaves the old file or the new."""
    private_dir(path.parent)
    part = path.with_name(path.name + ".part")
    with open_private(part, "wb") as fh:
        for letter in letters:
            fh.write(orjson.dumps(letter.as_dict(), default=str) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    part.replace(path)


class _Refusals(DeadLetterWriter):
    """Keeps a replay's new refusals in memory, by resource, instead of writing them."""

    def __init__(self) -> None:
        super().__init__(Path(os.devnull))
        self.letters: dict[int, DeadLetter] = {}
        self.acknowledged: set[int] = set()

    def write(self, letter: DeadLetter) -> None:
        """Remember the refusal (its resource is the replayed letter's own dict)."""
        with self._lock:
            self.letters[id(letter.resource)] = letter
            self.count += 1

    def acknowledge(self, resources: list[dict[str, Any]]) -> None:
        """The target positively acknowledged these resources."""
        with self._lock:
            self.acknowledged.update(id(r) for r in resources)


@dataclass
class ReplayResult:
    """What a replay of a dead-letter file did."""

    replayed: int
    written: int
    refused: int
    dead_letters: Path | None
    summary: dict[str, Any]


def replay_dead_letters(path: Path, target: dict[str, Any], output: Path) -> ReplayResult:
    """Send the resources of a dead-letter file again.

    Every letter the target does not positively acknowledge (refused again, answered with
    something that is not a FHIR acknowledgement, or not sent because the load stopped) is
    kept in ``OUTPUT/dead_letters.ndjson`` (which may be the file replayed: it is read first),
    rewritten atomically; that file is removed only when the replayed file was that one and
    every letter was acknowledged.
    """
    from migrate.loaders.base import open_loader

    letters = list(read_dead_letters(path))  # all of it, before the output replaces it
    loader = open_loader(target)
    loader.open()
    refusals = _Refusals()
    loader.dead_letters = refusals
    exact = hasattr(loader, "on_acknowledged")  # the FHIR loader says what each answer acked
    if exact:
        loader.on_acknowledged = refusals.acknowledge  # type: ignore[attr-defined]
    summary = None
    try:
        loader.load([d.resource for d in letters], [d.source for d in letters])
        summary = loader.close()
    finally:  # kept even when the load stops half-way: what was not acknowledged stays
        keep = [refusals.letters.get(id(d.resource), d) for d in letters
                if not _acknowledged(d, refusals, exact, done=summary is not None)]
        final = _keep_letters(path, output / DEAD_LETTERS_FILE, keep)
        if summary is None:
            log.warning("replay stopped: %d of %d letters not acknowledged, kept in %s",
                        len(keep), len(letters), final)
    return ReplayResult(len(letters), len(letters) - len(keep), len(keep), final,
                        summary.as_dict())


def _acknowledged(letter: DeadLetter, refusals: _Refusals, exact: bool, done: bool) -> bool:
    key = id(letter.resource)
    if exact:
        return key in refusals.acknowledged
    return done and key not in refusals.letters  # file targets: written unless refused


def _keep_letters(replayed: Path, final: Path, keep: list[DeadLetter]) -> Path | None:
    if keep:
        write_dead_letters(final, keep)
        return final
    if final.exists() and final.resolve() == replayed.resolve():
        final.unlink()  # every letter of the replayed file is acknowledged now
    return None
