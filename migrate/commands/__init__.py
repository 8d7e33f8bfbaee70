"""CLI commands kept apart from ``migrate.cli``: one module per command, each registered with
one line in cli.py. Like cli.py, only these modules import click."""
