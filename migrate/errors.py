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
    ├── DataErrorsOverThreshold  too many quarantined rows (exit 1)
    └── InternalError            a bug of ours: please report it (exit 70)

Every message says what went wrong, where (file or table, row key, column) and, when known,
what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_DATA_ERRORS = 1
EXIT_USAGE = 2
EXIT_VALIDATION_FAILED = 3  # `emr-migrate validate` says NO-GO
EXIT_LOAD_FAILED = 4
EXIT_INTERNAL = 70  # an error we did not foresee (sysexits' EX_SOFTWARE): please report it


class MigrateError(Exception):
    """Base of every deliberate emr-migrate error."""

    exit_code = EXIT_USAGE


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

    exit_code = EXIT_LOAD_FAILED


class TransientLoadError(LoadError):
    """A load failure worth retrying: timeout, dropped connection, 429 or 5xx."""


class OutputError(LoadError):
    """An output file or folder that cannot be written (disk full, no permission)."""


class DataErrorsOverThreshold(MigrateError):
    """More rows were quarantined than the project allows."""

    exit_code = EXIT_DATA_ERRORS


class InternalError(MigrateError):
    """An error the toolkit did not foresee: a bug to report, never shown as a traceback."""

    exit_code = EXIT_INTERNAL

    def __init__(self, exc: BaseException) -> None:
        self.cause = type(exc).__name__
        super().__init__(f"internal error ({self.cause}); please report it, with the output of "
                         "the same command run with --debug")
