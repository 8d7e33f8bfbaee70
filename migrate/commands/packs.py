"""``emr-migrate packs``: the installed mapping packs, with version and source."""

from __future__ import annotations

from typing import Any

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
COLUMNS = ("name", "version", "mappings", "source", "description")


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (with each pack's "
              "folder and the problems of its pack.yaml) instead of a table.")
def packs(as_json: bool) -> None:
    """List the installed mapping packs: name, version, mappings, source, description.

    A pack is installed by a distribution declaring it under the `migrate.packs` entry point
    group (emr-migrate's own: synthea and openemr). Run one by name with `--mappings NAME`,
    or `mappings: NAME` in a project file; a folder is still given as a path. A pack that
    cannot be loaded is listed with why, and the exit code is 2.

    \b
    Example:
      emr-migrate packs
      emr-migrate packs --json
      emr-migrate run --mappings synthea --source ./export
    """
    import orjson

    from migrate.errors import ConfigError
    from migrate.mappers.installed import describe_installed

    found = describe_installed()
    if as_json:
        click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_table(found))
    broken = [problem for p in found if p["broken"] for problem in p["problems"]]
    if broken:  # as `emr-migrate plugins`: a pack that cannot be loaded is exit 2
        raise ConfigError("\n".join(broken))


def render_table(found: list[dict[str, Any]]) -> str:
    """The packs as an aligned text table (a line saying so when there is none)."""
    if not found:
        return "no installed packs (a distribution declares one under migrate.packs)"
    rows = [[c.upper() for c in COLUMNS]]
    rows += [[str(p[c]) for c in COLUMNS] for p in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join([*(v.ljust(w) for v, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
             for r in rows]
    lines += [f"warning: {p['name']}: {problem}" for p in found for problem in p["problems"]]
    return "\n".join(lines)
