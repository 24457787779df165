"""Claims that follow a sent one: the corrected replacement (7) or void (8) A/R asks for or the
EHR's correction or void of a billed encounter makes, and the claim to the secondary payer once the
primary has paid. Pure: no I/O.

Each is made once per request: its id is derived from the original and the purpose, so a repeated
request finds it already made. One that cannot be built, or that the scrubber finds fault with,
is held in the work queue like an original."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.claims.domain.assembly import (
    assemble,
    correction,
    correction_claim_id,
    coverage_of,
    derived_claim_id,
    secondary,
)
from services.claims.domain.scrubber import scrub
from shared.contracts.events import (
    ClaimCorrectionRequestedV1,
    EncounterCodedV1,
    Finding,
    PatientRegisteredV1,
    SecondaryClaimRequestedV1,
)
from x12.claim import Claim

ORIGINAL_UNKNOWN = Finding(
    field="claim_id",
    code="original.unknown",
    message="no sent claim with this id; fix: check the claim id of the request",
)
NO_SECONDARY = Finding(
    field="coverages[secondary]",
    code="coverage.no_secondary",
    message="no secondary coverage active on the date of service; fix: register the secondary coverage or bill the patient",
)


@dataclass(frozen=True)
class FollowUp:
    """The follow-up claim a request makes: `claim` when it could be built (even if then held by the
    scrubber), the findings that hold it."""

    claim_id: UUID
    kind: str  # replacement | void | secondary
    claim: Claim | None
    findings: list[Finding]

    @property
    def held(self) -> bool:
        return bool(self.findings)


def correction_target(request: ClaimCorrectionRequestedV1) -> tuple[str, UUID]:
    """(kind, id) of the claim a correction request makes."""
    kind = "replacement" if request.frequency_code == "7" else "void"
    return kind, correction_claim_id(request.claim_id, kind, request.payer_claim_control_number, request.changes)


def secondary_target(request: SecondaryClaimRequestedV1) -> UUID:
    return derived_claim_id(request.claim_id, "secondary")


def corrected(
    request: ClaimCorrectionRequestedV1, original: Claim | None, chargemaster: Mapping[str, Decimal], today: date
) -> FollowUp:
    """The replacement (with the changes A/R asked for) or void of the sent claim `original`."""
    kind, claim_id = correction_target(request)
    if original is None:
        return FollowUp(claim_id, kind, None, [ORIGINAL_UNKNOWN])
    changes = request.changes if request.frequency_code == "7" else None
    claim, findings = correction(
        original, claim_id, request.frequency_code, request.payer_claim_control_number, changes, chargemaster
    )
    return _scrubbed(claim_id, kind, claim, findings, today)


def to_secondary(
    request: SecondaryClaimRequestedV1,
    original: Claim | None,
    patient: PatientRegisteredV1 | None,
    date_of_service: date | None,
    today: date,
    filing_indicators: Mapping[str, str] | None = None,
) -> FollowUp:
    """The sent claim `original` (of `date_of_service`) billed to the patient's secondary coverage
    of that date (`filing_indicators`: payer id -> SBR09, from the payer directory)."""
    claim_id = secondary_target(request)
    if original is None or date_of_service is None:
        return FollowUp(claim_id, "secondary", None, [ORIGINAL_UNKNOWN])
    coverage = coverage_of(patient, "secondary", date_of_service) if patient else None
    if patient is None or coverage is None:
        return FollowUp(claim_id, "secondary", None, [NO_SECONDARY])
    claim = secondary(
        original,
        claim_id,
        patient,
        coverage,
        request.primary_paid,
        request.primary_adjustments,
        request.primary_paid_date,
        request.primary_payer_claim_control_number,
        filing_indicators,
    )
    return _scrubbed(claim_id, "secondary", claim, [], today)


ORIGINAL_REJECTED = Finding(
    field="claim_id",
    code="original.rejected",
    message="the EHR corrected or voided an encounter of a claim the payer rejected, so there is nothing to "
    "replace; fix: correct the rejected claim in the work queue and bill it as a new claim",
)


def revision_target(original_id: UUID, encounter_id: str, version: int) -> UUID:
    """The claim an EHR's version of an encounter makes of the billed claim: one per version."""
    return derived_claim_id(original_id, f"ehr:{encounter_id}:v{version}")


def revised(
    original: Claim,
    original_id: UUID,
    payer_claim_control_number: str,
    encounters: Sequence[EncounterCodedV1],
    patient: PatientRegisteredV1,
    chargemaster: Mapping[str, Decimal],
    claim_id: UUID,
    today: date,
) -> FollowUp:
    """What an EHR's correction or void does to a claim the payer has (`original`, billed as
    `original_id`): a replacement (7) billing `encounters`, the claim's encounters as they stand now,
    re-assembled and repriced; a void (8) when none is left to bill."""
    if not encounters:
        void, _ = correction(original, claim_id, "8", payer_claim_control_number)
        return _scrubbed(claim_id, "void", void, [], today)
    same_plan = {original.payer.id: original.payer.claim_filing_indicator or "CI"}  # SBR09 as first billed
    assembly = assemble(encounters, patient, chargemaster, same_plan)
    if assembly.claim is None:
        return FollowUp(claim_id, "replacement", None, assembly.findings)
    replacement, _ = correction(assembly.claim, claim_id, "7", payer_claim_control_number)
    return _scrubbed(claim_id, "replacement", replacement, [], today)


def held_revision(claim_id: UUID) -> FollowUp:
    """The revision of a claim the payer rejected: held for a person."""
    return FollowUp(claim_id, "replacement", None, [ORIGINAL_REJECTED])


def _scrubbed(claim_id: UUID, kind: str, claim: Claim | None, findings: list[Finding], today: date) -> FollowUp:
    return FollowUp(claim_id, kind, claim, scrub(claim, today) if claim else findings)
