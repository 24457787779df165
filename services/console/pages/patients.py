"""Patients: finding one (names and birth dates travel in a POST, never in a URL), and the patient's
account: coverages and the payers' eligibility answers, claims with their balances, what is owed by
whom, statements (the PDF), the payment plan, and the front desk taking a payment with a receipt."""

import asyncio
import secrets
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.backend import ServiceError
from services.console.domain import access, forms
from services.console.domain.formatting import money, parse_amount
from services.console.pages.common import Viewer, ViewerDep, attempt

router = APIRouter()


@router.get("/patients")
async def find(viewer: ViewerDep, cursor: str = "") -> Response:
    """The search form; for the front desk, also the encounters waiting for a patient to be registered."""
    if viewer.user.roles.isdisjoint(access.REGISTRARS):
        return viewer.render("patients_find.html", title="Find a patient", screen="patients", values={}, found=None)
    waiting, error = await attempt(viewer.get("claims", "/v1/encounters/waiting", cursor=cursor,
                                              limit=viewer.settings.page_size))  # fmt: skip
    return viewer.render("patients_find.html", title="Find a patient", screen="patients", values={}, found=None,
                         waiting=(waiting or {}).get("items", []), waiting_next=(waiting or {}).get("next"),
                         waiting_error=error, first=not cursor)  # fmt: skip


@router.get("/patients/{patient_id}")
async def account(viewer: ViewerDep, patient_id: UUID) -> Response:
    patient = await viewer.get("registration", f"/v1/patients/{patient_id}")
    parts = await asyncio.gather(
        _part(viewer, access.ACCOUNT_READERS, viewer.get("ar_followup", f"/v1/patients/{patient_id}/account")),
        _part(viewer, access.ACCOUNT_READERS, viewer.get("payments", f"/v1/patients/{patient_id}/balance")),
        *(_part(viewer, access.PATIENT_FINDERS, viewer.get("registration", f"/v1/eligibility/{e['check_id']}"))
          for e in patient.get("eligibility", {}).values()),
    )  # fmt: skip
    (ledger, _), (balance, _) = parts[0], parts[1]
    answers = {a["coverage_rank"]: a for a, _ in parts[2:] if a}
    return viewer.render("patient.html", title="Patient account", screen="patients", patient=patient,
                         ledger=ledger, balance=balance, answers=answers, gaps=[g for _, g in parts if g],
                         payment_key=secrets.token_urlsafe(18), values={}, problems={})  # fmt: skip


async def _part(viewer: Viewer, readers: frozenset[str], call: Any) -> tuple[Any, str]:
    if viewer.user.roles.isdisjoint(readers):
        call.close()  # never awaited: this role does not see this part
        return None, ""
    try:
        return await call, ""
    except ServiceError as failed:
        return None, "" if failed.status == 404 else f"{failed.title}. {failed.advice}"


@router.post("/patients/{patient_id}/payments")
async def take_payment(viewer: ViewerDep, patient_id: UUID) -> Response:
    form = {k: str(v) for k, v in (await viewer.request.form()).items() if k != "csrf_token"}
    read = forms.patient_payment(form)
    if not read.ok:
        viewer.notify("error", "No payment was taken: " + "; ".join(read.problems.values()) + ".")
        return viewer.back(f"/patients/{patient_id}")
    key = form.get("idempotency_key") or secrets.token_urlsafe(18)  # one form, one payment: a resubmit is the same
    try:
        paid = await viewer.post("payments", f"/v1/patients/{patient_id}/payments", read.body, {"Idempotency-Key": key})
    except ServiceError as failed:
        if failed.status in (409, 422):
            viewer.notify("error", f"No payment was taken: {failed.reason}.", failed.advice)
            return viewer.back(f"/patients/{patient_id}")
        raise
    viewer.notify("success", f"${money(paid['amount'])} received.", "Print the receipt for the patient.")
    return viewer.back(f"/patients/{patient_id}/receipts/{paid['payment_id']}")


@router.get("/patients/{patient_id}/receipts/{payment_id}")
async def receipt(viewer: ViewerDep, patient_id: UUID, payment_id: UUID) -> Response:
    paid = await viewer.get("payments", f"/v1/patient-payments/{payment_id}")
    if paid["patient_id"] != str(patient_id):
        raise ServiceError("payments", 404, "no such payment of this patient")
    patient = await viewer.get("registration", f"/v1/patients/{patient_id}")
    return viewer.render("receipt.html", title="Receipt", screen="patients", paid=paid, patient=patient)


@router.post("/patients/{patient_id}/payment-plan")
async def payment_plan(viewer: ViewerDep, patient_id: UUID) -> Response:
    text = str((await viewer.request.form()).get("installment") or "").strip()
    amount = parse_amount(text) if text else None
    if text and (amount is None or amount <= 0):
        viewer.notify("error", "The plan was not changed: the monthly amount must be dollars and cents, e.g. 50.00.")
        return viewer.back(f"/patients/{patient_id}")
    body = {"installment": str(amount) if amount else None}
    await viewer.backend.call(
        viewer.session, "ar_followup", "PUT", f"/v1/patients/{patient_id}/payment-plan", json=body
    )
    viewer.notify("success", f"Payment plan of ${money(amount)} a month set." if amount else "Payment plan ended.")
    return viewer.back(f"/patients/{patient_id}")


@router.post("/patients/{patient_id}/eligibility")
async def eligibility(viewer: ViewerDep, patient_id: UUID) -> Response:
    rank = str((await viewer.request.form()).get("rank") or "primary")
    try:
        await viewer.post("registration", f"/v1/patients/{patient_id}/eligibility", {"rank": rank})
    except ServiceError as failed:
        if failed.status in (404, 409, 422):
            viewer.notify("error", f"Eligibility was not asked: {failed.reason}.", failed.advice)
            return viewer.back(f"/patients/{patient_id}")
        raise
    viewer.notify("success", f"The {rank} payer was asked (X12 270).", "Its answer (271) shows here when it comes.")
    return viewer.back(f"/patients/{patient_id}")


@router.get("/statements/{statement_id}.pdf")
async def statement(viewer: ViewerDep, statement_id: UUID) -> Response:
    answer = await viewer.backend.call(viewer.session, "ar_followup", "GET", f"/v1/statements/{statement_id}.pdf")
    return Response(answer.content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="statement-{statement_id}.pdf"', "Cache-Control": "no-store"})  # fmt: skip
