"""Parse one C-CDA document safely: no DTD, no entities, no network, bounded size and depth.

A document that declares a DOCTYPE is refused before the parser sees it (entity expansion,
external entities and external DTDs all live there); the parser itself is configured to load
nothing and to resolve nothing in case a declaration hides from that scan. Every refusal is a
`DocumentProblem` whose ``kind`` is a short code (counted in ``source_report``) and whose
text says what is wrong in words a consultant understands, with the line and column when
the parser gives them.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

MAX_DEPTH = 100
"""Elements nested deeper than this are refused (real C-CDAs stay under 40)."""
HL7_V3 = "urn:hl7-org:v3"
_PROLOG = re.compile(rb"\s*(?:(?:<\?.*?\?>|<!--.*?-->)\s*)*", re.DOTALL)
_PROLOG_TEXT = re.compile(r"\s*(?:(?:<\?.*?\?>|<!--.*?-->)\s*)*", re.DOTALL)
_PROLOG_MAX = 2 ** 20
"""A prolog longer than this (comments before the root) is not scanned further: the parser,
which loads and resolves nothing, and the check after parsing still refuse a DOCTYPE."""
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + ")")
_WIDE = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
         (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))
_local = threading.local()


class DocumentProblem(Exception):
    """A document set aside: ``kind`` (a short code), the problem in words, where."""

    def __init__(self, kind: str, problem: str, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(problem)
        self.kind, self.problem, self.line, self.column = kind, problem, line, column

    def where(self) -> str:
        """``line L, column C: `` when the parser said where, else nothing."""
        if self.line is None:
            return ""
        return f"line {self.line}, column {self.column}: " if self.column else \
            f"line {self.line}: "


def _parser() -> etree.XMLParser:
    """One parser per thread (lxml parsers are not shared across threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        # huge_tree lifts libxml2's 10 MB bound on one text node: an Unstructured Document's
        # embedded PDF (nonXMLBody, base64) is one text node. The document's size is bounded
        # before parsing (max_document_mb), and no entity can expand (no DOCTYPE, none
        # resolved), so no text node can outgrow the file.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=True, remove_comments=True,
                                 remove_pis=True)
        _local.parser = parser
    return parser


def parse(data: bytes, max_bytes: int) -> etree._Element:
    """The root element of the document ``data``; a `DocumentProblem` when it is empty,
    larger than ``max_bytes``, declares a DOCTYPE, is not text, is not well-formed XML, nests
    deeper than `MAX_DEPTH` or is not an HL7 v3 ClinicalDocument."""
    if not data.strip():
        raise DocumentProblem("empty", "the file is empty")
    if len(data) > max_bytes:
        raise DocumentProblem("too-large", f"the file is larger than the bound of "
                              f"{max_bytes // 2 ** 20} MB (max_document_mb)")
    refuse_doctype(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_problem(exc) from None
    if root.getroottree().docinfo.doctype:  # declared where the scan could not see it
        raise _doctype()
    if _TOO_DEEP(root):
        raise DocumentProblem("too-deep", f"elements are nested more than {MAX_DEPTH} deep")
    if root.tag != f"{{{HL7_V3}}}ClinicalDocument":
        raise DocumentProblem("not-clinical-document", "the root element is "
                              f"{_plain(root.tag)}, not an HL7 ClinicalDocument: not a C-CDA")
    return root


def refuse_doctype(data: bytes) -> None:
    """A `DocumentProblem` when ``data`` declares a DOCTYPE (with it, entities and DTDs): the
    prolog (XML declaration, comments, processing instructions) is skipped and what follows
    must be the root element, not ``<!``. Wide encodings (UTF-16, UTF-32) are decoded first.
    Text in the body (a CDATA section quoting ``<!DOCTYPE html>``) is no declaration."""
    for mark, encoding in _WIDE:
        if data.startswith(mark):
            text = data[:_PROLOG_MAX].decode(encoding, errors="replace").lstrip("\ufeff")
            end = _PROLOG_TEXT.match(text)
            at = end.end() if end else 0
            if text.startswith("<!", at) and not text.startswith("<!--", at):
                raise _doctype()
            return
    head = data[:_PROLOG_MAX].removeprefix(codecs.BOM_UTF8)
    end = _PROLOG.match(head)
    at = end.end() if end else 0
    if head.startswith(b"<!", at) and not head.startswith(b"<!--", at):
        raise _doctype()


def _doctype() -> DocumentProblem:
    return DocumentProblem("doctype", "the document declares a DOCTYPE (a DTD or entities); "
                           "C-CDA documents never need one and it is refused for safety")


def _syntax_problem(exc: etree.XMLSyntaxError) -> DocumentProblem:
    line, column = exc.position if exc.position else (exc.lineno, None)
    text = (exc.msg or str(exc)).split(", line ")[0].strip()
    lower = text.lower()
    if "encoding" in lower:
        return DocumentProblem("undecodable", f"bytes that are not valid text in the "
                               f"document's encoding ({text})", line, column)
    if "depth" in lower:
        return DocumentProblem("too-deep", f"elements are nested too deep ({text})",
                               line, column)
    return DocumentProblem("not-well-formed", f"not well-formed XML ({text})", line, column)


def _plain(tag: object) -> str:
    """An element name for messages (``{ns}name`` -> ``name``, a comment etc. -> kind)."""
    return etree.QName(tag).localname if isinstance(tag, str) else "not an element"
