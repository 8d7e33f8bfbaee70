"""Which columns a starter template reads, told by names and types only: the dictionary
look-ups of a table, its code columns with what describes each (a sibling column such as
``CODE`` + ``DESCRIPTION``, or a dictionary's label), its main code, its main dates, and the
columns of a person's name, birth and death dates and gender.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrate.scaffold.analyse import Schema, TableInfo
from migrate.scaffold.columns import ColumnInfo
from migrate.scaffold.yamltext import lookup_name, readable

_CODE_NAME = re.compile(r"(.*?)_?(code|cd)|(item)_?id", re.IGNORECASE)
_DESC_SUFFIXES = ("description", "desc", "display", "text", "title", "label", "name")
_GENERIC_DESC = re.compile(r"((long|short)_?)?(title|description|desc|label|display)",
                           re.IGNORECASE)
_ADDRESS_CODES = re.compile(r".*(zip|postal|post_?code|area|country|state|county|fips|currency|"
                            r"phone).*", re.IGNORECASE)  # codes of an address or a phone
_NOT_CODES = {"date", "datetime", "decimal", "number", "flag", "empty", "uuid"}
# Per resource: what the name of its main code column (or the code's prefix) looks like.
CODE_HINTS = {"Condition": r"icd|diag|cond|problem|snomed", "Procedure": r"proc|cpt|icd|hcpcs",
              "MedicationRequest": r"drug|med|rx|ndc", "Observation": r"item|loinc|test|lab|obs",
              "Immunization": r"vacc|cvx|immun", "AllergyIntolerance": r"allerg|substance",
              "Device": r"device|udi|type", "Encounter": r"type|visit|enc",
              "CarePlan": r"plan|care|categ"}
# Dates: names that say "when it started" first, then any date not said to be another one.
START = re.compile(r".*(start|begin|admit|onset|perform|administ|occur|effective|chart|"
                   r"visit|service|order|collect|author|record).*", re.IGNORECASE)
END = re.compile(r".*(stop|end|disch|finish).*", re.IGNORECASE)
OTHER_DATES = re.compile(r".*(birth|death|dob|dod|deceas|expir|updat|modif|creat|entered|"
                         r"last).*", re.IGNORECASE)
PERSON = {"birth": r"birth_?(date|day|dt)?|dob|date_?of_?birth|dt_?birth",
          "death": r"death_?(date|time|dt)?|dod|deceased_?(date|time|dt)?|date_?of_?death",
          "family": r"(last|family|sur)_?name|last|lname|surname|family",
          "given": r"(first|given|fore)_?name|first|fname|given|forename",
          "middle": r"middle_?(name)?|mname",
          "name": r"(full_?|display_?|patient_?|provider_?|org(ani[sz]ation)?_?)?name",
          "gender": r"gender|sex|(gender|sex)_?(code|cd)"}
ENCOUNTER = {"class": r"(encounter_?|patient_?|visit_?)?class|(admission|encounter|visit)_?type"}
MEASURE = {"value": r"(result_?|numeric_?|num_?)?value(_?num(ber)?)?|valuenum|result",
           "unit": r"(value_?|result_?)?(units?|uom)|valueuom|unit_?of_?measure"}


@dataclass(frozen=True)
class Lookup:
    """A table that a column of the table references, offered as a look-up: a dictionary
    (its label) or a related encounter row (its start date, ``date``)."""

    name: str  # the look-up's name in the mapping
    column: str  # the referencing column of the table
    table: str
    key: str
    label: str  # the column taken
    date: ColumnInfo | None = None  # a related row's date column (then ``label`` is its name)
    missing: int = 0  # distinct values of ``column`` not found in ``table`` (orphans) ...
    missing_rows: int = 0  # ... and the rows holding them
    others: tuple[str, ...] = ()  # a dictionary's other columns (not taken: said in a comment)

    @property
    def on_missing(self) -> str:
        """What a miss does: a dictionary gives a label only, so the row is kept (its code is
        still written, the miss is a warning); a related row that is missing means a
        dangling reference, so the row is quarantined (lookup-miss), explained."""
        return "quarantine" if self.date is not None else "keep"


@dataclass(frozen=True)
class Code:
    """A code column and what describes it: a sibling column or a dictionary's label."""

    column: ColumnInfo
    prefix: str
    text: ColumnInfo | None = None
    lookup: Lookup | None = None


