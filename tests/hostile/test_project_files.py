"""Hostile or mistyped project files (issue 17): exit 2 naming every problem, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, TEST_NAMESPACE


def run(tmp_path: Path, source: str, target: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"version: 1\nmappings: {REPO / 'mappings' / 'synthea'}\nsource: {source}\n"
                   f"target: {target}\nidentity: {{namespace: {TEST_NAMESPACE}}}\n"
                   f"output: {tmp_path / 'out'}\n", encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "migrate", "run", "-c", str(cfg),
                           "--no-progress"], capture_output=True, text=True, timeout=60,
                          check=False)


def test_misspelt_source_and_target_options_are_reported_together(tmp_path: Path) -> None:
    sample = REPO / "sample_data" / "synthea"
    done = run(tmp_path, f"{{type: csv, path: {sample}, delimitter: ';'}}",
               f"{{type: bundles, path: {tmp_path / 'b'}, bundle_sise: 5}}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert ("source: extractor 'csv' has no option 'delimitter'; did you mean 'delimiter'?"
            in done.stderr)
    assert ("target: loader 'bundles' has no option 'bundle_sise'; did you mean 'bundle_size'?"
            in done.stderr)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_an_unknown_source_type_lists_the_valid_ones(tmp_path: Path) -> None:
    done = run(tmp_path, "{type: excel, path: x}", f"ndjson:{tmp_path / 'nd'}")
    assert done.returncode == 2
    assert "unknown extractor 'excel'; valid names: ccda, csv, sql" in done.stderr
    assert "Traceback" not in done.stderr


def test_source_files_outside_the_folder_are_refused(tmp_path: Path) -> None:
    sample = REPO / "sample_data" / "synthea"
    done = run(tmp_path, f"{{type: csv, path: {sample}, files: {{patients: /etc/passwd}}}}",
               f"ndjson:{tmp_path / 'nd'}")
    assert done.returncode == 2
    assert "files.patients: '/etc/passwd' must be a path relative to the source folder" in (
        done.stderr)
    assert "root:" not in done.stderr + done.stdout


def test_a_table_file_linking_outside_the_source_is_never_opened(tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"
    shutil.copytree(REPO / "sample_data" / "synthea", src)
    (src / "patients.csv").unlink()
    (src / "patients.csv").symlink_to("/etc/passwd")
    done = run(tmp_path, str(src), f"ndjson:{tmp_path / 'nd'}")
    assert done.returncode == 2
    assert "leads outside the source folder" in done.stderr
    assert "root:" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
