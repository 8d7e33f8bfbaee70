"""One place turns a source setting and a pack's files into extractor arguments (item 4)."""

from __future__ import annotations

from migrate.extractors.base import source_options


def test_a_pack_s_files_are_added_for_csv_and_the_source_s_own_win() -> None:
    got = source_options({"type": "csv", "path": "/s", "files": {"a": "mine.csv"}},
                         {"a": "pack.csv", "b": "b.txt"})
    assert got == {"kind": "csv", "path": "/s", "files": {"a": "mine.csv", "b": "b.txt"}}


def test_an_extractor_without_a_files_option_gets_none() -> None:
    assert source_options({"type": "sql", "url": "sqlite://"}, {"a": "a.csv"}) == {
        "kind": "sql", "url": "sqlite://"}


def test_without_pack_files_the_source_is_unchanged() -> None:
    assert source_options({"type": "csv", "path": "/s"}, {}) == {"kind": "csv", "path": "/s"}
    assert source_options({"type": "excel", "path": "/s"}, {"a": "a"}) == {
        "kind": "excel", "path": "/s"}
