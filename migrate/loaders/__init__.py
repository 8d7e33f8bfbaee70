"""Loaders write validated resources to a target: NDJSON files, bundle files, a FHIR server."""

from migrate.loaders.base import LOADERS, Loader, LoadSummary, open_loader, parse_target

__all__ = ["LOADERS", "LoadSummary", "Loader", "open_loader", "parse_target"]
