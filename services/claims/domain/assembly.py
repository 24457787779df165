"""Builds a professional claim from a coded encounter and the patient's coverage. Pure: no I/O.
A claim that cannot be built cleanly is not built: the reasons come back as findings (a hold)."""

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import ValidationError

from shared.contracts.events import Coverage, EncounterCodedV1, Finding, PatientRegisteredV1, Person
from shared.envelope import describe
from x12.claim import Adjustment, Claim, OtherPayer, Patient, Payer, RenderingProvider, ServiceLine, Subscriber
from x12.types import Address

CLAIM_NAMESPACE = uuid.UUID("5d0f3b1e-8a3c-4f55-9a57-4f0c2a9b7e11")


def claim_id_for(encounter_id: str) -> uuid.UUID:
    """Deterministic: the same encounter can only ever become the same claim."""
    return uuid.uuid5(CLAIM_NAMESPACE, encounter_id)


def patient_control_number(claim_id: uuid.UUID) -> str:
    return claim_id.hex[:20].upper()  # CLM01 allows 20 characters; 80 bits of the id


_NO_DECOMPOSITION = str.maketrans({"Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "ß": "ss", "Ł": "L", "ł": "l",
                                   "Đ": "D", "đ": "d", "Þ": "TH", "þ": "th", "Œ": "OE", "œ": "oe"})


def x12_text(value: str) -> str:
    """X12 files are ASCII: "Ñúñez-Øster" is sent as "NUNEZ-OSTER" (payers match names upper-case)."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_NO_DECOMPOSITION))
    return "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c)).upper().strip()


@dataclass(frozen=True)
class Assembly:
    claim: Claim | None
    payer_name: str
    findings: list[Finding]


def primary_coverage(patient: PatientRegisteredV1, on: date) -> Coverage | None:
    return coverage_of(patient, "primary", on)


def assemble(
    coded: EncounterCodedV1, patient: PatientRegisteredV1, chargemaster: dict[str, Decimal]
) -> Assembly:
    coverage = primary_coverage(patient, coded.date_of_service)
    if coverage is None:
        hold = Finding(field="coverages", code="coverage.inactive", message="no primary coverage active on the date of service")
        return Assembly(None, "", [hold])
    findings: list[Finding] = []
    if coverage.relationship != "self" and coverage.subscriber is None:
        findings.append(Finding(field="coverages[primary].subscriber", code="subscriber.missing",
                                message="the patient is a dependent but the subscriber's demographics are missing; "
                                        "fix: register the subscriber's name, birth date, sex and address"))
    lines = []
    for line in coded.service_lines:
        unit_charge = chargemaster.get(line.procedure_code)
        if unit_charge is None:
            findings.append(Finding(field=f"service_lines[{line.line_number - 1}].procedure_code",
                                    code="price.missing", message="no charge in the chargemaster for this code"))
            continue
        lines.append(dict(
            line_number=line.line_number,
            procedure_code=line.procedure_code,
            modifiers=tuple(line.modifiers),
            units=Decimal(line.units),
            charge=(unit_charge * line.units).quantize(Decimal("0.01")),
            diagnosis_pointers=tuple(line.diagnosis_pointers),
            service_date=coded.date_of_service,
            place_of_service=coded.place_of_service,
            control_number=f"{line.line_number}",
        ))
    if findings:
        return Assembly(None, coverage.payer_name, findings)
    claim_id = claim_id_for(coded.encounter_id)
    try:
        claim = Claim(
            patient_control_number=patient_control_number(claim_id),
            subscriber=subscriber_of(patient, coverage),
            patient=dependent_of(patient, coverage),
            payer=Payer(name=x12_text(coverage.payer_name), id=coverage.payer_id),
            total_charge=sum((line["charge"] for line in lines), Decimal("0.00")),
            place_of_service=coded.place_of_service,
            diagnoses=tuple(coded.diagnoses),
            rendering_provider=RenderingProvider(npi=coded.rendering_provider.npi,
                                                 first_name=x12_text(coded.rendering_provider.first_name),
                                                 last_name=x12_text(coded.rendering_provider.last_name)),
            prior_authorization=coded.prior_authorization,
            lines=tuple(ServiceLine(**line) for line in lines),
        )
    except ValidationError as exc:
        # Whatever the 837 cannot carry (e.g. separator characters in a name) is a hold, not a crash.
        return Assembly(None, coverage.payer_name, [Finding(field="claim", code="x12.invalid", message=describe(exc))])
    return Assembly(claim, coverage.payer_name, [])


RELATIONSHIP_CODES = {"spouse": "01", "child": "19", "other": "G8"}  # PAT01 / SBR02


def _address(person: Person) -> Address:
    a = person.address
    return Address(line1=x12_text(a.line1), line2=x12_text(a.line2) if a.line2 else None, city=x12_text(a.city),
                   state=a.state, zip=a.postal_code)


def subscriber_of(patient: PatientRegisteredV1, coverage: Coverage) -> Subscriber:
    """Loop 2010BA: the insured: the patient, or for a dependent the coverage's own subscriber."""
    person = patient.patient if coverage.relationship == "self" else coverage.subscriber
    return Subscriber(member_id=coverage.member_id, first_name=x12_text(person.first_name),
                      last_name=x12_text(person.last_name), birth_date=person.birth_date, sex=person.sex,
                      address=_address(person), group_number=coverage.group_number)


