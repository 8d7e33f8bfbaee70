"""CLI commands kept apart from ``migrate.cli``: one module per command, each registered with
one line in cli.py. Like cli.py, only these modules import click."""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
