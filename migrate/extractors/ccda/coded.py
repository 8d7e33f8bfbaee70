"""Readers of the HL7 v3 data types a C-CDA statement uses: CD/CE (coded), PQ and IVL_PQ
(quantities), TS and IVL_TS (times), and text with its narrative reference resolved.

Every reader returns text as written (dates keep their HL7 TS text, units their spelling) or
None: nothing is invented, converted or defaulted. A ``nullFlavor`` lands in the ``*_null``
column next to the value it stands for. Comments never reach a value: text is taken with
``method="text"``, which skips comments and processing instructions.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lxml import etree

from migrate.extractors.ccda.tables import coded as coded_columns

HL7 = "{urn:hl7-org:v3}"
SDTC = "{urn:hl7-org:sdtc}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_ORIGINAL_TEXT = HL7 + "originalText"
_REFERENCE = HL7 + "reference"
_TRANSLATION = HL7 + "translation"
_LOW, _HIGH, _CENTER = HL7 + "low", HL7 + "high", HL7 + "center"
_EFFECTIVE = HL7 + "effectiveTime"
# Narrative targets sit in the sections' <text> (all 1,785 resolving references of the
# sample set do); the whole document is searched only when a reference is not found there.
# ``descendant::`` from each text is ~10x faster than one absolute ``.../text//*[@ID]``.
_SECTION_TEXTS = f"{HL7}component/{HL7}structuredBody/{HL7}component/{HL7}section/{HL7}text"
_WITH_ID = etree.XPath("descendant-or-self::*[@ID]")
_PERIODIC = frozenset({"PIVL_TS", "EIVL_TS", "SXPR_TS"})


class Malformed(Exception):
    """An element the reader cannot read without guessing: the entry is set aside."""

    def __init__(self, element: etree._Element, problem: str) -> None:
        super().__init__(f"<{etree.QName(element).localname}> {problem}")
        self.line = element.sourceline


NARRATIVE_BUDGET = 64 * 2 ** 20
"""Characters of narrative text one document's references may resolve to, in all. Real
documents use well under a megabyte; a 1.5 MB document of thousands of references to one
large paragraph would otherwise cost minutes and gigabytes."""


class Narrative:
    """The narrative targets (elements with ``@ID``) of one document, indexed on first use;
    each target's text is made once, and the text handed out in all is bounded."""

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._ids: dict[str, etree._Element] | None = None
        self._everywhere = False
        self._texts: dict[str, str | None] = {}
        self._spent = 0

    def resolve(self, reference: str | None) -> str | None:
        """The plain text of the element ``#reference`` points to; None when it points nowhere."""
        if not reference:
            return None
        wanted = reference[1:] if reference.startswith("#") else reference
        if wanted not in self._texts:
            self._texts[wanted] = self._find(wanted)
        text = self._texts[wanted]
        self._spent += len(text or "")
        if self._spent > NARRATIVE_BUDGET:
            raise Malformed(self._root, "has narrative references resolving to more than "
                            f"{NARRATIVE_BUDGET // 2 ** 20} M characters in all: the rest "
                            "of its entries are set aside (the document itself is kept)")
        return text

    def _find(self, wanted: str) -> str | None:
        if self._ids is None:
            self._ids = self._index(self._root.iterfind(_SECTION_TEXTS))
        target = self._ids.get(wanted)
        if target is None and not self._everywhere:
            self._everywhere = True
            self._ids = self._index([self._root])
            target = self._ids.get(wanted)
        return plain(target) if target is not None else None

    @staticmethod
    def _index(tops: Iterable[etree._Element]) -> dict[str, etree._Element]:
        ids: dict[str, etree._Element] = {}
        for top in tops:
            for el in _WITH_ID(top):
                ids.setdefault(el.get("ID"), el)
        return ids


def plain(el: etree._Element | None) -> str | None:
    """The text of ``el`` and its descendants, whitespace collapsed, comments excluded."""
    if el is None:
        return None
    if len(el) == 0:
        text = el.text
    else:
        text = etree.tostring(el, method="text", encoding=str, with_tail=False)
    if not text:
        return None
    return " ".join(text.split()) or None


def text_and_reference(el: etree._Element | None,
                       narrative: Narrative) -> tuple[str | None, str | None]:
    """(text, reference) of a ``text`` or ``originalText`` element: its inline text, else the
    narrative its ``reference`` points to (None when that does not resolve)."""
    if el is None:
        return None, None
    ref_el = el.find(_REFERENCE)
    ref = ref_el.get("value") if ref_el is not None else None
    if len(el) == 1 and ref_el is not None and not (el.text or "").strip() and not (
            ref_el.text or ref_el.tail or "").strip():
        inline = None  # the usual <text><reference value="#x"/></text>: skip tostring
    else:
        inline = plain(el)
    return (inline if inline is not None else narrative.resolve(ref)), ref


