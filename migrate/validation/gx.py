"""Run source expectations with great-expectations (GX Core 1.x) on pandas frames of the source.

great-expectations is imported only inside :func:`run_expectations` (the import costs seconds).
Dates are parsed by pandas with the declared strftime format (GX's own date expectations parse
value by value and are slow); GX then checks the parse outcome and the range. Foreign keys,
which GX cannot check across two tables, are checked here on pandas and reported the same way.

Counts come from one fast GX pass per frame (``BASIC`` results); example rows of failed
expectations come from a second pass of that expectation alone, with the row number as the
``unexpected_index_column_names``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.validation.expectations import ExpectationSpec, SuiteSpec
from migrate.validation.frames import ROW, TableScan

if TYPE_CHECKING:
    import pandas as pd

    from migrate.mappers.terminology import ConceptMap

MAX_EXAMPLES = 5
_EXAMPLE_SCAN_ROWS = 50_000  # failing rows are looked for in at most this many rows


@dataclass
class ExpectationResult:
    """The outcome of one expectation (or one part of it: a date's format, then its range)."""

    table: str
    check: str
    kind: str
    columns: list[str]
    severity: str
    mostly: float
    success: bool = True
    element_count: int = 0
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)  # raw row keys
    values: list[Any] = field(default_factory=list)  # raw failing values
    engine: str = "great-expectations"
    expectation: str = ""
    error: str | None = None

    def fail(self, error: str) -> ExpectationResult:
        """Mark the result as failed because the check could not run."""
        self.success, self.error = False, error
        return self


@dataclass
class _Job:
    """One GX expectation to run on one frame, filling ``result``."""

    result: ExpectationResult
    frame: pd.DataFrame
    make: Callable[[], Any]  # builds the GX expectation (built twice: counts, examples)
    value_column: str
    key: list[str]


class _Plan:
    """Turns specs into results, GX jobs and foreign-key checks."""

    def __init__(self, scans: dict[str, TableScan], keys: dict[str, list[str]],
                 concept_maps: dict[str, ConceptMap]) -> None:
        import great_expectations.expectations as gxe

        self.gxe, self.scans, self.keys, self.maps = gxe, scans, keys, concept_maps
        self.jobs: list[_Job] = []
        self._subsets: dict[tuple[str, str], pd.DataFrame] = {}

    def table(self, table: str, specs: list[ExpectationSpec]) -> list[ExpectationResult]:
        out: list[ExpectationResult] = []
        scan = self.scans.get(table)
        for spec in specs:
            base = ExpectationResult(table, spec.describe(), spec.kind, spec.columns,
                                     spec.severity, spec.mostly)
            problem = _missing(scan, spec)
            if problem:
                out.append(base.fail(problem))
            elif spec.kind == "foreign_key":
                out.append(self._foreign_key(spec, base))
            else:
                out.extend(self._gx(spec, base))
        return out

    def frame(self, table: str, spec: ExpectationSpec) -> pd.DataFrame:
        """The table's frame, restricted to the ``where`` rows."""
        full = self.scans[table].frame
        assert full is not None
        where = spec.where_values
        if not where:
            return full
        sig = (table, repr(sorted(where.items())))
        if sig not in self._subsets:
            mask = None
            for col, values in where.items():
                m = full[col].isin(values)
                mask = m if mask is None else mask & m
            self._subsets[sig] = full[mask].reset_index(drop=True)
        return self._subsets[sig]

    def _gx(self, spec: ExpectationSpec, base: ExpectationResult) -> list[ExpectationResult]:
        frame = self.frame(base.table, spec)
        key = [k for k in self.keys.get(base.table, []) if k in frame.columns]
        built = list(_gx_expectations(self.gxe, spec, frame, self.maps))
        results = []
        for i, (make, check) in enumerate(built):
            result = base if i == 0 else ExpectationResult(
                base.table, check, base.kind, base.columns, base.severity, base.mostly)
            result.check = check or result.check
            result.expectation = make.__name__
            self.jobs.append(_Job(result, frame, make, spec.columns[0], key))
            results.append(result)
        return results

    def _foreign_key(self, spec: ExpectationSpec, r: ExpectationResult) -> ExpectationResult:
        ref_table, ref_col = spec.referenced() or ("", "")
        ref = self.scans.get(ref_table)
        if ref is None or ref.frame is None or ref_col not in ref.frame.columns:
            return r.fail(f"referenced column {ref_table}.{ref_col} is not in the source")
        frame = self.frame(r.table, spec)
        col = frame[spec.columns[0]]
        present = col.notna()
        bad = present & ~col.isin(set(ref.frame[ref_col].dropna()))
        r.engine, r.expectation = "emr-migrate", "foreign_key"
        _count(r, int(present.sum()), int(bad.sum()))
        rows = frame[bad].head(MAX_EXAMPLES)
        key = [k for k in self.keys.get(r.table, []) if k in frame.columns]
        r.examples = _keys(rows, key)
        r.values = rows[spec.columns[0]].tolist()
        return r


