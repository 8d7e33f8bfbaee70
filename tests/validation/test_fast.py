"""FastValidator gives exactly the issues of FhirValidator: on the corpus and on mutations of it.

The corpus is every resource of the golden Synthea output and of the OpenEMR sample run, plus the
hand-built resources and code-binding cases of test_fhir.py. The fast validator is warmed with
all of them (so their shapes have plans), then every mutation below is validated by both and
the issue lists must be equal, message for message:

* each primitive value replaced by values that break FHIR types (empty, padded, not a date,
  a number, a boolean, a null, a bad code);
* each key dropped, an unknown key added, an object where a primitive belongs and back;
* each list given one more item.

The generated matchers (one per shape with a plan) are proven the same way on a validator warmed
twice, so that every shape of the corpus has one: the corpus takes the matcher path (no
flattening), and mutations of resources whose shape has a matcher (keys reordered, added,
dropped; types changed, ``str`` subclasses and ``True`` for ``1``; lists longer, shorter, empty,
with nulls; nested and top-level ``resourceType`` changed; objects the mapper shares, remembered,
then reused at the same position, at other positions and with bad values) give the full
verdicts, one at a time and in chunks. The generated source never holds text from the data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate.mappers.compiler import SHARED
from migrate.validation import fast as fast_module
from migrate.validation.fast import FastValidator, _flatten
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


def _one_per_shape(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for res in corpus:
        toks: list[Any] = []
        _flatten(res, toks, [], {})
        if tuple(toks) not in seen:
            seen.add(tuple(toks))
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


# -- the generated matchers ------------------------------------------------------------------
class Flag(str):
    """A ``str`` subclass: equal to its text, yet another type (another shape)."""


def _contained() -> list[dict[str, Any]]:
    """Resources with a nested resource (its ``resourceType`` is part of the shape)."""
    pat = make_patient()
    pat["contained"] = [make_observation()]
    return [pat]


def _matchers(fast: FastValidator) -> list[Any]:
    return [m for cands in fast._candidates.values() for m, _ in cands]


@pytest.fixture(scope="module")
def matched(corpus: list[dict[str, Any]]) -> FastValidator:
    """A fast validator warmed twice on the corpus: every shape with a plan has a matcher, and
    every matcher is a candidate (more shapes of one top-level key tuple than the default bound
    would push some out: those resources are then flattened, which is no error)."""
    fast = FastValidator(FhirValidator())
    full = FhirValidator()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fast_module, "MAX_CANDIDATES", 1000)
        for res in corpus + _contained():
            expected = full.validate(res)
            assert fast.validate(res) == expected
            assert fast.validate(res) == expected
    return fast


class _Counted:
    """Counts the resources that took the flatten path."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, node: dict[str, Any], toks: list[Any], leaves: list[Any],
                 flat: dict[int, Any]) -> None:
        if not toks:  # a resource, not one of the objects it recurses into
            self.calls += 1
        _flatten(node, toks, leaves, flat)


