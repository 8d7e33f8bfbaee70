"""Validation of emitted FHIR R4 resources (plain dicts).

`migrate.validation.fhir.FhirValidator` checks structure with ``fhir.resources.R4B`` and adds
the required-binding code-set checks and cheap US Core 6.1 checks that fhir.resources does not
do. Results are `migrate.validation.base.ResourceIssue` values. Importing this package does not
import fhir.resources; that happens on first use of the validator module.
"""
