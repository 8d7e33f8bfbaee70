"""The CSV extractor's pre-scan: quotes, bad bytes, line numbers and the line account."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import ExtractError
from migrate.extractors import _csvscan
from migrate.extractors.base import ReadAccount, RejectedRow
from migrate.extractors.csv import CsvExtractor


def read(tmp_path: Path, data: bytes, **options: str) -> tuple[list[dict[str, str]],
                                                               list[RejectedRow], ReadAccount]:
    """Rows, rejects and account of ``data`` read as table ``t``."""
    (tmp_path / "t.csv").write_bytes(data)
    ext = CsvExtractor(tmp_path, **options)
    batches = list(ext.iter_batches("t", chunk_size=2))
    account = ext.account("t")
    assert account is not None
    return [r for b in batches for r in b.rows], [r for b in batches for r in b.rejects], account


def test_a_literal_quote_inside_a_value_is_kept(tmp_path: Path) -> None:
    rows, rejects, account = read(tmp_path, b'a,b\n1,5\'10"\n2,x\n3,y\n')
    assert [r["b"] for r in rows] == ["5'10\"", "x", "y"]
    assert (rejects, account.complete) == ([], True)


def test_an_unclosed_quote_on_the_last_line(tmp_path: Path) -> None:
    rows, rejects, account = read(tmp_path, b'a,b\n1,x\n2,"y')
    assert [r["a"] for r in rows] == ["1"]
    assert [(r.line, "unbalanced quote in column 2 'b'" in r.message) for r in rejects] == [
        (3, True)]
    assert account.lines == {"total": 3, "header": 1, "records": 1, "blank": 0,
                             "in_quarantined": 1}


def test_ragged_rows_are_numbered_by_physical_line(tmp_path: Path) -> None:
    data = b'a,b\n1,"two\nlines"\n\n2\n3,x\r\n\r\n4,5,6\n5,y\n'
    rows, rejects, account = read(tmp_path, data)
    assert [r["a"] for r in rows] == ["1", "3", "5"]
    assert [r.line for r in rejects] == [5, 8]
    assert account.lines == {"total": 9, "header": 1, "records": 4, "blank": 2,
                             "in_quarantined": 2}
    assert account.complete


def test_a_bad_byte_inside_a_multi_line_value_sets_the_whole_row_aside(tmp_path: Path) -> None:
    data = b'a,b\n1,"one\nbad \xff here\nthree"\n2,x\n'
    rows, rejects, account = read(tmp_path, data)
    assert [r["a"] for r in rows] == ["2"]
    [reject] = rejects
    assert reject.line == 2
    assert "line 3: not valid utf-8 at byte 15" in reject.message
    assert "(a row of lines 2-4, set aside whole)" in reject.message
    assert account.lines == {"total": 5, "header": 1, "records": 1, "blank": 0,
                             "in_quarantined": 3}


def test_a_byte_undefined_in_cp1252(tmp_path: Path) -> None:
    rows, rejects, _ = read(tmp_path, b"a,b\n1,Zo\xeb\n2,\x81\n", encoding="cp1252")
    assert rows == [{"a": "1", "b": "Zoë"}]
    assert [r.line for r in rejects] == [3]
    assert "not valid cp1252 at byte 12 (in column 2 'b')" in rejects[0].message


def test_a_record_over_the_limit_is_set_aside_with_its_line(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(_csvscan, "MAX_RECORD", 1000)
    rows, rejects, account = read(tmp_path, b"a,b\n1,x\n2," + b"y" * 2000 + b"\n3,z\n")
    assert [r["a"] for r in rows] == ["1", "3"]
    assert [r.line for r in rejects] == [3]
    assert "a record of 2003 bytes is longer than the 1000 bytes" in rejects[0].message
    assert account.complete


def test_lines_swallowed_where_the_scan_saw_no_quote_make_the_read_incomplete(
        tmp_path: Path) -> None:
    # Line 2 has two quotes (even): the first is literal, the second opens a value at a field
    # start; line 4's quote (odd, but inside a field) closes it: 2 rows silently in one value.
    rows, _, account = read(tmp_path, b'a,b,c\n1,x"y,"z\n2,p,q\n3,r"\n5,u,v\n')
    assert [r["a"] for r in rows] == ["1", "5"]
    assert not account.complete
    assert account.problem is not None
    assert account.problem.endswith("t.csv: 2 line(s) were read inside quoted values where the "
                                    "scan saw no multi-line value (a stray quote?); check the "
                                    "file's quotes")


def test_account_without_a_prior_read_counts_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b'a,b\n1,"x\ny"\n2\n\n3,z')
    account = CsvExtractor(tmp_path).account("t")
    assert account == ReadAccount({"total": 6, "header": 1, "records": 3, "blank": 1,
                                   "in_quarantined": 1})


def test_a_crlf_file_with_a_multi_line_value(tmp_path: Path) -> None:
    rows, rejects, account = read(tmp_path, b'a,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n')
    assert (rows, rejects) == ([{"a": "1", "b": "x\r\ny"}, {"a": "2", "b": "z"}], [])
    assert account == ReadAccount({"total": 5, "header": 1, "records": 3, "blank": 1,
                                   "in_quarantined": 0})


def test_carriage_returns_alone_as_line_ends_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"a,b\r1,x\r2,y\r")
    with pytest.raises(ExtractError, match=r"t.csv: lines end in a carriage return alone"):
        CsvExtractor(tmp_path).columns("t")
