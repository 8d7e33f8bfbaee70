"""What one profiled column looks like to the scaffold: its type (the profiler's, refined into
flags, codes, numbers with thousands separators and more date formats), its null share and
notes. Only names, types, counts and shares come out of here, never a value of the data, with
one exception: the unit spellings of a unit column (``DOSE_UNIT_RX``, ``VALUEUOM``) seen at
least `UNIT_MIN_COUNT` times, which are no patient data (``mg``, ``mEq/L``) and are written in
pack.yaml's ``# units:`` note so that the spellings UCUM lacks can be mapped. A value shaped
like free text (a name-like word, a long digit run, ``_`` or ``@``, a phone number) is no
spelling and is never written (`_unit_like`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from migrate.phi import personal_values
from migrate.report.profile import THOUSANDS, ColumnProfile

# Token pairs of flag columns (compared lower-cased); written in suggestions, as they are ours.
FLAG_TOKENS: list[tuple[str, str]] = [("1", "0"), ("y", "n"), ("t", "f"), ("true", "false"),
                                      ("yes", "no"), ("on", "off"), ("j", "n"), ("ja", "nein"),
                                      ("oui", "non"), ("si", "no"), ("s", "n")]
# The `boolean` transform's default token lists (migrate.mappers.transforms, lower-cased): a
# flag whose tokens they cover needs no lists (`{boolean: $COL}`).
DEFAULT_TRUE = frozenset({"true", "1", "yes", "y", "t"})
DEFAULT_FALSE = frozenset({"false", "0", "no", "n", "f"})
# A unit column (DOSE_UNIT_RX, VALUEUOM, unit): its spellings seen this often are written.
UNIT_NAME = re.compile(r"(^|_)(units?|uom)($|_)|uom$|units?$", re.IGNORECASE)
UNIT_MIN_COUNT = 5
_UNIT_TEXT = re.compile(r"[!-~]{1,20}")  # printable ASCII without spaces, at most 20 characters
# What no unit spelling holds and free text may (a name, a phone or record number): such a
# value of a unit column (``call_J.Smith``, ``Dr.Jones``, ``5550100``) is never written.
_NOT_A_UNIT = re.compile(r"[_@,;:'\"]|[A-Z][a-z]{3,}|\d{5,}")
LONG_TEXT = 80  # a text column whose distinct values average this many characters is free text
CODE_MAX_DISTINCT = 50  # a column with at most this many distinct values (and repeats) is a code
_THOUSANDS = re.compile(THOUSANDS)  # the profiler's: one spelling of a grouped number
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
# Date shapes the profiler does not know, with the strftime format (None: ISO, read as is).
_MORE_DATES: list[tuple[str, re.Pattern[str], str | None]] = [
    ("datetime", re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                            r"(Z|[+-]\d{2}:?\d{2})?"), None),
    ("datetime", re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"), "%m/%d/%Y %H:%M"),
    ("date", re.compile(r"\d{2}\.\d{2}\.\d{4}"), "%d.%m.%Y"),
    ("date", re.compile(r"\d{8}"), "%Y%m%d"),
]


@dataclass
class ColumnInfo:
    """One column as the scaffold describes it (no values)."""

    name: str
    kind: str
    null_share: float
    distinct: int
    capped: bool
    fmt: str | None = None
    base_kind: str = ""  # the kind before "code": what a foreign key column keeps
    flag: tuple[str, str] | None = None
    exact: bool = False  # a date whose every value has the one format (a template may read it)
    notes: list[str] = field(default_factory=list)
    units: list[tuple[str, int]] = field(default_factory=list)  # a unit column's spellings
    long_text: bool = False  # free text (long values): a note, a report

    @property
    def type_text(self) -> str:
        """The type as written in comments and the README."""
        return self.kind + (f" ({self.fmt})" if self.fmt else "")

    @property
    def default_flag(self) -> bool:
        """True for a flag the `boolean` transform reads with its default token lists."""
        return self.flag is not None and self.flag[0].lower() in DEFAULT_TRUE \
            and self.flag[1].lower() in DEFAULT_FALSE


def describe_column(col: ColumnProfile, table_rows: int) -> ColumnInfo:
    """The scaffold's view of one profiled column."""
    filled = col.rows - col.nulls
    info = ColumnInfo(col.name, col.kind, col.nulls / col.rows if col.rows else 0.0,
                      len(col.counts), col.capped, col.date_format)
    if col.capped:
        info.notes.append("more distinct values than the profiler keeps: counts are a floor")
    if not filled:
        return info
    _refine(info, col, filled)
    if info.kind in ("date", "datetime"):
        info.notes += _year_notes(col)
        info.exact = _exact_date(info, col, filled)
    if (info.kind in ("text", "integer") and not info.flag and info.distinct <= CODE_MAX_DISTINCT
            and info.distinct * 2 <= filled and not col.capped):
        info.base_kind, info.kind = info.kind, "code"
    if info.kind == "code" and UNIT_NAME.search(col.name):
        info.units = sorted(((v, n) for v, n in col.counts.items()
                             if n >= UNIT_MIN_COUNT and _unit_like(v)),
                            key=lambda vn: (-vn[1], vn[0]))
    info.long_text = (info.kind == "text" and bool(col.counts)
                      and sum(map(len, col.counts)) >= LONG_TEXT * len(col.counts))
    return info


