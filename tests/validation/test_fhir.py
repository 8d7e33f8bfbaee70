"""FhirValidator: structure via fhir.resources.R4B, required code sets, US Core checks."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from migrate.validation import codesets
from migrate.validation.base import ResourceIssue
from migrate.validation.fhir import FhirValidator, render_path

OMB = "urn:oid:2.16.840.1.113883.6.238"
RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@pytest.fixture(scope="module")
def validator() -> FhirValidator:
    return FhirValidator()


def race(*codes: tuple[str, str], text: bool = True) -> dict[str, Any]:
    subs: list[dict[str, Any]] = [
        {"url": "ombCategory", "valueCoding": {"system": s, "code": c}} for s, c in codes
    ]
    if text:
        subs.append({"url": "text", "valueString": "text"})
    return {"url": RACE, "extension": subs}


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"lastUpdated": "2024-01-02T03:04:05Z"},
        "identifier": [{"use": "usual", "system": "urn:legacy:mrn", "value": "000123"}],
        "active": True,
        "name": [{"use": "official", "family": "Quuxington", "given": ["Zebediah", "Q"]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": "male",
        "birthDate": "1970-01-01",
        "address": [
            {"use": "home", "type": "physical", "city": "Springfield", "state": "IL"},
            {"state": "DC"},
            {"state": "PR", "country": "US"},
        ],
        "extension": [
            race((OMB, "2106-3"), (NULL_FLAVOR, "UNK")),
            {
                "url": ETHNICITY,
                "extension": [
                    {"url": "ombCategory", "valueCoding": {"system": OMB, "code": "2186-5"}},
                    {"url": "text", "valueString": "Not Hispanic or Latino"},
                ],
            },
        ],
        "link": [{"other": {"reference": "Patient/p0"}, "type": "replaces"}],
    }


def observation() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "HR"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-02T03:04:05-05:00",
        "valueQuantity": {
            "value": 72,
            "unit": "beats/minute",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
        "component": [
            {"code": {"text": "a"}, "valueQuantity": {"value": 1.5, "comparator": "<"}},
            {"code": {"text": "b"}, "valueString": "x"},
        ],
    }


def condition() -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {
            "coding": [
                {"system": "http://example.org/local", "code": "whatever"},
                {"system": VERIFICATION, "code": "confirmed"},
            ]
        },
        "code": {"text": "Hypertension"},
        "subject": {"reference": "Patient/p1"},
        "onsetAge": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
    }


def encounter() -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "statusHistory": [{"status": "arrived", "period": {"start": "2024-01-01"}}],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2024-01-01T09:00:00Z", "end": "2024-01-01T09:30:00Z"},
        "location": [{"location": {"reference": "Location/l1"}, "status": "completed"}],
    }


def issue(path: str, message: str, code: str = "structure", severity: str = "error"):
    return ResourceIssue(severity, code, path, message)


def unordered(issues: list[ResourceIssue]) -> list[ResourceIssue]:
    return sorted(issues, key=lambda i: (i.path, i.code, i.message))


def not_in(value: str, vs: codesets.ValueSet) -> str:
    return f"'{value}' is not in the required value set {vs.url}; allowed: {', '.join(vs.codes)}"


# --- valid resources -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [patient, observation, condition, encounter])
def test_valid_resources_have_no_issues(validator: FhirValidator, make) -> None:
    assert validator.validate(make()) == []


def test_bundle_with_contained_resources_is_valid(validator: FhirValidator) -> None:
    pat = patient()
    pat["contained"] = [observation()]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": pat, "request": {"method": "PUT", "url": "Patient/p1"}},
            {"resource": encounter(), "request": {"method": "POST", "url": "Encounter"}},
        ],
    }
    assert validator.validate(bundle) == []


# --- structure -------------------------------------------------------------------------------


def test_missing_observation_status(validator: FhirValidator) -> None:
    obs = observation()
    del obs["status"]
    assert validator.validate(obs) == [
        issue("Observation.status", "required element is missing", "required")
    ]


def test_missing_status_is_reported_next_to_other_errors(validator: FhirValidator) -> None:
    # pydantic checks required primitives only when everything else in the object passed
    obs = observation()
    del obs["status"]
    del obs["code"]
    del obs["component"][1]["code"]
    issues = validator.validate(obs)
    assert sorted(i.path for i in issues) == [
        "Observation.code",
        "Observation.component[1].code",
        "Observation.status",
    ]
    assert {i.code for i in issues} == {"required"}


def test_wrong_types(validator: FhirValidator) -> None:
    pat = patient()
    pat["name"][0]["given"] = "Zebediah"
    pat["name"][0]["family"] = ["Quuxington"]
    pat["multipleBirthInteger"] = "abc"
    assert unordered(validator.validate(pat)) == [
        issue("Patient.multipleBirthInteger", "expected an integer"),
        issue("Patient.name[0].family", "expected a string"),
        issue("Patient.name[0].given", "expected a JSON array"),
    ]


def test_lax_coercions_are_reported(validator: FhirValidator) -> None:
    # pydantic (lax mode) accepts "yes" for a boolean and "5" for a decimal; FHIR JSON does not
    pat = patient()
    pat["active"] = "yes"
    obs = observation()
    obs["valueQuantity"]["value"] = "72"
    assert validator.validate(pat) == [
        issue("Patient.active", "expected a JSON boolean, got a string")
    ]
    assert validator.validate(obs) == [
        issue("Observation.valueQuantity.value", "expected a JSON number, got a string")
    ]


def test_numbers_for_dates_are_reported(validator: FhirValidator) -> None:
    # pydantic reads a number as a Unix timestamp; FHIR JSON dates are strings
    pat = patient()
    pat["birthDate"] = 19900101
    pat["deceasedDateTime"] = 1700000000
    pat["link"][0]["type"] = "seealso"
    assert unordered(validator.validate(pat)) == [
        issue("Patient.birthDate", "expected a JSON string, got a number"),
        issue("Patient.deceasedDateTime", "expected a JSON string, got a number"),
    ]
    pat = patient()
    pat["birthDate"] = "1990-02-30"
    assert validator.validate(pat) == [
        issue("Patient.birthDate", "not a valid FHIR date (day value is outside expected range)")
    ]


def test_unknown_elements(validator: FhirValidator) -> None:
    obs = observation()
    obs["foo"] = 1
    obs["component"][1]["code"]["bar"] = "x"
    assert unordered(validator.validate(obs)) == [
        issue("Observation.component[1].code.bar", "unknown element"),
        issue("Observation.foo", "unknown element"),
    ]


def test_bad_primitive_formats(validator: FhirValidator) -> None:
    obs = observation()
    obs["effectiveDateTime"] = "2024-01-02T03:04:05"
    obs["id"] = "bad id"
    obs["component"][0]["valueQuantity"]["value"] = float("inf")
    assert unordered(validator.validate(obs)) == [
        issue("Observation.component[0].valueQuantity.value", "not a valid FHIR decimal"),
        issue("Observation.effectiveDateTime", "not a valid FHIR dateTime"),
        issue("Observation.id", "value does not match the pattern ^[A-Za-z0-9\\-.]+$"),
    ]


def test_choice_elements(validator: FhirValidator) -> None:
    pat = patient()
    pat["deceasedBoolean"] = True
    pat["deceasedDateTime"] = "2020-01-01"
    msg = "a choice element may have only one type, found more than one"
    assert validator.validate(pat) == [issue("Patient.deceased[x]", msg)]
    med = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    assert validator.validate(med) == [
        issue(
            "MedicationRequest.medication[x]",
            "required element is missing; expected one of: medicationCodeableConcept,"
            " medicationReference",
            "required",
        )
    ]


def test_null_in_array(validator: FhirValidator) -> None:
    pat = patient()
    pat["name"].append(None)
    assert validator.validate(pat) == [issue("Patient.name", "array contains null")]


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ([], "a resource must be a JSON object"),
        ({"id": "x"}, "resourceType is missing or not a string"),
        ({"resourceType": "Nope"}, "unknown resource type 'Nope' in FHIR R4"),
        ({"resourceType": "HumanName"}, "unknown resource type 'HumanName' in FHIR R4"),
        ({"resourceType": "DomainResource"}, "unknown resource type 'DomainResource' in FHIR R4"),
    ],
)
def test_bad_resource_type(validator: FhirValidator, resource: Any, message: str) -> None:
    assert validator.validate(resource) == [issue("Resource", message)]


def test_r4b_only_resource_type(validator: FhirValidator) -> None:
    issues = validator.validate(
        {"resourceType": "SubscriptionTopic", "url": "u", "status": "draft"}
    )
    assert issues[0] == issue(
        "SubscriptionTopic", "SubscriptionTopic is not a FHIR R4 (4.0.1) resource"
    )


def test_unknown_contained_resource_type(validator: FhirValidator) -> None:
    pat = patient()
    pat["contained"] = [{"resourceType": "Nope"}]
    issues = validator.validate(pat)
    assert issue("Patient.contained[0]", "unknown resource type 'Nope'") in issues


def test_render_path_drops_pydantic_tags() -> None:
    data = {"resourceType": "Patient", "id": "x", "contained": [{"resourceType": "Basic"}]}
    assert render_path("Patient", ("id", "constrained-str"), data) == "Patient.id"
    assert render_path("Patient", ("contained", 0, "root"), data) == "Patient.contained[0]"
    assert render_path("Patient", ("contained", 0, "code"), data) == "Patient.contained[0].code"
    assert render_path("Patient", (), data) == "Patient"


# --- required code sets ----------------------------------------------------------------------

EB = codesets.ELEMENT_BINDINGS
BAD = "bogus"


def _r(rtype: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": rtype, **fields}


# (binding key, resource with one bad code, path of the issue)
CODE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("Patient.gender", _r("Patient", gender=BAD), "Patient.gender"),
    (
        "Patient.contact.gender",
        _r("Patient", contact=[{"gender": BAD}]),
        "Patient.contact[0].gender",
    ),
    ("Patient.link.type", _r("Patient", link=[{"type": BAD}]), "Patient.link[0].type"),
    ("Practitioner.gender", _r("Practitioner", gender=BAD), "Practitioner.gender"),
    (
        "PractitionerRole.availableTime.daysOfWeek",
        _r("PractitionerRole", availableTime=[{"daysOfWeek": ["mon", BAD]}]),
        "PractitionerRole.availableTime[0].daysOfWeek[1]",
    ),
    ("RelatedPerson.gender", _r("RelatedPerson", gender=BAD), "RelatedPerson.gender"),
    ("Encounter.status", _r("Encounter", status=BAD), "Encounter.status"),
    (
        "Encounter.statusHistory.status",
        _r("Encounter", statusHistory=[{"status": "planned"}, {"status": BAD}]),
        "Encounter.statusHistory[1].status",
    ),
    (
        "Encounter.location.status",
        _r("Encounter", location=[{"status": BAD}]),
        "Encounter.location[0].status",
    ),
    ("Observation.status", _r("Observation", status=BAD), "Observation.status"),
    ("Medication.status", _r("Medication", status=BAD), "Medication.status"),
    ("MedicationRequest.status", _r("MedicationRequest", status=BAD), "MedicationRequest.status"),
    ("MedicationRequest.intent", _r("MedicationRequest", intent=BAD), "MedicationRequest.intent"),
    (
        "MedicationRequest.priority",
        _r("MedicationRequest", priority=BAD),
        "MedicationRequest.priority",
    ),
    (
        "MedicationStatement.status",
        _r("MedicationStatement", status=BAD),
        "MedicationStatement.status",
    ),
    ("Immunization.status", _r("Immunization", status=BAD), "Immunization.status"),
    ("Procedure.status", _r("Procedure", status=BAD), "Procedure.status"),
    ("AllergyIntolerance.type", _r("AllergyIntolerance", type=BAD), "AllergyIntolerance.type"),
    (
        "AllergyIntolerance.category",
        _r("AllergyIntolerance", category=["food", BAD]),
        "AllergyIntolerance.category[1]",
    ),
    (
        "AllergyIntolerance.criticality",
        _r("AllergyIntolerance", criticality=BAD),
        "AllergyIntolerance.criticality",
    ),
    (
        "AllergyIntolerance.reaction.severity",
        _r("AllergyIntolerance", reaction=[{"severity": BAD}]),
        "AllergyIntolerance.reaction[0].severity",
    ),
    ("CarePlan.status", _r("CarePlan", status=BAD), "CarePlan.status"),
    ("CarePlan.intent", _r("CarePlan", intent=BAD), "CarePlan.intent"),
    (
        "CarePlan.activity.detail.kind",
        _r("CarePlan", activity=[{"detail": {"kind": BAD}}]),
        "CarePlan.activity[0].detail.kind",
    ),
    (
        "CarePlan.activity.detail.status",
        _r("CarePlan", activity=[{"detail": {"status": BAD}}]),
        "CarePlan.activity[0].detail.status",
    ),
    ("CareTeam.status", _r("CareTeam", status=BAD), "CareTeam.status"),
    ("Goal.lifecycleStatus", _r("Goal", lifecycleStatus=BAD), "Goal.lifecycleStatus"),
    ("Device.status", _r("Device", status=BAD), "Device.status"),
    (
        "Device.udiCarrier.entryType",
        _r("Device", udiCarrier=[{"entryType": BAD}]),
        "Device.udiCarrier[0].entryType",
    ),
    (
        "Device.deviceName.type",
        _r("Device", deviceName=[{"type": BAD}]),
        "Device.deviceName[0].type",
    ),
    ("DiagnosticReport.status", _r("DiagnosticReport", status=BAD), "DiagnosticReport.status"),
    ("DocumentReference.status", _r("DocumentReference", status=BAD), "DocumentReference.status"),
    (
        "DocumentReference.docStatus",
        _r("DocumentReference", docStatus=BAD),
        "DocumentReference.docStatus",
    ),
    (
        "DocumentReference.relatesTo.code",
        _r("DocumentReference", relatesTo=[{"code": BAD}]),
        "DocumentReference.relatesTo[0].code",
    ),
    ("ImagingStudy.status", _r("ImagingStudy", status=BAD), "ImagingStudy.status"),
    ("SupplyDelivery.status", _r("SupplyDelivery", status=BAD), "SupplyDelivery.status"),
    ("ServiceRequest.status", _r("ServiceRequest", status=BAD), "ServiceRequest.status"),
    ("ServiceRequest.intent", _r("ServiceRequest", intent=BAD), "ServiceRequest.intent"),
    ("ServiceRequest.priority", _r("ServiceRequest", priority=BAD), "ServiceRequest.priority"),
    ("Coverage.status", _r("Coverage", status=BAD), "Coverage.status"),
    ("Location.status", _r("Location", status=BAD), "Location.status"),
    ("Location.mode", _r("Location", mode=BAD), "Location.mode"),
    (
        "Location.hoursOfOperation.daysOfWeek",
        _r("Location", hoursOfOperation=[{"daysOfWeek": [BAD]}]),
        "Location.hoursOfOperation[0].daysOfWeek[0]",
    ),
    ("Bundle.type", _r("Bundle", type=BAD), "Bundle.type"),
    (
        "Bundle.entry.request.method",
        _r("Bundle", type="batch", entry=[{"request": {"method": BAD, "url": "Patient"}}]),
        "Bundle.entry[0].request.method",
    ),
    (
        "Bundle.entry.search.mode",
        _r("Bundle", type="searchset", entry=[{"search": {"mode": BAD}}]),
        "Bundle.entry[0].search.mode",
    ),
    # datatypes, wherever they occur
    ("Address.use", _r("Patient", address=[{"use": BAD}]), "Patient.address[0].use"),
    ("Address.type", _r("Organization", address=[{"type": BAD}]), "Organization.address[0].type"),
    (
        "ContactPoint.system",
        _r("Organization", contact=[{"telecom": [{"system": BAD}]}]),
        "Organization.contact[0].telecom[0].system",
    ),
    ("ContactPoint.use", _r("Location", telecom=[{"use": BAD}]), "Location.telecom[0].use"),
    ("HumanName.use", _r("Practitioner", name=[{"use": BAD}]), "Practitioner.name[0].use"),
    (
        "Identifier.use",
        _r("Observation", subject={"identifier": {"use": BAD}}),
        "Observation.subject.identifier.use",
    ),
    (
        "Quantity.comparator",
        _r("Observation", component=[{}, {"valueQuantity": {"comparator": BAD}}]),
        "Observation.component[1].valueQuantity.comparator",
    ),
    (
        "Narrative.status",
        _r("Patient", text={"status": BAD, "div": "<div/>"}),
        "Patient.text.status",
    ),
    (
        "Timing.repeat.durationUnit",
        _r("MedicationRequest", dosageInstruction=[{"timing": {"repeat": {"durationUnit": BAD}}}]),
        "MedicationRequest.dosageInstruction[0].timing.repeat.durationUnit",
    ),
    (
        "Timing.repeat.periodUnit",
        _r("ServiceRequest", occurrenceTiming={"repeat": {"periodUnit": BAD}}),
        "ServiceRequest.occurrenceTiming.repeat.periodUnit",
    ),
    (
        "Timing.repeat.dayOfWeek",
        _r("ServiceRequest", occurrenceTiming={"repeat": {"dayOfWeek": [BAD]}}),
        "ServiceRequest.occurrenceTiming.repeat.dayOfWeek[0]",
    ),
    (
        "Timing.repeat.when",
        _r("ServiceRequest", occurrenceTiming={"repeat": {"when": ["MORN", BAD]}}),
        "ServiceRequest.occurrenceTiming.repeat.when[1]",
    ),
]


def _replace(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _replace(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(v, old, new) for v in node]
    return new if node == old else node


def test_every_binding_has_a_case() -> None:
    assert sorted(key for key, _, _ in CODE_CASES) == sorted(EB)


@pytest.mark.parametrize(("key", "resource", "path"), CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_bad_code_is_caught(
    validator: FhirValidator, key: str, resource: dict[str, Any], path: str
) -> None:
    issues = [i for i in validator.validate(resource) if i.code == "code-set"]
    assert issues == [issue(path, not_in(BAD, EB[key]), "code-set")]


@pytest.mark.parametrize(("key", "resource", "path"), CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_good_codes_pass(
    validator: FhirValidator, key: str, resource: dict[str, Any], path: str
) -> None:
    fixed = _replace(resource, BAD, EB[key].codes[-1])
    assert [i for i in validator.validate(fixed) if i.code == "code-set"] == []


def test_observation_status_message_exact(validator: FhirValidator) -> None:
    obs = observation()
    obs["status"] = "done"
    assert validator.validate(obs) == [
        issue(
            "Observation.status",
            "'done' is not in the required value set http://hl7.org/fhir/ValueSet/"
            "observation-status; allowed: registered, preliminary, final, amended, corrected,"
            " cancelled, entered-in-error, unknown",
            "code-set",
        )
    ]


def test_datatype_bindings_inside_extensions_contained_and_bundles(
    validator: FhirValidator,
) -> None:
    pat = patient()
    pat["extension"].append({"url": "urn:x", "valueAddress": {"use": BAD}})
    obs = observation()
    obs["status"] = BAD
    pat["contained"] = [obs]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": pat}]}
    cond = condition()
    cond["onsetAge"]["comparator"] = BAD  # Age is a Quantity profile
    paths = [i.path for i in validator.validate(bundle) + validator.validate(cond)]
    assert paths == [
        "Bundle.entry[0].resource.extension[2].valueAddress.use",
        "Bundle.entry[0].resource.contained[0].status",
        "Condition.onsetAge.comparator",
    ]


def test_code_with_free_text_is_not_quoted(validator: FhirValidator) -> None:
    issues = validator.validate(_r("Patient", gender="Zebediah 'Q' Quuxington"))
    assert issues[0].message.startswith("a value of 23 characters is not in the required")


@pytest.mark.parametrize(
    ("element", "system", "codes"),
    [
        (
            "clinicalStatus",
            CLINICAL,
            codesets.CODEABLE_CONCEPT_BINDINGS["Condition.clinicalStatus"],
        ),
        (
            "verificationStatus",
            VERIFICATION,
            codesets.CODEABLE_CONCEPT_BINDINGS["Condition.verificationStatus"],
        ),
    ],
)
def test_condition_status_codings(
    validator: FhirValidator, element: str, system: str, codes: codesets.CodingBinding
) -> None:
    cond = condition()
    cond[element] = {
        "coding": [{"system": "urn:local", "code": "x"}, {"system": system, "code": BAD}]
    }
    assert validator.validate(cond) == [
        issue(f"Condition.{element}.coding[1].code", not_in(BAD, codes.value_set), "code-set")
    ]
    cond[element] = {"text": "active"}
    assert validator.validate(cond) == [
        issue(
            f"Condition.{element}",
            f"needs a coding with system {system} and a code from the required value set"
            f" {codes.value_set.url}; allowed: {', '.join(codes.value_set.codes)}",
            "code-set",
        )
    ]


def test_allergy_status_codings(validator: FhirValidator) -> None:
    allergy = {
        "resourceType": "AllergyIntolerance",
        "patient": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "code": "presumed",
                }
            ]
        },
    }
    vs = codesets.CODEABLE_CONCEPT_BINDINGS["AllergyIntolerance.verificationStatus"].value_set
    assert validator.validate(allergy) == [
        issue(
            "AllergyIntolerance.verificationStatus.coding[0].code",
            not_in("presumed", vs),
            "code-set",
        )
    ]
    allergy["clinicalStatus"]["coding"][0]["code"] = "gone"
    assert [i.path for i in validator.validate(allergy)] == [
        "AllergyIntolerance.clinicalStatus.coding[0].code",
        "AllergyIntolerance.verificationStatus.coding[0].code",
    ]


# --- PHI and input safety --------------------------------------------------------------------


def test_phi_values_never_appear_in_messages(validator: FhirValidator) -> None:
    secrets = ["Zebediah", "Quuxington", "1990-13-45", "19900101", "Springfieldia"]
    pat = patient()
    pat["name"] = [
        {"given": "Zebediah", "family": ["Quuxington"]},
        {"family": "Quuxington", "given": [1990]},
        {"text": {"Zebediah": 1}},
    ]
    pat["birthDate"] = "1990-13-45"
    pat["address"] = [{"state": "Springfieldia", "city": ["Springfieldia"]}]
    other = patient()
    other["birthDate"] = 19900101
    other["name"][0]["family"] = "Zebediah" * 20
    other["name"][0]["Quuxington"] = "Zebediah"
    obs = observation()
    obs["valueString"] = "Zebediah Quuxington"
    obs["effectiveDateTime"] = "1990-13-45"
    issues = validator.validate(pat) + validator.validate(other) + validator.validate(obs)
    assert len(issues) >= 8
    for found in issues:
        for secret in secrets:
            assert secret not in found.message, found


@pytest.mark.parametrize("make", [patient, observation, condition, encounter])
def test_input_is_not_mutated(validator: FhirValidator, make) -> None:
    good = make()
    bad = make()
    bad["unknownElement"] = {"x": [1, 2]}
    bad["contained"] = [{"resourceType": "Observation", "status": "x"}]
    for resource in (good, bad):
        before = copy.deepcopy(resource)
        validator.validate(resource)
        assert resource == before
        assert type(resource["resourceType"]) is str


# --- US Core ---------------------------------------------------------------------------------


def test_race_with_bad_omb_code_is_an_error(validator: FhirValidator) -> None:
    pat = patient()
    pat["extension"][0] = race((OMB, "2106-3"), (OMB, "2131-1"))
    assert validator.validate(pat) == [
        issue(
            "Patient.extension[0].extension[1].valueCoding",
            f"'2131-1' (system '{OMB}') is not an OMB race category; allowed: 1002-5, 2028-9,"
            f" 2054-5, 2076-8, 2106-3 from {OMB}, or UNK, ASKU from {NULL_FLAVOR}",
            "us-core",
        )
    ]


def test_race_and_ethnicity_rules(validator: FhirValidator) -> None:
    pat = patient()
    pat["extension"][0] = race((NULL_FLAVOR, "ASKU"), text=False)
    pat["extension"][1]["extension"].insert(
        0, {"url": "ombCategory", "valueCoding": {"system": OMB, "code": "2135-2"}}
    )
    pat["extension"].append(race((OMB, "2106-3"), ("urn:local", "UNK")))
    assert validator.validate(pat) == [
        issue(
            "Patient.extension[0]",
            "US Core race extension requires a 'text' sub-extension",
            "us-core",
        ),
        issue(
            "Patient.extension[1]",
            "US Core ethnicity extension allows at most 1 ombCategory, found 2",
            "us-core",
        ),
        issue(
            "Patient.extension[2].extension[1].valueCoding",
            f"'UNK' (system 'urn:local') is not an OMB race category; allowed: 1002-5, 2028-9,"
            f" 2054-5, 2076-8, 2106-3 from {OMB}, or UNK, ASKU from {NULL_FLAVOR}",
            "us-core",
        ),
    ]


def test_bad_state_is_a_warning(validator: FhirValidator) -> None:
    pat = patient()
    pat["address"] = [{"state": "Ill."}, {"state": "ON", "country": "Canada"}, {"state": "il"}]
    msg = "state is not a USPS two-letter code (US Core binds Address.state to USPS codes)"
    assert validator.validate(pat) == [
        issue("Patient.address[0].state", msg, "us-core", "warning"),
        issue("Patient.address[2].state", msg, "us-core", "warning"),
    ]


def test_ucum_quantity_without_code_is_a_warning(validator: FhirValidator) -> None:
    obs = observation()
    del obs["valueQuantity"]["code"]
    assert validator.validate(obs) == [
        issue(
            "Observation.valueQuantity",
            "Quantity with system http://unitsofmeasure.org has no code",
            "us-core",
            "warning",
        )
    ]


def test_us_core_checks_can_be_turned_off() -> None:
    pat = patient()
    pat["address"] = [{"state": "Ill."}]
    pat["extension"] = [race((OMB, "bad"))]
    assert FhirValidator(us_core=False).validate(pat) == []


# --- packaging -------------------------------------------------------------------------------


def test_package_import_does_not_import_fhir_resources() -> None:
    code = (
        "import sys, migrate.validation, migrate.validation.base, migrate.validation.codesets;"
        "assert 'fhir.resources' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_value_set_is_well_formed() -> None:
    for vs in codesets.VALUE_SETS:
        assert vs.url.startswith("http://hl7.org/fhir/ValueSet/")
        assert len(set(vs.codes)) == len(vs.codes) > 1
        assert vs.lookup == frozenset(vs.codes)
    assert EB["Observation.status"].codes == (
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    )
