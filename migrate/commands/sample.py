"""``emr-migrate sample DIR``: the bundled sample practice as a project folder."""

from __future__ import annotations

from pathlib import Path

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command(context_settings=CONTEXT)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="sample")
def sample(folder: Path) -> None:
    """Write the bundled sample practice into FOLDER (new or empty): its Synthea CSV export
    (25 patients, made by our generator) in FOLDER/export and a project file
    FOLDER/migration.yaml with the installed `synthea` pack and a fresh random id namespace.

    Needs no repository checkout: this is how to try a wheel install.

    \b
    Example:
      emr-migrate sample demo
      emr-migrate run -c demo/migration.yaml     # -> demo/out/ndjson, demo/out/run.json
    """
    from migrate.sample import write_sample

    project = write_sample(folder)
    click.echo(f"wrote {project} and {folder / 'export'}; run: emr-migrate run -c {project}")