@lru_cache(maxsize=64)
def _names(prefix: str) -> tuple[str, ...]:
    return tuple(coded_columns(prefix))


def children(el: etree._Element) -> dict[str, etree._Element]:
    """The first child of ``el`` per tag, in one pass (cheaper than one ``find`` per tag)."""
    out: dict[str, etree._Element] = {}
    for child in el:
        out.setdefault(child.tag, child)
    return out


def coded(el: etree._Element | None, prefix: str, narrative: Narrative) -> dict[str, str | None]:
    """The eight columns of a CD/CE element under ``prefix`` (all None when ``el`` is None)."""
    names = _names(prefix)
    if el is None:
        return dict.fromkeys(names)
    text = tr_code = tr_system = tr_display = None
    if len(el):
        texts, tr = [], None
        for child in el:
            if child.tag == _ORIGINAL_TEXT:
                texts.append(child)
            elif child.tag == _TRANSLATION and tr is None:
                tr = child
        if len(texts) > 1 and len({plain(t) for t in texts}) > 1:
            raise Malformed(el, f"has {len(texts)} different originalText elements")
        if texts:
            text = text_and_reference(texts[0], narrative)[0]
        if tr is not None:
            tr_code, tr_system, tr_display = (tr.get("code"), tr.get("codeSystem"),
                                              tr.get("displayName"))
    parts = (el.get("code"), el.get("codeSystem"), el.get("displayName"), el.get("nullFlavor"),
             text, tr_code, tr_system, tr_display)
    return dict(zip(names, parts, strict=True))


def quantity(el: etree._Element | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(value, unit, low, high) of a PQ or IVL_PQ element, as written."""
    if el is None:
        return None, None, None, None
    low, high = el.find(_LOW), el.find(_HIGH)
    unit = el.get("unit")
    if unit is None:
        unit = next((b.get("unit") for b in (low, high) if b is not None and b.get("unit")), None)
    return (el.get("value"), unit, low.get("value") if low is not None else None,
            high.get("value") if high is not None else None)


def value(el: etree._Element | None, narrative: Narrative) -> dict[str, str | None]:
    """The VALUE columns of an observation's ``value`` (type from ``xsi:type``)."""
    out: dict[str, str | None] = {"value_type": None, "value": None, "value_unit": None,
                                  "value_low": None, "value_high": None}
    out.update(coded(None, "value", narrative))
    if el is None:
        return out
    kind = el.get(XSI_TYPE)
    kind = kind.rpartition(":")[2] if kind else None
    out["value_type"] = kind
    if kind in ("CD", "CE", "CO", "CV", "CS"):
        out.update(coded(el, "value", narrative))
    elif kind in ("ST", "ED", "SC"):
        out["value"] = plain(el)
        out["value_null"] = el.get("nullFlavor")
    else:  # PQ, IVL_PQ, INT, REAL, BL, TS, or no type: the attributes as written
        v, unit, low, high = quantity(el)
        out.update(value=v, value_unit=unit, value_low=low, value_high=high,
                   value_null=el.get("nullFlavor"))
        if el.get("code") is not None:
            out.update(coded(el, "value", narrative))
    return out


def ts(el: etree._Element | None) -> tuple[str | None, str | None]:
    """(value, nullFlavor) of a TS element, the value as written."""
    if el is None:
        return None, None
    return el.get("value"), el.get("nullFlavor")


def interval(parent: etree._Element | None) -> dict[str, str | None]:
    """The TIMES columns from ``parent``'s effectiveTime (the first one that is not periodic:
    medication activities also carry a PIVL_TS frequency)."""
    eff = None
    for el in (parent.iterchildren(_EFFECTIVE) if parent is not None else ()):
        kind = el.get(XSI_TYPE)
        if not kind or kind.rpartition(":")[2] not in _PERIODIC:
            eff = el
            break
    if eff is None:
        return dict.fromkeys(("effective", "effective_null", "effective_low",
                              "effective_low_null", "effective_high", "effective_high_null"))
    value_, null = ts(eff)
    parts = children(eff) if len(eff) else {}
    if value_ is None:
        value_ = ts(parts.get(_CENTER))[0]
    low, low_null = ts(parts.get(_LOW))
    high, high_null = ts(parts.get(_HIGH))
    return {"effective": value_, "effective_null": null, "effective_low": low,
            "effective_low_null": low_null, "effective_high": high,
            "effective_high_null": high_null}


def periodic(parent: etree._Element) -> tuple[str | None, str | None]:
    """(period value, period unit) of the PIVL_TS effectiveTime of a medication activity."""
    for el in parent.iterchildren(_EFFECTIVE):
        kind = el.get(XSI_TYPE)
        if kind and kind.rpartition(":")[2] == "PIVL_TS":
            period = el.find(HL7 + "period")
            if period is not None:
                return period.get("value"), period.get("unit")
    return None, None
