"""Builds a professional claim from a coded encounter and the patient's coverage. Pure: no I/O.
A claim that cannot be built cleanly is not built: the reasons come back as findings (a hold)."""

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import ValidationError

from shared.contracts.events import Coverage, EncounterCodedV1, Finding, PatientRegisteredV1
from shared.envelope import describe
from x12.claim import Claim, Payer, RenderingProvider, ServiceLine, Subscriber
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
    for coverage in patient.coverages:
        if coverage.rank == "primary" and coverage.effective_date <= on and (
            coverage.end_date is None or on <= coverage.end_date
        ):
            return coverage
    return None


def assemble(
    coded: EncounterCodedV1, patient: PatientRegisteredV1, chargemaster: dict[str, Decimal]
) -> Assembly:
    coverage = primary_coverage(patient, coded.date_of_service)
    if coverage is None:
        hold = Finding(field="coverages", code="coverage.inactive", message="no primary coverage active on the date of service")
        return Assembly(None, "", [hold])
    findings: list[Finding] = []
    if coverage.relationship != "self":
        findings.append(Finding(field="coverages[primary].relationship", code="subscriber.dependent",
                                message="dependent patients (loop 2000C) are not billed yet"))
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
    person = patient.patient
    claim_id = claim_id_for(coded.encounter_id)
    try:
        claim = Claim(
            patient_control_number=patient_control_number(claim_id),
            subscriber=Subscriber(
                member_id=coverage.member_id,
                first_name=x12_text(person.first_name),
                last_name=x12_text(person.last_name),
                birth_date=person.birth_date,
                sex=person.sex,
                address=Address(line1=x12_text(person.address.line1),
                                line2=x12_text(person.address.line2) if person.address.line2 else None,
                                city=x12_text(person.address.city), state=person.address.state,
                                zip=person.address.postal_code),
                group_number=coverage.group_number,
            ),
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