def _unit_like(value: str) -> bool:
    """True for a value a unit column may write out: short, no space, nothing of free text
    (no name-like word, no long digit run, no ``_ @ , ; :`` or quote, no contact shape)."""
    return bool(_UNIT_TEXT.fullmatch(value)) and not _NOT_A_UNIT.search(value) \
        and not personal_values([value])


def _refine(info: ColumnInfo, col: ColumnProfile, filled: int) -> None:
    """Flags, numbers with thousands separators and the date shapes the profiler lacks."""
    spelt = {v.lower(): v for v in col.counts}
    for true, false in FLAG_TOKENS:
        if spelt and set(spelt) <= {true, false} and not col.capped:
            # our own tokens, in the case the column writes them (Y, not y)
            info.kind, info.flag = "flag", (spelt.get(true, true), spelt.get(false, false))
            return
    if info.kind != "text":
        return
    grouped = sum(n for v, n in col.counts.items() if _THOUSANDS.fullmatch(v))
    plain = sum(n for v, n in col.counts.items() if _PLAIN_NUMBER.fullmatch(v))
    if grouped and grouped + plain >= 0.95 * filled:
        info.kind = "number"
        info.notes.append("numbers with ',' thousands separators: "
                          "{decimal: {value: ..., thousands: ','}}")
        return
    for kind, rx, fmt in _MORE_DATES:
        if sum(n for v, n in col.counts.items() if rx.fullmatch(v)) >= 0.95 * filled:
            info.kind, info.fmt = kind, fmt
            return


def _exact_date(info: ColumnInfo, col: ColumnProfile, filled: int) -> bool:
    """True when every value of a date column has its one format and no year is 0 (a
    MySQL zero date): `date`/`datetime` in a template then never fails on it."""
    if col.kind == info.kind:
        same = col.shapes[(info.kind, col.date_format)] == filled
    else:  # a shape of _MORE_DATES: told by the values kept, all of them only when not capped
        rx = next(rx for kind, rx, fmt in _MORE_DATES if (kind, fmt) == (info.kind, info.fmt))
        same = not col.capped and sum(n for v, n in col.counts.items() if rx.fullmatch(v)) \
            == filled
    return same and not any(v.startswith("0000") for v in col.counts)


def _year_notes(col: ColumnProfile) -> list[str]:
    """A note when years look masked or shifted (the years themselves are not written)."""
    years = [int(m.group()) for v in col.counts if (m := re.search(r"\d{4}", v))]
    if not years:
        return []
    notes = []
    if max(years) > date.today().year + 1:
        notes.append("some years lie in the future: dates look shifted (de-identified?)")
    if min(years) < 1900:
        notes.append("some years are before 1900: masked or shifted dates?")
    return notes
