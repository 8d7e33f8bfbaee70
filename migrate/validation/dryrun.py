"""The dry run behind `emr-migrate validate`: run everything, load nothing, judge GO / NO-GO.

:func:`validate_migration` runs the real pipeline (same pack, same extractor, same validator)
into a :class:`~migrate.loaders.null.NullLoader` whose observer checks the whole output, then
scans the source once more for the source expectations (great-expectations) and coverage, and
writes ``report.json``, ``report.html``, ``terminology_gaps.csv`` and the fill-in concept maps
to the report folder (with the run's own ``run.json`` and ``quarantine.ndjson``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from migrate.files import private_dir, write_atomic
from migrate.report.validate_model import Redactor, Thresholds, ValidationReport

if TYPE_CHECKING:
    from migrate.config import RunSettings, ValidateConfig
    from migrate.extractors.base import Extractor
    from migrate.mappers.pack import Pack
    from migrate.validation.expectations import SuiteSpec
    from migrate.validation.frames import TableScan

DEFAULT_REPORT_DIR = "out/validate"


@dataclass(frozen=True)
class ValidateOptions:
    """How to run and report a dry run."""

    report_dir: Path
    thresholds: Thresholds = Thresholds()
    expectations: Path | None = None  # file or folder; default: the pack's expectations/
    show_values: bool = False


def thresholds_from(config: ValidateConfig | None, settings: RunSettings) -> Thresholds:
    """Thresholds of the project's ``validate:`` section; the quarantine rate falls back to
    the run's (``thresholds.max_quarantine_rate`` or ``--max-quarantine-rate``)."""
    if config is None:
        return Thresholds(max_quarantine_rate=settings.max_quarantine_rate)
    rate = config.max_quarantine_rate
    return Thresholds(rate if rate is not None else settings.max_quarantine_rate,
                      config.max_unmapped_code_rate, config.max_dangling_references,
                      config.fail_on_critical_expectations)


def validate_migration(settings: RunSettings, options: ValidateOptions) -> ValidationReport:
    """Dry-run the migration and write the cutover-readiness report; return it.

    Raises the pipeline's errors for problems found before data is read (a pack or a suite
    that does not check, a source that does not fit the pack).
    """
    from migrate.errors import ConfigError
    from migrate.loaders.null import NullLoader
    from migrate.mappers.pack import load_pack
    from migrate.pipeline import pack_settings, run_pipeline
    from migrate.validation.coverage import EmitCounter
    from migrate.validation.expectations import read_suite
    from migrate.validation.output import OutputChecker

    started = time.perf_counter()
    folder = options.report_dir
    # In-process: the emits are counted in this process (a dry run is one pass anyway).
    settings = settings.model_copy(update={"output": folder, "target": {"type": "null"},
                                           "executor": "local", "scheduler": None})
    pack = load_pack(settings.mappings, pack_settings(settings))
    if options.expectations is not None and not options.expectations.exists():
        raise ConfigError(f"expectations {str(options.expectations)!r} do not exist")
    suite_path = options.expectations or settings.mappings / "expectations"
    suite = read_suite(suite_path)  # a suite that does not check stops us before any data
    emits, checker = EmitCounter(pack), OutputChecker()
    run = run_pipeline(settings, loader=NullLoader(checker), pack=pack, emit_counts=emits.counts)
    report = ValidationReport(
        run, options.thresholds, Redactor(settings.namespace.bytes, options.show_values),
        suite=str(suite_path) if suite.tables else None, references=checker.references(),
        must_have=checker.must_have_report(),
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    _source_checks(report, settings, pack, suite, emits)
    report.outputs.update(run.outputs)
    report.seconds = time.perf_counter() - started
    write_reports(report, folder)
    return report


def _source_checks(report: ValidationReport, settings: RunSettings, pack: Pack,
                   suite: SuiteSpec, emits: Any) -> None:
    """Expectations, coverage, gaps and quarantine groups (everything after the run)."""
    from migrate.extractors.base import open_extractor, source_options
    from migrate.validation import coverage, gaps
    from migrate.validation.gx import run_expectations

    ext = open_extractor(**source_options(settings.source, pack.spec.files))
    try:
        tables = coverage.source_tables(ext, pack.spec.files)
        scans = _scan(ext, pack, suite, tables, settings.chunk_size)
    finally:
        ext.close()
    report.expectations = run_expectations(suite, scans, _keys(pack, suite), pack.concept_maps)
    report.unused_columns = coverage.unused_columns(pack, scans)
    report.unused_tables = coverage.unused_tables(pack, tables, scans)
    report.rules_never_fired = coverage.rules_never_fired(pack, emits, report.run)
    quarantine = settings.output / "quarantine.ndjson"
    report.gaps = gaps.collect_gaps(pack, report.run, quarantine)
    report.quarantine = gaps.group_quarantine(quarantine)
    report.outputs.update(gaps.write_gap_files(report.gaps, pack, settings.output,
                                                   report.redactor))


def _keys(pack: Pack, suite: SuiteSpec) -> dict[str, list[str]]:
    """Key columns per table: the suite's ``key``, else the first mapping's key."""
    keys: dict[str, list[str]] = {}
    for m in pack.ordered_mappings():
        if not m.spec.query:
            keys.setdefault(m.table, list(m.spec.key))
    for table, texp in suite.tables.items():
        if texp.key:
            keys[table] = list(texp.key)
    return keys


def _scan(ext: Extractor, pack: Pack, suite: SuiteSpec, tables: list[str],
          chunk_size: int) -> dict[str, TableScan]:
    """Scan the tables the pack or the suite reads; count the rows of the other ones."""
    from migrate.validation.frames import TableScan, scan_table

    keys = _keys(pack, suite)
    keep: dict[str, set[str]] = {t: set() for t in pack.tables() if t not in _query_tables(pack)}
    for table in pack.lookup_reads():  # look-up tables: their unused columns are counted
        keep.setdefault(table, set())
    for table, texp in suite.tables.items():
        cols = keep.setdefault(table, set())
        for spec in texp.expect:
            cols.update(spec.needed_columns())
            ref = spec.referenced()
            if ref:
                keep.setdefault(ref[0], set()).add(ref[1])
    scans: dict[str, TableScan] = {}
    for table, cols in keep.items():
        wanted = sorted(cols | set(keys.get(table, []))) if cols else []
        scans[table] = scan_table(ext, table, wanted, _nulls(pack, table), chunk_size)
    for table in tables:
        if table not in scans:
            scans[table] = TableScan(table, _safe(ext.columns, table) or [],
                                     rows=_safe(ext.estimate_rows, table) or 0)
    return scans


def _query_tables(pack: Pack) -> set[str]:
    return {m.table for m in pack.mappings if m.spec.query}


def _nulls(pack: Pack, table: str) -> frozenset[str]:
    for m in pack.mappings:
        if m.table == table:
            return m.null_tokens
    return frozenset(pack.spec.null_tokens)


def _safe(fn: Any, table: str) -> Any:
    from migrate.errors import MigrateError

    try:
        return fn(table)
    except (MigrateError, OSError):
        return None


def write_reports(report: ValidationReport, folder: Path) -> None:
    """``report.json`` and ``report.html`` in ``folder``."""
    from migrate.report.html import render_html

    private_dir(folder)
    report.outputs["report_json"] = str(folder / "report.json")
    report.outputs["report_html"] = str(folder / "report.html")
    write_atomic(folder / "report.json",
        orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2, default=str))
    write_atomic(folder / "report.html", render_html(report).encode())
