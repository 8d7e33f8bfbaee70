"""UCUM units: the ones emr-migrate knows (display text, conversions) and how a unit text
resolves to a UCUM code (a pack's own spellings, then any valid UCUM expression)."""

from __future__ import annotations

import re
from collections.abc import Callable

from migrate.mappers.ucum import is_ucum

# code -> human unit text (FHIR Quantity.unit). Extend with care: every code is valid UCUM.
UCUM_UNITS: dict[str, str] = {
    "1": "1", "%": "%", "/min": "/min", "/a": "/a", "/[HPF]": "/[HPF]", "/[LPF]": "/[LPF]",
    "/uL": "/uL", "10*3/uL": "10*3/uL", "10*6/uL": "10*6/uL", "10*9/L": "10*9/L",
    "10*12/L": "10*12/L", "a": "a", "mo": "mo", "wk": "wk", "d": "d", "h": "h", "min": "min",
    "s": "s", "Cel": "Cel", "[degF]": "[degF]", "cm": "cm", "m": "m", "mm": "mm",
    "[in_i]": "[in_i]", "[ft_i]": "[ft_i]", "kg": "kg", "g": "g", "mg": "mg", "ug": "ug",
    "[lb_av]": "[lb_av]", "[oz_av]": "[oz_av]", "kg/m2": "kg/m2", "mm[Hg]": "mm[Hg]",
    "g/dL": "g/dL", "g/L": "g/L", "mg/dL": "mg/dL", "mg/L": "mg/L", "mmol/L": "mmol/L",
    "umol/L": "umol/L", "meq/L": "meq/L", "mol/L": "mol/L", "ng/mL": "ng/mL", "pg/mL": "pg/mL",
    "ug/dL": "ug/dL", "ug/L": "ug/L", "U/L": "U/L", "[IU]/L": "[IU]/L", "m[IU]/L": "m[IU]/L",
    "m[IU]/mL": "m[IU]/mL",
    "fL": "fL", "pg": "pg", "pH": "pH", "mL": "mL", "L": "L", "mL/min": "mL/min",
    "mL/min/{1.73_m2}": "mL/min/{1.73_m2}", "mg/g": "mg/g", "g/(24.h)": "g/(24.h)",
    "{score}": "{score}", "{nominal}": "{nominal}", "{copies}/mL": "{copies}/mL", "{#}": "{#}",
    "{count}": "{count}", "{ratio}": "{ratio}", "{beats}/min": "{beats}/min",
    "{breaths}/min": "{breaths}/min", "[pH]": "[pH]", "mosm/kg": "mosm/kg", "s{clot}": "s",
    "{INR}": "{INR}", "[arb'U]/mL": "[arb'U]/mL", "kU/L": "kU/L", "mg/(24.h)": "mg/(24.h)",
    "mm/h": "mm/h", "g/mol": "g/mol", "ms": "ms", "dB": "dB", "cm[H2O]": "cm[H2O]",
}

_LINEAR: dict[tuple[str, str], float] = {
    ("[lb_av]", "kg"): 0.45359237, ("[oz_av]", "kg"): 0.028349523125, ("g", "kg"): 0.001,
    ("kg", "g"): 1000.0, ("[lb_av]", "g"): 453.59237, ("[in_i]", "cm"): 2.54,
    ("[ft_i]", "cm"): 30.48, ("m", "cm"): 100.0, ("mm", "cm"): 0.1, ("[in_i]", "m"): 0.0254,
    ("kPa", "mm[Hg]"): 7.50061683,
}

_OTHER: dict[tuple[str, str], Callable[[float], float]] = {
    ("[degF]", "Cel"): lambda f: (f - 32.0) * 5.0 / 9.0,
    ("Cel", "[degF]"): lambda c: c * 9.0 / 5.0 + 32.0,
}


def convert(value: float, unit: str, target: str) -> float:
    """Convert ``value`` from ``unit`` to ``target``; KeyError when no conversion is known."""
    if unit == target:
        return value
    if (unit, target) in _LINEAR:
        return value * _LINEAR[(unit, target)]
    return _OTHER[(unit, target)](value)


UCUM_SYSTEM = "http://unitsofmeasure.org"
RESOLVED_MAX = 4_096  # distinct unit texts remembered per resolver before it restarts


FALSE_FRIEND = re.compile(r"(?<![A-Za-z\[_'])[KG](?![A-Za-z\]])")
"""A lone ``K`` or ``G`` symbol: UCUM's kelvin and gauss, which a lab system writing ``K/uL``
or ``G/L`` means as thousand and giga (``10*3/uL``, ``10*9/L``)."""
_NUMBER_ONLY = re.compile(r"[0-9.]+")


def misread(text: str) -> bool:
    """True for a valid UCUM text that a source almost surely means otherwise; it is accepted
    only when the pack maps it (pack.yaml ``units:``) or it is one of `UCUM_UNITS`:

    * capitals only (``MG``, ``ML``, ``MEQ/L``): UCUM's case-insensitive form, where ``MG`` is
      the milligram; read as (case-sensitive) UCUM, a megagram and a megalitre;
    * title case after ``M`` (``Mg``, ``Ml``, ``Mmol/L``): a capitalised milligram, read as
      UCUM a megagram (10^9 times more);
    * a bare number other than ``1`` (``17``, ``17.5``): a legacy unit id or a misplaced value,
      read by UCUM's grammar as a factor (``17.5`` is 17 times 5);
    * a lone ``K`` or ``G`` (`FALSE_FRIEND`): kelvin and gauss for a lab's thousand and giga.
    """
    letters = [ch for ch in text if ch.isalpha()]
    return ((len(letters) >= 2 and all(ch.isupper() for ch in letters))
            or (len(text) > 1 and text[0] == "M" and text[1].islower())
            or (text != "1" and _NUMBER_ONLY.fullmatch(text) is not None)
            or FALSE_FRIEND.search(text) is not None)


class UnitResolver:
    """A unit text -> (UCUM code, display text), remembered per distinct text.

    Order: the pack's own spellings (pack.yaml ``units:``), then the codes of `UCUM_UNITS`
    (their display text), then any valid UCUM expression (display: the text as written) that
    a source does not almost surely mean otherwise (`misread`). A text that is none of these
    resolves to None.
    """

    __slots__ = ("_known", "local")

    def __init__(self, local: dict[str, str] | None = None) -> None:
        self.local = dict(local or {})
        self._known: dict[str, tuple[str, str] | None] = {}

    def resolve(self, text: str) -> tuple[str, str] | None:
        """(code, display) of ``text``, or None when it is no unit this resolver accepts."""
        try:
            return self._known[text]
        except KeyError:
            pass
        code = self.local.get(text, text)
        found: tuple[str, str] | None = None
        if code in UCUM_UNITS:
            found = (code, UCUM_UNITS[code])
        elif is_ucum(code) and (code != text or not misread(code)):
            found = (code, text)
        if len(self._known) >= RESOLVED_MAX:
            self._known.clear()
        self._known[text] = found
        return found
