"""Profile a source (`emr-migrate profile`): per column its type, null share, distinct count,
top values and range, streamed chunk by chunk.

Privacy: a column that may identify a person is never profiled by value (no top values, no
number range): decided by its name (identifiers, names, addresses, phone, email, birth and
death dates, free text: `migrate.phi.sensitive_name`) and by its values (UUIDs, mostly distinct
values, values mostly shaped like names). Other columns list a value among the top values only
when it was seen at least ``min_count`` times (default 5). Date ranges are shown for every
date column (birth dates included), never as exact dates: each end cut to the month
(``2014-05 .. 2024-04``) when at least ``min_count`` values share that month, else to the year
(the month of one person's birth or visit is PHI).

A column about a person (by its name an MRN, an account, contact data, a place, free text:
`migrate.phi.personal_name`; by its values names or contact data: `personal_values`) is
withheld whatever the exceptions below say, and a table holding one is no reference table.

Three exceptions show values (still only those seen ``min_count`` times) where nothing can
identify a person: a *flag* column (at most 3 distinct values, all boolean tokens such as 0/1,
Y/N, T/F, true/false, whatever its name: ``DOB_MASKED``); a *code* column (at most
``CODE_MAX_DISTINCT`` distinct values without spaces, a name not saying it holds identifiers
or names) that is withheld only because its values are mostly distinct in a small table; and
every column of a *reference table* (a dictionary such as ``d_diagnosis``): a table named
as one (``DICTIONARY_NAME``: ``d_``, ``lu_``, ``..codes``, ``..types``, ``..dict``), with no
column named for a person (names, birth, contact, patient/subject/member ids: ``PERSON_NAME``),
no date column, and no identifier-like column (``..id``, ``..key``, UUID) holding numbers or
mostly distinct values besides its first column.

A text column gets no number range; numbers written with thousands separators (``1,000``) are
read as numbers and said so (``numbers with ',' thousands separators``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from migrate.errors import MigrateError
from migrate.extractors.base import Extractor, open_extractor, source_options
from migrate.phi import personal_name, personal_values, sensitive_name, sensitive_values
from migrate.validation.coverage import source_tables

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MIN_COUNT = 5
MAX_DISTINCT = 100_000  # distinct values tracked per column; beyond it counts are a floor
TOP_VALUES = 10
# Value shapes, tried in order; a date or datetime shape also gives its strftime format.
SHAPES: list[tuple[str, str, str | None]] = [
    ("integer", r"[+-]?\d{1,18}", None),
    ("decimal", r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?", None),
    ("date", r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
    ("date", r"\d{2}/\d{2}/\d{4}", "%m/%d/%Y"),
    ("datetime", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "%Y-%m-%dT%H:%M:%SZ"),
    ("datetime", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", "%Y-%m-%dT%H:%M:%S"),
    ("datetime", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "%Y-%m-%d %H:%M:%S"),
    ("uuid", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
     None),
]
_COMPILED = [(kind, re.compile(rx), fmt) for kind, rx, fmt in SHAPES]
# A number with ',' thousands separators (groups of 3 digits) and an optional decimal part.
THOUSANDS = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"
# Values of a flag column (compared lower-cased).
FLAG_TOKENS = frozenset({"0", "1", "y", "n", "yes", "no", "t", "f", "true", "false"})
CODE_MAX_DISTINCT = 20
_CODE_VALUE = re.compile(r"[\w.+/-]{1,20}")
# Column names that say a table holds people (not a reference table).
PERSON_NAME = re.compile(
    r"^name$|(first|last|given|family|full|middle|maiden|sur|nick|patient|person|pt)_?name|"
    r"subject|patient|person|member|subscriber|insured|guarantor|mrn|ssn|social|birth|dob|"
    r"death|deceased|addr|street|zip|postal|phone|mobile|email|contact|spouse|mother|father|"
    r"guardian|kin$|provider|doctor|physician|practitioner|clinician|nurse|staff|user|author|"
    r"owner|caregiver",
    re.IGNORECASE)
# Table names that say dictionary (d_diagnosis, D_ITEMS, lu_route, icd_codes, list_options).
DICTIONARY_NAME = re.compile(
    r"^(d|dim|lu|lkp|ref|list)_|dict|lookup|_ref$|codes?$|types?$|catalog|vocab|items$|"
    r"options$|concepts?$", re.IGNORECASE)
_BIRTH = re.compile(r"birth|dob|born", re.IGNORECASE)
OLDEST_AGE = 89  # HIPAA: ages over 89, and the birth years that tell them, are identifiers
_ID_NAME = re.compile(r"id$|key$|uuid|guid", re.IGNORECASE)


@dataclass
class ColumnProfile:
    """What one column holds."""

    name: str
    rows: int = 0
    nulls: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    capped: bool = False
    shapes: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    low: float | str | None = None
    high: float | str | None = None
    thousands: int = 0  # values read as numbers with ',' thousands separators
    reference: bool = False  # a column of a reference table (see the module docstring)

    @property
    def kind(self) -> str:
        """The shape of at least 95% of the values, else ``text`` (or ``empty``)."""
        filled = self.rows - self.nulls
        if not filled:
            return "empty"
        ints, decs = self.shapes[("integer", None)], self.shapes[("decimal", None)]
        if ints >= 0.95 * filled:
            return "integer"
        if ints + decs >= 0.95 * filled:
            return "decimal"
        (kind, _fmt), n = self.shapes.most_common(1)[0] if self.shapes else (("text", None), 0)
        return kind if n >= 0.95 * filled else "text"

    @property
    def date_format(self) -> str | None:
        """The strftime format of a date or datetime column."""
        formats = [(n, f) for (k, f), n in self.shapes.items() if k == self.kind and f]
        return max(formats)[1] if formats else None

    @property
    def numeric(self) -> str | None:
        """``integer`` or ``decimal`` when at least 95% of the values are numbers, counting
        those written with ',' thousands separators; else None."""
        if self.kind in ("integer", "decimal"):
            return self.kind
        filled = self.rows - self.nulls
        ints, decs = self.shapes[("integer", None)], self.shapes[("decimal", None)]
        if not self.thousands or ints + decs + self.thousands < 0.95 * filled:
            return None
        return "decimal" if decs else "integer"

    @property
    def flag(self) -> bool:
        """True for a flag column: at most 3 distinct values, all boolean tokens (0/1, Y/N)."""
        return 0 < len(self.counts) <= 3 and all(v.lower() in FLAG_TOKENS for v in self.counts)

    @property
    def identifying(self) -> bool:
        """True when the name or the values say the column may identify a person."""
        filled = self.rows - self.nulls
        return self.kind == "uuid" or sensitive_name(self.name) or \
            (self.kind in ("text", "integer") and sensitive_values(self.counts, len(self.counts),
                                                                   filled))

    @property
    def personal(self) -> bool:
        """True when the name says the column is about a person (an MRN, an account, contact
        data, a place, free text: `migrate.phi.personal_name`) or the values are shaped like
        names or contact data: withheld in a reference table too."""
        return self.kind == "uuid" or personal_name(self.name) or \
            (self.kind in ("text", "integer") and personal_values(self.counts))

    @property
    def sensitive(self) -> bool:
        """True when the column may identify a person: never shown by value (dates still get
        a range, see `bounds`). Flags, codes and reference tables are exceptions."""
        if self.flag:
            return False
        if self.personal:
            return True
        if self.reference or not self.identifying:
            return False
        code = (not self.capped and len(self.counts) <= CODE_MAX_DISTINCT
                and all(_CODE_VALUE.fullmatch(v) for v in self.counts))
        return sensitive_name(self.name) or not code

    def bounds(self, min_count: int = DEFAULT_MIN_COUNT
               ) -> tuple[float | str | None, float | str | None]:
        """The range as shown: dates cut to the month, or to the year when fewer than
        ``min_count`` values share the end's month (the month of one person's birth or visit
        is PHI); numbers only for number columns that are not sensitive, whole numbers as
        ``int``."""
        if self.low is None:
            return None, None
        if isinstance(self.low, str) and isinstance(self.high, str):
            return (self._month(self.low, min_count), self._month(self.high, min_count)) \
                if self.kind in ("date", "datetime") else (None, None)
        kind = self.numeric
        if self.sensitive or kind is None or isinstance(self.low, str):
            return None, None
        if kind == "integer" and float(self.low).is_integer() and \
                float(self.high or 0).is_integer():
            return int(self.low), int(self.high or 0)
        return self.low, self.high

    def _month(self, end: str, min_count: int) -> str:
        """``end`` cut to its month when ``min_count`` values share that month, else its year."""
        if _BIRTH.search(self.name) and end[:4].isdigit() and \
                int(end[:4]) < date.today().year - OLDEST_AGE:
            return f"before {date.today().year - OLDEST_AGE}"  # a birth year of someone over 89
        month = end[:7]
        shared = sum(n for v, n in self.counts.items() if v.startswith(month))
        return month if shared >= min_count else end[:4]

    def top(self, min_count: int) -> list[tuple[str, int]]:
        """The most frequent values seen at least ``min_count`` times (none when sensitive, none
        for dates)."""
        if self.sensitive or self.kind in ("date", "datetime"):
            return []
        frequent = sorted(((v, n) for v, n in self.counts.items() if n >= min_count),
                          key=lambda vn: (-vn[1], vn[0]))
        return frequent[:TOP_VALUES]

    def as_dict(self, min_count: int) -> dict[str, Any]:
        """JSON-ready, with the privacy rule applied to top values."""
        distinct = len(self.counts)
        low, high = self.bounds(min_count)
        return {"name": self.name, "type": self.numeric or self.kind,
                "format": self.date_format, "values_withheld": self.sensitive,
                "thousands": "," if self.thousands and self.numeric else None,
                "nulls": self.nulls, "null_share": round(self.nulls / self.rows, 4)
                if self.rows else 0.0, "distinct": distinct, "distinct_is_floor": self.capped,
                "top_values": [{"value": v, "count": n} for v, n in self.top(min_count)],
                "min": low, "max": high}


@dataclass
class TableProfile:
    """What one table holds."""

    table: str
    rows: int = 0
    rejected: int = 0
    columns: list[ColumnProfile] = field(default_factory=list)
    error: str | None = None
    reference: bool = False  # no column links to a person: see the module docstring

    def mark_reference(self) -> None:
        """Decide whether this is a reference table and tell its columns."""
        links = [c for c in self.columns[1:] if _ID_NAME.search(c.name) and (
            c.kind in ("integer", "uuid") or len(c.counts) > 0.5 * max(c.rows - c.nulls, 1))]
        self.reference = bool(self.rows) and not self.error and not links and \
            bool(DICTIONARY_NAME.search(self.table)) and not any(
            PERSON_NAME.search(c.name) or c.personal or c.kind in ("date", "datetime", "uuid")
            for c in self.columns)
        for c in self.columns:
            c.reference = self.reference

    def column(self, name: str) -> ColumnProfile | None:
        """One column's profile by name."""
        return next((c for c in self.columns if c.name == name), None)


