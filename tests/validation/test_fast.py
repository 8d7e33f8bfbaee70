"""FastValidator gives exactly the issues of FhirValidator: on the corpus and on mutations of it.

The corpus is every resource of the golden Synthea output and of the OpenEMR sample run, plus the
hand-built resources and code-binding cases of test_fhir.py. The fast validator is warmed with
all of them (so their shapes have plans), then every mutation below is validated by both and
the issue lists must be equal, message for message:

* each primitive value replaced by values that break FHIR types (empty, padded, not a date,
  a number, a boolean, a null, a bad code);
* each key dropped, an unknown key added, an object where a primitive belongs and back;
* each list given one more item.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate.validation.fast import FastValidator
from migrate.validation.fhir import FhirValidator
from tests.validation.test_fhir import BAD, CODE_CASES, EB, _replace, condition, encounter
from tests.validation.test_fhir import observation as make_observation
from tests.validation.test_fhir import patient as make_patient

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "synthea" / "expected"
BAD_VALUES: list[Any] = ["", " padded ", "not a date", "2019-13-45", 12345, 1.5, True, None,
                         "a\u0000b", "x" * 70, "-1", "0"]


def _golden() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(GOLDEN.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, list):
            out.extend(r for r in data if isinstance(r, dict) and "resourceType" in r)
    return out


def _run(tmp: Path, source: dict[str, Any], pack: str, **extra: Any) -> list[dict[str, Any]]:
    """The resources a run of the sample data writes (the FhirValidator judged them)."""
    from migrate.pipeline import run_pipeline
    from tests.conftest import make_settings

    root = Path(__file__).resolve().parents[2]
    settings = make_settings(source, {"type": "ndjson", "path": str(tmp / "nd")}, tmp,
                             mappings=root / "mappings" / pack, **extra)
    run_pipeline(settings)
    return [json.loads(line) for f in sorted((tmp / "nd").glob("*.ndjson"))
            for line in f.read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    built = [make_patient(), make_observation(), condition(), encounter()]
    built += [_replace(r, BAD, EB[k].codes[-1]) for k, r, _ in CODE_CASES]
    sample = Path(__file__).resolve().parents[2] / "sample_data"
    db = sample / "openemr" / "openemr.sqlite"
    openemr = _run(tmp_path_factory.mktemp("oe"), {"type": "sql", "url": f"sqlite:///{db}"},
                   "openemr", timezone="America/New_York")
    synthea = _run(tmp_path_factory.mktemp("sy"),
                   {"type": "csv", "path": str(sample / "synthea")}, "synthea")
    return _golden() + openemr + synthea + built


@pytest.fixture(scope="module")
def validators(corpus: list[dict[str, Any]]) -> tuple[FhirValidator, FastValidator]:
    full = FhirValidator()
    fast = FastValidator(FhirValidator())
    for res in corpus:
        assert fast.validate(res) == full.validate(res)
    return full, fast


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "resourceType":
                yield from _leaf_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaf_paths(v, (*path, i))
    else:
        yield path


def _node_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        if path:
            yield path
        for k, v in node.items():
            yield from _node_paths(v, (*path, k))
    elif isinstance(node, list):
        yield path
        for i, v in enumerate(node):
            yield from _node_paths(v, (*path, i))


def _set(res: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(res)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _edit(res: dict[str, Any], path: tuple[Any, ...], fn: Any) -> dict[str, Any]:
    out = copy.deepcopy(res)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    fn(node, path[-1])
    return out


def _shape(node: Any) -> Any:
    """Keys, list lengths, JSON types and resourceType strings of a JSON value."""
    if isinstance(node, dict):
        return tuple((k, node[k] if k == "resourceType" else _shape(v)) for k, v in node.items())
    if isinstance(node, list):
        return ("list", *map(_shape, node))
    return type(node)


def _one_per_shape(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    out = []
    for res in corpus:
        shape = _shape(res)
        if shape not in seen:
            seen.add(shape)
            out.append(res)
    return out


def test_corpus_is_big_and_valid(corpus: list[dict[str, Any]],
                                 validators: tuple[FhirValidator, FastValidator]) -> None:
    full, fast = validators
    assert len(corpus) > 5000
    assert len(_one_per_shape(corpus)) > 60
    # after warming, the whole corpus takes the fast path, with the full verdicts
    fast.fast = fast.slow = 0
    verdicts = [fast.validate(r) for r in corpus]
    assert fast.fast >= 0.99 * len(corpus)
    assert verdicts == [full.validate(r) for r in corpus]


def test_bad_primitive_values_give_the_full_verdict(
        corpus: list[dict[str, Any]], validators: tuple[FhirValidator, FastValidator]) -> None:
    full, fast = validators
    checked = caught = 0
    for res in _one_per_shape(corpus):
        for n, path in enumerate(_leaf_paths(res)):
            # four of the bad values per leaf, in rotation (every value meets every type)
            for bad in [BAD_VALUES[(n * 4 + j) % len(BAD_VALUES)] for j in range(4)]:
                mutated = _set(res, path, bad)
                expected = full.validate(mutated)
                assert fast.validate(mutated) == expected, (path, bad)
                checked += 1
                caught += bool(expected)
    assert checked > 3000
    assert caught > checked // 3  # the mutations do break things


def test_structural_mutations_give_the_full_verdict(
        corpus: list[dict[str, Any]], validators: tuple[FhirValidator, FastValidator]) -> None:
    full, fast = validators
    for res in _one_per_shape(corpus):
        mutations = [_set(res, ("bogusElement",), 1)]
        for path in _node_paths(res):
            mutations.append(_edit(res, path, lambda n, k: n.pop(k) if isinstance(n, dict)
                                   else n.pop(k)))
            mutations.append(_set(res, path, "a string"))
            mutations.append(_edit(res, path, lambda n, k: n[k].append(copy.deepcopy(n[k][0]))
                                   if isinstance(n[k], list) and n[k] else None))
        for path in _leaf_paths(res):
            mutations.append(_edit(res, path, lambda n, k: n.pop(k)))
            mutations.append(_set(res, path, {"value": "x"}))
        for mutated in mutations:
            assert fast.validate(mutated) == full.validate(mutated)


@pytest.mark.parametrize(("key", "resource", "path"), CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_bad_code_after_a_good_one_of_the_same_shape(
        validators: tuple[FhirValidator, FastValidator], key: str, resource: dict[str, Any],
        path: str) -> None:
    full, fast = validators
    good = _replace(resource, BAD, EB[key].codes[-1])
    assert fast.validate(good) == full.validate(good)
    issues = fast.validate(resource)
    assert issues == full.validate(resource)
    assert any(i.code == "code-set" and i.path == path for i in issues)


def test_validate_many_gives_the_full_verdicts(
        corpus: list[dict[str, Any]], validators: tuple[FhirValidator, FastValidator]) -> None:
    """A chunk mixing valid resources, bad values and new shapes, as the pipeline sends it."""
    full, fast = validators
    chunk: list[dict[str, Any]] = []
    for n, res in enumerate(_one_per_shape(corpus)):
        chunk.append(res)
        paths = list(_leaf_paths(res))
        chunk.append(_set(res, paths[n % len(paths)], BAD_VALUES[n % len(BAD_VALUES)]))
        chunk.append(_set(res, ("id",), f"fresh-{n}"))  # a value no memo has seen
    verdicts = FastValidator(FhirValidator()).validate_many(chunk)  # cold: every shape is new
    assert verdicts == [full.validate(r) for r in chunk]
    assert fast.validate_many(chunk) == [full.validate(r) for r in chunk]  # warm
    assert sum(bool(v) for v in verdicts) > len(chunk) // 10


def test_repeated_strings_are_checked_once_and_every_copy_of_a_bad_one_fails(
        corpus: list[dict[str, Any]]) -> None:
    """`validate_many` checks each distinct string once per chunk: a bad date repeated across
    resources fails in every one of them, a good one passes in every one."""
    full = FhirValidator()
    obs = next(r for r in corpus if r["resourceType"] == "Observation"
               and "effectiveDateTime" in r)
    chunk = [_set(obs, ("effectiveDateTime",), d) for d in
             ["2020-02-30T10:00:00Z", "2020-01-01T10:00:00Z"] * 4 + ["2020-02-30T10:00:00Z"]]
    fast = FastValidator(FhirValidator())
    fast.validate(obs)  # the shape has a plan
    verdicts = fast.validate_many(chunk)
    assert verdicts == [full.validate(r) for r in chunk]
    assert [bool(v) for v in verdicts] == [True, False] * 4 + [True]


def test_one_object_in_many_resources_is_judged_for_each_of_them(
        corpus: list[dict[str, Any]]) -> None:
    """The mapper shares constant subtrees: the very same dict in many resources of a chunk.
    It is looked at once per column, and a bad value in it fails every resource holding it,
    also after columns of that field without repeats (which are not searched for them)."""
    full = FhirValidator()
    obs = next(r for r in corpus if r["resourceType"] == "Observation" and "code" in r)
    good_code = copy.deepcopy(obs["code"])
    bad_code = copy.deepcopy(obs["code"])
    bad_code["coding"][0]["code"] = " padded "
    chunk = [dict(obs, code=good_code if n % 3 else bad_code, id=f"s{n}") for n in range(90)]
    expected = [full.validate(r) for r in chunk]
    assert [bool(v) for v in expected] == [n % 3 == 0 for n in range(90)]
    searched = FastValidator(FhirValidator())  # looks for repeated objects
    skipping = FastValidator(FhirValidator())  # after a column of fresh objects, does not
    fresh = [dict(obs, code=copy.deepcopy(good_code), id=f"o{n}") for n in range(100)]
    assert skipping.validate_many(fresh) == [full.validate(r) for r in fresh]
    for fast in (searched, skipping, searched, skipping):  # cold, then warm
        assert fast.validate_many(chunk) == expected


def test_shape_numbers_restart_without_changing_verdicts(
        corpus: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Shape tokens are numbered in a bounded table; when it restarts, the plans restart
    with it (a number never points at another shape's plan)."""
    import migrate.validation.fast as fast_module

    monkeypatch.setattr(fast_module, "MAX_TOKENS", 50)
    full = FhirValidator()
    fast = FastValidator(FhirValidator())
    shapes = _one_per_shape(corpus)
    for start in range(0, len(shapes), 7):
        chunk = shapes[start:start + 7]
        chunk += [_set(r, ("id",), f"x{start}") for r in chunk]
        assert fast.validate_many(chunk) == [full.validate(r) for r in chunk]
    assert len(fast._ids) <= 50 + 7 * 40  # restarted along the way
    assert fast.fast > 0


