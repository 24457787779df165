"""claim.submitted opens a claim's ledger with its charge; payment.posted adds payments,
adjustments and patient responsibility. Either may arrive first. Set-wise per batch."""

from collections import defaultdict
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import db
from services.ar_followup.domain.ledger import balances, posting_entries, status
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1, PaymentPostedV1
from shared.envelope import Event
from shared.service import Service


async def lock_claims(session: AsyncSession, claim_ids: set[UUID]) -> dict[UUID, db.ArClaim]:
    """The claims' rows, created if new, locked in id order (so two batches cannot deadlock)."""
    ordered = sorted(claim_ids)
    await session.execute(
        insert(db.ArClaim.__table__).on_conflict_do_nothing(),
        [{"claim_id": claim_id, "status": "awaiting_claim", "adjudicated": False, "denied": False}
         for claim_id in ordered],
    )
    rows = await session.execute(
        select(db.ArClaim).where(db.ArClaim.claim_id.in_(ordered)).order_by(db.ArClaim.claim_id).with_for_update()
    )
    return {claim.claim_id: claim for claim in rows.scalars()}


async def refresh_statuses(session: AsyncSession, claims: dict[UUID, db.ArClaim]) -> None:
    await session.flush()
    totals: dict[UUID, dict[str, Decimal]] = defaultdict(dict)
    rows = await session.execute(
        select(db.LedgerEntry.claim_id, db.LedgerEntry.kind, func.sum(db.LedgerEntry.amount))
        .where(db.LedgerEntry.claim_id.in_(claims))
        .group_by(db.LedgerEntry.claim_id, db.LedgerEntry.kind)
    )
    for claim_id, kind, amount in rows.all():
        totals[claim_id][kind] = amount
    for claim_id, claim in claims.items():
        claim.status = status(claim.submitted_at is not None, claim.adjudicated, claim.denied,
                              balances(totals[claim_id]))


def register(service: Service) -> None:
    @service.consumes(topics.CLAIM_SUBMITTED, ClaimSubmittedV1)
    async def on_claims_submitted(session: AsyncSession, events: list[Event[ClaimSubmittedV1]]) -> None:
        claims = await lock_claims(session, {e.data.claim_id for e in events})
        for event in events:
            submitted, claim = event.data, claims[event.data.claim_id]
            claim.patient_id, claim.payer_id, claim.payer_name = submitted.patient_id, submitted.payer_id, submitted.payer_name
            claim.date_of_service, claim.submitted_at = submitted.date_of_service, submitted.submitted_at
            session.add(db.LedgerEntry(claim_id=claim.claim_id, source_event_id=event.id, kind="charge",
                                       amount=submitted.total_charge))
        await refresh_statuses(session, claims)

    @service.consumes(topics.PAYMENT_POSTED, PaymentPostedV1)
    async def on_payments_posted(session: AsyncSession, events: list[Event[PaymentPostedV1]]) -> None:
        claims = await lock_claims(session, {e.data.claim_id for e in events})
        for event in events:
            posting, claim = event.data, claims[event.data.claim_id]
            claim.adjudicated, claim.denied = True, posting.denied
            for kind, amount in posting_entries(posting):
                session.add(db.LedgerEntry(claim_id=claim.claim_id, source_event_id=event.id, kind=kind, amount=amount))
        await refresh_statuses(session, claims)
