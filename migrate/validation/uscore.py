"""Cheap US Core 6.1 checks, run by `FhirValidator` on every Patient and Quantity it meets.

* Patient.address.state should be a USPS two-letter code (warning; US Core binds it
  extensibly). Addresses whose ``country`` is present and not the US are skipped.
* us-core-race / us-core-ethnicity: every ``ombCategory`` must carry an OMB category code
  (or UNK / ASKU) and the ``text`` sub-extension must be present (errors: US Core requires
  them).
* A Quantity with system http://unitsofmeasure.org should have a ``code`` (warning).

Messages never quote free text (the state value is not repeated); codes may be quoted.
"""

from __future__ import annotations

from typing import Any

from migrate.validation.base import ERROR, WARNING, ResourceIssue, quote_code

RACE_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
OMB_SYSTEM = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
UCUM_SYSTEM = "http://unitsofmeasure.org"

OMB_RACE_CODES = ("1002-5", "2028-9", "2054-5", "2076-8", "2106-3")
OMB_ETHNICITY_CODES = ("2135-2", "2186-5")
NULL_FLAVOR_CODES = ("UNK", "ASKU")

# USPS two-letter codes: 50 states, DC, territories, freely associated states, military.
USPS_STATE_CODES = frozenset(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
    DC AS GU MP PR VI UM FM MH PW AA AE AP
    """.split()
)
_US_COUNTRIES = frozenset({"us", "usa", "united states", "united states of america", "840"})

_OMB_ALLOWED = {
    RACE_URL: frozenset(
        [(OMB_SYSTEM, c) for c in OMB_RACE_CODES]
        + [(NULL_FLAVOR_SYSTEM, c) for c in NULL_FLAVOR_CODES]
    ),
    ETHNICITY_URL: frozenset(
        [(OMB_SYSTEM, c) for c in OMB_ETHNICITY_CODES]
        + [(NULL_FLAVOR_SYSTEM, c) for c in NULL_FLAVOR_CODES]
    ),
}
_OMB_LABEL = {
    RACE_URL: ("race", ", ".join(OMB_RACE_CODES)),
    ETHNICITY_URL: ("ethnicity", ", ".join(OMB_ETHNICITY_CODES)),
}
_OMB_MAX = {RACE_URL: 5, ETHNICITY_URL: 1}


def check_patient(obj: dict[str, Any], path: str, out: list[ResourceIssue]) -> None:
    """US Core Patient checks: address state codes, race and ethnicity extensions."""
    addresses = obj.get("address")
    if isinstance(addresses, list):
        for i, address in enumerate(addresses):
            if isinstance(address, dict):
                _check_state(address, f"{path}.address[{i}]", out)
    extensions = obj.get("extension")
    if isinstance(extensions, list):
        for i, ext in enumerate(extensions):
            url = ext.get("url") if isinstance(ext, dict) else None
            if isinstance(url, str) and url in _OMB_ALLOWED:
                _check_omb_extension(ext, f"{path}.extension[{i}]", out)


def check_quantity(obj: dict[str, Any], path: str, out: list[ResourceIssue]) -> None:
    """A UCUM quantity needs its machine-readable unit code."""
    if obj.get("system") == UCUM_SYSTEM and not obj.get("code"):
        out.append(
            ResourceIssue(
                WARNING, "us-core", path, f"Quantity with system {UCUM_SYSTEM} has no code"
            )
        )


def _check_state(address: dict[str, Any], path: str, out: list[ResourceIssue]) -> None:
    state = address.get("state")
    if not isinstance(state, str) or state in USPS_STATE_CODES:
        return
    country = address.get("country")
    if isinstance(country, str) and country.strip().lower() not in _US_COUNTRIES:
        return
    out.append(
        ResourceIssue(
            WARNING,
            "us-core",
            f"{path}.state",
            "state is not a USPS two-letter code (US Core binds Address.state to USPS codes)",
        )
    )


def _check_omb_extension(ext: dict[str, Any], path: str, out: list[ResourceIssue]) -> None:
    url = ext["url"]
    kind, codes = _OMB_LABEL[url]
    allowed = _OMB_ALLOWED[url]
    subs = ext.get("extension")
    subs = subs if isinstance(subs, list) else []
    n_omb = 0
    has_text = False
    for j, sub in enumerate(subs):
        if not isinstance(sub, dict):
            continue
        if sub.get("url") == "text":
            has_text = True
        if sub.get("url") != "ombCategory":
            continue
        n_omb += 1
        sub_path = f"{path}.extension[{j}]"
        coding = sub.get("valueCoding")
        if not isinstance(coding, dict):
            out.append(ResourceIssue(ERROR, "us-core", sub_path, "ombCategory needs a valueCoding"))
            continue
        pair = (coding.get("system"), coding.get("code"))
        if not all(isinstance(p, str) for p in pair) or pair not in allowed:
            code, system = quote_code(coding.get("code")), quote_code(coding.get("system"), 256)
            out.append(
                ResourceIssue(
                    ERROR,
                    "us-core",
                    f"{sub_path}.valueCoding",
                    f"{code} (system {system})"
                    f" is not an OMB {kind} category; allowed: {codes} from {OMB_SYSTEM},"
                    f" or UNK, ASKU from {NULL_FLAVOR_SYSTEM}",
                )
            )
    if n_omb > _OMB_MAX[url]:
        out.append(
            ResourceIssue(
                ERROR,
                "us-core",
                path,
                f"US Core {kind} extension allows at most {_OMB_MAX[url]} ombCategory,"
                f" found {n_omb}",
            )
        )
    if not has_text:
        out.append(
            ResourceIssue(
                ERROR, "us-core", path, f"US Core {kind} extension requires a 'text' sub-extension"
            )
        )
