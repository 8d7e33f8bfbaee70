"""Fixtures the hostile tests share with the mapping tests (writing small packs)."""

from tests.mappers.conftest import make_pack  # noqa: F401 - a fixture, used by name
