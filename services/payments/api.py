"""Payments' HTTP API: received 835 files, the work queue, and patient payments and refunds. Who may
call each route is PERMISSIONS; every read and change of a patient's payments is in the audit
trail (shared/audit.py). The work queue names claims by control number, never a patient.

Whoever moves money is the caller's token, kept with the payment, the refund or the posting. A refund
above RCM_REFUND_APPROVAL_THRESHOLD is answered 202 with a pending refund request; a supervisor other
than the requester approves it (and it is recorded then, if the payment still has that much left) or
refuses it."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.payments import db
from services.payments import patient_payments as pp
from services.payments.domain.patient_payments import ZERO, PatientPaymentError
from services.payments.matching import CannotPost, post_to_claim
from services.payments.settings import PaymentsSettings
from shared.api import MAX_BIGINT, Cursor, RowId, SessionDep, get_settings
from shared.audit import Action, TrailDep
from shared.security import (
    ANALYTICS_READER,
    AR_SPECIALIST,
    BILLER,
    FRONT_DESK,
    OVERSIGHT,
    SUPERVISOR,
    forbidden,
    permissions,
)

router = APIRouter(prefix="/v1")
# The front desk takes a patient's payment; a refund (money out) is A/R's or a supervisor's.
PATIENT_DESK = OVERSIGHT | {FRONT_DESK, AR_SPECIALIST}
PERMISSIONS = permissions({
    "GET /v1/stats": OVERSIGHT | {BILLER, AR_SPECIALIST, ANALYTICS_READER},
    "GET /v1/work-queue": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "POST /v1/work-queue/{item_id}/post": {BILLER, AR_SPECIALIST},
    "GET /v1/work-queue/{item_id}/candidates": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "GET /v1/claims/{claim_id}/payments": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "POST /v1/patients/{patient_id}/payments": {FRONT_DESK, AR_SPECIALIST},
    "POST /v1/patient-payments/{payment_id}/refunds": {AR_SPECIALIST, SUPERVISOR},
    "GET /v1/refunds": OVERSIGHT | {AR_SPECIALIST},
    "POST /v1/refunds/{refund_id}/{decision}": {SUPERVISOR},
    "GET /v1/patient-payments/{payment_id}": PATIENT_DESK,
    "GET /v1/patients/{patient_id}/balance": PATIENT_DESK,
})  # fmt: skip
Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 ._/-]+$")
]
Method = Literal["cash", "check", "card", "ach", "other"]
SettingsDep = Annotated[PaymentsSettings, Depends(get_settings)]


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
async def work_queue(
    session: SessionDep,
    trail: TrailDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_BIGINT, description="The last item id of the previous page.")
    ] = None,
) -> list[dict]:
    """Open items, oldest first: payments whose claim is not known, payer lines that matched none of the
    claim's; each with what the payer said (`payment`). A Link header (rel="next") names the next page."""
    items = await db.open_work_items(session, limit + 1, after)
    page = items[:limit]
    if len(items) > limit:
        response.headers["Link"] = f'</v1/work-queue?limit={limit}&after={page[-1].item_id}>; rel="next"'
    payments = await db.claim_payments(session, {item.posting_id for item in page})
    # each item names a claim (our control number, the claim when known): an access to its patient's data
    patients = await db.patients_of_claims(session, {item.claim_id for item in page if item.claim_id})
    await trail.search(session, "PaymentReconciliation",
                       [(item.posting_id, patients.get(item.claim_id) if item.claim_id else None) for item in page])  # fmt: skip
    return [item.model_dump(mode="json") | {"payment": _said(payments.get(item.posting_id))} for item in page]


def _said(record: db.ClaimPaymentRecord | None) -> dict | None:
    """What the payer's 835 said of the payment, without the patient (names stay out of work queues)."""
    if record is None:
        return None
    claim, header = record.claim_payment, record.remittance_header
    return {
        "status": record.status,
        "claim_status": claim.get("status"),
        "charge": claim.get("charge"),
        "paid": claim.get("paid"),
        "patient_responsibility": claim.get("patient_responsibility"),
        "payer_claim_control_number": claim.get("payer_claim_control_number"),
        "payer": (header.get("payer") or {}).get("name"),
        "payer_id": (header.get("payer") or {}).get("id"),
        "trace_number": (header.get("payment") or {}).get("trace_number"),
        "payment_date": (header.get("payment") or {}).get("date"),
        "services": [
            {"procedure_code": s.get("procedure_code"), "charge": s.get("charge"), "paid": s.get("paid")}
            for s in claim.get("services", [])
        ],
    }


@router.get("/work-queue/{item_id}/candidates")
async def candidates(item_id: RowId, session: SessionDep, trail: TrailDep) -> dict:
    """The claims an unmatched payment is most likely for: the payer's, of the amount it answered, unpaid."""
    item = await session.get(db.WorkItem, item_id)
    record = (await db.claim_payments(session, {item.posting_id})).get(item.posting_id) if item else None
    said = _said(record)
    if item is None or said is None or item.kind != "unmatched_claim":
        raise HTTPException(404, "no unmatched payment with this id")
    found = await db.unpaid_claims_like(session, said["payer_id"] or "", Decimal(said["charge"]), 20)
    await trail.search(session, "Claim", [(c.claim_id, c.patient_id) for c in found])
    return {"claims": [c.model_dump(mode="json", include={"claim_id", "patient_control_number", "payer_id",
                                                           "payer_name", "date_of_service", "total_charge"})
                       for c in found]}  # fmt: skip


class PostToClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_id: UUID = Field(description="The claim the payment is for (one payments knows: it was sent).")