def test_primitive_extensions_are_valid_and_judged_alike() -> None:
    """``_birthDate`` without ``birthDate`` is valid FHIR (issue 19: masked birth dates); the
    fast path plans such shapes and agrees with the full validator on bad ones."""
    dar = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                          "valueCode": "masked"}]}
    good = [{"resourceType": "Patient", "id": "a", "_birthDate": dar},
            {"resourceType": "Patient", "id": "b", "birthDate": "1921-02-03", "_birthDate": dar},
            {"resourceType": "Observation", "id": "c", "status": "final",
             "code": {"text": "x"}, "_effectiveDateTime": dar}]
    bad = [{"resourceType": "Patient", "id": "d", "_birthDate": "masked"},
           {"resourceType": "Patient", "id": "e", "_birthDate": {"extension": [{"url": 5}]}},
           {"resourceType": "Patient", "id": "f", "_birthdate": dar}]
    full = [FhirValidator().validate(r) for r in good + bad]
    assert full[:3] == [[], [], []]
    assert all(full[3:])
    fast = FastValidator()
    assert fast.validate_many(good + bad) == full
    before = fast.fast
    assert fast.validate_many(good) == [[], [], []]
    assert fast.fast == before + 3  # planned shapes: no model built again


def test_the_memo_of_valid_values_keeps_no_long_text() -> None:
    """Valid values are remembered so that a chunk's repeats are checked once; a document's
    base64 never repeats, and remembering 16,384 of them held every document of a C-CDA run
    in memory. Long texts are checked each time and remembered nowhere."""
    from migrate.validation.fast import MEMO_CHARS, FastValidator

    validator = FastValidator()
    data = [base64.b64encode(bytes([n]) * (MEMO_CHARS + 10)).decode() for n in range(40)]
    docs = [{"resourceType": "DocumentReference", "status": "current",
             "content": [{"attachment": {"contentType": "text/xml", "data": d}}]}
            for d in data]
    assert validator.validate_many(docs) == [[] for _ in docs]
    assert validator.validate_many(docs) == [[] for _ in docs]
    remembered = [v for p in validator._primitives.values() for v in p.memo]
    assert "current" in remembered or "text/xml" in remembered
    assert not [v for v in remembered if isinstance(v, str) and len(v) > MEMO_CHARS]
