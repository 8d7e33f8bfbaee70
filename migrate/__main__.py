"""``python -m migrate`` runs the emr-migrate command line."""

from migrate.cli import main

main()
