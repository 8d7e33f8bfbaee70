"""References to quarantined rows are found wherever they stand, and nowhere else."""

from __future__ import annotations

from collections import Counter
from typing import Any

from migrate.validation.dangling import DanglingTracker


class _Mapping:
    name = "clinic.observation"


def _tracker(ids: dict[str, str]) -> Any:
    tracker = DanglingTracker.__new__(DanglingTracker)
    tracker.ids = ids
    return tracker


def test_references_anywhere_in_a_resource_are_counted_and_text_is_not() -> None:
    tracker = _tracker({"Patient/p1": "clinic.patient", "Encounter/e1": "clinic.encounter"})
    resources = [
        {"resourceType": "Observation", "subject": {"reference": "Patient/p1"},
         "encounter": {"reference": "Encounter/e2"},
         "note": [{"text": 'said "reference":"Patient/p1" in the text'}],
         "extension": [{"url": "u", "valueReference": {"reference": "Encounter/e1"}}]},
        {"resourceType": "Observation", "performer": [{"reference": "Patient/p1"}],
         "hasMember": [{"display": "no reference"}]},
    ]
    found: Counter[tuple[str, str]] = Counter()
    tracker.count(_Mapping(), resources, found)
    assert found == {("clinic.observation", "clinic.patient"): 2,
                     ("clinic.observation", "clinic.encounter"): 1}