def lookups(t: TableInfo, schema: Schema) -> list[Lookup]:
    """The dictionaries the table's columns reference and, for a table without a date of its
    own, the encounter row it belongs to (for that row's start), with unique names."""
    taken: set[str] = set()
    out = []
    for fk in t.foreign_keys:
        dictionary = schema.table(fk.ref_table)
        if dictionary.label is not None and readable(fk.column):
            others = tuple(c.name for c in dictionary.columns
                           if c.name not in (fk.ref_column, dictionary.label))
            out.append(Lookup(lookup_name(fk.ref_table, taken), fk.column, fk.ref_table,
                              fk.ref_column, dictionary.label, None, fk.missing,
                              fk.missing_rows, others))
    if start_date(t) is not None:
        return out
    for fk in t.foreign_keys:
        target = schema.table(fk.ref_table)
        when = start_date(target) if target.resource == "Encounter" else None
        if when is not None and target.key == [fk.ref_column] and readable(fk.column):
            out.append(Lookup(lookup_name(fk.ref_table, taken), fk.column, fk.ref_table,
                              fk.ref_column, when.name, when, fk.missing, fk.missing_rows))
            break
    return out


def codes(t: TableInfo, looked: list[Lookup]) -> list[Code]:
    """The code columns of a table, each with its sibling description or dictionary."""
    by_name = {c.name.lower(): c for c in t.columns if readable(c.name)}
    refs = {fk.column for fk in t.foreign_keys}
    dictionary = {lk.column: lk for lk in looked if lk.date is None}
    out = []
    for col in by_name.values():
        match = _CODE_NAME.fullmatch(col.name)
        if (col.kind in _NOT_CODES or t.key == [col.name] or _ADDRESS_CODES.fullmatch(col.name)
                or (col.name not in dictionary and (match is None or col.name in refs))):
            continue
        prefix = (match.group(1) or match.group(3) or "") if match else col.name
        text = next((by_name[n] for n in _desc_names(prefix.lower().rstrip("_"))
                     if n in by_name and by_name[n].kind not in _NOT_CODES), None)
        out.append(Code(col, prefix.lower(), text, dictionary.get(col.name)))
    alone = [c for c in out if c.text is None and c.lookup is None]
    generic = [c for n, c in by_name.items() if _GENERIC_DESC.fullmatch(n)
               and c.kind not in _NOT_CODES and all(c is not k.text for k in out)]
    if len(alone) == 1 and len(generic) == 1:  # icd_code + long_title, itemid + label
        out[out.index(alone[0])] = Code(alone[0].column, alone[0].prefix, generic[0])
    return out


def _desc_names(prefix: str) -> list[str]:
    if not prefix:
        return ["description", "desc", "display", "text", "title", "label"]
    return [f"{prefix}{sep}{suffix}" for suffix in _DESC_SUFFIXES for sep in ("", "_")]


def main_code(resource: str, found: list[Code]) -> Code | None:
    """The code that says what the resource is: ``CODE`` itself, else one whose name fits
    the resource (``icd_code`` for a Condition), else the only one."""
    plain = [c for c in found if c.prefix == ""]
    hint = CODE_HINTS.get(resource)
    hinted = [c for c in found if hint and re.search(hint, c.column.name, re.IGNORECASE)]
    best = plain or hinted or (found if len(found) == 1 else [])
    return best[0] if best else None


def dates(t: TableInfo, rx: re.Pattern[str], but: set[str]) -> ColumnInfo | None:
    """The first date or datetime column, every value in one format, named like ``rx``."""
    return next((c for c in t.columns if c.kind in ("date", "datetime") and c.exact
                 and readable(c.name) and c.name not in but and rx.fullmatch(c.name)), None)


def start_date(t: TableInfo) -> ColumnInfo | None:
    """The column of when it happened (or started)."""
    return dates(t, START, set()) or next(
        (c for c in t.columns if c.kind in ("date", "datetime") and c.exact and readable(c.name)
         and not END.fullmatch(c.name) and not OTHER_DATES.fullmatch(c.name)), None)


def person(t: TableInfo, roles: dict[str, str] = PERSON) -> dict[str, ColumnInfo]:
    """The columns of a person's name, birth and death dates and gender (or of other
    ``roles``: `MEASURE`), by role."""
    out: dict[str, ColumnInfo] = {}
    for role, rx in roles.items():
        col = next((c for c in t.columns if readable(c.name) and re.fullmatch(rx, c.name, re.I)
                    and _fits(role, c)), None)
        if col is not None:
            out[role] = col
    return out


def _fits(role: str, col: ColumnInfo) -> bool:
    """Dates must be exact, values may be numbers, anything else is text."""
    if role in ("birth", "death"):
        return col.kind in ("date", "datetime") and col.exact
    if role == "value":
        return col.kind not in ("date", "datetime", "empty")
    return col.kind not in _NOT_CODES