def profile_table(ext: Extractor, table: str, nulls: frozenset[str] = frozenset({""}),
                  chunk_size: int = 5000) -> TableProfile:
    """Profile one table in one streaming pass."""
    import pandas as pd  # heavy (about half a second): only profiling needs it

    try:
        names = ext.columns(table)
    except MigrateError as exc:
        return TableProfile(table, error=str(exc))
    prof = TableProfile(table, columns=[ColumnProfile(n) for n in names])
    try:
        for batch in ext.iter_batches(table, chunk_size):
            prof.rejected += len(batch.rejects)
            if not batch.rows:
                continue
            frame = pd.DataFrame(batch.rows, columns=names, dtype="object")
            prof.rows += len(frame)
            for col in prof.columns:
                _add(col, frame[col.name], nulls)
    except MigrateError as exc:
        prof.error = str(exc)
    prof.mark_reference()
    return prof


def _add(col: ColumnProfile, values: pd.Series, nulls: frozenset[str]) -> None:
    col.rows += len(values)
    text = values.astype("string").str.strip()
    text = text[text.notna() & ~text.isin(list(nulls))]
    col.nulls += len(values) - len(text)
    if text.empty:
        return
    for value, n in text.value_counts().items():
        if value in col.counts or len(col.counts) < MAX_DISTINCT:
            col.counts[str(value)] += int(n)
        else:
            col.capped = True
    _shapes(col, text)


