"""FHIR R4 intake: a Bundle with one Patient, its Coverages and at most one Encounter becomes a
Registration and, when an Encounter is there, an encounter ready for encounter.documented. Pure.

The bundle is first validated against the FHIR R4 structure (fhir.resources, R4B models: R4's
resources as the 4.3 release fixes them), then read as the README's FHIR mapping table says
(the integrator's side of the contract):
- Patient: the identifier whose type is v2-0203 "MR" is the MRN; its assigner.identifier.value
  names the facility (default MAIN). First name, family, birthDate, gender, address, phone.
- Coverage (1..3, beneficiary = the Patient): order 1/2/3 = primary/secondary/tertiary; the payer
  is payor[0]: a reference to an Organization in the bundle whose identifier is our payer id (system
  urn:openrcm:payer-id, else its first identifier), or a logical reference payor[0].identifier;
  subscriberId (else the identifier of type v2-0203 "MB") = member id; class "group" and "plan";
  relationship (subscriber-relationship codes); subscriber -> a RelatedPerson in the bundle when
  not self; period start/end.
- Encounter: identifier[0].value (else id) = encounter id; period.start = date of service;
  participant -> Practitioner with an NPI identifier; serviceProvider -> an Organization with an
  NPI = the billing provider; location -> Location whose type is a CMS place-of-service code (or
  the urn:openrcm:fhir:place-of-service extension on the Encounter; else 11); diagnosis[].condition
  -> Conditions coded in ICD-10-CM, by rank; Procedures (CPT/HCPCS code, reasonReference ->
  pointers), each with the units (quantity) and modifiers of the ChargeItem whose service it is.
  meta.versionId is the encounter's version: above 1 it corrects the earlier one; status
  entered-in-error voids it.
Every problem is reported with the path of the element it is about, never its value."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import ValidationError

from services.registration.domain.patients import FieldError, Registration
from shared.contracts.events import EncounterDocumentedV1

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
PROCEDURE_SYSTEMS = (  # CPT, HCPCS Level II (a coding without a system is taken as one of them)
    "http://www.ama-assn.org/go/cpt",
    "urn:oid:2.16.840.1.113883.6.12",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "urn:oid:2.16.840.1.113883.6.285",
    None,
)
PAYER_ID_SYSTEM = "urn:openrcm:payer-id"
PLACE_OF_SERVICE_EXTENSION = "urn:openrcm:fhir:place-of-service"
PLACE_OF_SERVICE_SYSTEMS = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
    "http://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
    "urn:oid:2.16.840.1.113883.6.50",
)
MODIFIER_EXTENSION = "urn:openrcm:fhir:procedure-modifier"
# Encounter.status is bound (required) to this value set in R4; the models check the code's form only.
ENCOUNTER_STATUSES = frozenset(
    {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"}
)
RANK_BY_ORDER = {1: "primary", 2: "secondary", 3: "tertiary"}
SEX = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
Loc = tuple[str | int, ...]  # the path of an element in the bundle
Json = dict[str, Any]
RELATIONSHIP = {"self": "self", "spouse": "spouse", "child": "child"}  # anything else is "other"


class IntakeInvalid(Exception):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:10]))
        self.errors = errors


class Intake:
    """What a valid bundle says: a registration, and the encounter (without our patient id yet)."""

    def __init__(self, registration: Registration, encounter: Json | None):
        self.registration, self.encounter = registration, encounter

    def documented(self, patient_id: UUID) -> EncounterDocumentedV1 | None:
        return (
            None
            if self.encounter is None
            else EncounterDocumentedV1.model_validate({**self.encounter, "patient_id": patient_id})
        )


def read_bundle(document: Any) -> Intake:
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as exc:
        raise IntakeInvalid(_schema_errors(exc, ())) from None
    return _Reader(bundle).intake()


def _schema_errors(exc: ValidationError, prefix: Loc) -> list[FieldError]:
    return [
        FieldError((*prefix, *e["loc"]), e["msg"], e["type"])
        for e in exc.errors(include_input=False, include_url=False, include_context=False)[:20]
    ]


class _Reader:
    def __init__(self, bundle: Bundle):
        self.entries: list[tuple[Loc, Any]] = [
            (("entry", i, "resource"), e.resource) for i, e in enumerate(bundle.entry or []) if e.resource
        ]
        self.by_reference: dict[str, tuple[Loc, Any]] = {}
        for i, entry in enumerate(bundle.entry or []):
            if entry.resource is None:
                continue
            found: tuple[Loc, Any] = (("entry", i, "resource"), entry.resource)
            if entry.fullUrl:
                self.by_reference[entry.fullUrl] = found
            if entry.resource.id:
                self.by_reference[f"{entry.resource.get_resource_type()}/{entry.resource.id}"] = found
        self.errors: list[FieldError] = []

    def fail(self, loc: Loc, msg: str) -> None:
        self.errors.append(FieldError(loc, msg))

    def of_type(self, kind: str) -> list[tuple[Loc, Any]]:
        return [(loc, r) for loc, r in self.entries if r.get_resource_type() == kind]

    def resolve(self, reference: Reference | None, loc: Loc, kind: str) -> tuple[Loc, Any] | None:
        found = self.by_reference.get(reference.reference) if reference and reference.reference else None
        if found is None or found[1].get_resource_type() != kind:
            self.fail(loc, f"must reference a {kind} in this bundle")
            return None
        return found

    # -- the whole bundle ---------------------------------------------------------------------
    def intake(self) -> Intake:
        patients = self.of_type("Patient")
        if len(patients) != 1:
            self.fail(("entry",), f"exactly one Patient is required, found {len(patients)}")
            raise IntakeInvalid(self.errors)
        patient_loc, patient = patients[0]
        facility, mrn = self.mrn(patient_loc, patient)
        body = {
            "facility": facility,
            "mrn": mrn,
            "patient": self.person(patient_loc, patient),
            "coverages": self.coverages(patient),
        }
        encounters = self.of_type("Encounter")
        if len(encounters) > 1:
            self.fail(("entry",), "at most one Encounter per bundle")
        encounter = self.encounter(*encounters[0]) if len(encounters) == 1 else None
        if self.errors:
            raise IntakeInvalid(self.errors)
        try:
            registration = Registration.model_validate(body)
        except ValidationError as exc:
            raise IntakeInvalid(_schema_errors(exc, ("(registration)",))) from None
        if encounter is not None:
            try:  # checked now, so a bad encounter never half-registers anything
                EncounterDocumentedV1.model_validate(
                    {**encounter, "patient_id": "00000000-0000-0000-0000-000000000000"}
                )
            except ValidationError as exc:
                raise IntakeInvalid(_schema_errors(exc, ("(encounter)",))) from None
        return Intake(registration, encounter)

    # -- Patient ------------------------------------------------------------------------------
    def mrn(self, loc: Loc, patient: Patient) -> tuple[str, str | None]:
        for i, identifier in enumerate(patient.identifier or []):
            codes = [c.code for c in (identifier.type.coding or [])] if identifier.type else []
            if "MR" in codes:
                assigner = identifier.assigner
                facility = assigner.identifier.value if assigner and assigner.identifier else None
                return facility or "MAIN", identifier.value
        self.fail((*loc, "identifier"), "an identifier of type MR (the medical record number) is required")
        return "MAIN", None

    def person(self, loc: Loc, resource: Patient | RelatedPerson) -> Json:
        names = resource.name or []
        name = next((n for n in names if n.use == "official"), names[0] if names else None)
        if name is None or not name.family or not name.given:
            self.fail((*loc, "name"), "a name with family and given is required")
        address = next(iter(resource.address or []), None)
        if address is None:
            self.fail((*loc, "address"), "an address is required")
        phone = next((t.value for t in resource.telecom or [] if t.system == "phone" and t.value), None)
        lines = (address.line or []) if address else []
        return {
            "first_name": name.given[0] if name and name.given else None,
            "last_name": name.family if name else None,
            "birth_date": resource.birthDate,
            "sex": SEX.get(resource.gender or "unknown", "U"),
            "address": {
                "line1": lines[0] if lines else None,
                "line2": lines[1] if len(lines) > 1 else None,
                "city": address.city,
                "state": address.state,
                "postal_code": (address.postalCode or "").replace("-", ""),
            }
            if address
            else None,
            "phone": "".join(c for c in phone if c.isdigit() or c == "+") if phone else None,
        }

    # -- Coverage -----------------------------------------------------------------------------
    def coverages(self, patient: Patient) -> list[Json]:
        found = self.of_type("Coverage")
        if not 1 <= len(found) <= 3:
            self.fail(("entry",), f"one to three Coverages are required, found {len(found)}")
        result = []
        for position, (loc, coverage) in enumerate(found, start=1):
            beneficiary = self.resolve(coverage.beneficiary, (*loc, "beneficiary"), "Patient")
            if beneficiary and beneficiary[1] is not patient:
                self.fail((*loc, "beneficiary"), "must be the bundle's Patient")
            payer_id, payer_name = self.payer(loc, coverage)
            classes = {
                (c.type.coding or [None])[0].code if c.type and c.type.coding else None: c
                for c in coverage.class_fhir or []
            }
            relationship_codes = [c.code for c in coverage.relationship.coding or []] if coverage.relationship else []
            relationship = RELATIONSHIP.get(relationship_codes[0], "other") if relationship_codes else "self"
            subscriber = None
            if relationship != "self":
                related = self.resolve(coverage.subscriber, (*loc, "subscriber"), "RelatedPerson")
                subscriber = self.person(related[0], related[1]) if related else None
            period = coverage.period
            if period is None or period.start is None:
                self.fail((*loc, "period", "start"), "the coverage's start date is required")
            result.append(
                {
                    "rank": RANK_BY_ORDER.get(coverage.order or position, "invalid"),
                    "payer_id": payer_id,
                    "payer_name": payer_name,
                    "member_id": coverage.subscriberId or _identifier_of_type(coverage.identifier, "MB"),
                    "group_number": classes["group"].value if "group" in classes else None,
                    "plan_name": (classes["plan"].name or classes["plan"].value) if "plan" in classes else None,
                    "relationship": relationship,
                    "subscriber": subscriber,
                    "effective_date": _day(period.start) if period else None,
                    "end_date": _day(period.end) if period else None,
                }
            )
        return result

    def payer(self, loc: Loc, coverage: Any) -> tuple[str | None, str | None]:
        """(payer id, name) of payor[0]: an Organization in the bundle, or a logical reference."""
        payor: Reference | None = (coverage.payor or [None])[0]
        if payor is not None and payor.reference:
            found = self.resolve(payor, (*loc, "payor", 0), "Organization")
            if found is None:
                return None, None
            organization = found[1]
            payer_id = _payer_id(organization.identifier)
            if payer_id is None:
                self.fail((*found[0], "identifier"), f"the payer needs an identifier: our payer id ({PAYER_ID_SYSTEM})")
            return payer_id, organization.name or payor.display or payer_id
        if payor is not None and payor.identifier is not None and payor.identifier.value:
            return payor.identifier.value, payor.display or payor.identifier.value
        self.fail((*loc, "payor", 0), "the payer is required: a reference to an Organization with our payer id, or "
                  "payor.identifier")  # fmt: skip
        return None, None

    # -- Encounter ----------------------------------------------------------------------------
    def encounter(self, loc: Loc, encounter: Encounter) -> Json:
        identifiers = [i.value for i in encounter.identifier or [] if i.value]
        encounter_id = identifiers[0] if identifiers else encounter.id
        if encounter.period is None or encounter.period.start is None:
            self.fail((*loc, "period", "start"), "the date of service is required")
        provider = None
        for i, participant in enumerate(encounter.participant or []):
            if participant.individual is not None:
                found = self.resolve(participant.individual, (*loc, "participant", i, "individual"), "Practitioner")
                provider = self.provider(*found) if found else None
                break
        if provider is None:
            self.fail((*loc, "participant"), "a Practitioner (the rendering provider) is required")
        conditions = []
        for i, diagnosis in enumerate(sorted(encounter.diagnosis or [], key=lambda d: d.rank or 99)):
            found = self.resolve(diagnosis.condition, (*loc, "diagnosis", i, "condition"), "Condition")
            if found:
                conditions.append(found)
        diagnoses = [
            {"code": self.code(c_loc, c.code, ICD10CM_SYSTEMS, "an ICD-10-CM code")} for c_loc, c in conditions
        ]
        version, action = self.revision(loc, encounter)
        return {
            "encounter_id": encounter_id,
            "date_of_service": _day(encounter.period.start) if encounter.period else None,
            "place_of_service": self.place_of_service(loc, encounter),
            "rendering_provider": provider,
            "billing_provider_npi": self.billing_provider(loc, encounter),
            "diagnoses": diagnoses,
            "procedures": self.procedures([c for c, _ in conditions]),
            "version": version,
            "action": action,
        }

    def procedures(self, conditions: list[Loc]) -> list[Json]:
        """Every Procedure, pointing at the encounter's diagnoses by reasonReference, with the units
        and modifiers of the ChargeItem that charges for it."""
        charged = self.charge_items()
        procedures = []
        for p_loc, procedure in self.of_type("Procedure"):
            pointers = []
            for reason in procedure.reasonReference or []:
                found = self.by_reference.get(reason.reference or "")
                if found and found[0] in conditions:
                    pointers.append(conditions.index(found[0]) + 1)
            units, modifiers = charged.get(p_loc, (1, []))
            procedures.append(
                {
                    "code": self.code(p_loc, procedure.code, PROCEDURE_SYSTEMS, "a CPT or HCPCS code"),
                    "units": units,
                    "modifiers": modifiers,
                    "diagnosis_pointers": pointers[:4] or [1],
                }
            )
        return procedures

    def charge_items(self) -> dict[Loc, tuple[Any, list[str]]]:
        """Procedure path -> (units, modifiers) from the ChargeItems whose service names it."""
        charged: dict[Loc, tuple[Any, list[str]]] = {}
        for c_loc, item in self.of_type("ChargeItem"):
            quantity = item.quantity.value if item.quantity and item.quantity.value is not None else 1
            if quantity != int(quantity):
                self.fail((*c_loc, "quantity", "value"), "units must be a whole number")
            modifiers = [e.valueCode for e in item.extension or [] if e.url == MODIFIER_EXTENSION and e.valueCode]
            for service in item.service or []:
                found = self.by_reference.get(service.reference or "")
                if found and found[1].get_resource_type() == "Procedure":
                    charged[found[0]] = (int(quantity), modifiers)
        return charged

    def revision(self, loc: Loc, encounter: Encounter) -> tuple[int, str]:
        """(version, action): meta.versionId orders an encounter's versions; above 1 it corrects the
        one before; status entered-in-error voids the encounter (and then needs its version)."""
        if encounter.status not in ENCOUNTER_STATUSES:
            self.fail((*loc, "status"), "not an encounter-status code of FHIR R4")
        raw = encounter.meta.versionId if encounter.meta else None
        if raw is not None and not raw.isdigit():
            self.fail((*loc, "meta", "versionId"), "must be a whole number: the encounter's versions are ordered by it")
            raw = None
        version = int(raw) if raw else 1
        if encounter.status == "entered-in-error":
            if raw is None:
                self.fail((*loc, "meta", "versionId"), "a void (status entered-in-error) needs its version: one "
                          "more than the last version sent")  # fmt: skip
            return version, "void"
        return version, "correct" if version > 1 else "original"

    def place_of_service(self, loc: Loc, encounter: Encounter) -> str:
        """The extension on the Encounter, else the CMS place-of-service code of its Location's type, else 11."""
        for extension in encounter.extension or []:
            if extension.url == PLACE_OF_SERVICE_EXTENSION and extension.valueCode:
                return str(extension.valueCode)
        for i, item in enumerate(encounter.location or []):
            found = self.resolve(item.location, (*loc, "location", i, "location"), "Location")
            for concept in (found[1].type or []) if found else []:
                for coding in concept.coding or []:
                    if coding.system in PLACE_OF_SERVICE_SYSTEMS and coding.code:
                        return str(coding.code)
        return "11"

    def billing_provider(self, loc: Loc, encounter: Encounter) -> str | None:
        """The NPI of the Organization in encounter.serviceProvider, when there is one."""
        if encounter.serviceProvider is None:
            return None
        found = self.resolve(encounter.serviceProvider, (*loc, "serviceProvider"), "Organization")
        if found is None:
            return None
        npi = next((i.value for i in found[1].identifier or [] if i.system == NPI_SYSTEM), None)
        if npi is None:
            self.fail((*found[0], "identifier"), f"the billing provider needs an identifier with system {NPI_SYSTEM}")
        return npi

    def provider(self, loc: Loc, practitioner: Practitioner) -> Json | None:
        npi = next((i.value for i in practitioner.identifier or [] if i.system == NPI_SYSTEM), None)
        name = next(iter(practitioner.name or []), None)
        if npi is None or name is None or not name.given:
            self.fail(loc, f"the Practitioner needs an identifier with system {NPI_SYSTEM} and a name")
            return None
        return {"npi": npi, "first_name": name.given[0], "last_name": name.family}

    def code(
        self, loc: Loc, concept: CodeableConcept | None, systems: tuple[str | None, ...] | None, what: str
    ) -> str | None:
        for coding in (concept.coding or []) if concept else []:
            if coding.code and (systems is None or coding.system in systems):
                return coding.code
        self.fail((*loc, "code"), f"{what} is required")
        return None


def _payer_id(identifiers: list[Any] | None) -> str | None:
    """Our payer id among an Organization's identifiers: the one of our system, else the first."""
    values = [(i.system, i.value) for i in identifiers or [] if i.value]
    return next((v for system, v in values if system == PAYER_ID_SYSTEM), values[0][1] if values else None)


def _identifier_of_type(identifiers: list[Any] | None, code: str) -> str | None:
    """The value of the identifier whose type is the v2-0203 `code` (e.g. MB, the member number)."""
    for identifier in identifiers or []:
        codes = [c.code for c in identifier.type.coding or []] if identifier.type else []
        if code in codes and identifier.value:
            return str(identifier.value)
    return None


def _day(value: date | datetime | str | None) -> date | str | None:
    """FHIR dateTimes may be partial ("2026-11"); only a full date is a date of service."""
    return value.date() if isinstance(value, datetime) else value
