"""Required-binding value sets of FHIR R4 (4.0.1) that the validator enforces.

fhir.resources checks structure only: ``"status": "foo"`` passes. The tables below list, for the
elements we emit, the codes the FHIR R4 specification allows where the binding strength is
*required*. Extensible, preferred and example bindings are deliberately absent.

Keys of `ELEMENT_BINDINGS` and `CODEABLE_CONCEPT_BINDINGS` are element paths as written in the
specification, rooted at a resource or a datatype ("Patient.link.type", "Address.use"). A
datatype binding applies wherever the datatype occurs, including inside extensions and
contained resources; the Quantity binding also covers its profiles (Age, Duration, ...).

Left out on purpose: ImagingStudy.series.modality (extensible in R4) and required bindings to
large external code systems (Attachment.contentType, Money.currency, languages).
"""

from __future__ import annotations

from dataclasses import dataclass, field

_VS = "http://hl7.org/fhir/ValueSet/"
_TERM = "http://terminology.hl7.org/CodeSystem/"


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A closed list of codes; ``codes`` keeps the specification's order for messages."""

    url: str
    codes: tuple[str, ...]
    lookup: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookup", frozenset(self.codes))


@dataclass(frozen=True, slots=True)
class CodingBinding:
    """A required binding on a CodeableConcept: a coding of ``system`` must carry a valid code."""

    value_set: ValueSet
    system: str


def _vs(name: str, codes: str) -> ValueSet:
    return ValueSet(_VS + name, tuple(codes.split()))


GENDER = _vs("administrative-gender", "male female other unknown")
ENCOUNTER_STATUS = _vs(
    "encounter-status",
    "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown",
)
REQUEST_STATUS = _vs(
    "request-status", "draft active on-hold revoked completed entered-in-error unknown"
)
REQUEST_INTENT = _vs(
    "request-intent",
    "proposal plan directive order original-order reflex-order filler-order instance-order option",
)
REQUEST_PRIORITY = _vs("request-priority", "routine urgent asap stat")
DAYS_OF_WEEK = _vs("days-of-week", "mon tue wed thu fri sat sun")
UNITS_OF_TIME = _vs("units-of-time", "s min h d wk mo a")

