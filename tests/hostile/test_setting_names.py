"""Every setting a message, CLI help text or doc names exists (issue 17, "What it must do" 6).

The delete circuit breaker once told users to raise ``sync.max_delete_share``, which no file
accepts. This test collects from README.md, docs/*.md and every string in migrate/ (messages,
help texts, docstrings): dotted setting paths (``thresholds.max_quarantine_rate``,
``targets.NAME.bundle_size``, ``source.files``), ``--flags`` of emr-migrate, and the project
files shown in docs' YAML blocks; each must exist in the config models (ProjectConfig and its
sub-models, the fhir-server target profile, auth, plugin constructor options, mapping files)
or the CLI.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import click
import pytest

from migrate.cli import cli
from migrate.config import ProjectConfig, read_project
from migrate.errors import ConfigError
from migrate.extractors.base import EXTRACTORS
from migrate.loaders.auth import (
    BearerAuthConfig,
    ClientCredentialsAuthConfig,
    SmartBackendAuthConfig,
)
from migrate.loaders.base import LOADERS
from migrate.loaders.fhir_server import FhirServerTarget
from migrate.mappers.spec import MappingSpec, _model_in
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# `section.key` (and `targets.NAME.key`) where section is a settings section; not a module path
# (migrate.sync.writer), a file (validate.md) or a call (target.get(...)).
DOTTED = re.compile(r"(?<![\w./$(\[-])(thresholds|validate|identity|sync|target|targets\.[\w-]+|"
                    r"auth|source)\.([A-Za-z_]\w*)(?!\(|\.\w|/)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]\b")
# Lines about other programs' flags (benchmarks, dask, the generator, pip), and CSS variables.
NOT_OURS = re.compile(
    r"bench/|\bdask (scheduler|worker)\b|generate\.py|var\(--|\bpip (install|wheel)\b")
BENCH_DOCS = {"docs/performance.md"}  # benchmark scripts' flags: only emr-migrate lines count
NOT_SETTINGS = {("source", "rows"),  # a field of a dead letter (docs/loading.md), not a setting
                ("source", "yaml")}  # a pack's expectations/source.yaml (docs/mapping-spec.md)
# The record of attacks quotes the wrong name an old message gave.
QUOTED_MISTAKES = {("docs/security.md", "sync", "max_delete_share")}


def texts() -> dict[str, str]:
    """Every doc, and the string constants of every module of migrate/ (messages, help)."""
    out = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in DOCS}
    for path in sorted((REPO / "migrate").rglob("*.py")):
        if path.name == "html_css.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        out[str(path.relative_to(REPO))] = "\n".join(
            n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str))
    return out


def fields(model: Any) -> dict[str, Any]:
    """Key -> nested model (or None) of a pydantic model, by the key a file uses."""
    return {f.alias or name: _model_in(f.annotation)
            for name, f in model.model_fields.items()}


def plugin_options(registry: Any) -> set[str]:
    """Every option a plugin of ``registry`` takes (its options model, and profiles)."""
    names = {"type"}
    for kind in registry.names():
        names |= set(registry.get(kind).Options.model_fields)
    return names | set(FhirServerTarget.model_fields)


def known_keys(section: str) -> set[str]:
    """The keys a settings section accepts."""
    auth = (BearerAuthConfig, ClientCredentialsAuthConfig, SmartBackendAuthConfig)
    if section == "source":
        return plugin_options(EXTRACTORS)
    if section.startswith("target"):
        return plugin_options(LOADERS)
    if section == "auth":
        return set().union(*(m.model_fields for m in auth))
    if section == "sync":
        return set(fields(fields(MappingSpec)["sync"]))
    return set(fields(fields(ProjectConfig)[section]))


def dotted_names() -> list[tuple[str, str, str]]:
    """(file, section, key) of every dotted setting path mentioned."""
    return sorted({(file, m.group(1), m.group(2))
                   for file, text in texts().items() for m in DOTTED.finditer(text)
                   if (m.group(1), m.group(2)) not in NOT_SETTINGS
                   and (file, m.group(1), m.group(2)) not in QUOTED_MISTAKES})


def cli_flags() -> set[str]:
    """Every option of emr-migrate and its commands (and subcommands)."""
    flags = {"--help", "--version"}
    todo: list[click.Command] = [cli]
    while todo:
        command = todo.pop()
        flags |= {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        todo += list(getattr(command, "commands", {}).values())
    return flags


def test_there_is_something_to_check() -> None:
    names = {(s, k) for _f, s, k in dotted_names()}
    assert ("thresholds", "max_quarantine_rate") in names
    assert ("identity", "namespace") in names
    assert len(texts()) > 50


@pytest.mark.parametrize(("file", "section", "key"), dotted_names())
def test_every_dotted_setting_exists(file: str, section: str, key: str) -> None:
    assert key in known_keys(section.split(".")[0]), (
        f"{file} names the setting {section}.{key}, which no file accepts")


def flags_mentioned() -> list[tuple[str, str]]:
    out = set()
    for file, text in texts().items():
        for line in text.splitlines():
            if NOT_OURS.search(line) or (file in BENCH_DOCS and "emr-migrate" not in line):
                continue
            out |= {(file, m.group(0)) for m in FLAG.finditer(line)}
    return sorted(out)


@pytest.mark.parametrize(("file", "flag"), flags_mentioned())
def test_every_flag_mentioned_exists(file: str, flag: str) -> None:
    assert flag in cli_flags(), f"{file} names the flag {flag}, which no command takes"


def project_blocks() -> list[tuple[str, int, str]]:
    """YAML blocks of the docs that are project files (they set identity: or mappings:)."""
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
            body = m.group(1)
            if re.search(r"^(identity|mappings|thresholds|targets):", body, re.M):
                out.append((str(path.relative_to(REPO)), text[:m.start()].count("\n") + 2, body))
    return out


@pytest.mark.parametrize(("file", "line", "body"), project_blocks())
def test_project_files_in_the_docs_check(file: str, line: int, body: str,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in set(re.findall(r"\$\{(\w+)\}", body)):
        monkeypatch.setenv(var, "x")
    body = re.sub(r"<[^>\n]*>", "0b6f7c2e-5d1a-4e8b-9f3c-7a2d4c6e8b10", body)  # placeholders
    path = tmp_path / "migration.yaml"
    path.write_text(body, encoding="utf-8")
    try:
        read_project(path)
    except ConfigError as exc:
        pytest.fail(f"{file}:{line}: the project file shown does not check: {exc}")


def test_models_seen_by_the_checker() -> None:
    """The checker resolves the sections the way the loaders do."""
    assert "max_quarantine_rate" in known_keys("thresholds")
    assert "bundle_size" in known_keys("target")
    assert "files" in known_keys("source")
    assert "on_delete" in known_keys("sync")
    assert "max_delete_share" not in known_keys("sync")
    assert "--max-delete-share" in cli_flags()
    assert "--max-delete-shares" not in cli_flags()
