"""A/R's HTTP API: the portfolio summary and ledgers, aging, the work queue and its actions,
write-offs with approval, patient accounts, payments, plans and statements, KPIs and the
follow-up cycle. `as_of` (where offered) runs the request as of another moment than now."""

import base64
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.ar_followup import actions, db, reports
from services.ar_followup.domain.dunning import Account, next_statement
from services.ar_followup.domain.ledger import balances
from services.ar_followup.domain.work import KINDS
from services.ar_followup.followup import run_cycle
from services.ar_followup.statements import account_of, patient_claims
from shared.contracts.events import ClaimChanges

router = APIRouter(prefix="/v1")
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Positive = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
AsOf = Annotated[datetime | None, Query(description="Run as of this moment (ISO 8601) instead of now.")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resolution(Body):
    action: Literal["correct", "void", "appeal", "write_off", "close"]
    by: Name
    note: str = Field(default="", max_length=200)
    changes: ClaimChanges | None = Field(default=None, description="What the replacement corrects (action correct).")


class Assignment(Body):
    owner: Name


class WriteOff(Body):
    party: Literal["insurance", "patient"]
    amount: Positive
    reason_code: Literal[
        "small_balance",
        "bad_debt",
        "charity",
        "timely_filing",
        "administrative",
        "contractual",
        "prompt_pay_discount",
        "other",
    ]
    requested_by: Name
    note: str = Field(default="", max_length=200)


class Decision(Body):
    by: Name


class PaymentPlan(Body):
    installment: Positive | None = Field(description="The monthly amount; null ends the plan.")


def _service(request: Request):
    return request.app.state.service


def _now(request: Request, as_of: datetime | None) -> datetime:
    return as_of or _service(request).settings.now()


def _unprocessable(loc: list[str], message: str):
    raise HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


def _money(value: dict) -> dict:
    return {k: str(v) for k, v in value.items()}


@router.get("/summary")
async def summary(request: Request) -> dict:
    async with _service(request).sessions() as session:
        by_status = dict(
            (
                await session.execute(
                    select(db.ArClaim.status, func.count())
                    .where(db.ArClaim.root_claim_id.is_(None))
                    .group_by(db.ArClaim.status)
                )
            ).all()
        )
        totals = balances(await db.totals_by_kind(session))
        open_items = (await session.execute(select(func.count()).where(db.WorkItem.status == "open"))).scalar()
    return {
        "claims": sum(by_status.values()),
        "by_status": by_status,
        "charged": str(totals.charge),
        "paid": str(totals.paid),
        "adjusted": str(totals.adjusted),
        "patient_responsibility": str(totals.patient_responsibility),
        "insurance_balance": str(totals.insurance_balance),
        "patient_paid": str(totals.patient_paid),
        "patient_balance": str(totals.patient_balance),
        "open_work_items": open_items,
    }


@router.get("/claims/{claim_id}")
async def claim_ledger(claim_id: UUID, request: Request) -> dict:
    async with _service(request).sessions() as session:
        claim = await session.get(db.ArClaim, claim_id)
        if claim is None:
            raise HTTPException(404, "no such claim")
        ledger_id = claim.root_claim_id or claim_id
        totals = (await db.totals_by_claim(session, [ledger_id]))[ledger_id]
        items = (
            (
                await session.execute(
                    select(db.WorkItem).where(db.WorkItem.claim_id == ledger_id).order_by(db.WorkItem.created_at)
                )
            )
            .scalars()
            .all()
        )
        ledger = await session.get(db.ArClaim, ledger_id)
    return {
        **claim.model_dump(mode="json"),
        "balances": _money(balances(totals).__dict__),
        "by_party": _money(reports.parties(ledger, totals)),
        "work_items": [i.model_dump(mode="json") for i in items],
    }


@router.get("/aging")
async def aging(
    request: Request,
    by: Literal["payer", "patient"] = "payer",
    basis: Literal["service", "submission"] = "service",
    as_of: AsOf = None,
) -> dict:
    async with _service(request).sessions() as session:
        report = await reports.aging_report(session, by, basis, _now(request, as_of).date())
    return {"by": by, "basis": basis, "as_of": _now(request, as_of).date().isoformat(), "groups": report}


@router.get("/work-queue")
async def work_queue(
    request: Request,
    kind: Literal[KINDS] | None = None,
    owner: str | None = None,  # type: ignore[valid-type]
    status: Literal["open", "resolved"] = "open",
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = Query(None, description="`next` of the previous page."),
    as_of: AsOf = None,
) -> dict:
    """Ranked by money × deadline urgency in the database, a page at a time: `next` is the cursor of
    the following page (null on the last). A cursor keeps the day its ranking was made on."""
    today, after = (_now(request, as_of).date(), None) if cursor is None else _read_cursor(cursor)
    async with _service(request).sessions() as session:
        total, page = await db.work_queue(session, today, status, kind, owner, limit + 1, after)
    more, page = len(page) > limit, page[:limit]
    return {
        "as_of": today.isoformat(),
        "count": total,
        "items": [
            {
                **i.model_dump(mode="json"),
                "priority": str(rank),
                "days_to_deadline": (i.due_date - today).days if i.due_date else None,
            }
            for i, rank in page
        ],
        "next": _cursor(today, *page[-1]) if more else None,
    }


def _cursor(today: date, item: db.WorkItem, rank: Decimal) -> str:
    position = [today.isoformat(), str(rank), item.due_date.isoformat() if item.due_date else None, str(item.item_id)]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _read_cursor(cursor: str) -> tuple[date, tuple[Decimal, date | None, UUID]]:
    try:
        today, rank, due, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return date.fromisoformat(today), (Decimal(rank), date.fromisoformat(due) if due else None, UUID(item_id))
    except (ValueError, TypeError, ArithmeticError):
        _unprocessable(["query", "cursor"], "not a cursor this work queue gave out")


async def _in_transaction(request: Request, work):
    try:
        async with _service(request).sessions() as session, session.begin():
            return await work(session)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except actions.Refused as exc:
        raise HTTPException(409, str(exc)) from None
    except IntegrityError:
        raise HTTPException(409, "already recorded") from None


@router.post("/work-queue/{item_id}/resolve")
async def resolve(item_id: UUID, body: Resolution, request: Request, as_of: AsOf = None) -> dict:
    settings = _service(request).settings
    if body.changes is not None and body.action != "correct":
        _unprocessable(["body", "changes"], f"a {body.action} carries no changes: only a correction (frequency 7) does")
    if body.changes is not None and not body.changes.model_dump(exclude_none=True, exclude_defaults=True):
        _unprocessable(["body", "changes"], "changes name nothing to correct")
    numbers = [line.line_number for line in body.changes.lines] if body.changes else []
    if twice := next((n for n, number in enumerate(numbers) if number in numbers[:n]), None):
        _unprocessable(["body", "changes", "lines", twice, "line_number"], f"line {numbers[twice]} is changed twice")
    item = await _in_transaction(
        request,
        lambda s: actions.resolve(
            s,
            item_id,
            body.action,
            body.by,
            body.note,
            _now(request, as_of),
            settings.ar_write_off_approval_threshold,
            body.changes,
        ),
    )
    return item.model_dump(mode="json")


@router.post("/work-queue/{item_id}/assign")
async def assign(item_id: UUID, body: Assignment, request: Request) -> dict:
    async def work(session):
        item = await session.get(db.WorkItem, item_id, with_for_update=True)
        if item is None:
            raise LookupError("no such work item")
        item.owner = body.owner
        return item.model_dump(mode="json")

    return await _in_transaction(request, work)


@router.post("/claims/{claim_id}/write-offs", status_code=201)
async def write_off(claim_id: UUID, body: WriteOff, request: Request, as_of: AsOf = None) -> dict:
    settings = _service(request).settings
    adjustment = await _in_transaction(
        request,
        lambda s: actions.request_write_off(
            s,
            claim_id,
            body.party,
            body.amount,
            body.reason_code,
            body.requested_by,
            body.note,
            _now(request, as_of),
            settings.ar_write_off_approval_threshold,
        ),
    )
    return adjustment.model_dump(mode="json")


@router.post("/write-offs/{adjustment_id}/{decision}")
async def decide(adjustment_id: UUID, decision: Literal["approve", "refuse"], body: Decision, request: Request) -> dict:
    adjustment = await _in_transaction(
        request, lambda s: actions.decide(s, adjustment_id, decision == "approve", body.by)
    )
    return adjustment.model_dump(mode="json")


@router.get("/patients/{patient_id}/account")
async def account(patient_id: UUID, request: Request, as_of: AsOf = None) -> dict:
    today = _now(request, as_of).date()
    async with _service(request).sessions() as session:
        row = await session.get(db.PatientAccount, patient_id)
        if row is None:
            raise HTTPException(404, "no such patient account")
        claims = (await patient_claims(session, [patient_id])).get(patient_id, [])
        statements = (
            (
                await session.execute(
                    select(db.Statement).where(db.Statement.patient_id == patient_id).order_by(db.Statement.issued_on)
                )
            )
            .scalars()
            .all()
        )
    state: Account = account_of(row, claims)
    owed = {"primary": Decimal("0.00"), "secondary": Decimal("0.00"), "patient": Decimal("0.00")}
    for claim, totals in claims:
        for party, amount in reports.parties(claim, totals).items():
            owed[party] += amount
    return {
        "patient_id": str(patient_id),
        "balance": str(state.balance),
        "by_party": _money(owed),
        "insurance_done": state.insurance_done,
        "payment_plan": str(row.plan_installment) if row.plan_installment else None,
        "last_stage": row.last_stage,
        "next_statement": next_statement(state, today),
        "claims": [
            {
                "claim_id": str(c.claim_id),
                "date_of_service": c.date_of_service.isoformat() if c.date_of_service else None,
                "status": c.status,
                **_money(balances(t).__dict__),
            }
            for c, t in claims
        ],
        "statements": [s.model_dump(mode="json", exclude={"document"}) for s in statements],
    }


@router.put("/patients/{patient_id}/payment-plan")
async def payment_plan(patient_id: UUID, body: PaymentPlan, request: Request) -> dict:
    async def work(session):
        row = await session.get(db.PatientAccount, patient_id, with_for_update=True)
        if row is None:
            raise LookupError("no such patient account")
        row.plan_installment = body.installment
        return {"patient_id": str(patient_id), "installment": str(body.installment) if body.installment else None}

    return await _in_transaction(request, work)


@router.get("/statements/{statement_id}.pdf")
async def statement_pdf(statement_id: UUID, request: Request) -> FileResponse:
    async with _service(request).sessions() as session:
        statement = await session.get(db.Statement, statement_id)
    if statement is None:
        raise HTTPException(404, "no such statement")
    return FileResponse(statement.document, media_type="application/pdf", filename=f"statement-{statement_id}.pdf")


@router.post("/cycle")
async def cycle(request: Request, as_of: AsOf = None) -> dict:
    """Run the follow-up cycle now: status requests, timely-filing alerts, statements."""
    return await run_cycle(_service(request), _now(request, as_of))


@router.get("/kpis")
async def kpis(request: Request, start: date | None = None, end: date | None = None, as_of: AsOf = None) -> dict:
    today = _now(request, as_of).date()
    end = end or today
    start = start or end - timedelta(days=89)
    if start > end:
        _unprocessable(["query", "start"], "start must not be after end")
    async with _service(request).sessions() as session:
        return await reports.kpi_report(session, start, end, today)
