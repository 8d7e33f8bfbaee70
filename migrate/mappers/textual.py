"""Text and structure transforms: concat, format, clean, split, part, first_of, choose,
extract, replace, xhtml, literal and row (reading one row of a group)."""

from __future__ import annotations

import html
import re
from typing import Any

from migrate.mappers.compiler import Compiler, Const, Fn, RowError, Scope
from migrate.mappers.regex import PatternError, compile_pattern
from migrate.mappers.transform_base import TRANSFORMS, column_of, option_value, options

# -- text ----------------------------------------------------------------------------------

@TRANSFORMS.register("concat")
def t_concat(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{concat: [a, b]}`` or ``{concat: {parts: [...], sep: " "}}``; nulls are skipped."""
    if isinstance(arg, list):
        arg = {"parts": arg}
    o = options(c, arg, where, line, {"parts", "sep"}, {"parts"}, shorthand=None)
    if o is None or not isinstance(o["parts"], list):
        return c.problem(line, where, "parts must be a list") if o else Const(None)
    parts = [c.value(p, f"{where}.parts[{i}]", line) for i, p in enumerate(o["parts"])]
    sep = str(o.get("sep", ""))

    def run(s: Scope) -> str | None:
        vals = [str(v) for v in (f(s) for f in parts) if v not in (None, "")]
        return sep.join(vals) or None

    return run


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w]*)\}")


@TRANSFORMS.register("format")
def t_format(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{format: "Blood pressure {DATE}"}``: text with ``{name}`` placeholders.

    When any placeholder is null the whole value is null, so half-filled text never appears.
    """
    if not isinstance(arg, str):
        return c.problem(line, where, "takes a text with {COLUMN} placeholders")
    pieces: list[Fn] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(arg):
        pieces.append(Const(arg[pos:m.start()]))
        pieces.append(c.ref_name(m.group(1), where, line))
        pos = m.end()
    pieces.append(Const(arg[pos:]))

    def run(s: Scope) -> str | None:
        out = []
        for f in pieces:
            v = f(s)
            if v is None:
                return None
            out.append(str(v))
        return "".join(out)

    return run


@TRANSFORMS.register("clean")
def t_clean(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{clean: {value, case, collapse_spaces, strip_digits, pattern, on_mismatch}}``.

    Trims text; ``collapse_spaces`` folds runs of blanks; ``strip_digits`` removes digits
    (Synthea's name suffixes); ``case`` is lower, upper or title; ``pattern`` must match the
    result, else the row is quarantined (``on_mismatch: quarantine``, the default) or the value
    dropped with a warning (``on_mismatch: drop``).
    """
    o = options(c, arg, where, line,
                {"value", "case", "collapse_spaces", "strip_digits", "pattern", "on_mismatch"},
                {"value"})
    if o is None:
        return Const(None)
    val, col = option_value(c, o, "value", where, line), column_of(o["value"])
    case = o.get("case")
    if case not in (None, "lower", "upper", "title"):
        c.problem(line, f"{where}.case", "must be lower, upper or title")
    rx = _regex(c, o.get("pattern"), where, line)
    drop = o.get("on_mismatch", "quarantine") == "drop"
    collapse, digits = bool(o.get("collapse_spaces", True)), bool(o.get("strip_digits", False))

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        t = str(v)
        if digits:
            t = re.sub(r"\d+", "", t)
        t = " ".join(t.split()) if collapse else t.strip()
        if case:
            t = getattr(t, case)()
        if rx is not None and not rx.fullmatch(t):
            err = RowError("pattern-mismatch", "value does not match the expected pattern",
                           column=col, value=v, line=line)
            if not drop:
                raise err
            s.notes.append(err)
            return None
        return t or None

    return run


def _regex(c: Compiler, pattern: Any, where: str, line: int) -> Any:
    if pattern is None:
        return None
    try:
        return compile_pattern(str(pattern))
    except PatternError as exc:
        c.problem(line, f"{where}.pattern", f"bad regular expression: {exc}")
        return None


@TRANSFORMS.register("split")
def t_split(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{split: {value, sep}}``: a list of trimmed, non-empty parts (for ``$foreach``)."""
    o = options(c, arg, where, line, {"value", "sep"}, {"value", "sep"}, shorthand=None)
    if o is None:
        return Const(None)
    val, sep = option_value(c, o, "value", where, line), str(o["sep"])
    if not sep:
        return c.problem(line, f"{where}.sep", "must not be empty")

    def run(s: Scope) -> list[str] | None:
        v = val(s)
        if v is None:
            return None
        return [p.strip() for p in str(v).split(sep) if p.strip()] or None

    return run


@TRANSFORMS.register("part")
def t_part(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{part: {value, sep, index}}``: one piece of a delimited text (``ICD10:E11.9`` -> ...)."""
    o = options(c, arg, where, line, {"value", "sep", "index"}, {"value", "sep", "index"},
                shorthand=None)
    if o is None:
        return Const(None)
    if not str(o["sep"]):
        return c.problem(line, f"{where}.sep", "must not be empty")
    if not isinstance(o["index"], int) or isinstance(o["index"], bool):
        return c.problem(line, f"{where}.index", "must be a whole number (0 first, -1 last)")
    val, sep, idx = option_value(c, o, "value", where, line), str(o["sep"]), o["index"]

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        pieces = str(v).split(sep)
        try:
            return pieces[idx].strip() or None
        except IndexError:
            return None

    return run


@TRANSFORMS.register("first_of")
def t_first_of(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{first_of: [a, b, ...]}``: the first value that is present (``$when`` branches too)."""
    if not isinstance(arg, list) or not arg:
        return c.problem(line, where, "takes a non-empty list")
    model = c.expected  # each item stands where the first_of stands
    fns = [c.value(a, f"{where}[{i}]", getattr(a, "line", line), model)
           for i, a in enumerate(arg)]

    def run(s: Scope) -> Any:
        for f in fns:
            v = f(s)
            if v is not None and v != "" and v != {} and v != []:
                return v
        return None

    return run


@TRANSFORMS.register("choose")
def t_choose(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{choose: [{when: cond, value: x}, ..., {value: default}]}``: first branch that holds."""
    if not isinstance(arg, list) or not arg:
        return c.problem(line, where, "takes a list of {when, value} branches")
    branches: list[tuple[Any, Fn]] = []
    model = c.expected  # each branch's value stands where the choose stands
    for i, b in enumerate(arg):
        bwhere, bline = f"{where}[{i}]", getattr(b, "line", line)
        if not isinstance(b, dict) or "value" not in b or set(b) - {"when", "value"}:
            c.problem(bline, bwhere, "a branch is {when: condition, value: ...} (when optional)")
            continue
        cond = c.cond(b["when"], f"{bwhere}.when", bline) if "when" in b else None
        branches.append((cond, c.value(b["value"], f"{bwhere}.value", bline, model)))

    def run(s: Scope) -> Any:
        for cond, val in branches:
            if cond is None or cond(s):
                return val(s)
        return None

    return run


@TRANSFORMS.register("extract")
def t_extract(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{extract: {value, pattern}}``: the first capture group of a regular expression."""
    o = options(c, arg, where, line, {"value", "pattern"}, {"value", "pattern"}, shorthand=None)
    if o is None:
        return Const(None)
    rx = _regex(c, o["pattern"], where, line)
    val = option_value(c, o, "value", where, line)
    if rx is not None and rx.groups < 1:
        c.problem(line, f"{where}.pattern", "needs one capture group, e.g. '\\(01\\)(\\d+)'")

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None or rx is None:
            return None
        m = rx.search(str(v))
        return m.group(1) if m and m.groups() else None

    return run


@TRANSFORMS.register("replace")
def t_replace(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{replace: {value, old | pattern, new}}``: every ``old`` text (or every match of the
    RE2 ``pattern``, whose ``new`` may name groups as ``\\1``) replaced by ``new`` (default
    ""). A result that is empty or only blanks is null."""
    o = options(c, arg, where, line, {"value", "old", "pattern", "new"}, {"value"},
                shorthand=None)
    if o is None:
        return Const(None)
    if ("old" in o) == ("pattern" in o):
        return c.problem(line, where, "give either 'old' (a text) or 'pattern' (a regular "
                         "expression), not both")
    val, new = option_value(c, o, "value", where, line), _setting_text(o.get("new", ""))
    if "old" in o:
        old = _setting_text(o["old"])
        if not old:
            return c.problem(line, f"{where}.old", "must not be empty")
        return _replaced(val, lambda t: t.replace(old, new))
    rx = _regex(c, o["pattern"], where, line)
    if rx is None:
        return Const(None)
    pieces = _template(c, new, rx, f"{where}.new", line)
    if pieces is None:
        return Const(None)
    if all(isinstance(p, str) for p in pieces):
        text = "".join(pieces)  # type: ignore[arg-type]
        return _replaced(val, lambda t: rx.sub(lambda _m: text, t))
    return _replaced(val, lambda t: rx.sub(
        lambda m: "".join(p if isinstance(p, str) else m.group(p) or "" for p in pieces), t))


_GROUP_REF = re.compile(r"\\(?:(\d\d?)|g<(\w+)>|(\\))")


def _template(c: Compiler, new: str, rx: Any, where: str, line: int
              ) -> list[str | int] | None:
    """``new`` as texts and group numbers: ``\\1``..``\\99`` and ``\\g<1>``/``\\g<name>``
    insert a group (``\\g<0>`` the whole match), ``\\\\`` is a backslash, anything else is
    text as written (RE2's own expansion would decode it as Python escapes: ``ö`` became
    mojibake). None, with the problem recorded, when a reference names no group."""
    pieces: list[str | int] = []
    at = 0
    for m in _GROUP_REF.finditer(new):
        digits, name, slash = m.groups()
        pieces.append(new[at:m.start()])
        at = m.end()
        if slash:
            pieces.append("\\")
            continue
        ref = digits or name
        group = int(ref) if ref.isdigit() else rx.groupindex.get(ref)
        if digits is not None and group == 0:
            c.problem(line, where, "\\0 names no group (groups count from 1; \\g<0> is the "
                      "whole match)")
            return None
        if group is None:
            c.problem(line, where, f"names group {ref!r}, but the pattern has no group of "
                      "that name")
            return None
        if group > rx.groups:
            c.problem(line, where, f"names group {group}, but the pattern has {rx.groups} "
                      "group(s)")
            return None
        pieces.append(group)
    pieces.append(new[at:])
    return pieces


def _setting_text(value: Any) -> str:
    """A text setting as written (YAML reads ``new: 0`` as a number: it means the text)."""
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _replaced(val: Fn, edit: Any) -> Fn:
    def run(s: Scope) -> str | None:
        if (v := val(s)) is None:
            return None
        t = edit(str(v))
        return t if t.strip() else None  # nothing but blanks left: no value

    return run


@TRANSFORMS.register("xhtml")
def t_xhtml(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{xhtml: $TEXT}``: a Narrative ``div`` holding the text, safely escaped."""
    val = c.value(arg, where, line)

    def run(s: Scope) -> str | None:
        v = val(s)
        if v is None:
            return None
        return f'<div xmlns="http://www.w3.org/1999/xhtml">{html.escape(str(v))}</div>'

    return run


@TRANSFORMS.register("literal")
def t_literal(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{literal: ...}``: the value exactly as written, never read as a template."""
    return Const(arg)


@TRANSFORMS.register("row")
def t_row(c: Compiler, arg: Any, where: str, line: int) -> Fn:
    """``{row: {where: {CODE: "8480-6"}, value: $VALUE}}``: read from one row of the group."""
    if not c.group:
        return c.problem(line, where, "'row' only works in an emit with 'per: group'")
    o = options(c, arg, where, line, {"where", "value"}, {"where", "value"}, shorthand=None)
    if o is None or not isinstance(o["where"], dict):
        return c.problem(line, where, "'where' must map columns to values") if o else Const(None)
    c.impure()
    tests = [(str(k), str(v)) for k, v in o["where"].items()]
    for k, _ in tests:
        c.columns.setdefault(k, line)
    val = option_value(c, o, "value", where, line)

    def run(s: Scope) -> Any:
        for r in s.rows or ():
            if all(str(r.get(k)) == v for k, v in tests):
                return val(s.at_row(r))
        return None

    return run
