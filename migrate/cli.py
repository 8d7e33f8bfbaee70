"""``emr-migrate``: a thin command line over the library (only this module imports click).

Exit codes: `migrate.errors.ExitCode` (listed by ``emr-migrate --help``); an error carries its
code, a command's verdict is turned into one by `migrate.errors.exit_code_for`.

Each command imports the library modules it uses in its body (each marked ``# deferred``):
imported here they would cost every command, ``--help`` included, about a second (pydantic,
SQLAlchemy, pandas, great-expectations); tests/test_imports.py keeps this module light.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from migrate import __version__
from migrate.commands.packs import packs
from migrate.commands.plugins import plugins
from migrate.commands.sample import sample
from migrate.commands.scaffold import scaffold
from migrate.errors import (
    ConfigError,
    ExitCode,
    InternalError,
    MigrateError,
    exit_code_for,
    exit_code_help,
)
from migrate.files import write_atomic
from migrate.redact import redact_text

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
EPILOG = exit_code_help() + " OUT/run.json always holds the status that matches the exit code."


class MigrateGroup(click.Group):
    """Maps every MigrateError to its exit code and a one-paragraph message, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MigrateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {redact_text(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug of ours: a message and exit 70, never a traceback
            if ctx.obj and ctx.obj.get("debug"):
                raise
            error = InternalError(exc)
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=MigrateGroup, context_settings=CONTEXT, epilog=EPILOG)
@click.version_option(__version__, "--version", prog_name="emr-migrate")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Move a practice's records from a legacy EMR into a FHIR R4 EHR.

    Nothing lost, nothing duplicated, every rejected row explained. Start with `run` on the
    bundled sample:

    \b
      emr-migrate run -c sample_data/migration.yaml
    """
    ctx.obj = {"debug": debug}
    if not debug:  # drivers log their own tracebacks (a pool reset on a lost connection)
        logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by commands that read a source through a pack."""
    opts = [
        click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                     help="Project file (migration.yaml). Flags override its settings."),
        click.option("--mappings", help="Mapping pack: a folder (mappings/synthea) or an "
                     "installed pack's name (synthea; see `emr-migrate packs`)."),
        click.option("--source", help="CSV export folder, an SQLAlchemy URL "
                     "(sqlite:///emr.db, mysql+pymysql://user@host/db), or ccda:FOLDER "
                     "(C-CDA documents; a .zip too)."),
        click.option("--target", help="ndjson:DIR (default ndjson:out/ndjson), bundles:DIR, or "
                     "a FHIR base URL https://host/fhir."),
        click.option("--out", "output", help="Folder for run.json and quarantine.ndjson "
                     "(default: out)."),
        click.option("--namespace", help="Id namespace UUID of this migration (set once)."),
        click.option("--source-system", help="URI naming the legacy EMR instance."),
        click.option("--timezone", help="IANA zone of naive source datetimes (default: the "
                     "pack's, else UTC)."),
        click.option("--chunk-size", type=click.IntRange(1), help="Rows per chunk (5000)."),
        click.option("--bundle-size", type=click.IntRange(1), help="Entries per bundle (200)."),
        click.option("--max-quarantine-rate", type=click.FloatRange(0, 1),
                     help="Share of rows that may be quarantined before exit code 1 (0.01)."),
        click.option("--no-progress", is_flag=True, help="Hide progress bars."),
        click.option("--executor", type=click.Choice(["local", "dask"]),
                     help="Where mapping and validation run: in this process (local, the "
                     "default) or on a Dask cluster, each table cut into key ranges (dask)."),
        click.option("--scheduler", help="Dask scheduler address (tcp://host:8786); without "
                     "it --executor dask starts a local cluster."),
        click.option("--workers", type=click.IntRange(1),
                     help="Worker processes of the local Dask cluster (default: CPU count)."),
        click.option("--partitions", type=click.IntRange(1),
                     help="Key ranges per table with --executor dask (default: 2 per worker)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _settings(config: Path | None, **flags: Any) -> Any:
    # deferred: pydantic and the config models (~0.2 s)
    from migrate.config import build_settings, read_project

    project = read_project(config) if config else None
    base = config.resolve().parent if config else Path.cwd()
    flags["progress"] = not flags.pop("no_progress", False)
    return build_settings(project, base, **flags)


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the summary on stdout.")
@click.option("--show-values", is_flag=True, help="Show unmapped source codes as they are in "
              "run.json and the summary (they may hold PHI); without it they are masked.")
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
    # deferred: the pipeline and its plugins (~0.4 s)
    from migrate.pipeline import run_pipeline
    from migrate.report.render import render_json, render_table

    report = run_pipeline(_settings(config, **flags))
    click.echo(render_json(report) if fmt == "json" else render_table(report))
    sys.exit(exit_code_for(report.status))


@cli.command(context_settings=CONTEXT)
@click.argument("pack")
@click.option("--source", help="CSV folder or SQL URL: also check that every column the pack "
              "reads exists there (reads headers and the catalogue, no rows).")
def check(pack: str, source: str | None) -> None:
    """Check a mapping pack (a folder or an installed pack's name) without reading any data.

    Reports every problem of every mapping file at once, with file and line: unknown keys,
    unknown FHIR elements, bad transforms, references to missing mappings, concept maps that
    do not exist, columns missing from the pack's declared `columns:` (or from --source).

    \b
    Example:
      emr-migrate check mappings/synthea
      emr-migrate check synthea --source sample_data/synthea
    """
    # deferred: the pack compiler and the FHIR models (~0.3 s)
    from migrate.mappers.installed import resolve_mappings
    from migrate.mappers.pack import load_pack

    loaded = load_pack(resolve_mappings(pack, Path.cwd()))
    if source:
        _check_source_columns(loaded, source)
    tables = ", ".join(loaded.tables())
    looked_up = sorted({lk.table for m in loaded.mappings for lk in m.spec.lookup.values()}
                       - set(loaded.tables()))
    click.echo(f"{pack}: {len(loaded.mappings)} mappings, {len(loaded.concept_maps)} concept "
               f"maps, all good. Tables read, in load order: {tables}"
               + (f"; look-up tables: {', '.join(looked_up)}" if looked_up else ""))


def _check_source_columns(pack: Any, source: str) -> None:
    """Every column ``pack`` reads exists in ``source`` (headers only); else ExtractError."""
    # deferred: the pipeline and its plugins (~0.4 s)
    from migrate.config import parse_source
    from migrate.extractors.base import open_extractor, source_options
    from migrate.pipeline import check_columns

    ext = open_extractor(**source_options(parse_source(source, Path.cwd()), pack.spec.files))
    try:
        check_columns(pack, ext)
    finally:
        ext.close()


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
    write_atomic(path, (
        "version: 1\n"
        f"mappings: {mappings}\n"
        f"source: {source}\n"
        "target: ndjson:out/ndjson\n"
        "output: out\n"
        "identity:\n"
        f"  namespace: {uuid.uuid4()}   # never change during a migration\n"
        f"  source_system: {source_system}\n"
        "# timezone: America/Chicago   # zone of naive source datetimes (default: the pack's)\n"
        "thresholds:\n"
        "  max_quarantine_rate: 0.01\n").encode())  # 0600: the namespace reverses ids
    click.echo(f"wrote {path}")


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--state", "state_url", help="State store: an SQLAlchemy URL (default: an SQLite "
              "file OUT/state.sqlite; a PostgreSQL URL for team runs).")
@click.option("--force", is_flag=True, help="Overwrite resources edited on the target since our "
              "last write (conflicts). Without it they are reported and left alone.")
@click.option("--confirm-deletes", is_flag=True,
              help="Allow a sync that removes more than --max-delete-share of a type.")
@click.option("--max-delete-share", type=click.FloatRange(0, 1), default=0.02,
              show_default=True, help="Circuit breaker: largest share of a type one sync may "
              "delete or retire.")
def sync(config: Path | None, state_url: str | None, force: bool, confirm_deletes: bool,
         max_delete_share: float, **flags: Any) -> None:
    """Bring the target up to date, sending only what changed since the last sync.

    The first sync is the full load. Later ones compare each resource with what the state store
    says was last written: new rows are created, changed rows updated (with If-Match, so edits
    made in the new EHR are never overwritten silently: they are reported as conflicts),
    unchanged rows send nothing, and rows gone from the source follow their mapping's delete
    policy. Killed mid-way (even with SIGKILL), the same command finishes the work. What a
    `run` wrote to the same target is recognised as ours, not as a conflict. List and resolve
    conflicts with `emr-migrate conflicts`; --force overwrites them and closes them.

    Exit codes: 0 in sync; 1 data errors over the threshold; 2 usage error, or another sync
    holds the state store; 4 target refused data (dead letters) or unreachable, or the state
    store failed; 5 deletes stopped by the circuit breaker or suspended (a table read
    incompletely or with more rows quarantined); 6 conflicts left for review.

    \b
    Example:
      emr-migrate sync -c migration.yaml --target https://ehr.example.org/fhir
      emr-migrate status -c migration.yaml
    """
    # deferred: the sync, SQLAlchemy and the pipeline (~1 s)
    from migrate.sync import run_sync

    t0 = time.perf_counter()
    result = run_sync(_settings(config, **flags), state_url=state_url, force=force,
                      confirm_deletes=confirm_deletes, max_delete_share=max_delete_share)
    wall = time.perf_counter() - t0
    plan = ", ".join(f"{k} {v}" for k, v in sorted(result.plan.items())) or "nothing to do"
    click.echo(f"sync run {result.run_id}: {plan}")
    click.echo("writes: " + ", ".join(f"{k} {v}" for k, v in result.writes.items() if v))
    click.echo(f"time: {wall:.1f}s, {result.timing['blocked_s']:.1f}s of it waiting for the "
               "target")
    click.echo("state: " + ", ".join(f"{k} {v}" for k, v in result.state.items()))
    for mapping, reason in sorted(result.suspended.items()):
        click.echo(f"deletes suspended for {mapping}: {reason}; nothing of it was deleted")
    click.echo(f"status: {result.status}")
    if result.status == "conflicts":
        click.echo(f"{result.state['conflicts']} conflicts open: list and resolve them with "
                   f"`emr-migrate conflicts -c {config or 'migration.yaml'}`")
    sys.exit(exit_code_for(result.status))


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--state", "state_url", help="State store URL (default OUT/state.sqlite).")
def status(config: Path | None, state_url: str | None, **flags: Any) -> None:
    """Show the last sync runs, pending writes, dead letters and conflicts.

    \b
    Example:
      emr-migrate status -c migration.yaml
    """
    store = _state_store(config, state_url, flags)
    for run in store.runs():
        click.echo(f"run {run['run_id']:>4} {run['kind']:<6} {run['status']:<8} "
                   f"{run['counts'] or ''}")
    counts = store.counts()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    for c in store.conflicts():
        click.echo(f"conflict: {c['rtype']}/{c['rid']} we last wrote version "
                   f"{c['expected_version']}, the target has {c['actual_version']}")


def _state_store(config: Path | None, state_url: str | None, flags: dict[str, Any]) -> Any:
    """The project's state store (``--state``, else OUT/state.sqlite, which must exist)."""
    # deferred: SQLAlchemy and the sync package (~0.9 s)
    from migrate.state import StateStore
    from migrate.sync.identity import default_state_url

    flags.setdefault("namespace", None)
    if state_url is None:
        settings = _settings(config, **flags)
        if not (Path(settings.output) / "state.sqlite").is_file():
            raise ConfigError(f"no state store at {Path(settings.output) / 'state.sqlite'}: no "
                              "sync has run with this output folder (or give --state URL)")
        state_url = default_state_url(settings)
    return StateStore(state_url)


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--state", "state_url", help="State store URL (default OUT/state.sqlite).")
@click.option("--take-source", multiple=True, metavar="WHICH", help="Overwrite the target with "
              "the source on the next sync (WHICH: a conflict number, Type/id, or all).")
@click.option("--keep-target", multiple=True, metavar="WHICH", help="Keep the target's "
              "version; send nothing until the source row changes again.")
@click.option("--mark-reviewed", multiple=True, metavar="WHICH", help="Stop reporting it; the "
              "target's version stays held until you take the source or keep the target.")
@click.option("--all", "show_all", is_flag=True, help="Also list resolved conflicts.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the list on stdout.")
def conflicts(config: Path | None, state_url: str | None, take_source: tuple[str, ...],
              keep_target: tuple[str, ...], mark_reviewed: tuple[str, ...], show_all: bool,
              fmt: str, **flags: Any) -> None:
    """List the sync conflicts waiting for review, or resolve them.

    A conflict is a resource edited on the target since our last write whose source row
    changed too. Listed: number, type/id, mapping, row key hash, versions, when; never the
    content. Exit code 6 while conflicts are open, else 0.

    \b
    Example:
      emr-migrate conflicts -c migration.yaml
      emr-migrate conflicts -c migration.yaml --take-source Patient/8f1c...  # source wins
      emr-migrate conflicts -c migration.yaml --keep-target 3 --mark-reviewed all
    """
    # deferred: SQLAlchemy (~0.3 s)
    from migrate.sync.conflicts import list_conflicts, resolve

    store = _state_store(config, state_url, flags)
    for how, chosen in (("take-source", take_source), ("keep-target", keep_target),
                        ("reviewed", mark_reviewed)):
        for which in chosen:
            for c in resolve(store, which, how):
                click.echo(f"conflict {c.id} {c.rtype}/{c.rid}: {how}", err=True)
    listed = list_conflicts(store, include_resolved=show_all)
    still_open = sum(1 for c in listed if c.resolution is None)
    if fmt == "json":
        click.echo(_json_text([c.as_dict() for c in listed]))
    else:
        _show_conflicts(listed)
        click.echo(f"open conflicts: {still_open}")
    sys.exit(exit_code_for("conflicts" if still_open else "ok"))


def _show_conflicts(listed: list[Any]) -> None:
    """One line a conflict: keys, hashes, versions and times, never the resource."""
    # deferred: SQLAlchemy and the loaders (~0.6 s)
    from migrate.sync.runrecord import UNKNOWN_VERSION

    for c in listed:
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(c.created or 0))
        ours = ("unknown (written by a run)" if c.expected_version == UNKNOWN_VERSION
                else c.expected_version)
        click.echo(f"{c.id:>4} {c.rtype}/{c.rid} mapping {c.mapping} key {c.key_hash} run "
                   f"{c.run_id} {when}: we wrote version {ours}, the target has "
                   f"{c.actual_version}" + (f" [{c.resolution}]" if c.resolution else ""))


def _json_text(value: Any) -> str:
    """Indented JSON text."""
    # deferred: only JSON output needs it
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


@cli.command(context_settings=CONTEXT)
@click.option("--replay", "replay_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Dead-letter file to send again (OUT/dead_letters.ndjson, fixed by hand).")
@click.option("--target", help="FHIR base URL or a target name of the project file (default: "
              "the project's target).")
@click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project file: its target profile (mode, auth, TLS, limits) is used.")
@click.option("--out", "output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the dead letters still refused (default: the project's output, "
              "else out).")
def load(replay_file: Path, target: str | None, config: Path | None,
         output: Path | None) -> None:
    """Send the resources of a dead-letter file to the target again.

    Each line's `resource` is sent as the target profile says; the ones refused again are
    written to OUT/dead_letters.ndjson with the server's new answer (the file replayed may be
    that same file: it is read first). Exit code 0 when all loaded, 4 when some were refused.

    \b
    Example:
      emr-migrate load --replay out/dead_letters.ndjson --target https://ehr.example.org/fhir
      emr-migrate load --replay fixed.ndjson -c migration.yaml
    """
    # deferred: pydantic and the loaders (~0.2 s)
    from migrate.config import build_target, read_project
    from migrate.loaders.deadletter import replay_dead_letters

    project = read_project(config) if config else None
    base = config.resolve().parent if config else Path.cwd()
    out = output or (base / project.output if project and project.output else Path("out"))
    result = replay_dead_letters(replay_file, build_target(project, base, target), out)
    click.echo(f"replayed {result.replayed} from {replay_file}: loaded {result.written}, "
               f"refused {result.refused}"
               + (f" (see {result.dead_letters})" if result.dead_letters else ""))
    sys.exit(exit_code_for("load-errors" if result.refused else "ok"))


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--sample", type=click.IntRange(0), default=20, show_default=True,
              help="Resources per type read back and compared field by field.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--from-ndjson", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Take the expected resources from an NDJSON output folder instead of "
              "running the pack over the source.")
