"""Deterministic resource ids: UUIDv5 of (source system, type, entity, key parts)."""

from __future__ import annotations

import re
import uuid

import pytest

from migrate.mappers.ids import id_seed, resource_id

NS = uuid.UUID("0f8c2a6e-3d4b-4f1a-9c7e-5b6a7d8e9f01")
OTHER_NS = uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
SYSTEM = "urn:test:emr"
CANONICAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def rid(*key: object, ns: uuid.UUID = NS, system: str = SYSTEM, rtype: str = "Patient",
        entity: str = "patients") -> str:
    return resource_id(ns, system, rtype, entity, key)


def test_seed_joins_system_type_entity_and_key_parts():
    seed = id_seed(SYSTEM, "Patient", "patients", ["p1", "x"])
    assert seed == "urn:test:emr|Patient|patients|p1|x"


def test_id_is_uuid5_of_the_seed():
    assert rid("p1") == str(uuid.uuid5(NS, "urn:test:emr|Patient|patients|p1"))


def test_same_inputs_give_the_same_id():
    assert rid("p1", "2020") == rid("p1", "2020")
    assert resource_id(NS, SYSTEM, "Patient", "patients", ["p1"]) == rid("p1")  # list or tuple


def test_id_has_the_canonical_uuid_v5_form():
    value = rid("p1")
    assert CANONICAL.fullmatch(value)
    parsed = uuid.UUID(value)
    assert parsed.version == 5
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == value


@pytest.mark.parametrize("changed", [
    {"ns": OTHER_NS}, {"system": "urn:test:other"}, {"rtype": "Practitioner"},
    {"entity": "people"},
])
def test_every_part_of_the_identity_changes_the_id(changed):
    assert rid("p1", **changed) != rid("p1")


def test_namespace_change_changes_every_id():
    keys = [("p1",), ("p2",), ("p1", "2")]
    before = {rid(*k) for k in keys}
    after = {rid(*k, ns=OTHER_NS) for k in keys}
    assert len(before) == len(after) == 3
    assert before.isdisjoint(after)


def test_key_parts_and_their_order_matter():
    assert rid("a", "b") != rid("b", "a")
    assert rid("a") != rid("a", "b")
    assert rid("ab") != rid("a", "b")


def test_separator_in_a_key_part_is_escaped():
    assert id_seed(SYSTEM, "Patient", "patients", ["a|b"]) == r"urn:test:emr|Patient|patients|a\|b"
    assert rid("a|b") != rid("a", "b")


def test_escape_character_in_a_key_part_is_escaped():
    assert id_seed(SYSTEM, "Patient", "patients", ["a\\"]) == r"urn:test:emr|Patient|patients|a\\"
    # "a\" + "b" must not look like "a\|b" (an escaped separator).
    assert rid("a\\", "b") != rid("a\\|b")
    assert rid("a\\", "|b") != rid("a\\|", "b")


def test_separator_in_the_identity_parts_is_escaped_too():
    assert resource_id(NS, "urn:a|b", "Patient", "t", ["1"]) != resource_id(
        NS, "urn:a", "b|Patient", "t", ["1"])


def test_none_key_part_is_empty_text():
    assert id_seed(SYSTEM, "Encounter", "encounters", ["p1", None]) == (
        "urn:test:emr|Encounter|encounters|p1|")
    assert rid("p1", None) == rid("p1", "")
    assert rid("p1", None) != rid("p1")
    assert rid(None, "p1") != rid("p1", None)


def test_key_parts_are_read_as_text():
    # An integer key from SQL and the same key as CSV text give the same id.
    assert rid(1, 2) == rid("1", "2")


def test_fast_id_maker_gives_the_ids_of_uuid5():
    import random

    from migrate.mappers.ids import id_maker

    rng = random.Random(7)
    alphabet = "ab|\\0é-9 "
    make = id_maker(NS, SYSTEM)
    batches: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for _ in range(3000):
        key = tuple(rng.choice([None, 7, 2.5, "".join(rng.choices(alphabet, k=rng.randint(0, 9)))])
                    for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.5:  # most keys are text only (the batch path's fast case)
            key = tuple("".join(rng.choices("abc-19", k=rng.randint(0, 9))) for _ in key)
        rtype, entity = rng.choice([("Patient", "patients"), ("Observation", "obs|x")])
        assert make(rtype, entity, key) == resource_id(NS, SYSTEM, rtype, entity, key)
        batches.setdefault((rtype, entity), []).append(key)
    for (rtype, entity), keys in batches.items():
        assert make.many(rtype, entity, keys) == [resource_id(NS, SYSTEM, rtype, entity, k)
                                                  for k in keys]
