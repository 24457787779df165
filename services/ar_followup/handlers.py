"""claim.submitted opens a claim's ledger with its charge; payment.posted adds payments,
adjustments and patient responsibility. Either may arrive first."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.ledger import balances, posting_entries, status
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1, PaymentPostedV1
from shared.envelope import Event
from shared.service import Service


async def claim_row(session: AsyncSession, claim_id: UUID) -> db.ArClaim:
    claim = await session.get(db.ArClaim, claim_id, with_for_update=True)
    if claim is None:
        claim = db.ArClaim(claim_id=claim_id, status="awaiting_claim")
        session.add(claim)
    return claim


async def refresh_status(session: AsyncSession, claim: db.ArClaim) -> None:
    await session.flush()
    claim.status = status(claim.submitted_at is not None, claim.adjudicated, claim.denied,
                          balances(await db.totals_by_kind(session, claim.claim_id)))


def register(service: Service) -> None:
    @service.consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1)
    async def on_claim_submitted(session: AsyncSession, event: Event[ClaimSubmittedV1]) -> None:
        submitted = event.data
        claim = await claim_row(session, submitted.claim_id)
        claim.patient_id, claim.payer_id, claim.payer_name = submitted.patient_id, submitted.payer_id, submitted.payer_name
        claim.date_of_service, claim.submitted_at = submitted.date_of_service, submitted.submitted_at
        session.add(db.LedgerEntry(claim_id=claim.claim_id, source_event_id=event.id, kind="charge",
                                   amount=submitted.total_charge))
        await refresh_status(session, claim)

    @service.consumes(topics.PAYMENT_POSTED, PaymentPostedV1)
    async def on_payment_posted(session: AsyncSession, event: Event[PaymentPostedV1]) -> None:
        posting = event.data
        claim = await claim_row(session, posting.claim_id)
        claim.adjudicated, claim.denied = True, posting.denied
        for kind, amount in posting_entries(posting):
            session.add(db.LedgerEntry(claim_id=claim.claim_id, source_event_id=event.id, kind=kind, amount=amount))
        await refresh_status(session, claim)
