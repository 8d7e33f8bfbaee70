"""``emr-migrate scaffold``: a starter pack written from a source's profile."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from migrate.commands import CONTEXT


@click.command(context_settings=CONTEXT)
@click.option("--source", required=True, help="CSV export folder, or an SQLAlchemy URL "
              "(sqlite:///emr.db, mysql+pymysql://user@host/db, postgresql://...).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The new pack folder (must be new or empty, unless --force).")
@click.option("--name", help="The pack's name (default: the --out folder's name).")
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable).")
@click.option("--force", is_flag=True, help="Write into a non-empty --out: its *.yaml and "
              "*.yml files are removed first, README.md is replaced.")
@click.option("--no-progress", is_flag=True, help="Hide the progress line (shown on a "
              "terminal only).")
def scaffold(source: str, out: Path, name: str | None, tables: tuple[str, ...], force: bool,
             no_progress: bool) -> None:
    """Profile a source and write a starter mapping pack to finish by hand.

    Every table is read once (streamed; at most 100,000 distinct values kept per column, and
    the output says where that cap was reached). Keys are found by uniqueness (a few repeats
    allowed and counted), foreign keys by value containment (a few orphans allowed and
    counted), dictionary tables (code -> label) are offered as commented `lookup:` blocks;
    dates, flags, codes and numbers with thousands separators are recognised. One
    mapping per entity table, with a suggested FHIR resource, its key, references to the
    patient and encounter mappings, a valid starter template (statuses to choose are
    literals with a TODO; the main code, dates, a patient's name and birth date filled in
    where the columns are recognised) and every column listed with its type, null share and
    a TODO (a number next to its unit column: a quantity); plus pack.yaml (with `columns:`
    and commented `numbers:`, `booleans:` and `units:` suggestions) and README.md. The
    pack passes `emr-migrate check OUT --source SOURCE` as written. No value of the data is
    written: names, types, counts and shares only, and the unit spellings seen 5+ times that
    UCUM lacks (not patient data), for pack.yaml's `units:`.

    \b
    Example:
      emr-migrate scaffold --source ./export --out mappings/acme
      emr-migrate check mappings/acme --source ./export
      emr-migrate scaffold --source sqlite:///emr.db --out mine --name acme --table patients
    """
    # deferred: pydantic, pandas and the profiler (~0.5 s)
    from migrate.config import parse_source
    from migrate.scaffold import scaffold as write_scaffold

    shown = not no_progress and sys.stderr.isatty()
    progress = _Progress() if shown else None
    try:
        result = write_scaffold(parse_source(source, Path.cwd()), out, name,
                                list(tables) or None, force, progress)
    finally:
        if progress:
            progress.done()
    schema = result.schema
    mapped = [t for t in schema.tables if t.resource] if schema else []
    click.echo(f"wrote {out}: pack {result.name}, {len(mapped)} mappings "
               f"({', '.join(f'{t.name} -> {t.resource}' for t in mapped)}), "
               f"{len(result.files) - len(mapped)} other files; next: emr-migrate check {out} "
               "--source SOURCE")


class _Progress:
    """One line per table on stderr, rewritten as its rows are read (``\\r``)."""

    def __init__(self) -> None:
        self.table: str | None = None
        self.rows = 0

    def __call__(self, table: str, rows: int) -> None:
        if table != self.table:
            self.done()
            self.table, self.rows = table, 0
        self.rows += rows
        click.echo(f"\rprofiling {table}: {self.rows} rows read", nl=False, err=True)

    def done(self) -> None:
        """End the current line."""
        if self.table is not None:
            click.echo("", err=True)
        self.table = None
