"""report.html tells the truth: a GO headline says what failed without blocking, filtered
rows are broken down by rule, and the thresholds are said to come from where they do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from migrate.report.html import go_text
from migrate.report.validate_model import Thresholds
from tests.report.test_validate_model import dry_run, mini  # noqa: F401 - the fixture


def _clean(**changes: Any) -> dict[str, Any]:
    """The figures go_text reads, of a dry run where nothing failed; ``changes`` on top."""
    d: dict[str, Any] = {
        "expectations": {"summary": {"failed_warning": 0, "failed_critical": 0}},
        "rows": {"quarantined": 0}, "terminology_gaps": [],
        "output": {"dangling_references": 0}}
    for key, value in changes.items():
        d[key] = value
    return d


def test_go_says_every_check_passed_only_when_nothing_failed() -> None:
    assert go_text(_clean()) == "Every check passed: the source can be migrated as it is."
    warned = _clean(expectations={"summary": {"failed_warning": 5, "failed_critical": 0}})
    assert go_text(warned) == ("No check failed that blocks the migration; 5 expectation(s) "
                               "warned. Read them below before cutover.")


def test_go_report_names_what_failed_without_blocking(mini: dict[str, Path]) -> None:  # noqa: F811
    report = dry_run(mini, thresholds=Thresholds(0.5, 0.5, 1, True))
    assert report.verdict == "GO"
    html = (mini["out"] / "validate" / "report.html").read_text()
    assert "Every check passed" not in html
    assert ("No check failed that blocks the migration; 1 row(s) quarantined, within the "
            "threshold; 2 code use(s) unmapped, within the threshold; 1 dangling "
            "reference(s), within the threshold. Read them below before cutover.") in html


def test_filtered_rows_are_broken_down_by_rule(mini: dict[str, Path]) -> None:  # noqa: F811
    dry_run(mini)
    html = (mini["out"] / "validate" / "report.html").read_text()
    section = re.search(r'<section id="filtered".*?</section>', html, re.S)
    assert section is not None
    assert "Filtered rows by rule (1)" in section.group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", section.group(0))
    assert cells == ["vitals", "mini.vitals", "<code>soft-deleted</code>", "1"]


def test_the_thresholds_are_said_to_come_from_validate_and_thresholds(
        mini: dict[str, Path]) -> None:  # noqa: F811
    dry_run(mini)
    html = (mini["out"] / "validate" / "report.html").read_text()
    assert "its <code>validate:</code> section" in html
    assert "<code>thresholds: max_quarantine_rate</code>" in html
