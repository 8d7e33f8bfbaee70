"""The transform seam: one registry every transform module fills, none importing another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from migrate.mappers import transform_base, transforms

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_is_shared_and_holds_every_built_in() -> None:
    assert transforms.TRANSFORMS is transform_base.TRANSFORMS
    # one of each module: transforms.py, codes.py, textual.py
    assert {"date", "quantity", "translate", "ref", "concat", "format"} <= set(
        transform_base.TRANSFORMS.names())


def test_the_base_imports_no_transform_module_nor_the_compiler() -> None:
    """A transform module imports the base; the base importing one back is a cycle."""
    code = ("import sys, migrate.mappers.transform_base; print(sorted(m for m in sys.modules "
            "if m.startswith('migrate.mappers.') and m.split('.')[-1] in "
            "('transforms', 'codes', 'textual', 'compiler')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"


def test_loading_a_pack_registers_the_built_ins() -> None:
    """The compiler only looks transforms up: the pack loader is what imports them."""
    code = ("import migrate.mappers.pack, migrate.mappers.transform_base as b; "
            "print('translate' in b.TRANSFORMS and 'concat' in b.TRANSFORMS)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "True"


def test_is_transform_tells_a_transform_from_an_element_named_like_one() -> None:
    assert transform_base.is_transform({"quantity": {"value": "$V", "unit": "kg"}},
                                       "Quantity")
    assert not transform_base.is_transform({"identifier": {"value": "$ID"}}, "Reference")
    assert transform_base.is_transform({"identifier": {"value": "$ID"}}, None)
    assert transform_base.is_transform({"date": "$D", "$when": {"present": "$D"}})
    assert not transform_base.is_transform({"date": "$D", "other": 1})
    assert transform_base.column_of("$DOB") == "DOB"
    assert transform_base.column_of("literal") is None