@router.post("/work-queue/{item_id}/post")
async def post_unmatched(item_id: RowId, body: PostToClaim, session: SessionDep, trail: TrailDep) -> dict:
    """A payment whose claim nobody could match, posted to the claim a person chose (409 once posted)."""
    try:
        async with session.begin():
            posted = await post_to_claim(session, item_id, body.claim_id, trail.principal)
            await trail.change(session, Action.UPDATE, "post-to-claim", "PaymentReconciliation",
                               posted.record.posting_id, posted.claim.patient_id)  # fmt: skip
    except CannotPost as refused:
        raise HTTPException(refused.status, refused.reason) from None
    return {"posting_id": str(posted.record.posting_id), "claim_id": str(posted.claim.claim_id),
            "paid": str(posted.record.paid), "status": posted.record.status}  # fmt: skip


@router.get("/claims/{claim_id}/payments")
async def claim_payments(claim_id: UUID, session: SessionDep, trail: TrailDep) -> dict:
    """The claim's payments as posted: each with its 835 file, check or EFT, amounts and the payer's status."""
    claim = await db.known_claim(session, claim_id)
    if claim is None:
        raise HTTPException(404, "payments knows no such claim")
    postings = await db.postings_of(session, claim_id)
    await trail.read(session, "Claim", claim_id, claim.patient_id)
    return {
        "claim_id": str(claim_id),
        "postings": [
            {k: v for k, v in (_said(record) or {}).items() if k != "services"}
            | {
                "posting_id": str(record.posting_id),
                "file_name": era.file_name,
                "received_at": era.received_at.isoformat() if era.received_at else None,
                "posted_at": record.posted_at.isoformat() if record.posted_at else None,
                "paid": str(record.paid),
                "patient_responsibility": str(record.patient_responsibility),
            }
            for record, era in postings
        ],
    }


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
                trail.principal,
            )
        except PatientPaymentError as exc:
            raise _refused(exc) from None
        if event.patient_id != patient_id:
            raise HTTPException(409, "Idempotency-Key already used")
        await trail.change(session, Action.CREATE, "payment", "PatientPayment", event.payment_id, patient_id)
    return event.model_dump(mode="json")


@router.post("/patient-payments/{payment_id}/refunds", status_code=201, response_model=None,
             responses={202: {"description": "Above the threshold: a refund request waiting for a second person."}})  # fmt: skip
async def refund_patient_payment(
    session: SessionDep,
    settings: SettingsDep,
    trail: TrailDep,
    payment_id: UUID,
    body: RefundIn,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict | JSONResponse:
    refund_id = pp.request_id(idempotency_key, payment_id)
    async with session.begin():
        source = await db.patient_payment(session, payment_id)
        if source is None:
            raise HTTPException(404, "no such patient payment")
        done = await db.patient_payment(session, refund_id)  # the same request again, approved meanwhile
        try:
            if done is None and body.amount > settings.refund_approval_threshold:
                request = await pp.ask_refund(session, refund_id, source, body.amount, body.method, body.reference,
                                              trail.principal)  # fmt: skip
                await trail.change(session, Action.CREATE, "refund-request", "PatientPayment", refund_id,
                                   source.patient_id)  # fmt: skip
                return JSONResponse(_request(request), status_code=202)
            event = await pp.record_refund(session, refund_id, source, body.amount, body.method, body.reference,
                                           trail.principal)  # fmt: skip
        except PatientPaymentError as exc:
            raise _refused(exc) from None
        await trail.change(session, Action.CREATE, "refund", "PatientPayment", event.payment_id, source.patient_id)
    return event.model_dump(mode="json")


def _request(request: db.RefundRequest) -> dict:
    return request.model_dump(mode="json")


@router.get("/refunds")
async def refund_requests(
    session: SessionDep,
    trail: TrailDep,
    status: Literal["pending", "approved", "refused"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> dict:
    """Refund requests by status, oldest first (pending: what waits for a supervisor's approval)."""
    found = await db.refund_requests(session, status, limit + 1, _refund_position(cursor) if cursor else None)
    page = found[:limit]
    await trail.search(session, "PatientPayment", [(r.refund_id, r.patient_id) for r in page])
    last = page[-1] if len(found) > limit else None
    return {"items": [_request(r) for r in page],
            "next": f"{last.requested_at.isoformat()}|{last.refund_id}" if last else None}  # fmt: skip


def _refund_position(cursor: str) -> tuple[datetime, UUID]:
    moment, _, refund_id = cursor.partition("|")
    try:
        return datetime.fromisoformat(moment), UUID(refund_id)
    except ValueError:
        raise HTTPException(422, [{"loc": ["query", "cursor"], "msg": "not a cursor this list gave out",
                                   "type": "value_error"}]) from None  # fmt: skip


@router.post("/refunds/{refund_id}/{decision}")
async def decide_refund(refund_id: UUID, decision: Literal["approve", "refuse"], session: SessionDep,
                        trail: TrailDep) -> dict:  # fmt: skip
    """A supervisor's decision on a refund above the threshold: never the requester's own (four eyes). An
    approval records the refund (409 when the payment has less left to refund by now)."""
    async with session.begin():
        request = await db.refund_request(session, refund_id, for_update=True)
        if request is None:
            raise HTTPException(404, "no such refund request")
        try:
            await pp.decide_refund(session, request, decision == "approve", trail.principal)
        except pp.NotAllowed as exc:
            raise forbidden(str(exc)) from None
        except (pp.AlreadyDecided, PatientPaymentError) as exc:
            raise HTTPException(409, str(exc)) from None
        await trail.change(session, Action.UPDATE, f"refund-{decision}", "PatientPayment", refund_id,
                           request.patient_id)  # fmt: skip
        return _request(request)


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
