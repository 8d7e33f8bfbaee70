"""Regular expressions from packs, on a linear-time engine (RE2).

A pack comes from many hands; Python's ``re`` backtracks, so a pattern such as ``^(a+)+$``
takes exponential time on a short value and would hang a run. RE2 matches in time linear in
the value, whatever the pattern. It has no back-references or look-around: a pattern that
uses them is refused when the pack is checked, with the reason.
"""

from __future__ import annotations

from typing import Any

MAX_PATTERN = 1000  # characters; a longer pattern is no mapping rule
MAX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


class PatternError(ValueError):
    """A pattern RE2 cannot or will not compile."""


def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern (``search``, ``fullmatch``, ``sub`` as in ``re``).

    Raises:
        PatternError: the pattern is too long, uses what RE2 does not have
            (back-references, look-around) or is not a regular expression.
    """
    import re2

    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"the pattern has {len(pattern)} characters (at most {MAX_PATTERN})")
    options = re2.Options()
    options.log_errors = False  # RE2 would print the pattern to stderr
    options.max_mem = MAX_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        arg = exc.args[0] if exc.args else ""
        reason = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
        if "escape" in reason or "perl operator" in reason:
            reason += (" (patterns run on RE2, in linear time: no back-references \\1 or "
                       "look-around (?=...), (?<=...))")
        raise PatternError(reason) from None
