"""Patient payments and refunds: stored, applied to open patient balances and announced on
patient-payment.posted in one transaction, one patient at a time (advisory lock)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.domain.patient_payments import ZERO, OpenBalance, PatientPaymentError, apply_payment, plan_refund
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import PatientPaymentApplication, PatientPaymentPostedV1
from shared.envelope import Event

SOURCE = "/openrcm/payments"


async def open_balances(session: AsyncSession, patient_id: UUID) -> list[OpenBalance]:
    """Every claim of the patient with what the payers made the patient owe and what is still unpaid."""
    owed = (
        select(db.ClaimPaymentRecord.claim_id, func.sum(db.ClaimPaymentRecord.patient_responsibility).label("owed"))
        .where(db.ClaimPaymentRecord.status == "posted")
        .group_by(db.ClaimPaymentRecord.claim_id)
        .subquery()
    )
    paid = (
        select(db.PaymentApplication.claim_id, func.sum(db.PaymentApplication.amount).label("paid"))
        .group_by(db.PaymentApplication.claim_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            db.KnownClaim.claim_id,
            db.KnownClaim.date_of_service,
            func.coalesce(owed.c.owed, 0) - func.coalesce(paid.c.paid, 0),
        )
        .outerjoin(owed, owed.c.claim_id == db.KnownClaim.claim_id)
        .outerjoin(paid, paid.c.claim_id == db.KnownClaim.claim_id)
        .where(db.KnownClaim.patient_id == patient_id)
    )
    return [OpenBalance(claim_id, dos, Decimal(balance)) for claim_id, dos, balance in rows.all()]


async def credit_of(
    session: AsyncSession, payment: db.PatientPayment
) -> tuple[Decimal, Decimal, list[tuple[UUID, Decimal]]]:
    """(refundable, unapplied credit, net applied per claim in order) of one patient payment."""
    refunded = (
        await session.execute(
            select(func.coalesce(func.sum(db.PatientPayment.amount), 0)).where(
                db.PatientPayment.refund_of == payment.payment_id
            )
        )
    ).scalar_one()
    rows = (
        await session.execute(
            select(
                db.PaymentApplication.claim_id,
                func.sum(db.PaymentApplication.amount),
                func.min(db.PaymentApplication.application_id),
            )
            .where(db.PaymentApplication.source_payment_id == payment.payment_id)
            .group_by(db.PaymentApplication.claim_id)
            .order_by(func.min(db.PaymentApplication.application_id))
        )
    ).all()
    applied = [(claim_id, Decimal(amount)) for claim_id, amount, _ in rows if amount > 0]
    refundable = payment.amount + Decimal(refunded)
    return refundable, refundable - sum((a for _, a in applied), ZERO), applied


async def record_payment(
    session: AsyncSession,
    payment_id: UUID,
    patient_id: UUID,
    amount: Decimal,
    method: str,
    reference: str | None,
    claim_id: UUID | None,
) -> PatientPaymentPostedV1:
    await db.lock_patient(session, patient_id)
    existing = await session.get(db.PatientPayment, payment_id)
    if existing is not None:  # the same request again (Idempotency-Key)
        return await describe(session, existing)
    applied = apply_payment(amount, await open_balances(session, patient_id), claim_id)
    payment = db.PatientPayment(
        payment_id=payment_id,
        patient_id=patient_id,
        kind="payment",
        amount=amount,
        method=method,
        reference=reference,
        received_at=datetime.now(UTC),
    )
    session.add(payment)
    session.add_all(
        db.PaymentApplication(payment_id=payment_id, source_payment_id=payment_id, claim_id=c, amount=a)
        for c, a in applied
    )
    return await _announce(session, payment, applied, amount - sum((a for _, a in applied), ZERO))


async def record_refund(
    session: AsyncSession,
    refund_id: UUID,
    source: db.PatientPayment,
    amount: Decimal,
    method: str | None,
    reference: str | None,
) -> PatientPaymentPostedV1:
    await db.lock_patient(session, source.patient_id)
    existing = await session.get(db.PatientPayment, refund_id)
    if existing is not None:
        return await describe(session, existing)
    if source.kind != "payment":
        raise PatientPaymentError("payment_id", "only a payment can be refunded")
    refundable, credit, applied = await credit_of(session, source)
    taken = plan_refund(amount, refundable, credit, applied)
    refund = db.PatientPayment(
        payment_id=refund_id,
        patient_id=source.patient_id,
        kind="refund",
        refund_of=source.payment_id,
        amount=-amount,
        method=method or source.method,
        reference=reference,
        received_at=datetime.now(UTC),
    )
    session.add(refund)
    session.add_all(
        db.PaymentApplication(payment_id=refund_id, source_payment_id=source.payment_id, claim_id=c, amount=a)
        for c, a in taken
    )
    from_claims = -sum((a for _, a in taken), ZERO)
    return await _announce(session, refund, taken, credit - (amount - from_claims))


async def describe(session: AsyncSession, payment: db.PatientPayment) -> PatientPaymentPostedV1:
    rows = await session.execute(
        select(db.PaymentApplication.claim_id, db.PaymentApplication.amount)
        .where(db.PaymentApplication.payment_id == payment.payment_id)
        .order_by(db.PaymentApplication.application_id)
    )
    source = payment if payment.kind == "payment" else await session.get(db.PatientPayment, payment.refund_of)
    _, credit, _ = await credit_of(session, source)
    return _event(payment, rows.all(), credit)


async def _announce(
    session: AsyncSession, payment: db.PatientPayment, applied, unapplied: Decimal
) -> PatientPaymentPostedV1:
    event = _event(payment, applied, unapplied)
    outbox.stage(
        session, topics.PATIENT_PAYMENT_POSTED, Event(event, str(payment.patient_id), SOURCE, str(payment.payment_id))
    )
    return event


def _event(payment: db.PatientPayment, applied, unapplied: Decimal) -> PatientPaymentPostedV1:
    return PatientPaymentPostedV1(
        payment_id=payment.payment_id,
        patient_id=payment.patient_id,
        kind=payment.kind,
        refund_of=payment.refund_of,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        applications=[PatientPaymentApplication(claim_id=c, amount=a) for c, a in applied],
        unapplied=unapplied,
        received_at=payment.received_at,
    )


def request_id(key: str | None, scope: UUID) -> UUID:
    """A client's Idempotency-Key makes a retried request the same payment (per patient, or per
    refunded payment); without one, a new id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"openrcm:patient-payment:{scope}:{key}") if key else uuid.uuid4()
