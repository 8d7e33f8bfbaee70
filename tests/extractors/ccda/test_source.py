"""The documents of a folder or zip: found in order, bounded, never read from outside."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import pytest

from migrate.errors import ExtractError
from migrate.extractors.ccda.safexml import DocumentProblem
from migrate.extractors.ccda.source import DocumentSource, SourceFile

MB = 2 ** 20


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def kind(source: DocumentSource, item: SourceFile) -> str:
    with pytest.raises(DocumentProblem) as info:
        source.read(item)
    return info.value.kind


def test_a_folder_is_read_recursively_in_name_order_and_other_files_counted(
        tmp_path: Path) -> None:
    tree(tmp_path, {"b/z.xml": b"1", "a.XML": b"2", "b/a.ccd": b"3", "c.cda": b"4",
                    "notes.txt": b"", "b/read me.TXT": b"", "img.png": b"", "LICENSE": b""})
    source = DocumentSource(tmp_path, MB)
    items = list(source.files())
    assert [i.name for i in items] == ["a.XML", "b/a.ccd", "b/z.xml", "c.cda"]
    assert [source.read(i) for i in items] == [b"2", b"3", b"1", b"4"]
    assert source.skipped == {".txt": 2, ".png": 1, "(none)": 1}


def test_a_folder_link_loop_does_not_trap_the_walk(tmp_path: Path) -> None:
    tree(tmp_path, {"sub/a.xml": b"a"})
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    source = DocumentSource(tmp_path, MB)
    assert [i.name for i in source.files()] == ["sub/a.xml"]
    assert source.skipped == {"(link to a folder)": 1}


def test_a_file_link_leading_outside_is_refused_unread(tmp_path: Path) -> None:
    outside = tree(tmp_path / "outside", {"secret.xml": b"SECRET"})
    src = tree(tmp_path / "src", {"in.xml": b"in"})
    (src / "link.xml").symlink_to(outside / "secret.xml")
    (src / "inner.xml").symlink_to(src / "in.xml")
    source = DocumentSource(src, MB)
    items = {i.name: i for i in source.files()}
    assert kind(source, items["link.xml"]) == "outside-source"
    assert source.read(items["inner.xml"]) == b"in"  # a link inside the folder is fine


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.xml")
    source = DocumentSource(tmp_path, MB)
    [item] = source.files()
    assert kind(source, item) == "not-a-file"


def test_a_file_over_the_bound_is_refused(tmp_path: Path) -> None:
    tree(tmp_path, {"big.xml": b"x" * (MB + 1), "ok.xml": b"x" * MB})
    source = DocumentSource(tmp_path, MB)
    big, ok = source.files()
    assert kind(source, big) == "too-large"
    assert len(source.read(ok)) == MB


def test_a_missing_source_or_a_file_that_is_not_a_zip_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="does not exist"):
        DocumentSource(tmp_path / "nope", MB)
    (tmp_path / "x.dat").write_bytes(b"not a zip")
    with pytest.raises(ExtractError, match="neither a folder nor a zip"):
        DocumentSource(tmp_path / "x.dat", MB)


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_members_are_read_in_name_order_and_others_counted(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "x.zip", {"b/2.xml": b"2", "a.CDA": b"1", "doc.pdf": b"",
                                         "dir/": b""})
    source = DocumentSource(path, MB)
    items = list(source.files())
    assert [i.name for i in items] == ["a.CDA", "b/2.xml"]
    assert [source.read(i) for i in items] == [b"1", b"2"]
    assert source.skipped == {".pdf": 1}
    source.close()


def test_zip_member_names_pointing_outside_are_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "x.zip", {"../evil.xml": b"e", "/abs.xml": b"a",
                                         "ok/../../up.xml": b"u", "fine.xml": b"f"})
    source = DocumentSource(path, MB)
    kinds = {i.name: (kind(source, i) if i.problem else "ok") for i in source.files()}
    assert kinds == {"../evil.xml": "unsafe-name", "/abs.xml": "unsafe-name",
                     "ok/../../up.xml": "unsafe-name", "fine.xml": "ok"}
    assert not (tmp_path.parent / "evil.xml").exists()


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "x.zip", {"bomb.xml": b"\0" * (8 * MB)})
    source = DocumentSource(path, 20 * MB)
    [item] = source.files()
    assert kind(source, item) == "zip-bomb"


def test_a_member_declared_over_the_bound_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "x.zip", {"big.xml": os.urandom(MB + 10)})
    source = DocumentSource(path, MB)
    [item] = source.files()
    assert kind(source, item) == "too-large"


def test_a_member_larger_than_it_declares_is_refused_not_truncated(tmp_path: Path) -> None:
    data = os.urandom(3 * MB)
    path = make_zip(tmp_path / "x.zip", {"liar.xml": data})
    raw = bytearray(path.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 100)  # declared uncompressed size: 100 bytes
    local = raw.find(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, 100)
    path.write_bytes(bytes(raw))
    source = DocumentSource(path, MB)
    [item] = source.files()
    assert kind(source, item) == "damaged-zip-member"


def test_a_truncated_zip_is_named_a_damaged_zip(tmp_path: Path) -> None:
    """A zip cut short in transfer has no readable directory: the message says so, not
    'neither a folder nor a zip file' (a new user's finding)."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.xml", b"<ClinicalDocument/>" * 100)
    cut = tmp_path / "export.zip"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ExtractError, match="damaged or truncated zip"):
        DocumentSource(cut, MB)
