"""The hostile CSV corpus (tests/hostile/corpus/csv/, one small case per file): every physical
line and row of each file is accounted for, or the file is refused as a whole with its name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrate.errors import ExtractError
from migrate.extractors.csv import CsvExtractor

CORPUS = Path(__file__).resolve().parent / "corpus" / "csv"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())


def read_all(ext: CsvExtractor, table: str) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    rejects: list[Any] = []
    for batch in ext.iter_batches(table, 2):
        rows += batch.rows
        rejects += batch.rejects
    return rows, rejects


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_line_of_every_corpus_file_is_accounted_for(name: str) -> None:
    facts = EXPECTED[name]
    ext = CsvExtractor(CORPUS)
    if facts["refused"]:
        with pytest.raises(ExtractError) as err:
            read_all(ext, name)
        assert f"{name}.csv" in str(err.value)
        assert "\x00" not in str(err.value)  # never the file's raw bytes
        return
    rows, rejects = read_all(ext, name)
    assert (len(rows), len(rejects)) == (facts["rows"], facts["quarantined"])
    for reject in rejects:  # each names its physical line
        assert isinstance(reject.line, int)
        assert 2 <= reject.line <= facts["lines"]
    account = ext.account(name)
    assert account is not None
    assert account.complete, account.problem
    assert account.lines is not None
    assert account.lines["total"] == facts["lines"]
    assert sum(v for k, v in account.lines.items() if k != "total") == facts["lines"]
    assert all(set(r) == {"Id", "PATIENT", "DESCRIPTION"} for r in rows)
    assert not any("\x00" in str(v) for r in rows for v in r.values())
    assert all(r["Id"] and r["PATIENT"] for r in rows)  # no record swallowed into another


def test_the_corpus_is_what_its_generator_writes(tmp_path: Path) -> None:
    """The committed files are the generator's output (regenerate after changing a case)."""
    import runpy

    gen = runpy.run_path(str(CORPUS.parent / "make_csv_corpus.py"))
    for name, (data, facts) in gen["CASES"].items():
        assert (CORPUS / f"{name}.csv").read_bytes() == data, name
        assert EXPECTED[name] == facts, name