@click.option("--ignore-extra", is_flag=True,
              help="Resources on the target that the source does not have are not a difference "
              "(an EHR that held data before the migration).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def reconcile(config: Path | None, sample: int, seed: int, from_ndjson: Path | None,
              ignore_extra: bool, fmt: str, **flags: Any) -> None:
    """Prove the FHIR target holds exactly what the source says it should.

    Per resource type: the count on the server, the exact id set (missing and extra ids) and a
    sample read back and compared field by field with what the mappings produce (server-set
    meta ignored). Writes OUT/reconcile.json. Exit code 0 when all match, 3 on any difference.

    \b
    Example:
      emr-migrate reconcile -c migration.yaml --target https://ehr.example.org/fhir
      emr-migrate reconcile -c migration.yaml --from-ndjson out/ndjson --sample 100
    """
    # deferred: pydantic, httpx and the pipeline (~0.2 s)
    from migrate.reconcile import reconcile as run_reconcile
    from migrate.reconcile import render_reconcile

    report = run_reconcile(_settings(config, **flags), sample=sample, seed=seed,
                           from_ndjson=from_ndjson, ignore_extra=ignore_extra)
    click.echo(_json_text(report.as_dict()) if fmt == "json" else render_reconcile(report))
    sys.exit(exit_code_for("ok" if report.ok else "mismatch"))


