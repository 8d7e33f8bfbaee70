"""``emr-migrate sample DIR``: a bundled sample practice as a project folder."""

from __future__ import annotations

from pathlib import Path

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
NAMES = ["synthea", "riverside"]  # migrate.sample.SAMPLES (not imported: keeps `--help` light)


@click.command(context_settings=CONTEXT)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="sample")
@click.option("--name", "name", type=click.Choice(NAMES), default="synthea", show_default=True,
              help="Which sample: a Synthea practice, or Riverside General Hospital's WardBook "
                   "export (a hospital EMR unlike both Synthea and OpenEMR).")
def sample(folder: Path, name: str) -> None:
    """Write a bundled sample practice into FOLDER (new or empty): its CSV export in
    FOLDER/export (made by our generator; `synthea`: 25 patients, `riverside`: 60) and a
    project file FOLDER/migration.yaml with the installed pack of the same name and a fresh
    random id namespace.

    Needs no repository checkout: this is how to try a wheel install.

    \b
    Example:
      emr-migrate sample demo
      emr-migrate sample --name riverside hospital
      emr-migrate run -c demo/migration.yaml     # -> demo/out/ndjson, demo/out/run.json
    """
    from migrate.sample import write_sample

    project = write_sample(folder, name=name)
    click.echo(f"wrote {project} and {folder / 'export'}; run: emr-migrate run -c {project}")
