"""The ``ccda`` extractor: a folder or zip of C-CDA documents read as tables.

Every document is read once, safely (`safexml`), by the document reader (``statements``),
and its rows go to a private spool (`spool`) where rows met in several documents become
one. The tables (`tables.TABLES`) are then read from the spool in first-seen order. Every
document is accounted for (parsed, quarantined with its reason as a `RejectedRow` of
``documents``, or a byte-identical duplicate), and so is every entry of the sections read;
`CcdaExtractor.source_report` gives the counts, without names or file names (the file names
of C-CDA exports often hold patients' names).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from migrate.errors import ConfigError, ExtractError
from migrate.extractors.base import (
    DEFAULT_CHUNK_SIZE,
    Extractor,
    ExtractorCapabilities,
    ReadAccount,
)
from migrate.extractors.ccda import safexml, templates
from migrate.extractors.ccda.safexml import DocumentProblem
from migrate.extractors.ccda.source import DocumentSource, SourceFile
from migrate.extractors.ccda.spool import Spool, SpooledRow
from migrate.extractors.ccda.tables import KEYS, TABLES
from migrate.outcomes import Batch, RejectedRow
from migrate.registry import PluginOptions

BATCH_BYTES = 32 * 2 ** 20
"""A ``documents`` batch holds at most about this much base64 data."""
CONTENT_TYPE = "text/xml"
Reader = Callable[..., Any]
"""``read_document(root, document_key, file, template_aliases) -> DocumentRead``."""


class CcdaOptions(PluginOptions):
    """Options of the ``ccda`` extractor (``source: {type: ccda, path: ...}``)."""

    path: Path = Field(description="A folder of C-CDA documents (*.xml, *.ccd, *.cda, "
                       "searched recursively) or a .zip file of them.")
    max_document_mb: float = Field(20, gt=0, description="Documents larger than this many "
                                   "MB are quarantined unread.")
    max_documents: int | None = Field(None, gt=0, description="Read at most this many "
                                      "documents (the rest are counted, the read marked "
                                      "incomplete); default all.")
    template_aliases: dict[str, str] = Field(
        default_factory=dict, description="Template OIDs read as another (a vendor's typo "
        "-> the right OID), merged over the built-in aliases.")
    spool_dir: Path | None = Field(None, description="Where the private spool folder is "
                                   "made (default: the system's temporary folder).")


@dataclass
class Tally:
    """What the read of every document found (the counts of ``source_report``)."""

    files: int = 0
    parsed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    over_limit: int = 0
    by_problem: Counter[str] = field(default_factory=Counter)
    found: int = 0
    read: int = 0
    no_information: int = 0
    failed: int = 0
    unread: Counter[str] = field(default_factory=Counter)
    narrative_only: Counter[str] = field(default_factory=Counter)
    nested_unread: Counter[str] = field(default_factory=Counter)
    unbalanced: int = 0
    unknown_tables: Counter[str] = field(default_factory=Counter)


class CcdaExtractor(Extractor):
    """A folder or zip of C-CDA documents as the tables of `tables.TABLES`.

    ``reader`` (a dependency, not an option) reads one parsed document into rows; the
    default is ``statements.read_document``.
    """

    name = "ccda"
    Options = CcdaOptions
    text_forms = ("ccda:FOLDER or ccda:FILE.zip",)
    text_rank = 20
    capabilities = ExtractorCapabilities(lists_tables=True, reports_source=True,
                                         locates_rows=True, closed_references=True)

    def __init__(self, path: str | Path, max_document_mb: float = 20,
                 max_documents: int | None = None,
                 template_aliases: Mapping[str, str] | None = None,
                 spool_dir: str | Path | None = None, reader: Reader | None = None) -> None:
        self.source = DocumentSource(path, int(max_document_mb * 2 ** 20))
        self.max_documents = max_documents
        self.aliases = templates.aliases(template_aliases)
        self.spool_dir = spool_dir
        self._reader = reader
        self._spool: Spool | None = None
        self.tally = Tally()

    @classmethod
    def from_text(cls, text: str) -> dict[str, Any] | None:
        """``ccda:PATH`` (a folder or a zip file)."""
        if not text.startswith("ccda:"):
            return None
        if not text[len("ccda:"):].strip():
            raise ConfigError("--source ccda: needs a folder or a .zip file after the colon "
                              "(ccda:FOLDER or ccda:FILE.zip)")
        return {"path": text[len("ccda:"):]}

    def describe(self, table: str) -> str:
        """The table's name (never a file name: C-CDA file names often name patients)."""
        return f"C-CDA table {table}"

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` (`tables.TABLES`)."""
        _check_table(table)
        return list(TABLES[table])

    def tables(self) -> list[str]:
        """Every table the documents are read as, sorted."""
        return sorted(TABLES)

    def estimate_rows(self, table: str, query: str | None = None) -> int | None:
        """Rows plus rejects of ``table`` (reads every document the first time)."""
        _check_table(table)
        rows, rejects = self._spooled().count(table)
        return rows + rejects

    def iter_batches(self, table: str, chunk_size: int = DEFAULT_CHUNK_SIZE,
                     query: str | None = None,
                     since: tuple[str, str] | None = None) -> Iterator[Batch]:
        """The rows of ``table`` in first-seen order, then the documents or entries of the
        table set aside (`RejectedRow`). ``documents`` rows carry the file's bytes as
        ``data_base64``, read again and checked against the hash taken when spooled."""
        if query is not None or since is not None:
            raise ConfigError("the ccda source reads whole tables (no query:, no sync)")
        _check_table(table)
        spool = self._spooled()
        batch, budget = Batch([]), 0
        for part in spool.rows(table, chunk_size):
            for spooled in part:
                row = self._row(table, spooled, batch)
                if row is None:
                    continue
                batch.rows.append(row)
                budget += len(row.get("data_base64") or "")
                if len(batch.rows) >= chunk_size or budget >= BATCH_BYTES:
                    yield batch
                    batch, budget = Batch([], start=batch.start + len(batch.rows)), 0
        batch.rejects.extend(spool.rejects(table))
        if batch.rows or batch.rejects:
            yield batch

    def _row(self, table: str, spooled: SpooledRow, batch: Batch) -> dict[str, Any] | None:
        """A spooled row as the table's columns (``documents`` filled in); None when its
        file changed since it was read (a reject added to ``batch`` instead)."""
        row = {c: spooled.values.get(c) for c in TABLES[table]}
        if "documents" in row:
            row["documents"] = str(spooled.documents)
        if spooled.ref is None:
            return row
        name = str(row.get("file"))
        sha256, ref = spooled.ref.split(":", 1)
        try:
            data = self.source.read(SourceFile(name, ref))
        except DocumentProblem as p:
            batch.rejects.append(_reject(name, DocumentProblem(
                p.kind, f"can no longer be read ({p.problem})")))
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            batch.rejects.append(_reject(name, DocumentProblem(
                "changed", "the file changed since it was read (its SHA-256 differs); run "
                "the migration again")))
            return None
        row["data_base64"] = base64.b64encode(data).decode("ascii")
        return row

    def locate(self, table: str, keys: dict[str, Any]) -> dict[str, Any] | None:
        """The document (its file name), line and section code a row was last read from,
        for the quarantine record (0600): file names of C-CDA exports often hold patients'
        names. Some exporters write a whole document on one line: the section tells more."""
        if table not in KEYS or self._spool is None:
            return None
        values = self._spool.values(table, str(keys.get(KEYS[table])))
        if values is None:
            return None
        doc = self._spool.values("documents", str(values.get("document_key")))
        line = values.get("line")
        return {"document": (doc or values).get("file"),
                "line": int(line) if line and str(line).isdigit() else None,
                "section": values.get("section_code")}

    def account(self, table: str, query: str | None = None) -> ReadAccount | None:
        """Rows plus rejects of ``table`` as spooled; incomplete when documents were left
        unread (``max_documents``) or a document's entries do not add up."""
        if self._spool is None or table not in TABLES:
            return None
        rows, rejects = self._spool.count(table)
        problems = self._problems()
        return ReadAccount(expected_rows=rows + rejects, complete=not problems,
                           problem="; ".join(problems) or None)

    def _problems(self) -> list[str]:
        t, out = self.tally, []
        if t.over_limit:
            out.append(f"the C-CDA source holds {t.over_limit} document(s) more than "
                       f"max_documents ({self.max_documents}); they were not read")
        if t.unbalanced:
            out.append(f"the entries of {t.unbalanced} C-CDA document(s) do not add up "
                       "(found is not read + no information + quarantined + unread): "
                       "entries may be missing; please report it")
        if t.unknown_tables:
            out.append("the document reader gave rows of unknown table(s) "
                       f"{sorted(t.unknown_tables)}; they were not read")
        return out

    def source_report(self) -> dict[str, Any]:
        """Counts of documents and entries (see docs/ccda.md); no names, no file names."""
        spool, t = self._spooled(), self.tally
        merged = spool.merged()
        return {
            "documents": {"files": t.files, "parsed": t.parsed, "quarantined": t.quarantined,
                          "duplicates": t.duplicates, "over_limit": t.over_limit,
                          "by_problem": dict(sorted(t.by_problem.items()))},
            "files_skipped": dict(sorted(self.source.skipped.items())),
            "entries": {"found": t.found, "read": t.read, "no_information": t.no_information,
                        "quarantined": t.failed, "unread": sum(t.unread.values()),
                        "merged": sum(n for tb, n in merged.items()
                                      if KEYS.get(tb) == "entry_key"),
                        "balanced": not t.unbalanced},
            "unread_templates": dict(sorted(t.unread.items())),
            "unread_nested_templates": dict(sorted(t.nested_unread.items())),
            "narrative_only_sections": dict(sorted(t.narrative_only.items())),
            "patients": spool.patients(),
            "rows_merged": merged,
        }

    def close(self) -> None:
        """Remove the spool (its folder and file) and close the zip file, if any."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self.source.close()

    # -- reading every document once -------------------------------------------------------
    def _spooled(self) -> Spool:
        """The spool, filled the first time it is asked for."""
        if self._spool is None:
            spool = _open_spool(self.spool_dir)
            try:
                self._fill(spool)
            except sqlite3.Error as exc:
                spool.close()
                raise ExtractError(f"the C-CDA spool in {spool.folder.parent} could not be "
                                   f"written ({exc}); free some space there or set "
                                   "spool_dir to another folder") from None
            except BaseException:
                spool.close()
                raise
            self._spool = spool
        return self._spool

    def _fill(self, spool: Spool) -> None:
        from tqdm import tqdm

        reader = self._reader or _default_reader()
        self.tally = Tally()
        with tqdm(desc="C-CDA documents", unit=" docs", disable=None, leave=False) as bar:
            for ordinal, item in enumerate(self.source.files()):
                self.tally.files += 1
                if self.max_documents is not None and \
                        self.tally.parsed + self.tally.quarantined >= self.max_documents:
                    self.tally.over_limit += 1
                    continue
                self._document(spool, reader, ordinal, item)
                bar.update()
        spool.commit()
        if not self.tally.files:  # a wrong folder, not a practice without records
            raise ExtractError("the C-CDA source holds no document (no *.xml, *.ccd or *.cda "
                               f"file; other files: {sum(self.source.skipped.values())}): "
                               "check the path")

    def _document(self, spool: Spool, reader: Reader, ordinal: int, item: SourceFile) -> None:
        """Read one document into the spool, or quarantine it, or count it a duplicate."""
        try:
            data = self.source.read(item)
            sha = hashlib.sha256(data).hexdigest()
            if not spool.first_time(sha):
                self.tally.duplicates += 1
                return
            read = _read(reader, safexml.parse(data, self.source.max_bytes), sha, item.name,
                         self.aliases)
        except DocumentProblem as p:
            spool.reject("documents", p.line, _message(p), item.name)
            self.tally.quarantined += 1
            self.tally.by_problem[p.kind] += 1
            return
        self.tally.parsed += 1
        self._rows(spool, read, ordinal, item, data, sha)
        self._entries(spool, read, item.name)

    def _rows(self, spool: Spool, read: Any, ordinal: int, item: SourceFile, data: bytes,
              sha256: str) -> None:
        head = next((r.values for r in read.rows if r.table == "documents"), {})
        rank = _rank(head.get("effective"), ordinal)
        for row in read.rows:
            if row.table not in TABLES:
                self.tally.unknown_tables[row.table] += 1
                continue
            values, ref = row.values, None
            if row.table == "documents":
                sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")  # noqa: S324 - FHIR Attachment.hash is SHA-1
                values = {**values, "file": item.name, "size": str(len(data)),
                          "sha1_base64": sha1, "content_type": CONTENT_TYPE,
                          "data_base64": None}
                ref = f"{sha256}:{item.ref}"  # read again and checked at iteration
            spool.add(row.table, row.key, values, rank, ordinal, ref)

    def _entries(self, spool: Spool, read: Any, name: str) -> None:
        t = self.tally
        t.found += read.entries_found
        t.read += read.entries_read
        t.no_information += read.entries_no_information
        t.failed += len(read.entries_failed)
        t.unread.update(read.unread)
        t.narrative_only.update(read.narrative_only)
        t.nested_unread.update(getattr(read, "nested_unread", None) or {})
        for table, line, reason in read.entries_failed:
            where = f", line {line}" if line is not None else ""
            spool.reject(table if table in TABLES else "documents", line,
                         f"{IN_DOCUMENT}{where}: {reason}", name)
        if read.entries_found != read.entries_read + read.entries_no_information + len(
                read.entries_failed) + sum(read.unread.values()):
            t.unbalanced += 1


def _read(reader: Reader, root: Any, sha: str, name: str, aliases: dict[str, str]) -> Any:
    """The reader's rows of one parsed document; its refusal or failure is a problem of the
    document (quarantined), not of the run."""
    try:
        return reader(root, sha, name, aliases)
    except Exception as exc:  # noqa: BLE001 - one document's failure must not stop the run
        if type(exc).__name__ == "NotClinicalDocument":  # its text may name the file
            raise DocumentProblem("not-clinical-document", str(exc).removeprefix(
                f"{name}: ")) from None
        raise DocumentProblem("reader-failed", "the document reader failed on this document "
                              f"({type(exc).__name__}); please report it") from None


def _open_spool(parent: str | Path | None) -> Spool:
    try:
        return Spool(parent)
    except OSError as exc:
        where = parent if parent is not None else "the temporary folder"
        raise ExtractError(f"cannot make the C-CDA spool folder in {where} "
                           f"({exc.strerror}); set spool_dir to a writable folder") from None


def _default_reader() -> Reader:
    from migrate.extractors.ccda.statements import read_document

    return read_document  # type: ignore[no-any-return]


IN_DOCUMENT = "in the C-CDA document named by this reason's value"
"""How a reject's message names its document. Never by file name: messages are shown by
``validate`` and in report.html, and C-CDA file names often hold patients' names; the file
name is the reject's ``raw`` (the quarantine record's value, masked in reports)."""


def _message(p: DocumentProblem) -> str:
    return f"{IN_DOCUMENT}: {p.where()}{p.problem}"


def _reject(name: str, p: DocumentProblem) -> RejectedRow:
    return RejectedRow(p.line, _message(p), name)


def _rank(effective: str | None, ordinal: int) -> str:
    """Orders documents: by their effective time (digits, zone ignored), then file order."""
    digits = re.sub(r"\D", "", re.split(r"[+-]", effective or "")[0])[:14]
    return f"{digits:0<14}{ordinal:010d}"


def _check_table(table: str) -> None:
    if table not in TABLES:
        import difflib

        close = difflib.get_close_matches(table, TABLES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else \
            f"; the tables are {', '.join(sorted(TABLES))}"
        raise ExtractError(f"the C-CDA source has no table {table!r}{hint}")
