"""Issue 19 review: look-ups (mapping key ``lookup:``, pack.yaml ``lookup_memory_mb``) written
wrong or fed hostile tables. Each test is a finding of the adversarial review."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mappers.test_lookups import _procedure


@pytest.mark.parametrize(("bound", "problem"), [
    (".inf", "Input should be a finite number"),   # was accepted: the run crashed (exit 70)
    (".nan", "Input should be a finite number"),
    ("true", "Input should be a valid number"),    # was read as 1 MB
    ("0", "Input should be greater than 0"),
])
def test_lookup_memory_bound_must_be_a_finite_number(problems_of: Any, bound: str,
                                                     problem: str) -> None:
    files = {"pack.yaml": f"name: p\nlookup_memory_mb: {bound}\n", "p.yaml": _procedure()}
    _, problems = problems_of(files)
    assert len(problems) == 1
    assert problems[0].endswith(f"pack.yaml:2: lookup_memory_mb: {problem}")