def _validate_setup(config: Path | None, report_dir: Path | None, expectations: Path | None,
                    show_values: bool, flags: dict[str, Any]) -> tuple[Any, Any]:
    """Run settings and dry-run options from the project file and flags."""
    # deferred: pydantic and the dry run (~0.2 s)
    from migrate.config import build_settings, read_project
    from migrate.validation.dryrun import ValidateOptions, thresholds_from

    project = read_project(config) if config else None
    base = config.resolve().parent if config else Path.cwd()
    flags["progress"] = not flags.pop("no_progress", False)
    settings = build_settings(project, base, show_values=show_values, **flags)
    vcfg = project.validate_ if project else None
    if expectations is None and vcfg and vcfg.expectations:
        expectations = (base / vcfg.expectations).resolve()
    return settings, ValidateOptions(report_dir or settings.output / "validate",
                                      thresholds_from(vcfg, settings), expectations, show_values)


@cli.command(context_settings=CONTEXT)
@run_options
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.html, report.json and terminology_gaps.csv "
              "(default: OUT/validate, i.e. out/validate).")
@click.option("--expectations", type=click.Path(exists=True, path_type=Path),
              help="Source expectations, a YAML file or folder (default: the pack's "
              "expectations/ folder, or validate.expectations in the project file).")
