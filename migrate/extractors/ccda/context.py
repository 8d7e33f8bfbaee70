"""The state of reading one document: its narrative, keys, aliases, and the rows so far.

``Row`` is the unit handed to the extractor (re-exported by ``statements``); ``Pending`` is an
entry row whose key is computed once the whole document is read (an id keys an entry only if
it occurs once in its table in this document).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from migrate.extractors.ccda.coded import Narrative


@dataclass
class Row:
    """One row of a C-CDA table, read from one document."""

    table: str
    key: str
    values: dict[str, str | None]
    line: int | None


class Pending:
    """An entry row before its key: its table, values, whether its id may key it, its parent."""

    __slots__ = ("table", "values", "id_usable", "parent", "line", "key", "members")

    def __init__(self, table: str, values: dict[str, str | None], id_usable: bool,
                 parent: Pending | None, line: int | None) -> None:
        self.table, self.values, self.id_usable = table, values, id_usable
        self.parent, self.line, self.key = parent, line, ""
        # An organizer's observations (their natural keys): part of what the organizer states.
        self.members: list[tuple[str | None, ...]] = []


class Context:
    """What the readers of one document share."""

    def __init__(self, root: etree._Element, document_key: str,
                 aliases: Mapping[str, str]) -> None:
        self.root = root
        self.narrative = Narrative(root)
        self.document_key = document_key
        self.aliases = aliases
        self.patient_key = ""
        self.parties: list[Row] = []
        # Statements nested in a read entry that no reader takes (a concern's comment, an
        # organizer's procedure): template root (or "(no template) <tag>") -> count.
        self.nested_unread: Counter[str] = Counter()
        self._party_keys: set[tuple[str, str]] = set()

    def add_party(self, row: Row) -> None:
        """Keep a practitioner or organization row once per document."""
        if (row.table, row.key) not in self._party_keys:
            self._party_keys.add((row.table, row.key))
            self.parties.append(row)
