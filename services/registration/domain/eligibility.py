"""Eligibility: the 270 for one coverage, and what its 271 means. Pure."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from shared.contracts.events import Coverage, EligibilityCheckedV1, Person
from x12.x270 import EligibilityRequest, Party, Subscriber
from x12.x271 import EligibilityResponse

CENT = Decimal("0.01")
Rank = Literal["primary", "secondary", "tertiary"]


def inquiry(
    check_id: UUID, patient: Person, coverage: Coverage, provider: Party, service_date: date
) -> EligibilityRequest:
    """The subscriber is the patient, or the coverage's subscriber when the patient is a dependant
    (the 270 then still names the subscriber's member id; 5010 payers find dependants by it). The
    check id is the trace (TRN02) and the 270's reference (BHT03)."""
    holder = coverage.subscriber if coverage.relationship != "self" and coverage.subscriber else patient
    return EligibilityRequest(
        trace_number=check_id.hex,
        payer=Party(coverage.payer_name, coverage.payer_id),
        provider=provider,
        subscriber=Subscriber(coverage.member_id, holder.first_name, holder.last_name, holder.birth_date, holder.sex),
        service_date=service_date,
    )


def check_reference(response: EligibilityResponse) -> str:
    """Which 270 an answer is about: the trace number of the member's level (our check id, echoed), or,
    when the payer refused the request whole (AAA at 2100A/2100B: no member level, no trace), the
    270's BHT03, which we also set to the check id. Such an answer ends the check: rejected."""
    return response.trace_number or response.reference


def checked(
    check_id: UUID, patient_id: UUID, rank: Rank, service_date: date, response: EligibilityResponse
) -> EligibilityCheckedV1:
    return EligibilityCheckedV1(
        check_id=check_id,
        patient_id=patient_id,
        coverage_rank=rank,
        payer_id=response.payer_id,
        service_date=service_date,
        active=response.active,
        plan_name=response.plan_name,
        copay=_money(response.copay),
        deductible_remaining=_money(response.deductible_remaining),
        coinsurance_percent=(response.coinsurance * 100).quantize(CENT) if response.coinsurance is not None else None,
        rejection_code=response.rejection_code,
        checked_at=datetime.now(UTC),
    )


def _money(value: Decimal | None) -> Decimal | None:
    return value.quantize(CENT) if value is not None else None
