"""Fixtures the hostile tests share with the mapping tests (writing small packs, running rows
through a one-emit mapping, collecting a pack's problems)."""

from tests.mappers.conftest import load, make_pack, problems_of, run_one  # noqa: F401 - fixtures
from tests.mappers.test_conditions import check  # noqa: F401 - a fixture, used by name
from tests.mappers.test_transforms import emit, problems  # noqa: F401 - fixtures, used by name
