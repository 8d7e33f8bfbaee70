"""The mapping and pack file models (``migrate.mappers.spec``) as a new user writes flags and
tokens: numbers in token lists are their text, YAML values whose text is lost are problems
with their line, and no natural form stops ``check`` with a Python error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.errors import MappingError
from migrate.mappers.pack import load_pack
from tests.mappers.conftest import SETTINGS

HEAD = "mapping: m\nsource: t\nkey: [ID]\n"
EMIT = "emit:\n  - resource: Patient\n    template:\n      {line}\n"


@pytest.fixture
def check(make_pack: Callable[..., Any]) -> Callable[..., list[str]]:
    """``check(mapping_yaml, pack_yaml)``: the problems of the pack ([] when it loads)."""

    def do(mapping: str, pack: str = "") -> list[str]:
        files = {"m.yaml": mapping} | ({"pack.yaml": pack} if pack else {})
        root = make_pack(files)
        try:
            load_pack(root, SETTINGS)
        except MappingError as exc:
            return [str(p).replace(f"{root}/", "") for p in exc.problems]
        return []

    return do


def test_numbers_in_null_token_lists_are_their_text(check, load, run_rows):
    assert check(HEAD + "null_tokens: [0, NA]\n" + EMIT.format(line="gender: $G")) == []
    assert check(HEAD + "null_tokens: {G: [0], B: 9}\n" + EMIT.format(line="gender: $G")) == []
    assert check(HEAD + EMIT.format(line="gender: $G"), "name: p\nnull_tokens: ['', 0]\n") == []
    pack = load({"m.yaml": HEAD + "null_tokens: [0]\n" + EMIT.format(line="gender: $G")})
    (unit,) = run_rows(pack, "m", [{"ID": "1", "G": "0"}])
    assert unit.resources[0].get("gender") is None


@pytest.mark.parametrize(("tokens", "message"), [
    ("[~]", "an item is null (YAML reads an empty item, null, NULL and ~ as nothing); quote the "
            "token as the source writes it ('NULL')"),
    ("[NULL]", "an item is null (YAML reads an empty item, null, NULL and ~ as nothing); quote "
               "the token as the source writes it ('NULL')"),
    ("[0.00]", "0.0 is a YAML number whose text is not kept (0.00 is read as 0.0); quote it as "
               "the source writes it ('0.00')"),
    ("[true]", "true is a YAML boolean; quote the token as the source writes it ('true', "
               "'TRUE')"),
])
def test_null_tokens_whose_text_yaml_lost_are_problems(check, tokens, message):
    assert check(HEAD + f"null_tokens: {tokens}\n" + EMIT.format(line="gender: $G")) == [
        f"m.yaml:4: null_tokens: {message}"]


@pytest.mark.parametrize("line", [
    "maritalStatus: {true: 1}",
    "maritalStatus: {text: $M, 1: x}",
    "name: [{$foreach: [1], true: 1}]",
])
def test_a_key_yaml_read_as_a_boolean_or_number_is_a_problem(check, line):
    (problem,) = check(HEAD + EMIT.format(line=line))
    assert problem.startswith("m.yaml:7: emit[0].template.")
    assert "is a YAML boolean or number, not a name; quote it or use a transform" in problem


def test_a_top_level_template_key_yaml_read_as_a_boolean_is_named(check):
    assert check(HEAD + EMIT.format(line="true: 1")) == [
        "m.yaml:7: emit.0.template.1.[key]: a key must be a name; YAML read this one as a "
        "number or a boolean (1, true): quote it"]


@pytest.mark.parametrize("line", [
    "active: {boolean: {value: $A, true: 1, false: 0}}",
    "active: {boolean: {value: $A, true: [1, Y, T, yes, on], false: [0, N, F, no, off]}}",
    "active: {boolean: {value: $A, true: [true], false: [false]}}",
    "active: {boolean: $A, $when: {equals: [$F, 1]}}",
    "active: {boolean: $A, $when: {in: [$F, [Y, 1]]}}",
    "active: {boolean: $A, $when: {gt: [$F, 0]}}",
])
def test_natural_flag_forms_load(check, line):
    assert check(HEAD + EMIT.format(line=line)) == []


def test_pack_booleans_keys_are_the_words(check):
    assert check(HEAD + EMIT.format(line="active: {boolean: $A}"),
                 "name: p\nbooleans: {true: [1, Y], false: [0, N]}\n") == []
    assert check(HEAD + EMIT.format(line="active: {boolean: $A}"),
                 "name: p\nbooleans: {true: 1, false: 0}\n") == []
    assert check(HEAD + EMIT.format(line="active: {boolean: $A}"),
                 "name: p\nbooleans: {true: [1, ~], false: []}\n") == [
        "pack.yaml:2: booleans: an item is null (YAML reads an empty item, null, NULL and ~ "
        "as nothing); quote the token as the source writes it ('NULL')"]
    assert check(HEAD + EMIT.format(line="active: {boolean: $A}"),
                 "name: p\nbooleans: {true: [J], false: []}\n") == [
        "pack.yaml:2: booleans.false: List should have at least 1 item after validation, not 0"]
    assert sorted(check(HEAD + EMIT.format(line="active: {boolean: $A}"),
                        "name: p\nbooleans: {yes: [1], no: [0]}\n")) == [
        "pack.yaml:2: booleans.false: required key is missing",
        "pack.yaml:2: booleans.no: unknown key; valid keys: false, true",
        "pack.yaml:2: booleans.true: required key is missing",
        "pack.yaml:2: booleans.yes: unknown key; valid keys: false, true"]
