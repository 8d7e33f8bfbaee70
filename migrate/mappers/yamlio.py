"""YAML reading that remembers the line of every mapping key, so problems can name file:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from migrate.errors import MappingError, Problem


class LineDict(dict):  # type: ignore[type-arg]
    """A dict from YAML that knows the 1-based line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key`` (or of the mapping itself when the key is unknown)."""
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """A safe loader (no Python objects, no code) that builds :class:`LineDict` mappings."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)  # merged (<<: *anchor) pairs come first; explicit ones win
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    seen: set[Any] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):  # `? [a]: b` (a complex key): no setting is named so
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or mapping",
                key_node.start_mark)
        if id(key_node) in explicit and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        if id(key_node) in explicit:
            seen.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping  # type: ignore[arg-type]
)


def _keep_strings(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    """Keep YAML 1.1 sexagesimals and dates as the strings the author wrote."""
    return loader.construct_scalar(node)


# Codes such as 8480-6 or dates such as 2021-01-01 must stay text, not become ints or dates.
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _keep_strings)  # type: ignore[arg-type]

# YAML 1.1 reads 10:30 as the base-60 number 630; mapping authors mean the text. Re-register
# the int and float resolvers without their sexagesimal forms.
# YAML 1.1 also reads yes/no/on/off/y/n as booleans (``true: YES`` became ``true: True``, and
# the word was lost); as in YAML 1.2, only true and false are booleans here.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                           "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""",
               re.X),
    list("-+0123456789"))
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                  |\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
               re.X),
    list("-+0123456789."))


class _LeadingZero(yaml.YAMLError):
    """A plain number written with a leading zero (``0123``): YAML 1.1 reads it as octal."""

    def __init__(self, text: str, mark: Any) -> None:
        self.problem_mark = mark
        value = int(text.replace("_", ""), 8) if set(text) <= set("+-01234567_") else None
        read = f"the octal number {value}" if value is not None else "a number"
        self.problem = (f"{text} is read as {read} and loses its leading zero; quote it "
                        f"('{text}') if it is a code, or write it without the zero")
        super().__init__(self.problem)


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    text = str(node.value)
    if node.style is None and re.fullmatch(r"[-+]?0[0-9_]+", text):
        raise _LeadingZero(text, node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]


MAX_BYTES = 4 << 20  # a mapping or project file is a few KB; 4 MB is no longer a mapping
MAX_DEPTH = 64  # nesting of mappings and sequences (FHIR resources nest about 10 deep)
MAX_NODES = 200_000  # nodes after aliases are expanded (a "billion laughs" has 10**9)


def read_yaml(path: Path) -> Any:
    """Read one YAML file; a syntax error becomes a :class:`MappingError` with file and line.

    Bounded by construction: a file over `MAX_BYTES`, nesting deeper than `MAX_DEPTH`, or
    more than `MAX_NODES` nodes once aliases are expanded is refused before anything is built
    (PyYAML shares aliased objects, but everything that walks them pays the expansion).
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise MappingError([Problem(str(path), None, "", f"the file has {size:,} bytes, "
                                        f"more than the {MAX_BYTES:,} a YAML file may have")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError([Problem(str(path), None, "", f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise MappingError([Problem(str(path), None, "", "not UTF-8 text (byte "
                                    f"{exc.start})")]) from None
    try:
        _check_depth(text, str(path))
        loader = _LineLoader(text)  # composed once: checked, then built from the same graph
        try:
            node = loader.get_single_node()
            _check_expansion(node, str(path))
            return None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(exc, "problem", None) or str(exc)
        kind = "" if isinstance(exc, _LeadingZero) else "YAML syntax: "
        raise MappingError([Problem(str(path), line, "", f"{kind}{msg}")]) from exc


def _check_depth(text: str, file: str) -> None:
    """Refuse nesting past `MAX_DEPTH` before anything is composed (composing recurses per
    level). Counted from the parser's events, with libyaml's parser when PyYAML has it: this
    pass only counts, so the C parser keeps it cheap."""
    depth = 0
    parser = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        for event in yaml.parse(text, Loader=parser):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    _too_deep(file, event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own limit, met while scanning
            _too_deep(file, exc.problem_mark)
        # Any other syntax error is reported by the loader that follows, in its own words.


def _too_deep(file: str, mark: Any) -> None:
    line = mark.line + 1 if mark else None
    raise MappingError([Problem(file, line, "", f"nested more than {MAX_DEPTH} levels deep")])


def _check_expansion(node: yaml.Node | None, file: str) -> None:
    """Refuse alias expansion past `MAX_NODES` (counted over the composed graph, each node
    once), before anything is built from it."""
    if node is not None and _expanded_size(node, {}) > MAX_NODES:
        raise MappingError([Problem(file, None, "", f"more than {MAX_NODES:,} values once its "
                                    "anchors and aliases (*name) are expanded; write the "
                                    "repeated parts out or use fewer aliases")])


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` with every alias expanded, computed once per distinct node."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = MAX_NODES + 1  # a node reached again while being counted: a cycle
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            total += _expanded_size(key, sizes) + _expanded_size(value, sizes)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes)
            if total > MAX_NODES:
                break
    sizes[id(node)] = total
    return total
