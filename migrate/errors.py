"""The one error root of emr-migrate, and the exit codes the CLI maps errors to.

Tree::

    MigrateError                 base of every error the toolkit raises on purpose
    ├── ConfigError              bad project file, flag or target (exit 2)
    │   └── UnknownPluginError   a plugin name that is not registered
    ├── MappingError             a mapping pack that does not check (exit 2)
    ├── ExtractError             a source that cannot be read (exit 2)
    ├── LoadError                a target that refuses the data (exit 4)
    │   ├── TransientLoadError   worth retrying (timeouts, 429, 5xx)
    │   └── OutputError          an output file that cannot be written: disk full (exit 4)
    └── InternalError            a bug of ours: please report it (exit 70)

The sync's own errors live next to what raises them: ``migrate.sync.lock.StateStoreBusy``
(another sync holds the store, exit 2), ``migrate.sync.lock.StateStoreError`` (exit 4) and
``migrate.sync.loader.DeleteCircuitOpen`` (exit 5).

Every message says what went wrong, where (file or table, row key, column) and, when known,
what to do about it.

Exit codes are one model, :class:`ExitCode`: an error class carries its code, a finished
command's verdict (``ok``, ``data-errors``, ``NO-GO``, ...) is turned into one by
:func:`exit_code_for`. No other module writes an exit number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code of ``emr-migrate``; :attr:`meaning` says when it is given."""

    OK = 0
    DATA_ERRORS = 1
    USAGE = 2
    VALIDATION_FAILED = 3
    RECONCILE_MISMATCH = 3  # the same code as NO-GO: a check that found a difference
    LOAD_FAILED = 4
    SYNC_ABORTED = 5
    SYNC_CONFLICTS = 6
    INTERNAL = 70  # sysexits' EX_SOFTWARE: an error we did not foresee
    INTERRUPTED = 130  # 128 + SIGINT, the shell's convention

    @property
    def meaning(self) -> str:
        """When the code is given, as ``emr-migrate --help`` and docs/architecture.md say."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.DATA_ERRORS: "data errors (a table over its quarantine threshold, a table that "
    "emitted nothing, an incomplete read, references to quarantined rows)",
    ExitCode.USAGE: "usage, configuration or source error",
    ExitCode.VALIDATION_FAILED: "`validate` says NO-GO or `reconcile` found a difference",
    ExitCode.LOAD_FAILED: "the target refused data or could not be reached, an output could "
    "not be written (disk full) or the state store failed",
    ExitCode.SYNC_ABORTED: "a sync's deletes stopped by the circuit breaker or suspended",
    ExitCode.SYNC_CONFLICTS: "sync conflicts left for review",
    ExitCode.INTERNAL: "internal error (please report it)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

VERDICTS: dict[str, ExitCode] = {
    "ok": ExitCode.OK,  # run, sync, load --replay, conflicts, reconcile
    "data-errors": ExitCode.DATA_ERRORS,  # run, sync: see RunReport.problems
    "load-errors": ExitCode.LOAD_FAILED,  # run, sync, load --replay: resources refused
    "dead-letters": ExitCode.LOAD_FAILED,  # sync: writes left as dead letters
    "deletes-suspended": ExitCode.SYNC_ABORTED,  # sync
    "conflicts": ExitCode.SYNC_CONFLICTS,  # sync, conflicts: open conflicts
    "GO": ExitCode.OK,  # validate
    "NO-GO": ExitCode.VALIDATION_FAILED,  # validate
    "mismatch": ExitCode.RECONCILE_MISMATCH,  # reconcile: the target differs
}
"""The exit code of each verdict a command can end with (errors carry their own code)."""


def exit_code_for(verdict: str) -> ExitCode:
    """The exit code of a finished command's verdict (a key of :data:`VERDICTS`).

    Raises:
        ValueError: an unknown verdict (a bug: the CLI reports it as an internal error).
    """
    try:
        return VERDICTS[verdict]
    except KeyError:
        raise ValueError(f"no exit code for verdict {verdict!r}") from None


def exit_code_help() -> str:
    """One paragraph listing every exit code with its meaning (for ``--help``)."""
    return "Exit codes: " + ", ".join(f"{int(code)} {code.meaning}" for code in ExitCode) + "."


class MigrateError(Exception):
    """Base of every deliberate emr-migrate error."""

    exit_code = ExitCode.USAGE


class ConfigError(MigrateError):
    """A project file, flag, source or target that cannot be used as given."""


class UnknownPluginError(ConfigError):
    """A plugin (extractor, loader, transform) name that is not registered."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}; valid names: {', '.join(self.known)}")


@dataclass(frozen=True)
class Problem:
    """One problem found while checking a mapping pack or a project file."""

    file: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return f"{loc}: {self.where}: {self.message}" if self.where else f"{loc}: {self.message}"


class MappingError(MigrateError):
    """A mapping pack that does not check. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the mapping pack has {len(problems)} problem(s):\n{lines}")


class ExtractError(MigrateError):
    """A source (file, table, database) that cannot be read."""


class LoadError(MigrateError):
    """A target that refused the data or could not be reached."""

    exit_code = ExitCode.LOAD_FAILED


class TransientLoadError(LoadError):
    """A load failure worth retrying: timeout, dropped connection, 429 or 5xx."""


class OutputError(LoadError):
    """An output file or folder that cannot be written (disk full, no permission)."""


class InternalError(MigrateError):
    """An error the toolkit did not foresee: a bug to report, never shown as a traceback."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, exc: BaseException) -> None:
        self.cause = type(exc).__name__
        super().__init__(f"internal error ({self.cause}); please report it, with the output of "
                         "the same command run with --debug")
