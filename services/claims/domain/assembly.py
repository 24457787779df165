"""Builds a professional claim from a coded encounter and the patient's coverage. Pure: no I/O.
A claim that cannot be built cleanly is not built: the reasons come back as findings (a hold)."""

import functools
import hashlib
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import ValidationError

from shared.contracts import events
from shared.contracts.events import (
    ClaimChanges,
    Coverage,
    EncounterCodedV1,
    Finding,
    LineChange,
    PatientRegisteredV1,
    Person,
)
from shared.envelope import describe
from x12.claim import (
    Adjustment,
    Claim,
    OtherPayer,
    Patient,
    Payer,
    ReferringProvider,
    Relationship,
    RenderingProvider,
    ServiceLine,
    Subscriber,
    invalid_npis,
)
from x12.types import Address

CLAIM_NAMESPACE = uuid.UUID("5d0f3b1e-8a3c-4f55-9a57-4f0c2a9b7e11")


@functools.lru_cache(maxsize=4096)  # asked for the same encounter several times while its claim is made
def claim_id_for(encounter_id: str) -> uuid.UUID:
    """Deterministic: the same encounter can only ever become the same claim."""
    return uuid.uuid5(CLAIM_NAMESPACE, encounter_id)


def patient_control_number(claim_id: uuid.UUID) -> str:
    return claim_id.hex[:20].upper()  # CLM01 allows 20 characters; 80 bits of the id


_NO_DECOMPOSITION = str.maketrans(
    {
        "Ø": "O",
        "ø": "o",
        "Æ": "AE",
        "æ": "ae",
        "ß": "ss",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "Œ": "OE",
        "œ": "oe",
    }
)


def x12_text(value: str) -> str:
    """X12 files are ASCII: "Ñúñez-Øster" is sent as "NUNEZ-OSTER" (payers match names upper-case)."""
    if value.isascii():  # nearly every name: ASCII has nothing to decompose, translate or drop
        return value.upper().strip()
    decomposed = unicodedata.normalize("NFKD", value.translate(_NO_DECOMPOSITION))
    return "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c)).upper().strip()


@dataclass(frozen=True)
class Assembly:
    claim: Claim | None
    payer_name: str
    findings: list[Finding]


def primary_coverage(patient: PatientRegisteredV1, on: date) -> Coverage | None:
    return coverage_of(patient, "primary", on)


MAX_DIAGNOSES, MAX_LINES = 12, 50  # what one 837P claim can carry (HI, loop 2400)


def grouping_key(coded: EncounterCodedV1, payer_id: str) -> str:
    """Encounters with one key are billed on one claim: payers expect a patient's services on one
    date from one provider together (so their edits see every line), and these are the fields an
    837P claim carries once for all its lines (providers, place of service, authorization)."""
    return "|".join(
        (
            str(coded.patient_id),
            coded.date_of_service.isoformat(),
            payer_id,
            coded.place_of_service,
            coded.rendering_provider.npi,
            coded.billing_provider_npi or "",
            coded.prior_authorization or "",
            coded.referring_provider.npi if coded.referring_provider else "",
        )
    )


def fits_one_claim(encounters: Sequence[EncounterCodedV1]) -> bool:
    diagnoses = {code for coded in encounters for code in coded.diagnoses}
    return len(diagnoses) <= MAX_DIAGNOSES and sum(len(c.service_lines) for c in encounters) <= MAX_LINES


NO_PRIMARY_COVERAGE = Finding(
    field="coverages", code="coverage.inactive", message="no primary coverage active on the date of service"
)
SUBSCRIBER_MISSING = Finding(
    field="coverages[primary].subscriber",
    code="subscriber.missing",
    message="the patient is a dependent but the subscriber's demographics are missing; "
    "fix: register the subscriber's name, birth date, sex and address",
)
POINTER_OUTSIDE = "a diagnosis pointer points outside its encounter's diagnoses"


