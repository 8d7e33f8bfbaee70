"""Output checks of a dry run: dangling references and US Core must-have elements."""

from __future__ import annotations

from migrate.loaders.base import open_loader
from migrate.loaders.null import NullLoader
from migrate.validation.output import OutputChecker

PATIENT = {"resourceType": "Patient", "id": "p1", "identifier": [{"value": "1"}],
           "name": [{"family": "X"}], "gender": "female"}
ENCOUNTER = {"resourceType": "Encounter", "id": "e1", "status": "finished",
             "class": {"code": "AMB"}, "type": [{"text": "visit"}],
             "subject": {"reference": "Patient/p1"},
             "participant": [{"individual": {"reference": "Practitioner/gone"}},
                             {"individual": {"reference": "Practitioner/gone"}}]}
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final",
               "code": {"text": "x"}, "subject": {"reference": "Patient/p2"},
               "encounter": {"reference": "Encounter/e1"}, "effectivePeriod": {"start": "2020"},
               "hasMember": [{"reference": "urn:uuid:1"}, {"reference": "#c1"}]}


def checked() -> OutputChecker:
    checker = OutputChecker()
    checker([OBSERVATION, ENCOUNTER])  # order does not matter: resolved at the end
    checker([PATIENT])
    return checker


def test_dangling_references_per_type_and_path() -> None:
    refs = {(r["resource_type"], r["path"]): r for r in checked().references()}
    assert refs[("Encounter", "Encounter.participant.individual")] == {
        "resource_type": "Encounter", "path": "Encounter.participant.individual",
        "target_types": ["Practitioner"], "references": 2, "dangling": 2, "not_checked": 0,
        "examples": ["Practitioner/gone"]}
    assert refs[("Encounter", "Encounter.subject")]["dangling"] == 0
    assert refs[("Observation", "Observation.subject")]["dangling"] == 1
    assert refs[("Observation", "Observation.encounter")]["dangling"] == 0
    assert refs[("Observation", "Observation.hasMember")]["not_checked"] == 2
    assert checked().dangling_total() == 3


def test_us_core_must_have_counts_missing_elements() -> None:
    report = checked().must_have_report()
    assert report == [{"resource_type": "Observation", "element": "category", "missing": 1,
                       "total": 1, "severity": "warning"}]


def test_choice_elements_and_empty_values() -> None:
    checker = OutputChecker({"Observation": ("effective[x]", "code")})
    checker.add({"resourceType": "Observation", "id": "a", "effectiveDateTime": "2020",
                 "code": {}})
    checker.add({"resourceType": "Observation", "id": "b", "effective": "x", "code": {"a": 1}})
    assert checker.missing == {("Observation", "code"): 1, ("Observation", "effective[x]"): 1}


def test_null_loader_shows_resources_and_writes_nothing() -> None:
    seen: list[str] = []
    loader = NullLoader(lambda chunk: seen.extend(r["id"] for r in chunk))
    loader.open()
    loader.load([PATIENT, ENCOUNTER])
    assert seen == ["p1", "e1"]
    assert loader.close().as_dict()["written"] == {"Encounter": 1, "Patient": 1}
    assert open_loader({"type": "null"}).describe().startswith("null")