def _missing(scan: TableScan | None, spec: ExpectationSpec) -> str | None:
    if scan is None:
        return "table is not in the source"
    if scan.error:
        return f"table could not be read: {scan.error}"
    absent = [c for c in spec.needed_columns() if c not in scan.columns]
    if absent:
        return f"column(s) {', '.join(absent)} not in the table"
    return None


def _count(r: ExpectationResult, elements: int, unexpected: int) -> None:
    r.element_count, r.unexpected_count = elements, unexpected
    r.unexpected_percent = 100.0 * unexpected / elements if elements else 0.0
    r.success = elements == 0 or (elements - unexpected) / elements >= r.mostly


def _keys(rows: pd.DataFrame, key: list[str]) -> list[dict[str, Any]]:
    cols = key or [ROW]
    return [{c: row[c] for c in cols} for _, row in rows.iterrows()]


def _gx_expectations(gxe: Any, spec: ExpectationSpec, frame: pd.DataFrame,
                     maps: dict[str, ConceptMap]) -> Iterator[tuple[Callable[[], Any], str]]:
    """Factories of the GX expectation(s) of one spec, each with its description ('' keeps
    the spec's)."""
    col, mostly = spec.columns[0], spec.mostly
    kind = spec.kind
    if kind == "not_null":
        yield _make(gxe.ExpectColumnValuesToNotBeNull, column=col, mostly=mostly), ""
    elif kind == "unique" and len(spec.columns) > 1:
        yield _make(gxe.ExpectCompoundColumnsToBeUnique, column_list=spec.columns,
                    mostly=mostly), ""
    elif kind == "unique":
        yield _make(gxe.ExpectColumnValuesToBeUnique, column=col, mostly=mostly), ""
    elif kind == "in_set":
        yield _make(gxe.ExpectColumnValuesToBeInSet, column=col, mostly=mostly,
                    value_set=_value_set(spec, maps)), ""
    elif kind == "regex":
        yield _make(gxe.ExpectColumnValuesToMatchRegex, column=col, regex=spec.pattern,
                    mostly=mostly), ""
    elif kind == "date":
        yield from _date(gxe, spec, frame)
    elif kind == "between":
        number = _derived(frame, f"__number__{col}", lambda: _numbers(frame[col]))
        yield _make(gxe.ExpectColumnValuesToBeBetween, column=number, min_value=spec.min,
                    max_value=spec.max, mostly=mostly), ""


def _make(cls: Any, **kwargs: Any) -> Callable[[], Any]:
    def make() -> Any:
        return cls(**kwargs)

    make.__name__ = cls.__name__
    return make


def _value_set(spec: ExpectationSpec, maps: dict[str, ConceptMap]) -> list[str]:
    if spec.values is not None:
        return spec.values
    cmap = maps.get(str(spec.concept_map))
    if cmap is None:
        from migrate.errors import ConfigError

        raise ConfigError(f"expectation {spec.describe()!r}: no concept map "
                          f"{spec.concept_map!r} in the pack's concept_maps/")
    return sorted(cmap.entries)


def _date(gxe: Any, spec: ExpectationSpec,
          frame: pd.DataFrame) -> Iterator[tuple[Callable[[], Any], str]]:
    col, fmt = spec.columns[0], str(spec.format)
    parsed = _derived(frame, f"__date__{col}__{fmt}", lambda: _dates(frame[col], fmt))
    ok = _derived(frame, f"__dateok__{col}__{fmt}", lambda: _parse_ok(frame[col], frame[parsed]))
    yield _make(gxe.ExpectColumnValuesToBeInSet, column=ok, value_set=[True],
                mostly=spec.mostly), ""
    if spec.min is not None or spec.max is not None:
        lo, hi = (_when(v) for v in (spec.min, spec.max))
        check = f"{col} between {spec.min or '...'} and {spec.max or '...'}"
        yield _make(gxe.ExpectColumnValuesToBeBetween, column=parsed, min_value=lo,
                    max_value=hi, mostly=spec.mostly), check