def _shapes(col: ColumnProfile, text: pd.Series) -> None:
    import pandas as pd  # heavy: see profile_table

    left = text
    for kind, rx, fmt in _COMPILED:
        hit = left.str.fullmatch(rx.pattern).fillna(False).astype(bool)
        n = int(hit.sum())
        if n:
            col.shapes[(kind, fmt)] += n
            matched = left[hit]
            if kind in ("integer", "decimal"):
                nums = pd.to_numeric(matched, errors="coerce")
                _range(col, float(nums.min()), float(nums.max()))
            elif kind in ("date", "datetime") and fmt and fmt.startswith("%Y"):
                _range(col, str(matched.min()), str(matched.max()))
            left = left[~hit]
        if left.empty:
            return
    grouped = left[left.str.fullmatch(THOUSANDS).fillna(False).astype(bool)]
    if not grouped.empty:
        col.thousands += len(grouped)
        nums = pd.to_numeric(grouped.str.replace(",", "", regex=False), errors="coerce")
        _range(col, float(nums.min()), float(nums.max()))


def _range(col: ColumnProfile, low: Any, high: Any) -> None:
    if col.low is None or type(col.low) is not type(low):
        col.low, col.high = low, high
        return
    col.low, col.high = min(col.low, low), max(col.high, high)