def assemble(
    encounters: EncounterCodedV1 | Sequence[EncounterCodedV1],
    patient: PatientRegisteredV1,
    chargemaster: Mapping[str, Decimal],
    filing_indicators: Mapping[str, str] | None = None,
) -> Assembly:
    """One claim for one encounter, or for several of one grouping key (the first names the claim):
    their diagnoses are merged in order and the line pointers follow them, lines are renumbered.
    `filing_indicators` (payer id -> SBR09, from the payer directory) says what plan the payer is."""
    encounters = [encounters] if isinstance(encounters, EncounterCodedV1) else list(encounters)
    coverage = primary_coverage(patient, encounters[0].date_of_service)
    if coverage is None:
        return Assembly(None, "", [NO_PRIMARY_COVERAGE])
    findings = [SUBSCRIBER_MISSING] if coverage.relationship != "self" and coverage.subscriber is None else []
    findings += unpriced(encounters, chargemaster)
    if findings:
        return Assembly(None, coverage.payer_name, findings)
    try:
        claim = _claim(encounters, patient, coverage, chargemaster, filing_indicators or {})
    except (ValidationError, IndexError) as exc:
        # Whatever the 837 cannot carry (e.g. separator characters in a name) is a hold, not a crash.
        message = describe(exc) if isinstance(exc, ValidationError) else POINTER_OUTSIDE
        return Assembly(None, coverage.payer_name, [Finding(field="claim", code="x12.invalid", message=message)])
    if wrong := invalid_npis(claim):  # a payer rejects the claim: hold it instead
        return Assembly(None, coverage.payer_name, [_wrong_npi(field) for field in wrong])
    return Assembly(claim, coverage.payer_name, [])


def _wrong_npi(field: str) -> Finding:
    return Finding(field=field, code="x12.invalid", message="not a valid NPI (10 digits, Luhn check over 80840)")


def unpriced(encounters: Sequence[EncounterCodedV1], chargemaster: Mapping[str, Decimal]) -> list[Finding]:
    return [
        Finding(
            field=f"service_lines[{line.line_number - 1}].procedure_code",
            code="price.missing",
            message="no charge in the chargemaster for this code",
        )
        for coded in encounters
        for line in coded.service_lines
        if line.procedure_code not in chargemaster
    ]


def _claim(
    encounters: Sequence[EncounterCodedV1],
    patient: PatientRegisteredV1,
    coverage: Coverage,
    chargemaster: Mapping[str, Decimal],
    filing_indicators: Mapping[str, str],
) -> Claim:
    """Raises ValidationError for what an 837P cannot carry, IndexError for a pointer outside the diagnoses."""
    first = encounters[0]
    diagnoses = list(dict.fromkeys(code for coded in encounters for code in coded.diagnoses))
    lines = _service_lines(encounters, diagnoses, chargemaster)
    referring = first.referring_provider
    return Claim(
        patient_control_number=patient_control_number(claim_id_for(first.encounter_id)),
        subscriber=subscriber_of(patient, coverage),
        patient=dependent_of(patient, coverage),
        payer=payer_of(coverage, filing_indicators),
        total_charge=sum((line.charge for line in lines), Decimal("0.00")),
        place_of_service=first.place_of_service,
        diagnoses=tuple(diagnoses),
        rendering_provider=RenderingProvider(
            npi=first.rendering_provider.npi,
            first_name=x12_text(first.rendering_provider.first_name),
            last_name=x12_text(first.rendering_provider.last_name),
            taxonomy_code=first.rendering_provider.taxonomy_code,
        ),
        referring_provider=ReferringProvider(
            npi=referring.npi, first_name=x12_text(referring.first_name), last_name=x12_text(referring.last_name)
        )
        if referring
        else None,
        prior_authorization=first.prior_authorization,
        lines=lines,
    )


def payer_of(coverage: Coverage, filing_indicators: Mapping[str, str]) -> Payer:
    """The payer of a coverage with its claim filing indicator (SBR09) from the payer directory; CI
    (commercial insurance) for a payer the directory does not name."""
    indicator = filing_indicators.get(coverage.payer_id, "CI")
    return Payer(name=x12_text(coverage.payer_name), id=coverage.payer_id, claim_filing_indicator=indicator)


