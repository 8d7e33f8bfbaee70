"""C-CDA template OIDs: which entry templates the reader reads, into which table, and the
built-in aliases for template OIDs that vendors write wrong.

Dispatch is on templateId, never on the element name: EMERGE writes ``<procedure>`` under the
Procedure Activity *Observation* template 4.13, and a templateId with ``@extension`` (C-CDA
R2.x, e.g. ``2015-08-01``) is the same template as without (R1.1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

HL7 = "{urn:hl7-org:v3}"
ENTRY_ROOT = "2.16.840.1.113883.10.20.22.4."


def entry(number: str) -> str:
    """The OID of C-CDA entry template ``4.<number>``."""
    return ENTRY_ROOT + number


# Template OIDs written wrong by real exporters -> the template they mean (NIST and the ToC
# sample write smoking status without ``.20``; the HL7 CCD writes Coverage as ``22.60``).
BUILTIN_ALIASES: dict[str, str] = {
    "2.16.840.1.113883.10.22.4.78": entry("78"),
    "2.16.840.1.113883.10.20.22.60": entry("60"),
}

PROBLEM_CONCERN, PROBLEM, PROBLEM_STATUS = entry("3"), entry("4"), entry("6")
ALLERGY_CONCERN, ALLERGY, REACTION = entry("30"), entry("7"), entry("9")
SEVERITY, ALLERGY_STATUS = entry("8"), entry("28")
MEDICATION, DISCHARGE_MEDICATION, INSTRUCTIONS = entry("16"), entry("35"), entry("20")
IMMUNIZATION, REFUSAL = entry("52"), entry("53")
RESULT_ORGANIZER, RESULT = entry("1"), entry("2")
VITALS_ORGANIZER, VITAL = entry("26"), entry("27")
ENCOUNTER, ENCOUNTER_DIAGNOSIS = entry("49"), entry("80")

# Top-level entry template -> the table its rows go to. Everything else is counted unread.
TOP_LEVEL: dict[str, str] = {
    ENCOUNTER: "encounters",
    PROBLEM_CONCERN: "problems", PROBLEM: "problems",
    ALLERGY_CONCERN: "allergies",
    MEDICATION: "medications", DISCHARGE_MEDICATION: "medications",
    IMMUNIZATION: "immunizations",
    RESULT_ORGANIZER: "results",
    VITALS_ORGANIZER: "vital_signs",
    **{entry(n): "procedures" for n in ("14", "13", "12")},
    **{entry(n): "social_history" for n in ("78", "38", "85")},
    **{entry(n): "plan_of_care" for n in ("44", "39", "40", "41", "42", "43")},
}

_TEMPLATE_ID = HL7 + "templateId"


def aliases(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The built-in aliases with ``extra`` (the source's option) merged over them."""
    return {**BUILTIN_ALIASES, **(extra or {})}


def templates(el: etree._Element, alias: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The (root, extension) of every templateId of ``el``, roots resolved through ``alias``."""
    out = []
    for t in el.iterchildren(_TEMPLATE_ID):
        root = t.get("root")
        if root:
            out.append((alias.get(root, root), t.get("extension")))
    return out


def has_template(el: etree._Element, root: str, alias: Mapping[str, str]) -> bool:
    """Whether ``el`` carries templateId ``root`` (after aliasing)."""
    return any(r == root for r, _ in templates(el, alias))


def first_of(el: etree._Element, wanted: Mapping[str, object] | set[str],
             alias: Mapping[str, str]) -> tuple[str, str | None] | None:
    """The first templateId of ``el`` whose (aliased) root is in ``wanted``."""
    for root, ext in templates(el, alias):
        if root in wanted:
            return root, ext
    return None


def raw_first(el: etree._Element) -> str:
    """The first templateId root as written, or ``(no template)``: how unread entries count.
    A root that is no OID (free text, a name typed in the wrong field, a megabyte of junk)
    counts as ``(not an OID)``: these keys go to run.json, which holds no source text."""
    for t in el.iterchildren(_TEMPLATE_ID):
        root = t.get("root")
        if root:
            return root if _OID.fullmatch(root) else "(not an OID)"
    return "(no template)"


_OID = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20}){1,40}")
