"""Declarative mappings: YAML mapping packs compiled into fast row-to-FHIR functions."""