ELEMENT_BINDINGS: dict[str, ValueSet] = {
    # resources
    "Patient.gender": GENDER,
    "Patient.contact.gender": GENDER,
    "Patient.link.type": _vs("link-type", "replaced-by replaces refer seealso"),
    "Practitioner.gender": GENDER,
    "PractitionerRole.availableTime.daysOfWeek": DAYS_OF_WEEK,
    "RelatedPerson.gender": GENDER,
    "Encounter.status": ENCOUNTER_STATUS,
    "Encounter.statusHistory.status": ENCOUNTER_STATUS,
    "Encounter.location.status": _vs(
        "encounter-location-status", "planned active reserved completed"
    ),
    "Observation.status": _vs(
        "observation-status",
        "registered preliminary final amended corrected cancelled entered-in-error unknown",
    ),
    "Medication.status": _vs("medication-status", "active inactive entered-in-error"),
    "MedicationRequest.status": _vs(
        "medicationrequest-status",
        "active on-hold cancelled completed entered-in-error stopped draft unknown",
    ),
    "MedicationRequest.intent": _vs(
        "medicationrequest-intent",
        "proposal plan order original-order reflex-order filler-order instance-order option",
    ),
    "MedicationRequest.priority": REQUEST_PRIORITY,
    "MedicationStatement.status": _vs(
        "medication-statement-status",
        "active completed entered-in-error intended stopped on-hold unknown not-taken",
    ),
    "Immunization.status": _vs("immunization-status", "completed entered-in-error not-done"),
    "Procedure.status": _vs(
        "event-status",
        "preparation in-progress not-done on-hold stopped completed entered-in-error unknown",
    ),
    "AllergyIntolerance.type": _vs("allergy-intolerance-type", "allergy intolerance"),
    "AllergyIntolerance.category": _vs(
        "allergy-intolerance-category", "food medication environment biologic"
    ),
    "AllergyIntolerance.criticality": _vs(
        "allergy-intolerance-criticality", "low high unable-to-assess"
    ),
    "AllergyIntolerance.reaction.severity": _vs("reaction-event-severity", "mild moderate severe"),
    "CarePlan.status": REQUEST_STATUS,
    "CarePlan.intent": _vs("care-plan-intent", "proposal plan order option"),
    "CarePlan.activity.detail.kind": _vs(
        "care-plan-activity-kind",
        "Appointment CommunicationRequest DeviceRequest MedicationRequest NutritionOrder Task"
        " ServiceRequest VisionPrescription",
    ),
    "CarePlan.activity.detail.status": _vs(
        "care-plan-activity-status",
        "not-started scheduled in-progress on-hold completed cancelled stopped unknown"
        " entered-in-error",
    ),
    "CareTeam.status": _vs(
        "care-team-status", "proposed active suspended inactive entered-in-error"
    ),
    "Goal.lifecycleStatus": _vs(
        "goal-status",
        "proposed planned accepted active on-hold completed cancelled entered-in-error rejected",
    ),
    "Device.status": _vs("device-status", "active inactive entered-in-error unknown"),
    "Device.udiCarrier.entryType": _vs(
        "udi-entry-type", "barcode rfid manual card self-reported unknown"
    ),
    "Device.deviceName.type": _vs(
        "device-nametype",
        "udi-label-name user-friendly-name patient-reported-name manufacturer-name model-name"
        " other",
    ),
    "DiagnosticReport.status": _vs(
        "diagnostic-report-status",
        "registered partial preliminary final amended corrected appended cancelled"
        " entered-in-error unknown",
    ),
    "DocumentReference.status": _vs(
        "document-reference-status", "current superseded entered-in-error"
    ),
    "DocumentReference.docStatus": _vs(
        "composition-status", "preliminary final amended entered-in-error"
    ),
    "DocumentReference.relatesTo.code": _vs(
        "document-relationship-type", "replaces transforms signs appends"
    ),
    "ImagingStudy.status": _vs(
        "imagingstudy-status", "registered available cancelled entered-in-error unknown"
    ),
    "SupplyDelivery.status": _vs(
        "supplydelivery-status", "in-progress completed abandoned entered-in-error"
    ),
    "ServiceRequest.status": REQUEST_STATUS,
    "ServiceRequest.intent": REQUEST_INTENT,
    "ServiceRequest.priority": REQUEST_PRIORITY,
    "Coverage.status": _vs("fm-status", "active cancelled draft entered-in-error"),
    "Location.status": _vs("location-status", "active suspended inactive"),
    "Location.mode": _vs("location-mode", "instance kind"),
    "Location.hoursOfOperation.daysOfWeek": DAYS_OF_WEEK,
    "Bundle.type": _vs(
        "bundle-type",
        "document message transaction transaction-response batch batch-response history"
        " searchset collection",
    ),
    "Bundle.entry.request.method": _vs("http-verb", "GET HEAD POST PUT DELETE PATCH"),
    "Bundle.entry.search.mode": _vs("search-entry-mode", "match include outcome"),
    # datatypes: checked wherever the datatype occurs
    "Address.use": _vs("address-use", "home work temp old billing"),
    "Address.type": _vs("address-type", "postal physical both"),
    "ContactPoint.system": _vs("contact-point-system", "phone fax email pager url sms other"),
    "ContactPoint.use": _vs("contact-point-use", "home work temp old mobile"),
    "HumanName.use": _vs("name-use", "usual official temp nickname anonymous old maiden"),
    "Identifier.use": _vs("identifier-use", "usual official temp secondary old"),
    "Quantity.comparator": _vs("quantity-comparator", "< <= >= >"),
    "Narrative.status": _vs("narrative-status", "generated extensions additional empty"),
    "Timing.repeat.durationUnit": UNITS_OF_TIME,
    "Timing.repeat.periodUnit": UNITS_OF_TIME,
    "Timing.repeat.dayOfWeek": DAYS_OF_WEEK,
    "Timing.repeat.when": _vs(
        "event-timing",
        "MORN MORN.early MORN.late NOON AFT AFT.early AFT.late EVE EVE.early EVE.late NIGHT"
        " PHS HS WAKE C CM CD CV AC ACM ACD ACV PC PCM PCD PCV",
    ),
}

CODEABLE_CONCEPT_BINDINGS: dict[str, CodingBinding] = {
    "Condition.clinicalStatus": CodingBinding(
        _vs("condition-clinical", "active recurrence relapse inactive remission resolved"),
        _TERM + "condition-clinical",
    ),
    "Condition.verificationStatus": CodingBinding(
        _vs(
            "condition-ver-status",
            "unconfirmed provisional differential confirmed refuted entered-in-error",
        ),
        _TERM + "condition-ver-status",
    ),
    "AllergyIntolerance.clinicalStatus": CodingBinding(
        _vs("allergyintolerance-clinical", "active inactive resolved"),
        _TERM + "allergyintolerance-clinical",
    ),
    "AllergyIntolerance.verificationStatus": CodingBinding(
        _vs("allergyintolerance-verification", "unconfirmed confirmed refuted entered-in-error"),
        _TERM + "allergyintolerance-verification",
    ),
}

# Resource types that fhir.resources.R4B knows but FHIR R4 (4.0.1) does not have.
R4B_ONLY_RESOURCE_TYPES = frozenset(
    {
        "AdministrableProductDefinition",
        "Citation",
        "ClinicalUseDefinition",
        "EvidenceReport",
        "Ingredient",
        "ManufacturedItemDefinition",
        "MedicinalProductDefinition",
        "NutritionProduct",
        "PackagedProductDefinition",
        "RegulatedAuthorization",
        "SubscriptionStatus",
        "SubscriptionTopic",
        "SubstanceDefinition",
    }
)

# Every value set above, once each (for tests and documentation).
VALUE_SETS: tuple[ValueSet, ...] = tuple(
    {
        vs.url: vs
        for vs in [
            *ELEMENT_BINDINGS.values(),
            *(b.value_set for b in CODEABLE_CONCEPT_BINDINGS.values()),
        ]
    }.values()
)