@click.option("--show-values", is_flag=True,
              help="Show row keys and raw values in the reports (they may contain PHI).")
def validate(config: Path | None, report_dir: Path | None, expectations: Path | None,
             show_values: bool, **flags: Any) -> None:
    """Dry run before cutover: check everything, load nothing, say GO or NO-GO.

    Runs the migration exactly as `run` would (same options; --target is ignored), checks
    the source against the pack's expectations (great-expectations), the output for dangling
    references and missing US Core elements, lists terminology gaps, data no mapping reads
    and the quarantine by cause, and writes REPORT_DIR/report.html and report.json.
    The limits come from the project file's `validate:` section (max_quarantine_rate,
    max_unmapped_code_rate, max_dangling_references, fail_on_critical_expectations); without
    `validate: max_quarantine_rate`, the quarantine rate is `thresholds: max_quarantine_rate`
    (or --max-quarantine-rate), and `thresholds: tables:` gives a table its own.

    Exit codes: 0 GO, 3 NO-GO, 2 usage or configuration error.

    \b
    Example:
      emr-migrate validate -c sample_data/migration.yaml
      emr-migrate validate -c migration.yaml --report-dir out/dry-run-2 --no-progress
    """
    # deferred: the dry run (great-expectations loads when it runs)
    from migrate.report.validate_text import render_validate_text
    from migrate.validation.dryrun import validate_migration

    settings, options = _validate_setup(config, report_dir, expectations, show_values, flags)
    report = validate_migration(settings, options)
    click.echo(render_validate_text(report))
    sys.exit(exit_code_for(report.verdict))


