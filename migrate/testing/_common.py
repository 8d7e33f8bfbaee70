"""What both contracts check about options: an unknown key is exit 2 with "did you mean"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from migrate.errors import ConfigError, ExitCode


def check_misspelt_option(open_plugin: Callable[[dict[str, Any]], Any],
                          options: dict[str, Any]) -> None:
    """Opening with one option name misspelt (a letter doubled) is a ConfigError, exit 2,
    naming the key and suggesting the right one."""
    key = next((k for k in options if k != "type" and len(k) > 2), None)
    if key is None:
        pytest.skip("the plugin's options in this test have no key to misspell")
    typo = key + key[-1]
    wrong = {k: v for k, v in options.items() if k != key} | {typo: options[key]}
    with pytest.raises(ConfigError) as err:
        open_plugin(wrong)
    assert err.value.exit_code == ExitCode.USAGE
    assert f"has no option {typo!r}; did you mean {key!r}?" in str(err.value)
