"""The one FHIR HTTP client (`migrate.http.client`) and what it is built from: pacing and
retries (`migrate.http.retry`) and the Bulk Data ``$export`` flow (`migrate.http.bulk`)."""

from migrate.http.bulk import ExportFile, Manifest
from migrate.http.client import FhirClient, HttpStats, RetryPolicy

__all__ = ["ExportFile", "FhirClient", "HttpStats", "Manifest", "RetryPolicy"]