@cli.command(context_settings=CONTEXT)
@click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project file; its source (and pack file names) are used.")
@click.option("--source", help="CSV export folder, or an SQLAlchemy URL.")
@click.option("--table", "tables", multiple=True, help="Profile only this table (repeatable).")
@click.option("--min-count", type=click.IntRange(1), default=5, show_default=True,
              help="Top values seen fewer times than this are not shown (privacy).")
@click.option("--write-suite", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a starter expectations file (YAML) from the profile.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the profile on stdout.")
def profile(config: Path | None, source: str | None, tables: tuple[str, ...], min_count: int,
            write_suite: Path | None, fmt: str) -> None:
    """Profile a source: per column its type, null share, distinct values, top values, range.

    Values seen fewer than --min-count times are never listed; columns that may identify a
    person (ids, names, contact, birth dates, free text) are never shown by value, except 0/1,
    Y/N, T/F flags; dates show a range cut to the month (to the year when fewer than
    --min-count values share an end's month). A reference table (named as a dictionary:
    d_diagnosis, D_ITEMS, lu_route, icd_codes; no column named for a person, no date, no id
    column but its first) shows its values under the same --min-count rule. With
    --write-suite, also write a starter expectations file to review and put in the pack's
    expectations/ folder.

    \b
    Example:
      emr-migrate profile --source sample_data/synthea
      emr-migrate profile -c migration.yaml --write-suite mappings/mine/expectations/source.yaml
    """
    # deferred: pydantic and the profiler (~0.2 s)
    from migrate.config import parse_source, read_project
    from migrate.report.profile import profile_source, render_profile
    from migrate.validation.starter import write_suite as write_starter

    project = read_project(config) if config else None
    base = config.resolve().parent if config and not source else Path.cwd()
    value = source or (project.source if project else None)
    if not value:
        raise ConfigError("missing setting: --source (or a project file with a source)")
    profiles = profile_source(parse_source(value, base), list(tables) or None)
    if write_suite:
        write_starter(profiles, write_suite, min_count, str(value))
    click.echo(_json_text([{"table": p.table, "rows": p.rows, "rejected": p.rejected,
                            "error": p.error, "reference": p.reference,
                            "columns": [c.as_dict(min_count) for c in p.columns]}
                           for p in profiles])
               if fmt == "json" else render_profile(profiles, min_count))


cli.add_command(packs)
cli.add_command(sample)
cli.add_command(plugins)
cli.add_command(scaffold)


def main() -> None:
    """Console entry point; exit codes as documented (click's usage errors exit 2)."""
    try:
        rv = cli.main(standalone_mode=False, prog_name="emr-migrate")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    sys.exit(rv if isinstance(rv, int) else ExitCode.OK)