def test_corpus_takes_the_matcher_path(corpus: list[dict[str, Any]], matched: FastValidator,
                                       validators: tuple[FhirValidator, FastValidator],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    full, _ = validators
    planned = []  # the resources whose shape has a plan (the others take the full path)
    for res in corpus:
        toks: list[Any] = []
        _flatten(res, toks, [], {})
        plan = matched._shapes.get(tuple(toks))
        if isinstance(plan, fast_module._Plan):
            assert plan.matcher
            planned.append(res)
    assert len(planned) > 0.97 * len(corpus)
    expected = [full.validate(r) for r in planned]
    counted = _Counted()
    monkeypatch.setattr(fast_module, "_flatten", counted)
    assert [matched.validate(r) for r in planned] == expected
    assert matched.validate_many(planned) == expected
    for size in (1, 7, 500):
        assert [v for i in range(0, len(planned), size)
                for v in matched.validate_many(planned[i:i + size])] == expected
    assert counted.calls == 0  # every resource was matched (no flattening)
    assert len(_matchers(matched)) >= len(_one_per_shape(planned))


def _objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of the nested objects (dicts), the resource itself included."""
    if isinstance(node, dict):
        yield path
        for k, v in node.items():
            yield from _objects(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _objects(v, (*path, i))


def _get(res: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = res
    for step in path:
        node = node[step]
    return node


def _lists(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _lists(v, (*path, k))
    elif isinstance(node, list):
        yield path
        for i, v in enumerate(node):
            yield from _lists(v, (*path, i))


def _reorder(obj: dict[str, Any]) -> None:
    items = list(obj.items())
    obj.clear()
    obj.update(reversed(items))


def _shape_mutations(res: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Mutations of one resource aimed at the matcher: most keep its top-level keys, so the
    matcher of its shape is tried first and must turn down, or accept, exactly as the
    signature would. One or two per object, list and leaf, the kinds in rotation."""
    yield _set(res, ("resourceType",), "Condition")
    for n, path in enumerate(_objects(res)):  # (_edit at (*path, None): the object itself)
        if n % 2 and len(_get(res, path)) > 1:  # keys in another order
            yield _edit(res, (*path, None), lambda obj, _: _reorder(obj))
        else:
            yield _edit(res, (*path, None), lambda obj, _: obj.__setitem__("bogusElement", "x"))
        if path and n % 3 == 0:  # a list of its keys where the object was
            yield _set(res, path, list(_get(res, path)))
        if path and "resourceType" in _get(res, path):  # a nested resource: another type
            for rtype in ("Condition", "Nope", 5):
                yield _set(res, (*path, "resourceType"), rtype)
    for n, path in enumerate(_lists(res)):
        lists = [lambda o, k: o[k].clear(), lambda o, k: o[k].append(None)]
        if _get(res, path):
            lists += [lambda o, k: o[k].pop(), lambda o, k: o[k].__setitem__(0, None),
                      lambda o, k: o[k].append(copy.deepcopy(o[k][-1]))]
        yield _edit(res, path, lists[n % len(lists)])
        yield _edit(res, path, lists[(n + 1) % len(lists)])
    for n, path in enumerate(_leaf_paths(res)):
        value = _get(res, path)
        others: list[Any] = [[value], None]
        if isinstance(value, str):
            others.append(Flag(value))
        if type(value) is bool:
            others.append(int(value))
        if type(value) is int:
            others += [bool(value), float(value)]
        yield _set(res, path, others[n % len(others)])


def test_mutations_through_matchers_give_the_full_verdict(
        corpus: list[dict[str, Any]], matched: FastValidator,
        validators: tuple[FhirValidator, FastValidator]) -> None:
    full, _ = validators
    chunk: list[dict[str, Any]] = []
    expected: list[Any] = []
    tried = 0
    for res in _one_per_shape(corpus) + _contained():
        for mutated in _shape_mutations(res):
            tried += tuple(mutated) in matched._candidates
            expected.append(full.validate(mutated))
            assert matched.validate(mutated) == expected[-1], mutated
            chunk.append(mutated)
    assert tried > 2000  # most mutations met a matcher of their top-level keys
    assert matched.validate_many(chunk) == expected
    assert matched.validate_many(chunk) == expected  # the new shapes have matchers now
    assert sum(bool(v) for v in expected) > len(chunk) // 3


@pytest.fixture
def share() -> Iterator[Any]:
    """Registers objects as the mapper shares them (`SHARED`); forgets them afterwards."""
    registered: list[Any] = []

    def add(obj: Any) -> Any:
        SHARED[id(obj)] = obj
        registered.append(obj)
        return obj

    yield add
    for obj in registered:
        if SHARED.get(id(obj)) is obj:
            del SHARED[id(obj)]


def _put(res: dict[str, Any], path: tuple[Any, ...], obj: Any) -> dict[str, Any]:
    """A new resource with ``obj`` at ``path``: the containers on the way are copied (shallow),
    every other object is the same (shared objects stay untouched)."""
    out = dict(res)
    node: Any = out
    for step in path[:-1]:
        child = node[step]
        node[step] = child = dict(child) if isinstance(child, dict) else list(child)
        node = child
    node[path[-1]] = obj
    return out


def _shared_copies(corpus: list[dict[str, Any]], share: Any) -> list[dict[str, Any]]:
    """One resource per shape, each nested object shared (read-only from here on)."""
    copies = [copy.deepcopy(r) for r in _one_per_shape(corpus) + _contained()]
    for res in copies:
        for path in _objects(res):
            if path:
                share(_get(res, path))
    return copies


def test_shared_objects_give_the_full_verdict(
        corpus: list[dict[str, Any]], validators: tuple[FhirValidator, FastValidator],
        share: Any) -> None:
    """Shared objects are remembered where they passed and skipped when they come again; at
    another position, or with a bad value, they are checked and give the full verdicts."""
    full, _ = validators
    fast = FastValidator(FhirValidator())
    copies = _shared_copies(corpus, share)
    expected = [full.validate(r) for r in copies]
    for _ in range(3):  # seen, remembered, skipped: new resources holding the same objects
        assert [fast.validate(dict(r)) for r in copies] == expected
        assert fast.validate_many([dict(r) for r in copies]) == expected
    assert sum(map(len, fast._known.now)) > 100  # remembered, so skipped
    mutations: list[dict[str, Any]] = []
    for res in copies:
        paths = [p for p in _objects(res) if p]
        for i, path in enumerate(paths):  # a shared object at another position
            for other in (paths[(i + 1) % len(paths)], paths[(i + 3) % len(paths)]):
                if other != path:
                    mutations.append(_put(res, path, _get(res, other)))
            if i % 4 == 0:  # a list of the keys of the shared object it replaces
                mutations.append(_put(res, path, list(_get(res, path))))
        for path in _leaf_paths(res):  # a shared object (new) holding a bad value
            if len(path) > 1 and isinstance(_get(res, path), str):
                owner = share(copy.deepcopy(_get(res, path[:-1])))
                owner[path[-1]] = BAD if path[-1] == "code" else " padded "
                mutations.append(_put(res, path[:-1], owner))
    expected = [full.validate(r) for r in mutations]
    assert len(mutations) > 1000
    assert sum(bool(v) for v in expected) > len(mutations) // 3
    for _ in range(2):
        assert [fast.validate(r) for r in mutations] == expected
        assert fast.validate_many(mutations) == expected
        assert fast.validate_many([dict(r) for r in copies]) == [full.validate(r) for r in copies]


def test_generated_source_holds_no_text_of_the_data(
        validators: tuple[FhirValidator, FastValidator]) -> None:
    """Values, codes and text reach a matcher as objects, never as source text."""
    full, _ = validators
    evil = '"); import os; os.system("echo pwned"); ("'
    res = make_observation()
    res["code"]["text"] = res["code"]["coding"][0]["display"] = evil
    bad = _replace(copy.deepcopy(res), "final", evil)  # a code no value set has
    fast = FastValidator(FhirValidator())
    for _ in range(3):
        for r in (res, bad):
            assert fast.validate(r) == full.validate(r)
        assert fast.validate_many([res, bad]) == [full.validate(res), full.validate(bad)]
    assert full.validate(bad)
    assert _matchers(fast)
    for matcher in _matchers(fast):
        assert "pwned" not in matcher.source
        assert fast_module._SAFE_SOURCE.fullmatch(matcher.source)


def test_keys_and_types_reach_the_matcher_as_objects_only() -> None:
    """Keys and resourceType strings with quotes and code in them: the generated source holds
    none of their text, and the matcher still tells the shape apart."""
    from pydantic import TypeAdapter

    evil = '"); import os; os.system("echo pwned"); ("'
    nested = "x\n'" + evil
    res = {"resourceType": evil, evil: "a", nested: {evil: ["b", None], "resourceType": evil}}
    leaves: list[Any] = []
    _flatten(res, [], leaves, {})
    prim = fast_module._Primitive(TypeAdapter(str), None, TypeAdapter(list[str]))
    matcher = fast_module._generate(res, [prim] * len(leaves), None, fast_module._Known(), {})
    assert matcher is not None
    source = matcher.source
    assert "pwned" not in source
    assert "'" not in source
    assert '"' not in source
    assert not fast_module._SAFE_SOURCE.fullmatch('x = "a"')  # a literal would be refused
    pending: list[Any] = []
    assert matcher(copy.deepcopy(res), pending)
    assert [v for _, v in pending] == ["a", "b"]  # no memo knows them yet
    prim.memo.update({"a": str, "b": str})
    pending = []
    assert matcher(copy.deepcopy(res), pending)
    assert pending == []
    others = [_set(res, (nested, "resourceType"), "Patient"), _set(res, ("resourceType",), "P"),
              _edit(res, (nested, None), lambda n, k: _reorder(n)),
              _edit(res, (nested, evil), lambda n, k: n[k].append("c")),
              _edit(res, (nested, evil), lambda n, k: n[k].pop()),
              _set(res, (nested, evil, 1), "c"), _set(res, (evil,), Flag("a")),
              _set(res, (nested, "bogus"), 1), _set(res, (nested,), [])]
    for other in others:
        assert matcher(other, []) is None


def test_bounds_hold_and_the_verdicts_stay(
        corpus: list[dict[str, Any]], validators: tuple[FhirValidator, FastValidator],
        share: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    full, _ = validators
    monkeypatch.setattr(fast_module, "MAX_MATCHERS", 20)
    monkeypatch.setattr(fast_module, "MAX_CANDIDATES", 2)
    monkeypatch.setattr(fast_module, "MAX_KNOWN", 7)
    fast = FastValidator(FhirValidator())
    copies = _shared_copies(corpus, share)
    expected = [full.validate(r) for r in copies]
    for _ in range(3):
        assert [fast.validate(dict(r)) for r in copies] == expected
        assert fast.validate_many([dict(r) for r in copies]) == expected
    assert fast._matchers == 20
    assert all(len(cands) <= 2 for cands in fast._candidates.values())
    known = fast._known
    assert sum(map(len, known.now)) + sum(map(len, known.seen)) <= 7
    assert sum(map(len, known.before)) <= 7


def test_key_order_decides_the_order_of_issues(share: Any) -> None:
    """Two warnings from two keys of one object come in key order: an object with its keys in
    another order is another shape (its matcher turns it down), and the order follows."""
    full = FhirValidator()
    fast = FastValidator(FhirValidator())
    ucum = "http://unitsofmeasure.org"
    res = make_observation()
    res["referenceRange"] = [{"low": {"value": 1, "unit": "mg", "system": ucum},
                              "high": {"value": 2, "unit": "mg", "system": ucum}}]
    swapped = _edit(res, ("referenceRange", 0, None), lambda obj, _: _reorder(obj))
    expected, reversed_ = full.validate(res), full.validate(swapped)
    assert [i.path for i in expected] == [i.path for i in reversed(reversed_)]
    assert len(expected) == 2
    for _ in range(3):
        assert fast.validate(res) == expected
        assert fast.validate(swapped) == reversed_
        assert fast.validate_many([res, swapped, res]) == [expected, reversed_, expected]
    shared = copy.deepcopy(res)
    share(shared["referenceRange"][0])  # the same, at a shared (remembered) position
    for _ in range(3):
        assert fast.validate(dict(shared)) == expected
        assert fast.validate(_put(shared, ("referenceRange", 0), dict(reversed(
            list(shared["referenceRange"][0].items()))))) == reversed_


def test_a_shared_object_is_remembered_for_its_kind_of_position(share: Any) -> None:
    """Objects of one shape but other checks (an Identifier and a ContactPoint: both
    {system, value}, ContactPoint.system a bound code): one that passed as an identifier is
    checked again as a telecom."""
    full = FhirValidator()
    fast = FastValidator(FhirValidator())
    res = make_patient()
    ident = share({"system": "http://hospital.example/mrn", "value": "12345"})
    phone = share({"system": "phone", "value": "555-0100"})
    res["identifier"], res["telecom"] = [ident], [phone]
    swapped = _put(_put(res, ("identifier", 0), phone), ("telecom", 0), ident)
    expected = full.validate(res)
    assert full.validate(swapped)  # "http://..." is not a contact point system
    for _ in range(4):
        assert fast.validate(dict(res)) == expected
        assert fast.validate_many([dict(res), dict(res)]) == [expected, expected]
    assert any(id(ident) in now for now in fast._known.now)  # remembered, so skipped
    for _ in range(2):
        assert fast.validate(swapped) == full.validate(swapped)
        assert fast.validate_many([swapped, dict(res)]) == [full.validate(swapped), expected]
