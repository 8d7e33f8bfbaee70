"""The data-type readers: coded elements, narrative references, quantities, times; comments
never reach a value, nullFlavors land in *_null, nothing is invented."""

from __future__ import annotations

import pytest
from lxml import etree

from migrate.extractors.ccda.coded import (
    Malformed,
    Narrative,
    coded,
    interval,
    periodic,
    plain,
    value,
)
from tests.extractors.ccda.ccda_e2_docs import TPL, document, parse, read, rows, section

H = 'xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
DOC = (f'<ClinicalDocument {H}><component><structuredBody><component><section><text>'
       '<content ID="a1">Penicillin  <!-- not this -->\n G</content></text>'
       '</section></component></structuredBody></component>{}</ClinicalDocument>')


def _el(inner: str, parser: etree.XMLParser | None = None) -> tuple[etree._Element, Narrative]:
    root = parse(DOC.format(inner)) if parser is None else parse(DOC.format(inner), parser)
    return root[-1], Narrative(root)


def test_coded_reads_the_eight_columns_and_the_first_translation() -> None:
    el, narr = _el('<code code="1" codeSystem="2.16.840.1.113883.6.96" displayName="X">'
                   '<translation code="T1" codeSystem="6.103" displayName="t1"/>'
                   '<translation code="T2" codeSystem="6.90"/></code>')
    assert coded(el, "code", narr) == {
        "code_code": "1", "code_system": "2.16.840.1.113883.6.96", "code_display": "X",
        "code_null": None, "code_text": None, "code_tr_code": "T1",
        "code_tr_system": "6.103", "code_tr_display": "t1"}


def test_original_text_inline_wins_and_a_reference_resolves_to_the_narrative() -> None:
    el, narr = _el('<code><originalText> Allergy  to\n eggs <reference value="#a1"/>'
                   '</originalText></code>')
    assert coded(el, "c", narr)["c_text"] == "Allergy to eggs"
    el, narr = _el('<code><originalText><reference value="#a1"/></originalText></code>')
    assert coded(el, "c", narr)["c_text"] == "Penicillin G"


def test_an_unresolved_reference_leaves_text_none() -> None:
    el, narr = _el('<code code="1"><originalText><reference value="#nowhere"/></originalText>'
                   '</code>')
    assert coded(el, "c", narr)["c_text"] is None
    assert narr.resolve("#nowhere") is None
    assert narr.resolve(None) is None
    assert narr.resolve("a1") == "Penicillin G"  # PracticeFusion writes one without '#'


def test_comments_never_reach_a_value_even_when_the_parser_keeps_them() -> None:
    keeps = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    el, narr = _el('<value xsi:type="ST">on<!-- secret -->ly</value>', keeps)
    assert value(el, narr)["value"] == "only"
    assert narr.resolve("#a1") == "Penicillin G"
    assert plain(parse('<a>x<!-- c --><b>y</b></a>', keeps)) == "xy"


def test_a_null_flavor_lands_in_the_null_column_and_nothing_is_invented() -> None:
    el, narr = _el('<value xsi:type="CD" nullFlavor="OTH"><originalText>Foo</originalText>'
                   '<translation code="9" codeSystem="6.96"/></value>')
    got = value(el, narr)
    assert got["value_null"] == "OTH"
    assert got["value_code"] is None
    assert got["value_text"] == "Foo"
    assert got["value_tr_code"] == "9"
    assert got["value_type"] == "CD"
    assert got["value"] is None


def test_two_different_original_texts_are_malformed_two_equal_ones_are_not() -> None:
    el, narr = _el('<code><originalText>a</originalText><originalText>b</originalText></code>')
    with pytest.raises(Malformed, match="2 different originalText"):
        coded(el, "c", narr)
    el, narr = _el('<code><originalText>a</originalText><originalText>a</originalText></code>')
    assert coded(el, "c", narr)["c_text"] == "a"


@pytest.mark.parametrize(("xml", "expected"), [
    ('<value xsi:type="PQ" value="141" unit="mmol/L"/>',
     {"value_type": "PQ", "value": "141", "value_unit": "mmol/L"}),
    ('<value xsi:type="IVL_PQ"><low value="1" unit="mg"/><high value="2" unit="mg"/></value>',
     {"value_type": "IVL_PQ", "value_low": "1", "value_high": "2", "value_unit": "mg"}),
    ('<value xsi:type="ST">  free  text </value>', {"value_type": "ST", "value": "free text"}),
    ('<value xsi:type="CD" code="8517006" codeSystem="2.16.840.1.113883.6.96"/>',
     {"value_type": "CD", "value_code": "8517006", "value": None}),
    ('<value xsi:type="PQ" value="10+3/ul" unit="NA"/>',
     {"value": "10+3/ul", "value_unit": "NA"}),
])
def test_value_by_xsi_type_as_written(xml: str, expected: dict) -> None:
    el, narr = _el(xml)
    got = value(el, narr)
    assert {k: got[k] for k in expected} == expected


def test_times_keep_the_ts_text_as_written_and_skip_the_periodic_one() -> None:
    el, _ = _el('<substanceAdministration><effectiveTime xsi:type="PIVL_TS" '
                'institutionSpecified="true"><period value="6" unit="h"/></effectiveTime>'
                '<effectiveTime xsi:type="IVL_TS"><low value="20130718111836-0400"/>'
                '<high nullFlavor="UNK"/></effectiveTime></substanceAdministration>')
    got = interval(el)
    assert got["effective_low"] == "20130718111836-0400"
    assert got["effective_low_null"] is None
    assert got["effective_high"] is None
    assert got["effective_high_null"] == "UNK"
    assert got["effective"] is None
    assert periodic(el) == ("6", "h")
    el, _ = _el('<observation><effectiveTime value="201102013"/></observation>')
    assert interval(el)["effective"] == "201102013"  # invalid, kept: the pack decides


def test_statement_columns_from_a_document() -> None:
    obs = (f'<observation classCode="OBS" moodCode="EVN" negationInd="false">'
           f'<templateId root="{TPL}78"/><id root="1.1" extension="s1"/>'
           '<code code="72166-2" codeSystem="2.16.840.1.113883.6.1"/>'
           '<text><reference value="#s1"/></text><statusCode code="completed"/>'
           '<effectiveTime><low value="2012"/></effectiveTime>'
           '<value xsi:type="CD" code="8517006" codeSystem="2.16.840.1.113883.6.96"/>'
           '</observation>')
    doc = read(document(section(f"<entry>{obs}</entry>", code="29762-2",
                                text='<td ID="s1">Former <b>smoker</b></td>')))
    [row] = rows(doc, "social_history")
    v = row.values
    assert (v["section_code"], v["template"], v["mood"], v["negated"], v["status"]) == (
        "29762-2", TPL + "78", "EVN", "false", "completed")
    assert (v["narrative_ref"], v["narrative_text"]) == ("#s1", "Former smoker")
    assert (v["effective_low"], v["value_code"], v["line"]) == ("2012", "8517006", "1")
