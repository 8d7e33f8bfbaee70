"""UCUM's grammar: is a text a valid UCUM unit expression (case-sensitive codes)?

The grammar is the one of "The Unified Code for Units of Measure", section 2 and its table of
syntax rules::

    main-term  ::= "/" term | term
    term       ::= term "." component | term "/" component | component
    component  ::= annotatable annotation | annotatable | annotation | factor | "(" term ")"
    annotatable::= simple-unit exponent | simple-unit
    simple-unit::= ATOM | PREFIX METRIC-ATOM
    exponent   ::= ["+" | "-"] digits          factor ::= digits
    annotation ::= "{" ASCII 33-126 except curly braces "}"

The atoms and prefixes are data taken from UCUM's ucum-essence.xml (`migrate.mappers.ucum_data`).
The check reads the text once, left to right, with no recursion and no backtracking: it is
linear in the length, refuses texts longer than `MAX_LENGTH` and parentheses nested deeper than
`MAX_DEPTH`. ``10*`` and ``10^`` (powers of ten) must carry their exponent (``10*3``): alone
they are almost surely a truncated code and are refused.
"""

from __future__ import annotations

from functools import lru_cache

from migrate.mappers.ucum_data import METRIC, NON_METRIC, PREFIXES

MAX_LENGTH = 256  # characters of one unit expression
MAX_DEPTH = 8  # nested parentheses
_OPERATORS = "./(){}"
_POWERS_OF_TEN = ("10*", "10^")


def ucum_problem(text: str) -> str | None:
    """Why ``text`` is not a valid UCUM expression, or None when it is (cached per text)."""
    if not isinstance(text, str):
        return "a unit code is text"
    if len(text) > MAX_LENGTH:  # before the cache: long texts are not kept
        return f"longer than {MAX_LENGTH} characters"
    return _problem(text)


def is_ucum(text: str) -> bool:
    """True when ``text`` is a valid UCUM expression."""
    return ucum_problem(text) is None


@lru_cache(maxsize=8192)
def _problem(text: str) -> str | None:
    if not text:
        return "empty unit"
    bad = next((ch for ch in text if not 33 <= ord(ch) <= 126), None)
    if bad is not None:
        return f"character {bad!r} is not allowed (UCUM codes are printable ASCII, no spaces)"
    try:
        _parse(text)
    except _Bad as exc:
        return str(exc)
    return None


class _Bad(Exception):
    """One problem with a unit expression (the message names it)."""


def _parse(text: str) -> None:
    """Walk the tokens with a two-state machine: a component is expected, or an operator."""
    depth, want_component = 0, True
    tokens = list(_tokens(text))
    for n, (kind, tok) in enumerate(tokens):
        if want_component:
            if kind == "/" and n == 0:
                continue  # a leading "/" (main-term), as in /min
            if kind == "(":
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Bad(f"parentheses nested deeper than {MAX_DEPTH}")
                continue
            if kind == "symbol":
                _check_symbol(tok, annotated=n + 1 < len(tokens) and tokens[n + 1][0] == "{}")
            elif kind != "{}":
                raise _Bad(f"expected a unit before {tok!r}")
            want_component = False
        elif kind == "{}" and n > 0 and tokens[n - 1][0] == "symbol":
            continue  # the annotation of the unit before it (checked there)
        elif kind == ")":
            depth -= 1
            if depth < 0:
                raise _Bad("')' without '('")
        elif kind in "./":
            want_component = True
        else:
            raise _Bad(f"expected '.' or '/' before {tok!r}")
    if want_component:
        raise _Bad("ends with an operator" if tokens else "empty unit")
    if depth:
        raise _Bad("'(' is not closed")


def _tokens(text: str) -> list[tuple[str, str]]:
    """The tokens: operators, annotations ``{..}`` and symbols (``[..]`` kept whole)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            end = text.find("}", i)
            if end < 0 or "{" in text[i + 1:end]:
                raise _Bad("'{' is not closed by '}'")
            out.append(("{}", text[i:end + 1]))
            i = end + 1
        elif ch == "}":
            raise _Bad("'}' without '{'")
        elif ch in _OPERATORS:
            out.append((ch, ch))
            i += 1
        else:
            start = i
            while i < n and text[i] not in _OPERATORS:
                if text[i] == "[":
                    i = text.find("]", i)
                    if i < 0:
                        raise _Bad("'[' is not closed by ']'")
                i += 1
            out.append(("symbol", text[start:i]))
    return out


def _check_symbol(symbol: str, annotated: bool) -> None:
    """A factor (digits) or a simple unit with an optional exponent."""
    if symbol.isdigit() and symbol.isascii():
        if annotated:
            raise _Bad(f"a number ({symbol}) takes no annotation")
        return
    cut = len(symbol)
    while cut > 0 and symbol[cut - 1].isdigit():
        cut -= 1
    if 0 < cut < len(symbol) and symbol[cut - 1] in "+-":
        cut -= 1
    atom = symbol[:cut]
    if atom in _POWERS_OF_TEN and cut == len(symbol):
        raise _Bad(f"{atom!r} needs an exponent ({atom}3 is a thousand)")
    if not atom or atom[-1] in "+-":
        raise _Bad(f"{symbol!r} is not a unit")
    if atom in METRIC or atom in NON_METRIC:
        return
    for size in (1, 2):
        if atom[:size] in PREFIXES and atom[size:] in METRIC:
            return
    for size in (1, 2):
        if atom[:size] in PREFIXES and atom[size:] in NON_METRIC:
            raise _Bad(f"{atom[size:]!r} takes no prefix ({atom!r})")
    raise _Bad(f"unknown unit {atom!r}")
