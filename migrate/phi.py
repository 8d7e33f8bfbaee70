"""Keeping source values (PHI) off the screen and out of reports.

A source value that must be mentioned without ``--show-values`` (an unmapped code that may be
a patient's name typed into a code column) is shown *masked*: a keyed hash (HMAC-SHA256 under
the project's namespace, 10 hex digits: the same value always gives the same hash within one
migration, and nobody without the namespace can test a guess), its length and its shape, each
letter written ``A``/``a``, each digit ``9``, other characters kept, runs longer than four
shortened (``Zoë220 Okuneva92`` becomes ``Aaa999 Aaaaa99``). That is enough to count, group
and recognise gaps; the values themselves come only with ``--show-values``.

`sensitive_column` decides which profiled columns are never shown by value.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

_RUN = 4
# Column names that hold identifiers or names in general (words a dictionary also uses).
_GENERIC_NAME = r"id$|_id|^id|extension|uuid|guid|key$|name|title"
# Column names about a person: identifiers, contact details, places, birth dates, free text.
_PERSONAL_NAME = re.compile(
    r"first|last|given|family|maiden|middle|suffix|prefix|"
    r"ssn|social|mrn|pid|chart|account|acct|drivers|licen|passport|member|subscriber|policy|"
    r"patient|person|owner|guarantor|insured|contact|kin$|spouse|mother|father|guardian|"
    r"addr|street|city|county|zip|postal|fips|phone|tel|fax|mobile|cell|email|mail|url|"
    r"birth|dob|born|death|deceased|lat$|lon$|latitude|longitude|geo|ip$|"
    r"note|comment|text|memo|remark|narrative|free|income|expense|coverage|salary|"
    # dates of care written as digits (HL7 TS: 20130717114446-0500) are typed as numbers:
    # a column named like a time shows no range nor values; a file name may be a patient's
    r"effective|time|date|_low$|_high$|file",
    re.IGNORECASE)
_SENSITIVE_NAME = re.compile(f"{_GENERIC_NAME}|{_PERSONAL_NAME.pattern}", re.IGNORECASE)
# A value shaped like a person's name: two or more capitalised words (digits allowed).
_NAME_LIKE = re.compile(r"(?:[A-Z][\w'.-]*\s+)+[A-Z][\w'.-]*")
# Free text naming someone: a capitalised word followed by another (``Pt Ann Smith called``).
_NAME_INSIDE = re.compile(r"\b[A-Z][a-z]+\s+[A-Z][a-z'.-]+")
MOSTLY_DISTINCT = 0.5  # more distinct values than this share of the filled rows
# A value shaped like contact data: an email, an SSN, a ZIP+4 code, a 5-digit number written
# with its leading zero (a ZIP code of the US northeast), a phone number.
_CONTACT_LIKE = re.compile(
    r"[^@\s]+@[^@\s]+\.\w+|\d{3}-\d{2}-\d{4}|\d{5}-\d{4}|0\d{4}|"
    r"(\+?\d{1,3}[ .-]?)?(\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}|\d{3}[ .-]\d{4}")


def shape(value: str) -> str:
    """The shape of ``value``: letters as ``A``/``a``, digits as ``9``, runs over 4 cut."""
    out: list[str] = []
    for ch in value:
        cls = "9" if ch.isdigit() else ("A" if ch.isupper() else "a") if ch.isalpha() else ch
        if len(out) >= _RUN and all(c == cls for c in out[-_RUN:]) and cls in "Aa9":
            continue
        out.append(cls)
    return "".join(out)


def keyed_hash(secret: bytes, value: str) -> str:
    """``#`` and 10 hex digits of the HMAC-SHA256 of ``value`` under ``secret``."""
    return "#" + hmac.new(secret, value.encode("utf-8", "surrogatepass"),
                          hashlib.sha256).hexdigest()[:10]


def mask(secret: bytes, value: str) -> str:
    """A source value as shown without ``--show-values``: hash, length and shape."""
    return f"{keyed_hash(secret, value)} ({len(value)} chars, shape {shape(value)})"


def sensitive_name(column: str) -> bool:
    """True when a column's name says it holds identifiers, names, contact data or dates of
    birth."""
    return bool(_SENSITIVE_NAME.search(column))


def personal_name(column: str) -> bool:
    """True when a column's name says it is about a person (identifiers such as an MRN or an
    account, names, contact data, places, birth or death dates, free text), not merely ``id``,
    ``key``, ``name`` or ``title``, words dictionaries use too."""
    return bool(_PERSONAL_NAME.search(column))


def sensitive_values(values: Iterable[str], distinct: int, filled: int) -> bool:
    """True when values are mostly distinct or mostly shaped like names or contact data."""
    if filled and distinct > MOSTLY_DISTINCT * filled:
        return True
    return personal_values(values)


def personal_values(values: Iterable[str]) -> bool:
    """True when at least half the values are shaped like names (``Ada Lee``) or contact data
    (email, SSN, phone number, ZIP+4, ``02110``) or are text of three words or more with two
    capitalised words in a row (a note naming someone), whatever the column's name."""
    sample = list(values)
    named = sum(1 for v in sample if _NAME_LIKE.fullmatch(v) or _CONTACT_LIKE.fullmatch(v)
                or (len(v.split()) >= 3 and _NAME_INSIDE.search(v)))
    return bool(sample) and named * 2 >= len(sample)