def _service_lines(
    encounters: Sequence[EncounterCodedV1], diagnoses: list[str], chargemaster: Mapping[str, Decimal]
) -> tuple[ServiceLine, ...]:
    """Every encounter's lines, numbered from 1, priced unit charge x units, pointing into `diagnoses`."""
    billed = [(coded, line) for coded in encounters for line in coded.service_lines]
    return tuple(
        ServiceLine(
            line_number=number,
            procedure_code=line.procedure_code,
            modifiers=tuple(line.modifiers),
            units=Decimal(line.units),
            charge=(chargemaster[line.procedure_code] * line.units).quantize(Decimal("0.01")),
            diagnosis_pointers=tuple(_pointer(coded, p, diagnoses) for p in line.diagnosis_pointers),
            service_date=coded.date_of_service,
            place_of_service=coded.place_of_service,
            control_number=f"{number}",
        )
        for number, (coded, line) in enumerate(billed, start=1)
    )


def _pointer(coded: EncounterCodedV1, pointer: int, diagnoses: list[str]) -> int:
    """An encounter's diagnosis pointer (1-based) re-aimed at the same code in the claim's merged list.
    The contract does not bound it; IndexError when it points outside the encounter's diagnoses."""
    if not 1 <= pointer <= len(coded.diagnoses):
        raise IndexError(f"diagnosis pointer {pointer} of {len(coded.diagnoses)}")
    return diagnoses.index(coded.diagnoses[pointer - 1]) + 1


RELATIONSHIP_CODES: dict[str, Relationship] = {"spouse": "01", "child": "19", "other": "G8"}  # PAT01 / SBR02


def _address(person: Person) -> Address:
    a = person.address
    return Address(
        line1=x12_text(a.line1),
        line2=x12_text(a.line2) if a.line2 else None,
        city=x12_text(a.city),
        state=a.state,
        zip=a.postal_code,
    )


def subscriber_of(patient: PatientRegisteredV1, coverage: Coverage) -> Subscriber:
    """Loop 2010BA: the insured: the patient, or for a dependent the coverage's own subscriber."""
    person = patient.patient if coverage.relationship == "self" else coverage.subscriber
    if person is None:  # assemble holds such a claim first (subscriber.missing)
        raise ValueError(f"the {coverage.rank} coverage is a dependent's without the subscriber's demographics")
    return Subscriber(
        member_id=coverage.member_id,
        first_name=x12_text(person.first_name),
        last_name=x12_text(person.last_name),
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person),
        group_number=coverage.group_number,
    )


def dependent_of(patient: PatientRegisteredV1, coverage: Coverage) -> Patient | None:
    """Loop 2000C, only when the patient is not the subscriber."""
    if coverage.relationship == "self":
        return None
    person = patient.patient
    return Patient(
        relationship_code=RELATIONSHIP_CODES[coverage.relationship],
        first_name=x12_text(person.first_name),
        last_name=x12_text(person.last_name),
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person),
    )


def coverage_of(patient: PatientRegisteredV1, rank: str, on: date) -> Coverage | None:
    return next(
        (
            c
            for c in patient.coverages
            if c.rank == rank and c.effective_date <= on and (c.end_date is None or on <= c.end_date)
        ),
        None,
    )


def derived_claim_id(original: uuid.UUID, purpose: str) -> uuid.UUID:
    """Deterministic: the same request for the same claim always makes the same follow-up claim."""
    return uuid.uuid5(CLAIM_NAMESPACE, f"{original}:{purpose}")


def correction_claim_id(
    original: uuid.UUID, kind: str, payer_claim_control_number: str, changes: ClaimChanges | None = None
) -> uuid.UUID:
    """The replacement or void a request makes: the same request makes the same claim, a
    different correction of the same claim another one."""
    purpose = f"{kind}:{payer_claim_control_number}"
    if changes and kind == "replacement":
        purpose += ":" + hashlib.sha256(changes.model_dump_json().encode()).hexdigest()[:16]
    return derived_claim_id(original, purpose)


def correction(
    original: Claim,
    claim_id: uuid.UUID,
    frequency_code: Literal["7", "8"],
    payer_claim_control_number: str,
    changes: ClaimChanges | None = None,
    chargemaster: Mapping[str, Decimal] | None = None,
) -> tuple[Claim | None, list[Finding]]:
    """A replacement (7) or void (8) of a claim the payer knows by its claim control number. A
    replacement carries the corrections A/R asked for; one that cannot be applied is a hold."""
    update: dict[str, object] = {
        "patient_control_number": patient_control_number(claim_id),
        "frequency_code": frequency_code,
        "payer_claim_control_number": payer_claim_control_number,
    }
    if changes is None:
        return original.model_copy(update=update), []
    lines, findings = _corrected_lines(original.lines, changes.lines, chargemaster or {})
    if findings:
        return None, findings
    if changes.prior_authorization is not None:
        update["prior_authorization"] = changes.prior_authorization
    if changes.diagnoses is not None:
        update["diagnoses"] = tuple(code.replace(".", "").upper() for code in changes.diagnoses)
    update["lines"] = lines
    update["total_charge"] = sum((line.charge for line in lines), Decimal("0.00"))
    try:
        # model_copy does not validate: round-trip so a pointer past the new diagnoses is caught here.
        return Claim.model_validate({**original.model_dump(), **update}), []
    except ValidationError as exc:
        return None, [Finding(field="changes", code="correction.invalid", message=describe(exc))]


