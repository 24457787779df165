"""A/R's HTTP API: the portfolio summary and ledgers, aging, the work queue and its actions,
write-offs with approval, patient accounts, payments, plans and statements, KPIs and the
follow-up cycle. `as_of` (where offered) reads as of another moment than now; what changes the books
(a resolution, a write-off, the cycle's statements and status requests) happens now, on the real
clock: `as_of` there is answered 422 unless the service runs on a simulated clock (tests only,
settings.py).

The person acting is the caller's token (subject and display name), never a name in the body: a
body naming one (`by`, `requested_by`) is refused like any unknown field. Who may call each route
is PERMISSIONS; every read and change of a patient's account, claim or work item is in the audit
trail (shared/audit.py)."""

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal, NoReturn, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.ar_followup import actions, db, reports
from services.ar_followup.deps import Deps
from services.ar_followup.domain.dunning import Account, next_statement
from services.ar_followup.domain.ledger import PARTIES, balances
from services.ar_followup.domain.work import KINDS
from services.ar_followup.followup import run_cycle
from services.ar_followup.statements import Ledgers, account_of
from shared.api import Cursor, Day, Moment, ServiceDep, SessionDep
from shared.audit import Action, Trail, TrailDep
from shared.contracts.events import ClaimChanges
from shared.security import (
    ADMIN,
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
# A/R specialists work the queue and ask for write-offs; a supervisor approves, reassigns and reads the
# KPIs; the front desk sees a patient's account and sets up plans; the analysts' jobs read aggregates.
PERMISSIONS = permissions({
    "GET /v1/summary": OVERSIGHT | {AR_SPECIALIST, ANALYTICS_READER},
    "GET /v1/claims/{claim_id}": OVERSIGHT | {BILLER, AR_SPECIALIST},
    "GET /v1/aging": OVERSIGHT | {AR_SPECIALIST},
    "GET /v1/work-queue": OVERSIGHT | {AR_SPECIALIST},
    "GET /v1/write-offs": OVERSIGHT | {AR_SPECIALIST},
    "GET /v1/dashboard": OVERSIGHT | {AR_SPECIALIST, ANALYTICS_READER},
    "POST /v1/work-queue/{item_id}/resolve": {AR_SPECIALIST, SUPERVISOR},
    "POST /v1/work-queue/{item_id}/assign": {AR_SPECIALIST, SUPERVISOR},
    "POST /v1/claims/{claim_id}/write-offs": {AR_SPECIALIST, SUPERVISOR},
    "POST /v1/write-offs/{adjustment_id}/{decision}": {SUPERVISOR},
    "GET /v1/patients/{patient_id}/account": OVERSIGHT | {FRONT_DESK, AR_SPECIALIST},
    "PUT /v1/patients/{patient_id}/payment-plan": {FRONT_DESK, AR_SPECIALIST, SUPERVISOR},
    "GET /v1/statements/{statement_id}.pdf": OVERSIGHT | {FRONT_DESK, AR_SPECIALIST},
    "POST /v1/cycle": {SUPERVISOR, ADMIN},
    "GET /v1/kpis": OVERSIGHT | {ANALYTICS_READER},
})  # fmt: skip
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Positive = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
AsOf = Annotated[Moment | None, Query(description="Read as of this moment (ISO 8601) instead of now.")]
Days = Annotated[int | None, Query(ge=0, le=36_500)]
T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resolution(Body):
    action: Literal["correct", "void", "appeal", "write_off", "close"]
    note: str = Field(default="", max_length=200)
    changes: ClaimChanges | None = Field(default=None, description="What the replacement corrects (action correct).")


class Assignment(Body):
    """Without an owner the caller takes the item; a supervisor may give it to another person's subject."""

    owner: Name | None = Field(default=None, description="The assignee's subject (token sub); default: the caller.")
    owner_name: Name | None = Field(default=None, description="The assignee's display name, for people to read.")


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
    note: str = Field(default="", max_length=200)


class Decision(Body):
    """Nothing to say: the decider is the token. A body naming someone (`by`) is refused."""


class PaymentPlan(Body):
    installment: Positive | None = Field(description="The monthly amount; null ends the plan.")


def get_deps(service: ServiceDep) -> Deps:
    return service.deps  # type: ignore[no-any-return]


DepsDep = Annotated[Deps, Depends(get_deps)]


def _now(deps: Deps, as_of: datetime | None) -> datetime:
    """The moment a read is made as of."""
    return as_of or deps.settings.now()


def _moment_of_change(deps: Deps, as_of: datetime | None) -> datetime:
    """Now, for a change of the books: another moment only on a simulated clock (tests)."""
    if as_of is not None and not deps.settings.simulated_clock:
        _unprocessable(["query", "as_of"], "changes happen now: as_of only reads (a simulated clock is for tests)")
    return _now(deps, as_of)


def _unprocessable(loc: list[str | int], message: str) -> NoReturn:
    raise HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


def _money(value: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(v) for k, v in value.items()}


@router.get("/summary")
async def summary(session: SessionDep) -> dict:
    by_status = await db.claims_by_status(session)
    totals = balances(await db.totals_by_kind(session))
    open_items = await db.open_work_count(session)
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
async def claim_ledger(claim_id: UUID, session: SessionDep, trail: TrailDep) -> dict:
    claim = await session.get(db.ArClaim, claim_id)
    if claim is None:
        raise HTTPException(404, "no such claim")
    ledger_id = claim.root_claim_id or claim_id
    ledger = await session.get(db.ArClaim, ledger_id)
    totals = (await db.totals_by_claim(session, [ledger_id]))[ledger_id]
    items = await db.work_items_of(session, ledger_id)
    entries = await db.entries_of(session, ledger_id)
    write_offs = await db.adjustments_of(session, ledger_id)
    await trail.read(session, "Claim", claim_id, claim.patient_id)
    return {
        **claim.model_dump(mode="json"),
        "balances": _money(balances(totals).__dict__),
        "by_party": _money(reports.parties(ledger, totals)),
        "work_items": [i.model_dump(mode="json") | {"version": item_version(i)} for i in items],
        "ledger": [e.model_dump(mode="json", exclude={"claim_id"}) for e in entries],
        "write_offs": [w.model_dump(mode="json") for w in write_offs],
    }


@router.get("/aging")
async def aging(
    session: SessionDep,
    deps: DepsDep,
    trail: TrailDep,
    by: Literal["payer", "patient"] = "payer",
    basis: Literal["service", "submission"] = "service",
    as_of: AsOf = None,
) -> dict:
    today = _now(deps, as_of).date()
    report = await reports.aging_report(session, by, basis, today)
    if by == "patient":
        await trail.search(session, "Account", [(patient, patient) for patient in report])
    return {"by": by, "basis": basis, "as_of": today.isoformat(), "groups": report}


@router.get("/work-queue")
async def work_queue(
    session: SessionDep,
    deps: DepsDep,
    trail: TrailDep,
    kind: Literal[KINDS] | None = None,  # type: ignore[valid-type]
    owner: str | None = Query(None, max_length=255, description="A team, or a person's subject."),
    status: Literal["open", "resolved"] = "open",
    payer: str | None = Query(None, max_length=80, description="Only claims of this payer id."),
    min_age: Days = None,  # only claims at least this many days past service
    max_age: Days = None,  # only claims at most this many days past service
    limit: int = Query(100, ge=1, le=1000),
    cursor: Cursor = None,
    as_of: AsOf = None,
) -> dict:
    """Ranked by money × deadline urgency in the database, a page at a time: `next` is the cursor of
    the following page (null on the last). A cursor keeps the day its ranking was made on. Each item
    carries its claim's payer and date of service, and its `version` (If-Match of assign and resolve).
    `count` is exact up to 10,000 items; beyond, it is 10,000 and `count_at_least` is true."""
    today, after = (_now(deps, as_of).date(), None) if cursor is None else _read_cursor(cursor)
    (total, more_counted), page = await db.work_queue(
        session, today, status, kind, owner, limit + 1, after, payer=payer, age=(min_age, max_age)
    )
    more, page = len(page) > limit, page[:limit]
    claims = await db.claims_of(session, {item.claim_id for item, _ in page})
    await trail.search(session, "Task", [(item.item_id, item.patient_id) for item, _ in page])
    return {
        "as_of": today.isoformat(),
        "count": total,
        "count_at_least": more_counted,  # `count` is a lower bound: the queue has more than db.COUNTED items
        "items": [
            {
                **i.model_dump(mode="json"),
                **_claim_facts(claims.get(i.claim_id)),
                "priority": str(rank),
                "days_to_deadline": (i.due_date - today).days if i.due_date else None,
                "version": item_version(i),
            }
            for i, rank in page
        ],
        "next": _cursor(today, *page[-1]) if more else None,
    }


def _claim_facts(claim: db.ArClaim | None) -> dict:
    fields = ("payer_id", "payer_name", "date_of_service", "status")
    values = claim.model_dump(mode="json", include=set(fields)) if claim is not None else {}
    return {f"claim_{name}" if name == "status" else name: values.get(name) for name in fields}


def item_version(item: db.WorkItem) -> str:
    """A work item's version (an entity tag): it changes when it is taken, given to someone or resolved."""
    facts = f"{item.status}|{item.owner}|{item.resolved_at}|{item.resolution}"
    return '"' + hashlib.sha256(facts.encode()).hexdigest()[:20] + '"'


IfMatch = Annotated[str | None, Header(max_length=100, description="The item's `version` as read: 412 if it changed.")]


def _unchanged(item: db.WorkItem, if_match: str | None) -> None:
    if if_match is not None and if_match.removeprefix("W/") != item_version(item):
        who = item.resolved_by_name or item.owner_name or item.owner
        raise HTTPException(412, f"the work item changed since you read it (now {item.status}, {who})")


def _cursor(today: date, item: db.WorkItem, rank: Decimal) -> str:
    position = [today.isoformat(), str(rank), item.due_date.isoformat() if item.due_date else None, str(item.item_id)]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _read_cursor(cursor: str) -> tuple[date, tuple[Decimal, date | None, UUID]]:
    try:
        today, rank, due, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return date.fromisoformat(today), (Decimal(rank), date.fromisoformat(due) if due else None, UUID(item_id))
    except (ValueError, TypeError, ArithmeticError):
        _unprocessable(["query", "cursor"], "not a cursor this work queue gave out")


async def _in_transaction(session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """The work in one transaction; what it refuses becomes 404 (unknown) or 409 (contradicts the state)."""
    try:
        async with session.begin():
            return await work(session)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except actions.Refused as exc:
        raise HTTPException(409, str(exc)) from None
    except actions.NotAllowed as exc:
        raise forbidden(str(exc)) from None
    except IntegrityError:
        raise HTTPException(409, "already recorded") from None


def _check_changes(body: Resolution) -> None:
    """Changes only on a correction, naming something, each line at most once (422 with the field's path)."""
    if body.changes is None:
        return
    if body.action != "correct":
        _unprocessable(["body", "changes"], f"a {body.action} carries no changes: only a correction (frequency 7) does")
    if not body.changes.model_dump(exclude_none=True, exclude_defaults=True):
        _unprocessable(["body", "changes"], "changes name nothing to correct")
    numbers = [line.line_number for line in body.changes.lines]
    if twice := next((n for n, number in enumerate(numbers) if number in numbers[:n]), None):
        _unprocessable(["body", "changes", "lines", twice, "line_number"], f"line {numbers[twice]} is changed twice")


@router.post("/work-queue/{item_id}/resolve")
async def resolve(
    item_id: UUID,
    body: Resolution,
    session: SessionDep,
    deps: DepsDep,
    trail: TrailDep,
    as_of: AsOf = None,
    if_match: IfMatch = None,
) -> dict:
    _check_changes(body)
    limits, now = deps.settings.write_off_limits(), _moment_of_change(deps, as_of)

    async def work(s: AsyncSession) -> db.WorkItem:
        current = await db.work_item_for_update(s, item_id)
        if current is not None and current.status == "open":
            _unchanged(current, if_match)
        item = await actions.resolve(s, item_id, body.action, trail.principal, body.note, now, limits, body.changes)
        await trail.change(s, Action.UPDATE, f"resolve-{body.action}", "Task", item.item_id, item.patient_id)
        return item

    return (await _in_transaction(session, work)).model_dump(mode="json")


@router.post("/work-queue/{item_id}/assign")
async def assign(
    item_id: UUID, session: SessionDep, trail: TrailDep, body: Assignment | None = None, if_match: IfMatch = None
) -> dict:
    me = trail.principal
    body = body or Assignment()
    if body.owner is not None and body.owner != me.subject and SUPERVISOR not in me.roles:
        raise forbidden("only a supervisor gives a work item to someone else")
    owner, owner_name = (body.owner, body.owner_name) if body.owner is not None else (me.subject, me.display_name)

    async def work(session: AsyncSession) -> dict:
        item = await session.get(db.WorkItem, item_id, with_for_update=True)
        if item is None:
            raise LookupError("no such work item")
        _unchanged(item, if_match)
        item.owner, item.owner_name = owner, owner_name
        await trail.change(session, Action.UPDATE, "assign", "Task", item.item_id, item.patient_id)
        return item.model_dump(mode="json")

    return await _in_transaction(session, work)


@router.post("/claims/{claim_id}/write-offs", status_code=201)
async def write_off(
    claim_id: UUID, body: WriteOff, session: SessionDep, deps: DepsDep, trail: TrailDep, as_of: AsOf = None
) -> dict:
    limits, now = deps.settings.write_off_limits(), _moment_of_change(deps, as_of)

    async def work(s: AsyncSession) -> db.Adjustment:
        adjustment = await actions.request_write_off(
            s, claim_id, body.party, body.amount, body.reason_code, trail.principal, body.note, now, limits
        )
        await _record_write_off(s, trail, adjustment, Action.CREATE, "write-off-request")
        return adjustment

    return (await _in_transaction(session, work)).model_dump(mode="json")


@router.get("/write-offs")
async def write_offs(
    session: SessionDep,
    trail: TrailDep,
    status: Literal["pending", "approved", "refused"] = "pending",
    limit: int = Query(50, ge=1, le=500),
    cursor: Cursor = None,
) -> dict:
    """Write-offs by status, oldest first (pending: what waits for a supervisor's approval), each with its
    claim's payer and date of service and who asked."""
    found = await db.adjustments(session, status, limit + 1, _adjustment_position(cursor) if cursor else None)
    page = found[:limit]
    claims = await db.claims_of(session, {a.claim_id for a in page})
    patient = {a.adjustment_id: getattr(claims.get(a.claim_id), "patient_id", None) for a in page}
    await trail.search(session, "WriteOff", [(a.adjustment_id, patient[a.adjustment_id]) for a in page])
    last = page[-1] if len(found) > limit else None
    return {
        "items": [a.model_dump(mode="json") | _claim_facts(claims.get(a.claim_id)) | {
            "patient_id": str(patient[a.adjustment_id]) if patient[a.adjustment_id] else None} for a in page],
        "next": f"{last.created_at.isoformat()}|{last.adjustment_id}" if last else None,
    }  # fmt: skip


def _adjustment_position(cursor: str) -> tuple[datetime, UUID]:
    moment, _, adjustment_id = cursor.partition("|")
    try:
        return datetime.fromisoformat(moment), UUID(adjustment_id)
    except ValueError:
        _unprocessable(["query", "cursor"], "not a cursor this list gave out")


@router.post("/write-offs/{adjustment_id}/{decision}")
async def decide(
    adjustment_id: UUID,
    decision: Literal["approve", "refuse"],
    session: SessionDep,
    trail: TrailDep,
    body: Decision | None = None,
) -> dict:
    """A supervisor's decision on a write-off above the threshold: never the requester's own (four eyes)."""

    async def work(s: AsyncSession) -> db.Adjustment:
        adjustment = await actions.decide(s, adjustment_id, decision == "approve", trail.principal)
        await _record_write_off(s, trail, adjustment, Action.UPDATE, f"write-off-{decision}")
        return adjustment

    return (await _in_transaction(session, work)).model_dump(mode="json")


async def _record_write_off(session: AsyncSession, trail: Trail, adjustment: db.Adjustment, action: Action,
                            subtype: str) -> None:  # fmt: skip
    claim = await session.get(db.ArClaim, adjustment.claim_id)
    patient = claim.patient_id if claim is not None else None
    await trail.change(session, action, subtype, "WriteOff", adjustment.adjustment_id, patient)


@router.get("/patients/{patient_id}/account")
async def account(patient_id: UUID, session: SessionDep, deps: DepsDep, trail: TrailDep, as_of: AsOf = None) -> dict:
    row = await session.get(db.PatientAccount, patient_id)
    if row is None:
        raise HTTPException(404, "no such patient account")
    claims = (await db.patient_ledgers(session, [patient_id])).get(patient_id, [])
    statements = await db.statements_of(session, patient_id)
    state: Account = account_of(row, claims)
    await trail.read(session, "Account", patient_id, patient_id)
    return {
        "patient_id": str(patient_id),
        "balance": str(state.balance),
        "by_party": _money(_owed_by_party(claims)),
        "insurance_done": state.insurance_done,
        "payment_plan": str(row.plan_installment) if row.plan_installment else None,
        "last_stage": row.last_stage,
        "next_statement": next_statement(state, _now(deps, as_of).date()),
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


def _owed_by_party(claims: Ledgers) -> dict[str, Decimal]:
    owed = dict.fromkeys(PARTIES, Decimal("0.00"))
    for claim, totals in claims:
        for party, amount in reports.parties(claim, totals).items():
            owed[party] += amount
    return owed


@router.put("/patients/{patient_id}/payment-plan")
async def payment_plan(patient_id: UUID, body: PaymentPlan, session: SessionDep, trail: TrailDep) -> dict:
    async def work(session: AsyncSession) -> dict:
        row = await session.get(db.PatientAccount, patient_id, with_for_update=True)
        if row is None:
            raise LookupError("no such patient account")
        row.plan_installment = body.installment
        await trail.change(session, Action.UPDATE, "payment-plan", "Account", patient_id, patient_id)
        return {"patient_id": str(patient_id), "installment": str(body.installment) if body.installment else None}

    return await _in_transaction(session, work)


@router.get("/statements/{statement_id}.pdf")
async def statement_pdf(statement_id: UUID, session: SessionDep, trail: TrailDep) -> FileResponse:
    statement = await session.get(db.Statement, statement_id)
    if statement is None:
        raise HTTPException(404, "no such statement")
    await trail.read(session, "DocumentReference", statement_id, statement.patient_id)
    return FileResponse(statement.document, media_type="application/pdf", filename=f"statement-{statement_id}.pdf")


@router.post("/cycle")
async def cycle(service: ServiceDep, deps: DepsDep, as_of: AsOf = None) -> dict:
    """Run the follow-up cycle now: status requests, timely-filing alerts, statements (on the real clock:
    a statement is never dated in the future)."""
    return await run_cycle(service.sessions, service.deps, _moment_of_change(deps, as_of))


@router.get("/dashboard")
async def dashboard(
    service: ServiceDep, deps: DepsDep, months: int = Query(6, ge=1, le=24), as_of: AsOf = None
) -> dict:
    """The office's figures (no patient): the KPIs of the last 90 days, open A/R by age, denial rate by
    CARC category, collections by payer per month, days in A/R at each month's end (reports.dashboard);
    at most a minute old (`computed_at`), so a home page never waits for a big office's arithmetic."""
    today = _now(deps, as_of).date()

    async def compute() -> dict:
        async with service.sessions() as session:
            return await reports.dashboard(session, today, months)

    # One office per database: figures are kept per database (several services may share a process in tests).
    office = service.settings.database_url.get_secret_value()
    return await reports.DASHBOARDS.get((office, today, months), compute)


@router.get("/kpis")
async def kpis(
    session: SessionDep, deps: DepsDep, start: Day | None = None, end: Day | None = None, as_of: AsOf = None
) -> dict:
    today = _now(deps, as_of).date()
    end = end or today
    start = start or end - timedelta(days=89)
    if start > end:
        _unprocessable(["query", "start"], "start must not be after end")
    return await reports.kpi_report(session, start, end, today)
