"""Reconciliation of a FHIR target with the source: counts, id sets, sampled content."""

from migrate.reconcile.core import (
    ReconcileReport,
    TypeResult,
    reconcile,
    render_reconcile,
)

__all__ = ["ReconcileReport", "TypeResult", "reconcile", "render_reconcile"]
