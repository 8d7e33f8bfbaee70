"""Extractors read source tables as streams of row chunks; chosen by name from a registry."""

from migrate.extractors.base import EXTRACTORS, Batch, Extractor, RejectedRow, open_extractor

__all__ = ["EXTRACTORS", "Batch", "Extractor", "RejectedRow", "open_extractor"]