def render_profile(profiles: list[TableProfile], min_count: int) -> str:
    """A text summary for people: one block per table, one line per column."""
    lines: list[str] = []
    for p in profiles:
        head = f"{p.table}: {p.rows} rows" + (f", {p.rejected} unparseable" if p.rejected else "")
        head += "  (reference table: no column links to a person)" if p.reference else ""
        lines.append(head + (f"  ERROR: {p.error}" if p.error else ""))
        for c in p.columns:
            d = c.as_dict(min_count)
            top = ", ".join(f"{t['value']} ({t['count']})" for t in d["top_values"][:4])
            rng = f" range {d['min']} .. {d['max']}" if d["min"] is not None else ""
            rng += "  (numbers with ',' thousands separators)" if d["thousands"] else ""
            rng += "  (values withheld)" if d["values_withheld"] and d["min"] is None else ""
            rng += f"  (no value seen {min_count}+ times)" if not (
                top or d["values_withheld"] or d["min"] is not None or not d["distinct"]) else ""
            lines.append(f"  {c.name:<24.24} {d['type']:<9} null {d['null_share']:>6.1%} "
                         f"distinct {d['distinct']:>6}{'+' if c.capped else ' '}{rng}"
                         + (f"  top: {top}" if top else ""))
        lines.append("")
    lines.append(f"(top values seen fewer than {min_count} times are not shown; columns that "
                 "may identify a person are never shown by value, except 0/1 or Y/N flags and "
                 "reference tables; a date range's end is cut to the month when "
                 f"{min_count}+ values share it, else to the year)")
    return "\n".join(lines)


def profile_source(source: dict[str, Any], tables: list[str] | None = None,
                   files: dict[str, str] | None = None,
                   nulls: frozenset[str] = frozenset({""})) -> list[TableProfile]:
    """Profile the given tables of a source (all of its tables when none are named).

    ``source`` is a source setting as `migrate.config.parse_source` gives it; ``files`` maps
    table names to CSV file names (a pack's ``files:``).
    """
    opts = source_options(source, files)
    ext = open_extractor(**opts)
    try:
        names = list(tables) if tables else source_tables(ext, opts.get("files"))
        return [profile_table(ext, t, nulls) for t in names]
    finally:
        ext.close()