def _corrected_lines(
    lines: Sequence[ServiceLine], changes: Sequence[LineChange], chargemaster: Mapping[str, Decimal]
) -> tuple[tuple[ServiceLine, ...], list[Finding]]:
    """The claim's lines with the changes applied, or findings naming the changes that cannot be."""
    by_number = {line.line_number: line for line in lines}
    findings: list[Finding] = []
    for number, change in enumerate(changes):
        line = by_number.get(change.line_number)
        edited = _edited(line, change, chargemaster) if line else None
        if edited is not None:
            by_number[change.line_number] = edited
        elif line is None:
            message = f"the claim has no line {change.line_number}; fix: name one of its lines"
            findings.append(
                Finding(field=f"changes.lines[{number}].line_number", code="correction.no_such_line", message=message)
            )
        else:
            message = "no charge in the chargemaster for this code"
            findings.append(
                Finding(field=f"changes.lines[{number}].procedure_code", code="price.missing", message=message)
            )
    return tuple(by_number.values()), findings


def _edited(line: ServiceLine, change: LineChange, chargemaster: Mapping[str, Decimal]) -> ServiceLine | None:
    """The line with the change applied, repriced when its code or units change; None when the code has no price."""
    units = Decimal(change.units) if change.units is not None else line.units
    edit: dict[str, object] = {"units": units}
    if change.procedure_code is not None:
        edit["procedure_code"] = change.procedure_code
    if change.modifiers is not None:
        edit["modifiers"] = tuple(change.modifiers)
    if change.diagnosis_pointers is not None:
        edit["diagnosis_pointers"] = tuple(change.diagnosis_pointers)
    if change.procedure_code is not None or change.units is not None:
        unit_charge = chargemaster.get(change.procedure_code or line.procedure_code)
        if unit_charge is None:
            return None
        edit["charge"] = (unit_charge * units).quantize(Decimal("0.01"))
    return line.model_copy(update=edit)


def secondary(
    original: Claim,
    claim_id: uuid.UUID,
    patient: PatientRegisteredV1,
    coverage: Coverage,
    primary_paid: Decimal,
    adjustments: Sequence[events.Adjustment],
    paid_date: date | None,
    primary_number: str | None,
    filing_indicators: Mapping[str, str] | None = None,
) -> Claim:
    """The claim billed to the secondary payer: the primary becomes loop 2320 with what it paid and why
    the rest was not paid (claim-level CAS), so the secondary can coordinate benefits. Each payer
    keeps its own claim filing indicator: the primary's in 2320, the secondary's in 2000B."""
    primary = OtherPayer(
        responsibility="P",
        relationship_code="18" if original.patient is None else "G8",
        group_number=original.subscriber.group_number,
        subscriber_first_name=original.subscriber.first_name,
        subscriber_last_name=original.subscriber.last_name,
        member_id=original.subscriber.member_id,
        payer=original.payer,
        paid=primary_paid,
        adjudication_date=paid_date,
        adjustments=tuple(
            Adjustment(group=a.group_code if a.group_code != "CR" else "OA", reason=a.reason_code, amount=a.amount)
            for a in adjustments
            if a.amount
        ),
        payer_claim_control_number=primary_number,
    )
    return original.model_copy(
        update={
            "patient_control_number": patient_control_number(claim_id),
            "subscriber": subscriber_of(patient, coverage),
            "patient": dependent_of(patient, coverage),
            "payer": payer_of(coverage, filing_indicators or {}),
            "payer_responsibility": "S",
            "other_payers": (primary,),
            "frequency_code": "1",
            "payer_claim_control_number": None,
        }
    )
