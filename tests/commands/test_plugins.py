"""``emr-migrate plugins`` lists every plugin kind with its declarations (issue 18, item 1)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from migrate.cli import cli


def test_the_listing_names_kinds_distributions_capabilities_and_options() -> None:
    done = CliRunner().invoke(cli, ["plugins"])
    assert done.exit_code == 0, done.output
    out = done.output
    for heading in ("extractors:", "targets:", "executors:", "transforms:"):
        assert f"\n{heading}\n" in f"\n{out}"
    assert "  csv  (emr-migrate " in out
    assert "    capabilities: queries, incremental, column_values, lists_tables\n" in out
    assert "    bundle_size (int, 200): Entries per transaction bundle.\n" in out
    assert "    path (Path, required): The folder of CSV files, one table per file.\n" in out
    assert "    --target: ndjson:DIR\n" in out
    assert "  dask  (emr-migrate " in out
    assert "  translate  (emr-migrate " in out


def test_schema_prints_every_options_model_as_json_schema() -> None:
    done = CliRunner().invoke(cli, ["plugins", "--schema"])
    assert done.exit_code == 0, done.output
    tree = json.loads(done.output)
    assert set(tree) == {"extractors", "targets"}
    csv = tree["extractors"]["csv"]
    assert csv["additionalProperties"] is False
    assert csv["required"] == ["path"]
    assert tree["targets"]["fhir-server"]["properties"]["mode"]["default"] == "transaction"


def test_help_ends_its_text_with_an_example() -> None:
    done = CliRunner().invoke(cli, ["plugins", "-h"])
    assert done.exit_code == 0
    text = done.output.split("Options:")[0]
    assert text.rstrip().endswith("Example:\n    emr-migrate plugins\n"
                                  "    emr-migrate plugins --schema > plugin-options.schema.json")
