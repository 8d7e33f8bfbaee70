"""Reconciliation of a FHIR target with the source: counts, id sets, sampled content."""

from migrate.reconcile.core import (
    EXIT_RECONCILE_MISMATCH,
    ReconcileReport,
    TypeResult,
    reconcile,
    render_reconcile,
)

__all__ = ["EXIT_RECONCILE_MISMATCH", "ReconcileReport", "TypeResult", "reconcile",
           "render_reconcile"]