def _derived(frame: pd.DataFrame, name: str, make: Any) -> str:
    """Add a computed column once (frames are shared by the expectations of a table)."""
    if name not in frame.columns:
        frame[name] = make()
    return name


def _dates(values: pd.Series, fmt: str) -> pd.Series:
    import pandas as pd

    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    return parsed.dt.tz_convert(None)


def _parse_ok(values: pd.Series, parsed: pd.Series) -> pd.Series:
    """True (parsed) or False (not parsed) for each value; None where there is no value."""
    return parsed.notna().astype("object").where(values.notna(), None)


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers; text that is not a number becomes +inf, so that a range check fails it."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(numbers.notna() | values.isna(), float("inf"))


def _when(value: Any) -> Any:
    import pandas as pd

    if value is None:
        return None
    if str(value).strip().lower() == "today":
        return pd.Timestamp.now().normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return pd.Timestamp(str(value))


def run_expectations(suite: SuiteSpec, scans: dict[str, TableScan], keys: dict[str, list[str]],
                     concept_maps: dict[str, ConceptMap]) -> list[ExpectationResult]:
    """Run every expectation of ``suite`` on the scanned frames; results in suite order.

    ``keys`` names the key columns of each table (shown for failing rows); ``concept_maps``
    are the pack's, for ``in_set`` with ``concept_map``.
    """
    if not suite.tables:
        return []
    plan = _Plan(scans, keys, concept_maps)
    results: list[ExpectationResult] = []
    for table, texp in suite.tables.items():
        results.extend(plan.table(table, texp.expect))
    if plan.jobs:
        _run_gx(plan.jobs)
    return results


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _run_gx(jobs: list[_Job]) -> None:
    """One suite per frame, BASIC results; then examples for the failed ones."""
    with warnings.catch_warnings():
        # pandas warns when a regex has groups (GX uses str.contains): harmless here.
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression",
                                UserWarning)
        _run_suites(jobs)


def _run_suites(jobs: list[_Job]) -> None:
    import great_expectations as gx

    ctx = _context()
    source = ctx.data_sources.add_pandas("emr-migrate-source")
    by_frame: dict[int, list[int]] = {}
    for n, job in enumerate(jobs):
        by_frame.setdefault(id(job.frame), []).append(n)
    for f, members in enumerate(by_frame.values()):
        frame = jobs[members[0]].frame
        batch_def = source.add_dataframe_asset(f"frame-{f}").add_batch_definition_whole_dataframe(
            "all")
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"suite-{f}"))
        for n in members:
            expectation = jobs[n].make()
            expectation.meta = {"job": n}
            suite.add_expectation(expectation)
        run = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=f"validation-{f}", data=batch_def, suite=suite))
        outcome = run.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
        for res in outcome.results:
            job = jobs[int(res.expectation_config.meta["job"])]
            _fill(job, res)
            if not job.result.success or job.result.unexpected_count:
                _examples(batch_def, job)


def _fill(job: _Job, res: Any) -> None:
    r = job.result
    error = _exception(res.exception_info or {})
    if error is not None:
        r.fail(f"great-expectations could not run it: {error[:200]}")
        return
    out = res.result or {}
    r.success = bool(res.success)
    r.element_count = int(out.get("element_count") or 0) - int(out.get("missing_count") or 0)
    r.unexpected_count = int(out.get("unexpected_count") or 0)
    r.unexpected_percent = float(out.get("unexpected_percent") or 0.0)


def _exception(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught: at the top, or per metric."""
    found = [info, *(v for v in info.values() if isinstance(v, dict))]
    for item in found:
        if item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown error")
    return None


def _examples(batch_def: Any, job: _Job) -> None:
    """Row keys and values of the first failing rows (looked for in the first rows only)."""
    frame = job.frame
    sample = frame if len(frame) <= _EXAMPLE_SCAN_ROWS else frame.head(_EXAMPLE_SCAN_ROWS)
    res = batch_def.get_batch(batch_parameters={"dataframe": sample}).validate(
        job.make(), result_format={"result_format": "SUMMARY", "partial_unexpected_count":
                                    MAX_EXAMPLES, "unexpected_index_column_names": [ROW]})
    index = (res.result or {}).get("partial_unexpected_index_list") or []
    numbers = [int(i[ROW]) for i in index[:MAX_EXAMPLES] if isinstance(i, dict) and ROW in i]
    rows = frame[frame[ROW].isin(numbers)]
    job.result.examples = _keys(rows, job.key)
    job.result.values = rows[job.value_column].tolist()
