"""``emr-migrate``: a thin command line over the library (only this module imports click).

Exit codes: 0 success; 1 data errors over the threshold; 2 usage or configuration error;
4 the target refused data or could not be reached.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from migrate import __version__
from migrate.errors import EXIT_DATA_ERRORS, EXIT_LOAD_FAILED, EXIT_OK, EXIT_USAGE, MigrateError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MigrateGroup(click.Group):
    """Maps every MigrateError to its exit code and a one-paragraph message, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MigrateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=MigrateGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="emr-migrate")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Move a practice's records from a legacy EMR into a FHIR R4 EHR.

    Nothing lost, nothing duplicated, every rejected row explained. Start with `run` on the
    bundled sample:

    \b
      emr-migrate run -c sample_data/migration.yaml

    Exit codes: 0 success, 1 data errors over the threshold, 2 usage or configuration error,
    4 the target refused data or could not be reached.
    """
    ctx.obj = {"debug": debug}


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by commands that read a source through a pack."""
    opts = [
        click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                     help="Project file (migration.yaml). Flags override its settings."),
        click.option("--mappings", help="Mapping pack folder, e.g. mappings/synthea."),
        click.option("--source", help="CSV export folder, or an SQLAlchemy URL "
                     "(sqlite:///emr.db, mysql+pymysql://user@host/db)."),
        click.option("--target", help="ndjson:DIR (default ndjson:out/ndjson), bundles:DIR, or "
                     "a FHIR base URL https://host/fhir."),
        click.option("--out", "output", help="Folder for run.json and quarantine.ndjson "
                     "(default: out)."),
        click.option("--namespace", help="Id namespace UUID of this migration (set once)."),
        click.option("--source-system", help="URI naming the legacy EMR instance."),
        click.option("--timezone", help="IANA zone of naive source datetimes (default UTC)."),
        click.option("--chunk-size", type=click.IntRange(1), help="Rows per chunk (5000)."),
        click.option("--bundle-size", type=click.IntRange(1), help="Entries per bundle (200)."),
        click.option("--max-quarantine-rate", type=click.FloatRange(0, 1),
                     help="Share of rows that may be quarantined before exit code 1 (0.01)."),
        click.option("--no-progress", is_flag=True, help="Hide progress bars."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _settings(config: Path | None, **flags: Any) -> Any:
    from migrate.config import build_settings, read_project

    project = read_project(config) if config else None
    base = config.resolve().parent if config else Path.cwd()
    flags["progress"] = not flags.pop("no_progress", False)
    return build_settings(project, base, **flags)


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the summary on stdout.")
def run(config: Path | None, fmt: str, **flags: Any) -> None:
    """Extract, map, validate and load: the whole migration.

    Reads every table the mapping pack names, turns rows into FHIR R4 resources, validates
    each one, and writes them to the target. Every row ends emitted, filtered by a declared
    rule, or quarantined with its reasons in OUT/quarantine.ndjson; counts go to OUT/run.json.

    \b
    Example:
      emr-migrate run -c sample_data/migration.yaml
      emr-migrate run --mappings mappings/synthea --source ./export \\
          --namespace 4f2c9d7e-0a51-4c3e-9a63-2b8f5d1c7e90 --target ndjson:out/ndjson
      emr-migrate run -c migration.yaml --target https://ehr.example.org/fhir
    """
    from migrate.pipeline import run_pipeline
    from migrate.report.render import render_json, render_table

    report = run_pipeline(_settings(config, **flags))
    click.echo(render_json(report) if fmt == "json" else render_table(report))
    code = {"ok": EXIT_OK, "data-errors": EXIT_DATA_ERRORS, "load-errors": EXIT_LOAD_FAILED}
    sys.exit(code[report.status])


@cli.command(context_settings=CONTEXT)
@click.argument("pack", type=click.Path(path_type=Path))
def check(pack: Path) -> None:
    """Check a mapping pack without reading any data.

    Reports every problem of every mapping file at once, with file and line: unknown keys,
    unknown FHIR elements, bad transforms, references to missing mappings, concept maps that
    do not exist.

    \b
    Example:
      emr-migrate check mappings/synthea
    """
    from migrate.mappers.pack import load_pack

    loaded = load_pack(pack)
    tables = ", ".join(loaded.tables())
    click.echo(f"{pack}: {len(loaded.mappings)} mappings, {len(loaded.concept_maps)} concept "
               f"maps, all good. Tables read, in load order: {tables}")


@cli.command(context_settings=CONTEXT)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default="migration.yaml")
@click.option("--mappings", default="mappings/synthea", show_default=True)
@click.option("--source", default="sample_data/synthea", show_default=True)
@click.option("--source-system", default="urn:emr-migrate:legacy-emr", show_default=True)
def init(path: Path, mappings: str, source: str, source_system: str) -> None:
    """Write a starter project file with a fresh, random id namespace.

    The namespace seeds every resource id: keep the file, and never change the namespace
    during a migration, or re-runs will create new resources instead of updating.

    \b
    Example:
      emr-migrate init migration.yaml --source ./export
    """
    if path.exists():
        raise click.UsageError(f"{path} exists; not overwriting it")
    path.write_text(
        "version: 1\n"
        f"mappings: {mappings}\n"
        f"source: {source}\n"
        "target: ndjson:out/ndjson\n"
        "output: out\n"
        "identity:\n"
        f"  namespace: {uuid.uuid4()}   # never change during a migration\n"
        f"  source_system: {source_system}\n"
        "timezone: UTC\n"
        "thresholds:\n"
        "  max_quarantine_rate: 0.01\n", encoding="utf-8")
    click.echo(f"wrote {path}")


def main() -> None:
    """Console entry point; exit codes as documented (click's usage errors exit 2)."""
    try:
        rv = cli.main(standalone_mode=False, prog_name="emr-migrate")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    sys.exit(rv if isinstance(rv, int) else EXIT_OK)