def dependent_of(patient: PatientRegisteredV1, coverage: Coverage) -> Patient | None:
    """Loop 2000C, only when the patient is not the subscriber."""
    if coverage.relationship == "self":
        return None
    person = patient.patient
    return Patient(relationship_code=RELATIONSHIP_CODES[coverage.relationship], first_name=x12_text(person.first_name),
                   last_name=x12_text(person.last_name), birth_date=person.birth_date, sex=person.sex,
                   address=_address(person))


def coverage_of(patient: PatientRegisteredV1, rank: str, on: date) -> Coverage | None:
    return next((c for c in patient.coverages if c.rank == rank and c.effective_date <= on
                 and (c.end_date is None or on <= c.end_date)), None)


def derived_claim_id(original: uuid.UUID, purpose: str) -> uuid.UUID:
    """Deterministic: the same request for the same claim always makes the same follow-up claim."""
    return uuid.uuid5(CLAIM_NAMESPACE, f"{original}:{purpose}")


def correction(original: Claim, claim_id: uuid.UUID, frequency_code: str, payer_claim_control_number: str) -> Claim:
    """A replacement (7) or void (8) of a claim the payer knows by its claim control number."""
    return original.model_copy(update={
        "patient_control_number": patient_control_number(claim_id), "frequency_code": frequency_code,
        "payer_claim_control_number": payer_claim_control_number,
    })


def secondary(original: Claim, claim_id: uuid.UUID, patient: PatientRegisteredV1, coverage: Coverage,
              primary_paid, adjustments: list, paid_date: date | None, primary_number: str | None) -> Claim:
    """The claim billed to the secondary payer: the primary becomes loop 2320 with what it paid and why
    the rest was not paid (claim-level CAS), so the secondary can coordinate benefits."""
    primary = OtherPayer(
        responsibility="P", relationship_code="18" if original.patient is None else "G8",
        group_number=original.subscriber.group_number, subscriber_first_name=original.subscriber.first_name,
        subscriber_last_name=original.subscriber.last_name, member_id=original.subscriber.member_id,
        payer=original.payer, paid=primary_paid, adjudication_date=paid_date,
        adjustments=tuple(Adjustment(group=a.group_code if a.group_code != "CR" else "OA", reason=a.reason_code,
                                     amount=a.amount) for a in adjustments if a.amount),
        payer_claim_control_number=primary_number,
    )
    return original.model_copy(update={
        "patient_control_number": patient_control_number(claim_id),
        "subscriber": subscriber_of(patient, coverage), "patient": dependent_of(patient, coverage),
        "payer": Payer(name=x12_text(coverage.payer_name), id=coverage.payer_id),
        "payer_responsibility": "S", "other_payers": (primary,), "frequency_code": "1",
        "payer_claim_control_number": None,
    })
