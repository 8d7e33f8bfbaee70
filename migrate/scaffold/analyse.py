"""Step 2 of `emr-migrate scaffold`: from the profiles, each table's key, the foreign keys
between tables, the dictionary tables and a suggested FHIR resource per entity table.

- **Keys** by uniqueness: a column always filled whose values are all different (id-like names
  first), else a unique pair (`profile.find_unique_pairs`), else an id-like column unique but
  for a few repeated values (their extra rows at most `NEAR_UNIQUE_SHARE` of the table: a row
  exported twice; `run` quarantines the repeats as duplicate-key, and the output says how
  many values repeat); a table over the profiler's cap gets an id-like column *not proven*
  unique (said in the output); with none, every column (duplicate rows numbered).
- **Foreign keys** by value containment: every value of a column is a value of a one-column
  key of another table, or nearly every one (real exports have orphans: see `near_contained`;
  the values and rows not found are counted, never listed). Name similarity breaks ties, and
  guards against coincidences: a column with few values (a sequence number) or its own
  table's row number needs a name that resembles the key's to count.
- **Dictionaries**: a one-column key, a mostly distinct text label, referenced by another
  table, a name that suggests no patient or encounter table, and few columns: at most
  `DICTIONARY_MAX_COLUMNS`, or up to `WIDE_DICTIONARY_MAX_COLUMNS` for a table with no date
  and no person's name, far smaller than a table referencing it and named like no entity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import islice

from migrate.report.profile import ColumnProfile, TableProfile
from migrate.scaffold.columns import ColumnInfo, describe_column
from migrate.scaffold.profile import SourceProfile, single_keys, weak_key

DICTIONARY_MAX_COLUMNS = 4
WIDE_DICTIONARY_MAX_COLUMNS = 8  # a wider dictionary (item id, label, fluid, category, LOINC)
WIDE_DICTIONARY_RATIO = 10  # ... has at most 1/10 of the rows of a table referencing it
DICTIONARY_NAME = r"^d_|dict|lookup|vocab|(^|_)(codes?|items?|types?)$"
NEAR_UNIQUE_SHARE = 0.01  # a key's repeated rows: at most this share of the table
NEAR_SHARE = 0.05  # near containment: at most this share of values and rows not found ...
NEAR_UNRELATED_SHARE = 0.01  # ... or this share, for a name unlike the key's
FEW_VALUES = 20  # a column with fewer distinct values needs a similar name to be a foreign key
# Per suggested resource: a table-name pattern (searched, in this order: the more specific
# first, Patient last), then column-name patterns that must each match a whole column name
# (lower-cased) for the column names to suggest it (None: never by columns).
RESOURCES: list[tuple[str, str, list[str] | None]] = [
    ("ImagingStudy", r"imaging|radiolog|dicom", None),
    ("AllergyIntolerance", r"allerg", [r"allerg\w*"]),
    ("Immunization", r"immuni[sz]|vaccin", [r"(cvx|vaccine)\w*"]),
    ("CarePlan", r"care_?plan|plan_?of_?care", None),
    ("Device", r"device|implant", None),
    ("Encounter", r"admission|encounter|visit|stay|episode", [r"admit\w*", r"disch\w*"]),
    ("Condition", r"diagnos|condition|problem", [r"(icd\w*|diagnos[ie]s)(_?code)?"]),
    ("Procedure", r"procedure|surgery|operation", [r"(procedure|cpt)(_?code)?"]),
    ("MedicationRequest", r"prescription|medication|drug|rx\b|pharmacy",
     [r"(drug|medication)(_?(name|code))?", r"dose\w*"]),
    ("Observation", r"lab|vital|observation|measure|chartevent|result",
     [r"valuenum|value_?num(ber)?|result_?value"]),
    ("Organization", r"organi[sz]ation|facilit|department|^(clinic|hospital)s?$", None),
    ("Practitioner", r"provider|practitioner|physician|doctor|clinician|staff|^users?$", None),
    ("Patient", r"patient|person|demograph|member", [r"gender|sex", r"dob|birth\w*"]),
]
# Administrative tables (claims, billing) are not clinical entities, whatever their columns.
ADMINISTRATIVE = r"claim|bill|charge|payment|transaction|invoice|payer|insur|account"
NOTES = r"(^|_)(notes?|documents?)($|_)"
# These need a subject (a patient): without a foreign key to a Patient table they are Basic.
NEEDS_SUBJECT = {"Condition", "Procedure", "MedicationRequest", "AllergyIntolerance",
                 "Immunization", "ImagingStudy", "CarePlan"}
GENERIC_ID = re.compile(r"id|oid", re.IGNORECASE)
# Counters within a parent (line numbers, sequence numbers): never foreign keys.
COUNTER = re.compile(r"(^|_)(seq|seq_?num|sequence|line|line_?no|row_?id|rownum)$",
                     re.IGNORECASE)
_PERSON = re.compile(r".*((first|last|given|family|sur|middle)_?name|dob|birth|gender|sex).*",
                     re.IGNORECASE)
_ID_NAME = re.compile(r"(^|_)(id|key|no|num|nr|code)$|id$", re.IGNORECASE)


@dataclass
class ForeignKey:
    """``table.column`` holds values of ``ref_table.ref_column`` (a one-column key): all of
    them, or all but ``missing`` distinct values on ``missing_rows`` rows (orphans)."""

    table: str
    column: str
    ref_table: str
    ref_column: str
    missing: int = 0
    missing_rows: int = 0

    def orphans(self, looked_up: bool) -> str:
        """What the values not found mean, in a note ("" when all are found): look-up misses
        for a table read by a look-up, dangling references otherwise. Counts, no values."""
        if not self.missing:
            return ""
        what = "look-up misses" if looked_up else "dangling references"
        return (f"{self.missing} value(s) not found in {self.ref_table} ({self.missing_rows} "
                f"row(s)): those rows will be {what}")


@dataclass
class TableInfo:
    """One table as the scaffold describes it."""

    name: str
    rows: int
    rejected: int
    error: str | None
    columns: list[ColumnInfo]
    key: list[str] = field(default_factory=list)
    key_note: str = ""
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    label: str | None = None  # the text column of a dictionary table
    resource: str | None = None  # None for dictionaries and unreadable tables
    resource_note: str = ""

    def column(self, name: str) -> ColumnInfo | None:
        """One column by name."""
        return next((c for c in self.columns if c.name == name), None)

    @property
    def is_dictionary(self) -> bool:
        """A code -> label table, offered as a look-up rather than mapped."""
        return self.label is not None


@dataclass
class Schema:
    """What the scaffold found in a source."""

    kind: str
    tables: list[TableInfo]

    def table(self, name: str) -> TableInfo:
        """One table by name."""
        return next(t for t in self.tables if t.name == name)

    def referenced_by(self, name: str) -> list[ForeignKey]:
        """The foreign keys pointing at table ``name``."""
        return [fk for t in self.tables for fk in t.foreign_keys if fk.ref_table == name]


def analyse(source: SourceProfile) -> Schema:
    """Keys, foreign keys, dictionaries and resources of a profiled source."""
    profiles = {p.table: p for p in source.tables}
    tables = [_table(p, source) for p in source.tables]
    schema = Schema(source.kind, tables)
    for t in tables:
        if not t.error:
            t.foreign_keys = _foreign_keys(t, tables, profiles)
            refs = {fk.column for fk in t.foreign_keys}
            for col in t.columns:  # a reference, not a code to translate
                if col.name in refs and col.base_kind:
                    col.kind = col.base_kind
    for t in tables:
        t.label = _dictionary_label(t, schema)
        if not t.error and not t.is_dictionary:
            t.resource, t.resource_note = _resource(t)
    _need_subject(schema)
    return schema


def _table(prof: TableProfile, source: SourceProfile) -> TableInfo:
    t = TableInfo(prof.table, prof.rows, prof.rejected, prof.error,
                  [describe_column(c, prof.rows) for c in prof.columns])
    if not prof.error:
        t.key, t.key_note = _key(prof, source)
    return t


def _id_score(name: str, table: str) -> int:
    """Higher for names that look like a key of ``table`` (``id``, ``subject_id``)."""
    lowered = name.lower()
    return (2 if lowered in ("id", f"{_singular(table)}_id", f"{table}_id") else
            1 if _ID_NAME.search(name) else 0)


def _key(prof: TableProfile, source: SourceProfile) -> tuple[list[str], str]:
    """The key of a table and a note on how it was found."""
    order = {c.name: i for i, c in enumerate(prof.columns)}
    singles = single_keys(prof)
    if [c for c in singles if not weak_key(prof, c)]:
        best = max(singles, key=lambda c: (not weak_key(prof, c), _id_score(c, prof.table),
                                           -order[c]))
        return [best], "unique"
    pairs = source.unique_pairs.get(prof.table) or []
    if singles and not pairs:
        return [singles[0]], "unique (a date or number: check it is a real key)"
    if pairs:
        best_pair = max(pairs, key=lambda p: (sum(_id_score(c, prof.table) for c in p),
                                              -order[p[0]] - order[p[1]]))
        return list(best_pair), "unique pair"
    near = _near_unique(prof, order)
    if near:
        return [near[0]], (f"unique but for {near[1]} repeated value(s): those rows will be "
                           "quarantined duplicate-key (the first of each kept)")
    capped = [c for c in prof.columns if c.capped and not c.nulls and _ID_NAME.search(c.name)
              and max(c.counts.values()) == 1]  # no value kept was seen twice
    if capped:
        return [capped[0].name], ("not proven unique (more distinct values than the profiler "
                                  "keeps); a repeated key is quarantined as duplicate-key")
    why = " (pairs past the profiler's cap were not tested)" if prof.table in \
        source.pairs_capped else ""
    return [c.name for c in prof.columns], f"no unique column or pair found{why}: every " \
        "column, repeated rows numbered"


def _near_unique(prof: TableProfile, order: dict[str, int]) -> tuple[str, int] | None:
    """An id-like column, always filled, neither a date nor a decimal, whose values are all
    different but for a few (the extra rows at most `NEAR_UNIQUE_SHARE` of the table): the
    column and how many of its values repeat."""
    found = []
    for c in prof.columns:
        extra = sum(c.counts.values()) - len(c.counts)
        if (c.capped or c.nulls or not _ID_NAME.search(c.name) or weak_key(prof, c.name)
                or not 0 < extra <= prof.rows * NEAR_UNIQUE_SHARE):
            continue
        repeated = sum(1 for n in c.counts.values() if n > 1)
        found.append((_id_score(c.name, prof.table), -order[c.name], c.name, repeated))
    if not found:
        return None
    _score, _order, name, repeated = max(found)
    return name, repeated


def _singular(name: str) -> str:
    lowered = name.lower()
    return lowered[:-1] if lowered.endswith("s") else lowered


def _tokens(name: str) -> set[str]:
    return {_singular(t) for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def similarity(column: str, ref_table: str, ref_column: str) -> float:
    """How much a column's name resembles a key's (1.0: the same name)."""
    if column.lower() == ref_column.lower():
        return 1.0
    mine = _tokens(column) - {"id"}
    theirs = _tokens(ref_column) | _tokens(ref_table)
    return len(mine & theirs) / len(mine) if mine else 0.0


def _foreign_keys(t: TableInfo, tables: list[TableInfo],
                  profiles: dict[str, TableProfile]) -> list[ForeignKey]:
    """Each column's best containing (or nearly containing) key of another table, if any:
    the most similar name first, then the fewest orphans, then the closest cover."""
    keys = {other.name: (ref, set(ref.counts)) for other in tables
            if other.name != t.name and not other.error and len(other.key) == 1
            and (ref := profiles[other.name].column(other.key[0])) is not None
            and not ref.capped}
    out = []
    for col in t.columns:
        counts = profiles[t.name].column(col.name).counts  # type: ignore[union-attr]
        if col.capped or not counts or col.flag or col.kind in ("date", "datetime", "decimal"):
            continue
        found = []
        for name, (ref, ref_values) in keys.items():
            sim = similarity(col.name, name, ref.name)
            missing = near_contained(counts, ref_values, sim)
            if missing is not None and _plausible(t, col.name, len(counts), sim,
                                                  profiles[t.name], ref):
                found.append((sim, -missing[1], len(counts) / len(ref_values), name, ref.name,
                              missing))
        if found:
            _sim, _rows, _cover, ref_table, ref_column, missing = max(found)
            out.append(ForeignKey(t.name, col.name, ref_table, ref_column, *missing))
    return out


def near_contained(counts: dict[str, int], ref_values: set[str], sim: float
                   ) -> tuple[int, int] | None:
    """The distinct values and the rows of a column not found in a key, when few enough to be
    orphans (None when the column is no foreign key of it): at most `NEAR_SHARE` of both, and
    at least 3 values found, for a name like the key's (one value missing always counts, the
    dictionary may be small); at most `NEAR_UNRELATED_SHARE` of both otherwise."""
    share = NEAR_SHARE if sim >= 0.5 else NEAR_UNRELATED_SHARE
    most = max(1, int(share * len(counts)))  # more missing values: no foreign key, stop early
    missing = list(islice((v for v in counts if v not in ref_values), most + 1))
    if not missing:
        return 0, 0
    rows = sum(counts[v] for v in missing)
    if (rows <= share * sum(counts.values()) and len(counts) - len(missing) >= 3
            and (len(missing) <= share * len(counts) or (sim >= 0.5 and len(missing) == 1))):
        return len(missing), rows
    return None


def _dense(col: ColumnProfile) -> bool:
    """True for whole numbers without gaps (a surrogate counter: 1..n)."""
    return (col.kind == "integer" and isinstance(col.low, float) and isinstance(col.high, float)
            and col.high - col.low + 1 == len(col.counts))


def _plausible(t: TableInfo, column: str, distinct: int, sim: float, prof: TableProfile,
               ref: ColumnProfile) -> bool:
    """Containment is evidence unless coincidence is likely: a sequence or line number; a
    table's own key named ``id`` or counting its rows; few values and an unrelated name; a
    counter key (1..n, where small numbers of any kind fit) and a name neither similar nor
    ending in id (or ending in id but unique in its own table: its own key)."""
    col = prof.column(column)
    if COUNTER.search(column) or (t.key == [column] and (
            GENERIC_ID.fullmatch(column) or (col is not None and _dense(col)))):
        return False
    if sim == 0 and distinct < FEW_VALUES:
        return False
    unique_here = col is not None and not col.nulls and len(col.counts) == prof.rows
    return not _dense(ref) or sim >= 0.5 or (column.lower().endswith("id") and not unique_here)


def _dictionary_label(t: TableInfo, schema: Schema) -> str | None:
    """The label column when ``t`` is a dictionary table, else None."""
    refs = schema.referenced_by(t.name)
    if (t.error or len(t.key) != 1 or not refs
            or _by_table_name(t.name) in ("Patient", "Encounter")):
        return None
    if len(t.columns) > DICTIONARY_MAX_COLUMNS and not _wide_dictionary(t, refs, schema):
        return None
    texts = [c for c in t.columns if c.kind == "text" and c.name != t.key[0]
             and c.distinct * 2 > t.rows * (1 - c.null_share)]
    texts.sort(key=lambda c: not re.search(r"label|title|name|desc|text", c.name, re.I))
    return texts[0].name if texts else None


def _wide_dictionary(t: TableInfo, refs: list[ForeignKey], schema: Schema) -> bool:
    """A dictionary with more columns (an item's label, fluid, category, LOINC code): at most
    `WIDE_DICTIONARY_MAX_COLUMNS`, no date and no person's name or sex (a patient, an
    admission), a name like no entity's unless it says dictionary, and a table referencing
    it with `WIDE_DICTIONARY_RATIO` times its rows."""
    return (len(t.columns) <= WIDE_DICTIONARY_MAX_COLUMNS
            and not any(c.kind in ("date", "datetime") or _PERSON.fullmatch(c.name)
                        for c in t.columns)
            and (_by_table_name(t.name) is None or bool(re.search(DICTIONARY_NAME, t.name,
                                                                   re.IGNORECASE)))
            and any(schema.table(fk.table).rows >= WIDE_DICTIONARY_RATIO * t.rows
                    for fk in refs))


def _by_table_name(name: str) -> str | None:
    return next((r for r, by_table, _ in RESOURCES if re.search(by_table, name, re.I)), None)


def _resource(t: TableInfo) -> tuple[str, str]:
    """The suggested resource and why."""
    if re.search(NOTES, t.name, re.I):
        return "Basic", ("free-text notes: a DocumentReference would hold them as an attachment; "
                         "Basic is a placeholder (TODO: choose one)")
    found = _by_table_name(t.name)
    if found:
        return found, "suggested by the table's name"
    if notes_text(t) is not None:
        return "Basic", ("free-text notes (a long text column and a date): a DocumentReference "
                         "would hold them; Basic is a placeholder (TODO: choose one)")
    if re.search(ADMINISTRATIVE, t.name, re.I):
        return "Basic", "an administrative table: Basic is a placeholder (TODO: choose one)"
    names = [c.name.lower() for c in t.columns]
    for resource, _, by_columns in RESOURCES:
        if by_columns and all(any(re.fullmatch(rx, n) for n in names) for rx in by_columns):
            return resource, "suggested by the column names"
    return "Basic", "no likely resource: Basic is a placeholder (TODO: choose one)"


def notes_text(t: TableInfo) -> ColumnInfo | None:
    """The free-text column of a notes table (a long text column and a date), else None."""
    if not any(c.kind in ("date", "datetime") for c in t.columns):
        return None
    return next((c for c in t.columns if c.long_text), None)


def _need_subject(schema: Schema) -> None:
    """A resource of `NEEDS_SUBJECT` needs a subject: without a foreign key to a Patient
    table, always filled, it is written as Basic (with a TODO) so that the starter pack runs."""
    patients = {t.name for t in schema.tables if t.resource == "Patient"}
    for t in schema.tables:
        if t.resource in NEEDS_SUBJECT and not any(
                fk.ref_table in patients and (c := t.column(fk.column)) and not c.null_share
                for fk in t.foreign_keys):
            t.resource_note = (f"looks like {t.resource}, which needs a subject, but no foreign "
                               "key to a Patient table, always filled, was found: Basic until "
                               "you add one (TODO)")
            t.resource = "Basic"
