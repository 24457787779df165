"""A person posts a claim payment nobody could match (the payer's claim number names no claim of ours:
a typo at the payer, a claim billed under another number) to the claim they chose. The payment is
posted as if it had matched (payment.posted for A/R, its lines matched by REF*6R or code) and its
work item resolved, in one transaction under the matching lock; a payment posted meanwhile, or a
claim whose billed amount is not the one the payer answered, is refused with the reason."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.domain.posting import PlannedPayment, post_late
from services.payments.posting import publish
from shared.auth import Principal
from x12.remittance import ClaimPayment, Remittance


class CannotPost(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Posted:
    record: db.ClaimPaymentRecord
    claim: db.KnownClaim


async def post_to_claim(session: AsyncSession, item_id: int, claim_id: UUID, by: Principal) -> Posted:
    await db.lock_matching(session)
    item = await db.work_item_for_update(session, item_id)
    if item is None:
        raise CannotPost(404, "no such work item")
    if item.kind != "unmatched_claim" or item.resolved_at is not None:
        raise CannotPost(409, "the payment is posted already (someone matched it, or its claim arrived)")
    record = await db.claim_payment_for_update(session, item.posting_id)
    claim = await db.known_claim(session, claim_id)
    if record is None or record.status != "unmatched":
        raise CannotPost(409, "the payment is posted already (someone matched it, or its claim arrived)")
    if claim is None:
        raise CannotPost(422, "payments knows no such claim: only a claim that was sent can be paid")
    payment = ClaimPayment.model_validate(record.claim_payment)
    if payment.charge != claim.total_charge:
        raise CannotPost(422, f"the payer answered a charge of {payment.charge}, the claim billed "
                              f"{claim.total_charge}: choose the claim this payment is for")  # fmt: skip
    now = datetime.now(UTC)
    remittance = Remittance.model_validate({**record.remittance_header, "claims": ()})
    await publish(session, post_late([PlannedPayment(record.posting_id, remittance, payment, db.as_known(claim))], now))
    record.status, record.claim_id, record.posted_at = "posted", claim.claim_id, now
    item.claim_id, item.resolved_at = claim.claim_id, now
    item.resolved_by, item.resolved_by_name = by.subject, by.display_name
    return Posted(record, claim)
