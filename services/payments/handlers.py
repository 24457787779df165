"""claim.submitted -> the payments service's own record of the claim, so 835 payments can be matched."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.posting import post_waiting
from shared.contracts.events import ClaimSubmittedV1
from shared.envelope import Event


async def on_claims_submitted(session: AsyncSession, events: list[Event[ClaimSubmittedV1]], deps: None) -> None:
    await db.lock_matching(session)
    rows = {
        e.data.claim_id: dict(
            claim_id=e.data.claim_id,
            patient_control_number=e.data.patient_control_number,
            payer_id=e.data.payer_id,
            payer_name=e.data.payer_name,
            date_of_service=e.data.date_of_service,
            total_charge=e.data.total_charge,
            line_numbers=[line.line_number for line in e.data.lines],
            correlation_id=e.correlation_id,
            patient_id=e.data.patient_id,
            lines=[[line.line_number, line.procedure_code, line.modifiers] for line in e.data.lines],
            kind=e.data.kind,
            original_claim_id=e.data.original_claim_id,
            encounter_ids=e.data.encounter_ids or [e.data.encounter_id],
        )
        for e in events
    }
    if new := await db.add_known_claims(session, rows):
        await post_waiting(session, new)
