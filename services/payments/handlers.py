"""claim.submitted -> the payments service's own record of the claim, so 835 payments can be matched."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.posting import post_unmatched
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.envelope import Event
from shared.service import Service


def register(service: Service) -> None:
    @service.consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1)
    async def on_claim_submitted(session: AsyncSession, event: Event[ClaimSubmittedV1]) -> None:
        claim = event.data
        await db.lock_matching(session)
        table = db.KnownClaim.__table__
        values = dict(
            claim_id=claim.claim_id,
            patient_control_number=claim.patient_control_number,
            payer_id=claim.payer_id,
            payer_name=claim.payer_name,
            date_of_service=claim.date_of_service,
            total_charge=claim.total_charge,
            line_numbers=[line.line_number for line in claim.lines],
            correlation_id=event.correlation_id,
        )
        stored = await session.execute(insert(table).values(**values).on_conflict_do_nothing().returning(table.c.claim_id))
        if stored.first() is not None:
            await post_unmatched(session, db.KnownClaim(**values))
