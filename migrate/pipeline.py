"""The pipeline spine: extract -> map -> validate -> load, with row accounting.

Only this module knows the order of the stages. :func:`run_pipeline` returns a
:class:`RunReport`; it prints nothing but progress bars (to stderr) and writes ``run.json`` and
``quarantine.ndjson`` to the output folder.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson

from migrate.config import RunSettings
from migrate.errors import ConfigError, ExtractError, InternalError, MigrateError
from migrate.executors import open_executor
from migrate.executors.base import Executor
from migrate.extractors.base import Extractor, open_extractor, source_options
from migrate.files import commit, leftovers, open_partial, private_dir, write_atomic, writing
from migrate.loaders.base import Loader
from migrate.loaders.deadletter import DEAD_LETTERS_FILE, DeadLetterWriter
from migrate.mappers.lookups import lookup_problems
from migrate.mappers.pack import CompiledMapping, Pack, load_pack
from migrate.outcomes import EMITTED, FILTERED, UNCHANGED, RejectedRow, Unit
from migrate.redact import redact_text, redact_url
from migrate.report.model import RunReport, TableStats
from migrate.stages import gc_tuned, pack_settings
from migrate.validation.dangling import DanglingTracker

__all__ = ["check_columns", "empty_but_referenced", "run_pipeline"]

QUARANTINE_FILE = "quarantine.ndjson"


def run_pipeline(settings: RunSettings, *, extractor: Extractor | None = None,
                 loader: Loader | None = None, pack: Pack | None = None,
                 emit_counts: Counter[tuple[str, str]] | None = None) -> RunReport:
    """Migrate the source into the target as ``settings`` say; return what happened.

    ``pack`` is the compiled pack when the caller has loaded it already (with the settings'
    identity). ``emit_counts``, when given, receives the template runs per (mapping, emit):
    `emr-migrate validate` finds the rules that never fired with it, on the very mapping path
    a run takes.

    ``run.json`` says ``running`` from the start (an earlier run's verdict never stays beside
    this run's files), and ``failed`` with the reason and exit code if the run stops on an
    error. Raises :class:`MigrateError` subclasses for what stops a run (a pack that does not
    check, a missing column, an unreachable target, a full disk); anything unforeseen is
    raised as :class:`InternalError`.
    """
    started = time.perf_counter()
    pack = pack or load_pack(settings.mappings, pack_settings(settings))
    out = private_dir(settings.output)
    for leftover in leftovers(out):  # what a killed run left unfinished
        leftover.unlink(missing_ok=True)
    report = RunReport(pack=pack.spec.name, pack_version=pack.version, pack_source=pack.source(),
                       source=_describe_source(settings.source),
                       target=redact_text(str(settings.target.get("path")
                                              or settings.target.get("url"))),
                       max_quarantine_rate=settings.max_quarantine_rate,
                       table_quarantine_rates=dict(settings.table_quarantine_rates),
                       max_dangling_references=settings.max_dangling_references,
                       state="running", show_values=settings.show_values,
                       value_key=settings.namespace.bytes)
    report.outputs.update(run_json=str(out / "run.json"),
                          quarantine=str(out / QUARANTINE_FILE))
    _write_run_json(out, report)
    try:
        _execute(settings, pack, report, extractor, loader, emit_counts)
    except MigrateError as exc:
        _failed(out, report, str(exc), exc.exit_code, started)
        raise
    except KeyboardInterrupt:
        _failed(out, report, "interrupted (Ctrl-C)", 130, started)
        raise
    except Exception as exc:
        error = InternalError(exc)
        _failed(out, report, str(error), error.exit_code, started)
        raise error from exc
    report.state = "finished"
    report.seconds = time.perf_counter() - started
    _write_run_json(out, report)
    return report


def _execute(settings: RunSettings, pack: Pack, report: RunReport, extractor: Extractor | None,
             loader: Loader | None, emit_counts: Counter[tuple[str, str]] | None) -> None:
    """The stages, in order, filling ``report``; outputs are committed only when complete."""
    out = settings.output
    with ExitStack() as stack:
        ext = extractor or open_extractor(**source_options(settings.source, pack.spec.files))
        stack.callback(ext.close)
        check_columns(pack, ext)
        load = loader or _run_loader(settings)
        report.target = load.describe()
        load.open()
        stack.push(_abort_on_error(load))
        dead = _dead_letters(load, out)
        stack.callback(dead.close)
        load.plan_order(pack.depends)
        qpath = out / QUARANTINE_FILE
        qfile = open_partial(qpath)
        stack.callback(_finish_file, qfile, qpath)  # explains the rows read, failed run or not
        executor = open_executor(settings, pack, ext, load)
        executor.emit_counts = emit_counts
        stack.enter_context(executor)
        report.executor = executor.describe()
        report.partitions = dict(executor.partitions)
        run = _Run(pack, ext, load, qfile, report, settings, executor)
        stack.enter_context(gc_tuned())
        with writing(qpath):
            for mapping in pack.ordered_mappings():
                run.mapping(mapping)
        if executor.lookups is not None:
            report.lookups = executor.lookups.report()
        if ext.capabilities.reports_source:
            report.source_report = ext.source_report()
        if not ext.capabilities.closed_references:
            report.reference_problems = empty_but_referenced(report, pack.depends)
        report.load = load.close().as_dict()
        _write_load_failures(load, out, report, dead)


def empty_but_referenced(report: RunReport, depends: dict[str, set[str]]) -> list[str]:
    """Mappings that emitted nothing while mappings that reference them emitted resources: a
    header-only patients file leaves every reference to a Patient pointing at nothing. A
    table whose every row was filtered by a named filter is the pack's declared choice (the
    referring templates are expected to leave those rows out)."""
    emitted = {t.mapping: t.emitted for t in report.tables}
    out = []
    for t in report.tables:
        if t.emitted or t.incremental or t.all_filtered:  # filtered by name: declared
            continue
        users = sorted(m for m, deps in depends.items() if t.mapping in deps and emitted.get(m))
        if users:
            out.append(f"table {t.table!r} (mapping {t.mapping}) emitted nothing, but "
                       f"{', '.join(users)} refer to it: those references point at nothing")
    return out


def _finish_file(fh: IO[bytes], path: Path) -> None:
    """Close a file written under its temporary name and give it its final name."""
    with writing(path):
        fh.close()
    commit(path)


def _abort_on_error(load: Loader) -> Any:
    """An exit callback that lets the loader discard what it could not finish."""
    def on_exit(exc_type: Any, _exc: Any, _tb: Any) -> bool:
        if exc_type is not None:
            load.abort()
        return False
    return on_exit


def _failed(out: Path, report: RunReport, error: str, code: int, started: float) -> None:
    """Record a run that stopped: run.json says failed, why, and with which exit code."""
    report.state, report.error, report.exit_code = "finished", redact_text(error), code
    report.seconds = time.perf_counter() - started
    try:
        _write_run_json(out, report)
    except MigrateError:
        pass  # the disk that stopped the run may refuse run.json too; the error still shows


def _write_run_json(out: Path, report: RunReport) -> None:
    write_atomic(out / "run.json", orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))


def _run_loader(settings: RunSettings) -> Loader:
    """The target's loader; to a FHIR server, one that notes what it sends in the state
    store that `sync` keeps (`migrate.loaders.recording`), so the two share one record."""
    from migrate.loaders.recording import open_run_loader  # httpx, where it is used

    return open_run_loader(settings)


def _describe_source(source: dict[str, Any]) -> str:
    return redact_url(source["url"]) if "url" in source else str(source.get("path"))


def check_columns(pack: Pack, ext: Extractor) -> None:
    """Every column the pack reads must exist in the source: all gaps reported at once."""
    problems: list[str] = []
    for m in pack.ordered_mappings():
        try:
            have = set(_source_columns(ext, m))
        except (ExtractError, ConfigError) as exc:
            problems.append(f"{m.file}: mapping {m.name}: {exc}")
            continue
        for col, line in m.columns_read():
            if col not in have:
                problems.append(f"{m.file}:{line}: column {col!r} is not in "
                                f"{ext.describe(m.table)} (it has: {', '.join(sorted(have))})")
        if m.spec.lookup:  # look-up tables: their key, columns and order
            problems += [f"{m.file}:{line}: {msg}" for line, msg in lookup_problems(
                m.spec, m.lookup_lines, _lookup_tables(ext, m))]
    if problems:
        raise ExtractError(f"the source does not fit the mapping pack ({len(problems)} "
                           "problem(s)):\n" + "\n".join(f"  {p}" for p in problems))


def _lookup_tables(ext: Extractor, m: CompiledMapping) -> dict[str, set[str] | str]:
    """The columns of each look-up table of ``m``, or why they cannot be read."""
    out: dict[str, set[str] | str] = {}
    for lk in m.spec.lookup.values():
        if lk.table not in out:
            try:
                out[lk.table] = set(ext.columns(lk.table))
            except (ExtractError, ConfigError) as exc:
                out[lk.table] = str(exc)
    return out


def _source_columns(ext: Extractor, m: CompiledMapping) -> list[str]:
    if m.spec.query:
        if not ext.capabilities.queries:
            raise ConfigError(f"the {ext.name} source cannot run SQL queries")
        return list(ext.query_columns(m.spec.query))
    return ext.columns(m.table)


class _Run:
    """State of one run: loader, executor, quarantine file, counts, dangling references."""

    def __init__(self, pack: Pack, ext: Extractor, loader: Loader, qfile: IO[bytes],
                 report: RunReport, settings: RunSettings, executor: Executor) -> None:
        self.pack, self.ext, self.loader, self.qfile = pack, ext, loader, qfile
        self.report, self.settings, self.executor = report, settings, executor
        self.dangling = DanglingTracker(pack)

    def mapping(self, m: CompiledMapping) -> None:
        stats = TableStats(m.table, m.name, self.ext.describe(m.table))
        since = self._since(m)  # asked once: a sync looks its watermark up in the store
        stats.incremental = since is not None
        self.report.tables.append(stats)
        with self._progress(m) as bar:  # one kind of result, whichever executor made it
            for result in self.executor.results(m, since):
                stats.read += result.read
                self.report.warnings.update(result.warnings)
                for reject in result.rejects:
                    self._reject(m, stats, reject)
                self._units(m, stats, result.units)
                bar.update(result.read)
        self._finished(m, stats)

    def _finished(self, m: CompiledMapping, stats: TableStats) -> None:
        """The extractor's proof of a complete read goes into the table's stats, and the
        loader learns the table is done. Fewer rows than the extractor's own count reached
        the pipeline: the read is incomplete, whatever the extractor says (a plugin's word is
        checked, not taken)."""
        account = self.ext.account(m.table, m.spec.query)
        if account is not None:
            stats.lines, stats.expected_rows = account.lines, account.expected_rows
            stats.complete, stats.read_problem = account.complete, account.problem
            expected = account.expected_rows
            if stats.complete and not stats.incremental and expected is not None \
                    and stats.read < expected:
                stats.complete, stats.read_problem = False, (
                    f"{self.ext.describe(m.table)}: {stats.read} rows reached the pipeline but "
                    f"the extractor counted {expected}; {expected - stats.read} row(s) may be "
                    "missing")
        self.loader.table_finished(m, stats)

    def _since(self, m: CompiledMapping) -> tuple[str, str] | None:
        # A loader that syncs incrementally may ask for changed rows only (a watermark).
        if not self.loader.capabilities.incremental:
            return None
        return self.loader.extract_since(m)

    def _progress(self, m: CompiledMapping) -> Any:
        from tqdm import tqdm

        total = None
        if self.settings.progress:
            try:
                total = self.ext.estimate_rows(m.table, m.spec.query)
            except MigrateError:
                total = None
        return tqdm(total=total, desc=f"{m.table:<20.20}", unit=" rows", leave=True,
                    disable=not self.settings.progress, dynamic_ncols=True)

    def _units(self, m: CompiledMapping, stats: TableStats, units: list[Unit]) -> None:
        """Account for a chunk's units (mapped and validated by the stage loop), quarantine
        what failed, and hand the rest to the loader."""
        out: list[dict[str, Any]] = []
        sources: list[dict[str, Any] | None] = []
        # Serialized resources (partitioned runs) go straight to a loader that takes them.
        caps = self.loader.capabilities
        load_raw, observe = caps.raw_resources, caps.observes_units
        watch = self.dangling.watches(m)  # m refers to a mapping with quarantined rows
        if not load_raw or observe or watch:
            for unit in units:
                unit.materialize()
        raw: list[tuple[str, bytes]] = []
        counts = self.report.resources
        # Where each resource came from, for loaders that report refusals per source row.
        traced = caps.traces_sources
        for unit in units:
            if unit.notes:
                self._count_notes(m, unit)
            if unit.outcome == EMITTED:
                stats.emitted += unit.rows
                if unit.raw is not None:
                    raw.extend(unit.raw)
                    for rtype, _ in unit.raw:
                        counts[rtype] += 1
                    continue
                out.extend(unit.resources)
                if traced:
                    src = {"table": m.table, "mapping": m.name, "rows": unit.keys}
                    sources.extend([src] * len(unit.resources))
            elif unit.outcome == UNCHANGED:
                stats.emitted += unit.rows
                stats.unchanged += unit.rows
            elif unit.outcome == FILTERED:
                stats.filtered[unit.rule or "filtered"] += unit.rows
            else:
                stats.quarantined[unit.errors[0].code if unit.errors else "error"] += unit.rows
                self._quarantine(m, unit)
                self.dangling.quarantined(m, unit)
        counts.update(map(itemgetter("resourceType"), out))
        if watch:
            self.dangling.count(m, out, self.report.dangling)
        if observe:  # loaders that track source rows (sync) see every outcome
            self.loader.observe_units(m, units)
        if raw and load_raw:
            self.loader.load_raw(raw)
        self.loader.load(out, sources if traced else None)

    def _count_notes(self, m: CompiledMapping, unit: Unit) -> None:
        for note in unit.notes:
            self.report.warnings[f"{m.name}:{note.code}"] += 1
            if note.code == "unmapped-code":
                self.report.unmapped[(m.name, note.column or "", str(note.value))] += 1

    def _quarantine(self, m: CompiledMapping, unit: Unit) -> None:
        record = {
            "table": m.table, "mapping": m.name, "source": self.ext.describe(m.table),
            "rows": unit.keys,
            "reasons": [{"code": e.code, "message": e.message, "column": e.column,
                         "value": e.value, "rule": f"{m.file}:{e.line}" if e.line else m.file}
                        for e in unit.errors],
        }
        if self.ext.capabilities.locates_rows:  # a document source: which file, which line
            record["found_in"] = [self.ext.locate(m.table, k) for k in unit.keys]
        self.qfile.write(orjson.dumps(record, default=str) + b"\n")

    def _reject(self, m: CompiledMapping, stats: TableStats, reject: RejectedRow) -> None:
        stats.quarantined["unparseable-row"] += 1
        if self.ext.capabilities.split_lines and reject.raw:  # a file's line: key from it
            self.dangling.unreadable(m, self.ext.split_rejected(m.table, reject.raw))
        record = {"table": m.table, "mapping": m.name, "source": self.ext.describe(m.table),
                  "rows": [{"line": reject.line}],
                  "reasons": [{"code": "unparseable-row", "message": reject.message,
                               "column": None, "value": reject.raw, "rule": None}]}
        self.qfile.write(orjson.dumps(record) + b"\n")


def _dead_letters(loader: Loader, output: Path) -> DeadLetterWriter:
    """Refused resources go to OUT/dead_letters.ndjson (that of an earlier run is removed)."""
    path = output / DEAD_LETTERS_FILE
    path.unlink(missing_ok=True)
    loader.dead_letters = DeadLetterWriter(path)
    return loader.dead_letters


def _write_load_failures(loader: Loader, output: Path, report: RunReport,
                         dead: DeadLetterWriter) -> None:
    if dead.count:
        report.outputs["dead_letters"] = str(dead.path)
        return
    failures = loader.summary.failures
    if not failures:
        return
    path = output / "load_failures.ndjson"
    write_atomic(path, b"".join(
        orjson.dumps({"resourceType": f.resource_type, "id": f.id, "status": f.status,
                      "outcome": f.outcome}) + b"\n" for f in failures))
    report.outputs["load_failures"] = str(path)
