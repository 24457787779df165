"""Payments' HTTP API: received 835 files, the work queue, and patient payments and refunds. Who may
call each route is PERMISSIONS; every read and change of a patient's payments is in the audit
trail (shared/audit.py). The work queue names claims by control number, never a patient."""

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.payments import db
from services.payments import patient_payments as pp
from services.payments.domain.patient_payments import ZERO, PatientPaymentError
from shared.api import SessionDep
from shared.audit import Action, TrailDep
from shared.security import ANALYTICS_READER, AR_SPECIALIST, BILLER, FRONT_DESK, OVERSIGHT, SUPERVISOR, permissions

router = APIRouter(prefix="/v1")
# The front desk takes a patient's payment; a refund (money out) is A/R's or a supervisor's.
PATIENT_DESK = OVERSIGHT | {FRONT_DESK, AR_SPECIALIST}
PERMISSIONS = permissions({
    "GET /v1/stats": OVERSIGHT | {BILLER, AR_SPECIALIST, ANALYTICS_READER},
    "GET /v1/work-queue": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "POST /v1/patients/{patient_id}/payments": {FRONT_DESK, AR_SPECIALIST},
    "POST /v1/patient-payments/{payment_id}/refunds": {AR_SPECIALIST, SUPERVISOR},
    "GET /v1/patient-payments/{payment_id}": PATIENT_DESK,
    "GET /v1/patients/{patient_id}/balance": PATIENT_DESK,
})  # fmt: skip
Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 ._/-]+$")
]
Method = Literal["cash", "check", "card", "ach", "other"]


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    method: Method
    reference: Reference | None = None
    claim_id: UUID | None = Field(default=None, description="Apply to this claim only; otherwise oldest first.")


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    method: Method | None = None
    reference: Reference | None = None


@router.get("/stats")
async def stats(session: SessionDep) -> dict:
    return await db.stats(session)


@router.get("/work-queue")
async def work_queue(session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    """Open items: payments whose claim is not known, payer lines that matched none of the claim's."""
    return [item.model_dump(mode="json") for item in await db.open_work_items(session, limit)]


def _refused(exc: PatientPaymentError) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}])


@router.post("/patients/{patient_id}/payments", status_code=201)
async def post_patient_payment(
    session: SessionDep,
    trail: TrailDep,
    patient_id: UUID,
    body: PaymentIn,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict:
    async with session.begin():
        try:
            event = await pp.record_payment(
                session,
                pp.request_id(idempotency_key, patient_id),
                patient_id,
                body.amount,
                body.method,
                body.reference,
                body.claim_id,
            )
        except PatientPaymentError as exc:
            raise _refused(exc) from None
        if event.patient_id != patient_id:
            raise HTTPException(409, "Idempotency-Key already used")
        await trail.change(session, Action.CREATE, "payment", "PatientPayment", event.payment_id, patient_id)
    return event.model_dump(mode="json")


@router.post("/patient-payments/{payment_id}/refunds", status_code=201)
async def refund_patient_payment(
    session: SessionDep,
    trail: TrailDep,
    payment_id: UUID,
    body: RefundIn,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict:
    async with session.begin():
        source = await db.patient_payment(session, payment_id)
        if source is None:
            raise HTTPException(404, "no such patient payment")
        try:
            event = await pp.record_refund(
                session, pp.request_id(idempotency_key, payment_id), source, body.amount, body.method, body.reference
            )
        except PatientPaymentError as exc:
            raise _refused(exc) from None
        await trail.change(session, Action.CREATE, "refund", "PatientPayment", event.payment_id, source.patient_id)
    return event.model_dump(mode="json")


@router.get("/patient-payments/{payment_id}")
async def get_patient_payment(session: SessionDep, trail: TrailDep, payment_id: UUID) -> dict:
    payment = await db.patient_payment(session, payment_id)
    if payment is None:
        raise HTTPException(404, "no such patient payment")
    described = await pp.describe(session, payment)
    await trail.read(session, "PatientPayment", payment_id, payment.patient_id)
    return described.model_dump(mode="json")


@router.get("/patients/{patient_id}/balance")
async def patient_balance(session: SessionDep, trail: TrailDep, patient_id: UUID) -> dict:
    """The patient's open claim balances (oldest first) and unapplied credit."""
    balances = await db.open_balances(session, patient_id)
    credit = sum([(await pp.credit_of(session, p))[1] for p in await db.patient_payments(session, patient_id)], ZERO)
    open_claims = sorted((b for b in balances if b.balance != ZERO), key=lambda b: (b.date_of_service, str(b.claim_id)))
    await trail.read(session, "Account", patient_id, patient_id)
    return {
        "claims": [
            {"claim_id": str(b.claim_id), "date_of_service": b.date_of_service.isoformat(), "balance": str(b.balance)}
            for b in open_claims
        ],
        "total_due": str(sum((b.balance for b in open_claims), ZERO)),
        "credit": str(credit),
    }
