"""The HL7 v3 transforms: ``hl7_datetime`` (HL7 TS to FHIR date/dateTime) and ``code_system``
(an OID or literal to a FHIR system URI through a concept map)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrate.mappers.hl7 import hl7_ts, system_urn
from migrate.outcomes import Unit
from tests.mappers.test_transforms import T, body, error, mapping, notes

SYSTEMS = """\
source_code,target_system,target_code,target_display
2.16.840.1.113883.6.96,,http://snomed.info/sct,SNOMED CT
SNOMED,,http://snomed.info/sct,SNOMED CT (alias)
"""


@pytest.fixture
def emit(run_one: Callable[..., list[Unit]]) -> Callable[..., list[Unit]]:
    """``emit(template, *rows, concept_maps=...)``: rows through a one-emit Observation."""

    def do(template: str, *rows: dict[str, Any], concept_maps: dict[str, str] | None = None,
           ) -> list[Unit]:
        keyed = [{"ID": str(i), **r} for i, r in enumerate(rows, start=1)]
        return run_one(mapping(template), keyed, concept_maps, "UTC")

    return do


@pytest.mark.parametrize(("text", "expected"), [
    ("2012", "2012"),
    ("199803", "1998-03"),
    ("20120806", "2012-08-06"),
    ("201208060028+0500", "2012-08-06T00:28:00+05:00"),
    ("20130717114446.302-0500", "2013-07-17T11:44:46.302-05:00"),
    ("20120806000000+0000", "2012-08-06T00:00:00Z"),
    ("20130717114446", "2013-07-17"),          # a time without a zone: the date only
    ("20130717-0500", "2013-07-17"),           # a date keeps no zone
])
def test_hl7_ts_precisions(text: str, expected: str) -> None:
    assert hl7_ts(text) == expected


@pytest.mark.parametrize("text", ["201102013", "20121306", "20120230", "2012-08-06",
                                  "20120806+1500", "2012080612+05", "", "20120806.5"])
def test_hl7_ts_refuses_what_is_not_a_ts(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        hl7_ts(text)


def test_hl7_datetime_options(emit):
    template = """\
        effectiveDateTime: {hl7_datetime: $T}
        issued: {hl7_datetime: {value: $T, tz: America/New_York}}
        valueDateTime: {hl7_datetime: {value: $T, as: date}}
    """
    (naive, zoned) = emit(template, {"T": "20130717114446"}, {"T": "201208060028+0500"})
    assert body(naive)["effectiveDateTime"] == "2013-07-17"
    assert body(naive)["issued"] == "2013-07-17T11:44:46-04:00"   # the consultant's zone
    assert body(zoned)["valueDateTime"] == "2012-08-06"            # as: date
    assert body(zoned)["issued"] == "2012-08-06T00:28:00+05:00"   # a written zone wins


def test_hl7_datetime_invalid_quarantines_or_drops(emit):
    quarantined, = emit("effectiveDateTime: {hl7_datetime: $T}", {"T": "201102013"})
    code, _msg, column, value, line = error(quarantined)
    assert (code, column, value, line) == ("bad-datetime", "T", "201102013", T)
    dropped, = emit("effectiveDateTime: {hl7_datetime: {value: $T, on_invalid: drop}}",
                    {"T": "201102013"})
    assert body(dropped) == {}
    assert [n[0] for n in notes(dropped)] == ["bad-datetime"]


_DIGITS = st.sampled_from([4, 6, 8, 10, 12, 14])


@st.composite
def _ts(draw: Any) -> str:
    n = draw(_DIGITS)
    full = draw(st.datetimes(min_value=datetime(1900, 1, 1)))
    text = full.strftime("%Y%m%d%H%M%S")[:n]
    if n == 14 and draw(st.booleans()):
        text += "." + draw(st.text("0123456789", min_size=1, max_size=4))
    if draw(st.booleans()):
        text += draw(st.sampled_from(["+", "-"])) + f"{draw(st.integers(0, 14)):02d}" + \
            f"{draw(st.sampled_from([0, 30, 45])):02d}"
    return text


@given(_ts())
def test_hl7_ts_never_invents_a_zone_nor_precision(text: str) -> None:
    out = hl7_ts(text)
    zoned = bool(re.search(r"[+-]\d{4}$", text))
    if "T" in out:
        assert zoned
        assert re.search(r"(Z|[+-]\d\d:\d\d)$", out)
    date_digits = re.sub(r"\D", "", out.split("T")[0])
    assert date_digits == re.sub(r"\D", "", text.split(".")[0][:8])[:len(date_digits)]
    assert len(date_digits) <= min(8, len(re.match(r"\d+", text).group()))
    fraction = re.search(r"\.(\d+)", out)
    assert fraction is None or ("." + fraction.group(1)) in text


def test_code_system_maps_aliases_and_writes_urns(emit):
    template = """\
        code:
          coding: [{system: {code_system: {value: $S, map: code-systems}}, code: x}]
    """
    units = emit(template, {"S": "2.16.840.1.113883.6.96"}, {"S": "SNOMED"},
                 {"S": "1.2.3.4"}, {"S": "A3A2C9F0-0B7E-4D4C-9A3B-6F0E7F1A2B3C"},
                 concept_maps={"code-systems": SYSTEMS})
    systems = [body(u)["code"]["coding"][0]["system"] for u in units]
    assert systems == ["http://snomed.info/sct", "http://snomed.info/sct", "urn:oid:1.2.3.4",
                       "urn:uuid:a3a2c9f0-0b7e-4d4c-9a3b-6f0e7f1a2b3c"]
    assert notes(units[0]) == []
    assert [(n[0], n[3]) for n in notes(units[2])] == [("unmapped-code", "1.2.3.4")]


def test_system_urn_leaves_other_text() -> None:
    assert system_urn("http://loinc.org") == "http://loinc.org"
    assert system_urn("1.2.03") == "1.2.03"
