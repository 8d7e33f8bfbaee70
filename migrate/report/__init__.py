"""Run results as data (counts, issues, outcome) and their renderings."""

from migrate.report.model import RunReport, TableStats

__all__ = ["RunReport", "TableStats"]
