"""Patient payments and refunds: stored, applied to open patient balances and announced on
patient-payment.posted in one transaction, one patient at a time (advisory lock), each with the person
who moved the money. A refund above the threshold waits for a second person (a refund request): the
approval records it, re-checking what is left of the payment under the same lock."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import db
from services.payments.domain.patient_payments import (
    ZERO,
    PatientPaymentError,
    apply_payment,
    plan_refund,
    refundable_and_credit,
)
from shared import outbox
from shared.auth import Principal
from shared.contracts import topics
from shared.contracts.events import PatientPaymentApplication, PatientPaymentPostedV1
from shared.envelope import Event

SOURCE = "/openrcm/payments"


async def credit_of(
    session: AsyncSession, payment: db.PatientPayment
) -> tuple[Decimal, Decimal, list[tuple[UUID, Decimal]]]:
    """(refundable, unapplied credit, net applied per claim in order) of one patient payment."""
    refunded = await db.refunded(session, payment.payment_id)
    return refundable_and_credit(payment.amount, refunded, await db.net_applied(session, payment.payment_id))


async def record_payment(
    session: AsyncSession,
    payment_id: UUID,
    patient_id: UUID,
    amount: Decimal,
    method: str,
    reference: str | None,
    claim_id: UUID | None,
    by: Principal,
) -> PatientPaymentPostedV1:
    await db.lock_patient(session, patient_id)
    existing = await db.patient_payment(session, payment_id)
    if existing is not None:  # the same request again (Idempotency-Key)
        return await describe(session, existing)
    applied = apply_payment(amount, await db.open_balances(session, patient_id), claim_id)
    payment = db.PatientPayment(
        payment_id=payment_id,
        patient_id=patient_id,
        kind="payment",
        amount=amount,
        method=method,
        reference=reference,
        received_at=datetime.now(UTC),
        recorded_by=by.subject,
        recorded_by_name=by.display_name,
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
    by: Principal,
) -> PatientPaymentPostedV1:
    await db.lock_patient(session, source.patient_id)
    existing = await db.patient_payment(session, refund_id)
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
        recorded_by=by.subject,
        recorded_by_name=by.display_name,
    )
    session.add(refund)
    session.add_all(
        db.PaymentApplication(payment_id=refund_id, source_payment_id=source.payment_id, claim_id=c, amount=a)
        for c, a in taken
    )
    from_claims = -sum((a for _, a in taken), ZERO)
    return await _announce(session, refund, taken, credit - (amount - from_claims))


class NotAllowed(PermissionError):
    """This caller may not decide this refund, whatever their roles (HTTP 403)."""


class AlreadyDecided(ValueError):
    """The refund request was approved or refused before (HTTP 409)."""


async def ask_refund(
    session: AsyncSession,
    refund_id: UUID,
    source: db.PatientPayment,
    amount: Decimal,
    method: str | None,
    reference: str | None,
    by: Principal,
) -> db.RefundRequest:
    """A refund above the threshold: kept for a second person (what is left to refund checked now, and again then)."""
    await db.lock_patient(session, source.patient_id)
    existing = await db.refund_request(session, refund_id)
    if existing is not None:  # the same request again (Idempotency-Key)
        return existing
    if source.kind != "payment":
        raise PatientPaymentError("payment_id", "only a payment can be refunded")
    refundable, credit, applied = await credit_of(session, source)
    plan_refund(amount, refundable, credit, applied)  # refuses more than is left
    request = db.RefundRequest(
        refund_id=refund_id,
        payment_id=source.payment_id,
        patient_id=source.patient_id,
        amount=amount,
        method=method,
        reference=reference,
        status="pending",
        requested_by=by.subject,
        requested_by_name=by.display_name,
        requested_at=datetime.now(UTC),
    )
    session.add(request)
    return request


async def decide_refund(
    session: AsyncSession, request: db.RefundRequest, approve: bool, by: Principal
) -> PatientPaymentPostedV1 | None:
    """Four eyes: a person (not a machine) other than the requester. Approved, the refund is recorded now
    (PatientPaymentError when the payment has less left than it gives back)."""
    if request.status != "pending":
        raise AlreadyDecided(f"the refund is already {request.status}")
    if by.machine:
        raise NotAllowed("a refund is approved by a person, not a machine or the API key")
    if by.is_subject(request.requested_by):
        raise NotAllowed("a refund above the threshold needs a second person's approval")
    event = None
    if approve:
        source = await db.patient_payment(session, request.payment_id)
        assert source is not None  # a request is made for a stored payment, and payments are never deleted
        event = await record_refund(session, request.refund_id, source, request.amount, request.method,
                                    request.reference, by)  # fmt: skip
    request.status = "approved" if approve else "refused"
    request.decided_by, request.decided_by_name, request.decided_at = by.subject, by.display_name, datetime.now(UTC)
    return event


async def describe(session: AsyncSession, payment: db.PatientPayment) -> PatientPaymentPostedV1:
    applications = await db.applications_of(session, payment.payment_id)
    source = payment if payment.kind == "payment" else await db.patient_payment(session, payment.refund_of)
    _, unapplied, _ = await credit_of(session, source)
    return _event(payment, applications, unapplied)


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
