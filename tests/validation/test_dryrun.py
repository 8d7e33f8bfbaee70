"""`emr-migrate validate` maps exactly as `run` does (issue 18): the same mapping path (the
column-wise one included), and the rules that never fired found without wrapping templates."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from migrate.mappers import engine
from migrate.mappers.pack import load_pack
from migrate.pipeline import pack_settings, run_pipeline
from migrate.validation.dryrun import ValidateOptions, validate_migration
from tests.conftest import make_settings

GOLDEN_INPUT = Path(__file__).parents[1] / "golden" / "synthea" / "input"


def _settings(out: Path) -> Any:
    return make_settings(GOLDEN_INPUT, f"ndjson:{out / 'nd'}", out, max_quarantine_rate=1.0)


def test_validate_maps_on_the_path_run_takes(tmp_path: Path) -> None:
    engine.COLUMN_WISE.clear()
    run_pipeline(_settings(tmp_path / "run"))
    on_run = dict(engine.COLUMN_WISE)
    engine.COLUMN_WISE.clear()
    validate_migration(_settings(tmp_path / "dry"), ValidateOptions(tmp_path / "dry" / "v"))
    on_validate = dict(engine.COLUMN_WISE)
    assert len(on_run) >= 10  # most Synthea mappings map column-wise
    assert on_validate == on_run


def _wrapped_counts(tmp_path: Path) -> Counter[tuple[str, str]]:
    """What `validate` counted before: every emit's template wrapped by a counter (which
    turned the column-wise path off)."""
    settings = _settings(tmp_path / "wrapped")
    pack = load_pack(settings.mappings, pack_settings(settings))
    counts: Counter[tuple[str, str]] = Counter()
    for m in pack.mappings:
        for emit in m.emits:
            def counted(scope: Any, _t: Any = emit.template,
                        _k: tuple[str, str] = (m.name, emit.name)) -> Any:
                counts[_k] += 1
                return _t(scope)
            emit.template = counted
    run_pipeline(settings, pack=pack)
    return counts


@pytest.mark.parametrize("chunk_size", [5000, 7])
def test_emits_counted_on_both_paths_fire_as_wrapped_templates_did(
        tmp_path: Path, chunk_size: int) -> None:
    """Each emit counts as many template runs as when every template was wrapped (the rules
    that never fired, with a pack that has some, are checked in tests/report)."""
    wrapped = _wrapped_counts(tmp_path)
    counts: Counter[tuple[str, str]] = Counter()
    engine.COLUMN_WISE.clear()
    run_pipeline(_settings(tmp_path / "counted").model_copy(update={"chunk_size": chunk_size}),
                 emit_counts=counts)
    assert engine.COLUMN_WISE  # counted while the column-wise path ran
    assert counts == wrapped


def test_a_table_read_as_a_look_up_is_not_unused(tmp_path: Path) -> None:
    """A dictionary table read only by a look-up is read: not an unused table, and the columns
    the look-up takes are not unused columns (only the others are)."""
    example = Path(__file__).parents[1] / "golden" / "spec" / "lookup-dictionary"
    (tmp_path / "in").mkdir()
    for src in (example / "input").iterdir():
        text = src.read_text()
        if src.name == "d_labitems.csv":  # a column no look-up takes
            text = "\n".join(line + (",note" if i else ",comment")
                             for i, line in enumerate(text.splitlines())) + "\n"
        (tmp_path / "in" / src.name).write_text(text)
    settings = make_settings(tmp_path / "in", f"ndjson:{tmp_path / 'nd'}", tmp_path,
                             example / "pack", max_quarantine_rate=1.0)
    report = validate_migration(settings, ValidateOptions(tmp_path / "v"))
    assert report.unused_tables == []
    assert [(c["table"], c["column"]) for c in report.unused_columns] == [
        ("d_labitems", "comment")]
