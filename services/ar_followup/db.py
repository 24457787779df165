"""A/R's tables: claims and their ledger entries, the work queue, write-offs awaiting approval,
patient accounts (the patient copy A/R bills statements to), statements and claim status requests."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel


def _money(nullable: bool = False) -> Column:
    return Column(Numeric(12, 2), nullable=nullable)


def _when(nullable: bool = True) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class ArClaim(SQLModel, table=True):
    __tablename__ = "ar_claim"

    claim_id: UUID = Field(primary_key=True)
    patient_id: UUID | None = Field(default=None, index=True)
    payer_id: str | None = Field(default=None, max_length=80)
    payer_name: str | None = Field(default=None, max_length=60)
    date_of_service: date | None = None
    submitted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    adjudicated: bool = False
    denied: bool = False
    status: str = Field(max_length=20, index=True)
    # follow-up facts (0002)
    encounter_id: str | None = Field(default=None, max_length=64, index=True)
    root_claim_id: UUID | None = Field(default=None, index=True)  # a secondary or replacement claim's original
    role: str = Field(default="primary", max_length=12)  # primary | secondary | replacement
    secondary_pending: bool = False  # the patient's part waits for the secondary payer
    secondary_payer_id: str | None = Field(default=None, max_length=80)
    payer_claim_control_number: str | None = Field(default=None, max_length=50)
    submissions: int = 0
    rejected: bool = False  # ever rejected by the 999 / 277CA
    first_pass_paid: bool | None = None
    denial_codes: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    first_paid_on: date | None = None
    filing_deadline: date | None = None
    payer_status: str | None = Field(default=None, max_length=20)  # the last 277 STC category:status
    pending_postings: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("source_event_id", "kind"),)

    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    claim_id: UUID = Field(index=True)
    source_event_id: UUID
    kind: str = Field(max_length=20)  # charge | payment | contractual | other_adjustment | deductible | ...
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class WorkItem(SQLModel, table=True):
    __tablename__ = "ar_work_item"
    # one open item per claim and kind; a resolved one may be followed by a new one
    __table_args__ = (
        Index("ux_ar_work_item_open", "claim_id", "kind", unique=True, postgresql_where=text("status = 'open'")),
    )

    item_id: UUID = Field(primary_key=True)
    claim_id: UUID = Field(index=True)
    patient_id: UUID | None = None
    kind: str = Field(max_length=20)
    category: str | None = Field(default=None, max_length=30)
    action: str = Field(max_length=30)
    reason: str = Field(default="", max_length=300)
    amount: Decimal = Field(sa_column=_money())
    due_date: date | None = None
    owner: str = Field(max_length=64)
    status: str = Field(default="open", max_length=12, index=True)
    resolution: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=_when(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=_when())
    changes: dict | None = Field(default=None, sa_column=Column(JSONB))  # the corrections a "correct" asked for (0004)


class Adjustment(SQLModel, table=True):
    """A write-off or adjustment asked for by a person; above the threshold it waits for approval."""

    __tablename__ = "ar_adjustment"

    adjustment_id: UUID = Field(primary_key=True)
    claim_id: UUID = Field(index=True)
    party: str = Field(max_length=10)  # insurance | patient
    amount: Decimal = Field(sa_column=_money())
    reason_code: str = Field(max_length=30)
    note: str = Field(default="", max_length=300)
    requested_by: str = Field(max_length=64)
    status: str = Field(max_length=10)  # approved | pending | refused
    decided_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_when(nullable=False))


class PatientAccount(SQLModel, table=True):
    """The patient as statements and 276s need them (from patient.registered) and the dunning state."""

    __tablename__ = "ar_patient_account"

    patient_id: UUID = Field(primary_key=True)
    version: int = 0
    person: dict | None = Field(default=None, sa_column=Column(JSONB))  # PHI: names, birth date, address
    coverages: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    first_statement_on: date | None = None
    last_statement_on: date | None = None
    last_stage: str | None = Field(default=None, max_length=20)
    plan_installment: Decimal | None = Field(default=None, sa_column=_money(nullable=True))


class Statement(SQLModel, table=True):
    __tablename__ = "ar_statement"

    statement_id: UUID = Field(primary_key=True)
    patient_id: UUID = Field(index=True)
    stage: str = Field(max_length=20)
    balance: Decimal = Field(sa_column=_money())
    amount_due: Decimal = Field(sa_column=_money())
    issued_on: date
    document: str = Field(max_length=300)


class StatusRequest(SQLModel, table=True):
    """A 276 claim status request sent for a claim with no answer, and the 277 that came back."""

    __tablename__ = "ar_status_request"

    request_id: UUID = Field(primary_key=True)
    claim_id: UUID = Field(index=True)
    file_name: str = Field(max_length=200)
    sent_at: datetime = Field(sa_column=_when(nullable=False))
    # the 276 is recorded with the cycle's transaction and written out only after it commits (0005)
    document: str | None = Field(default=None, sa_column=Column(Text))
    written_at: datetime | None = Field(default=None, sa_column=_when())
    answered_at: datetime | None = Field(default=None, sa_column=_when())
    status: str | None = Field(default=None, max_length=20)  # STC01 category:status


TABLES = (
    "ar_claim",
    "ledger_entry",
    "ar_work_item",
    "ar_adjustment",
    "ar_patient_account",
    "ar_statement",
    "ar_status_request",
)


async def totals_by_kind(session: AsyncSession, claim_id: UUID | None = None) -> dict[str, Decimal]:
    query = select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
    if claim_id is not None:
        query = query.where(LedgerEntry.claim_id == claim_id)
    return {kind: amount for kind, amount in (await session.execute(query)).all()}


async def totals_by_claim(session: AsyncSession, claim_ids) -> dict[UUID, dict[str, Decimal]]:
    rows = await session.execute(
        select(LedgerEntry.claim_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.claim_id.in_(list(claim_ids)))
        .group_by(LedgerEntry.claim_id, LedgerEntry.kind)
    )
    totals: dict[UUID, dict[str, Decimal]] = {claim_id: {} for claim_id in claim_ids}
    for claim_id, kind, amount in rows.all():
        totals[claim_id][kind] = amount
    return totals


def urgency_rank(today: date):
    """domain.work.urgency in SQL: 3 within a week of the deadline (or past it), 2 within a month, else 1."""
    due = WorkItem.due_date
    return case(
        (due.is_(None), 1), (due <= today + timedelta(days=7), 3), (due <= today + timedelta(days=30), 2), else_=1
    )


NEVER = literal_column(
    "'infinity'::date", Date
)  # an item without a deadline ranks after every dated one of its priority


async def work_queue(
    session: AsyncSession,
    today: date,
    status: str,
    kind: str | None,
    owner: str | None,
    limit: int,
    after: tuple[Decimal, date | None, UUID] | None = None,
) -> tuple[int, list[tuple[WorkItem, Decimal]]]:
    """The items by priority (money × deadline urgency, highest first), then the nearest deadline, then
    id: ranked and cut in PostgreSQL, the page after `after` (the last item's priority, due date, id)."""
    priority = (WorkItem.amount * urgency_rank(today)).label("priority")
    due = func.coalesce(WorkItem.due_date, NEVER)
    query = select(WorkItem, priority).where(WorkItem.status == status)
    if kind:
        query = query.where(WorkItem.kind == kind)
    if owner:
        query = query.where(WorkItem.owner == owner)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    if after is not None:
        last_priority, last_due, last_id = after
        query = query.where(
            tuple_(-priority, due, WorkItem.item_id)
            > tuple_(-last_priority, func.coalesce(literal(last_due, Date), NEVER), last_id)
        )
    rows = await session.execute(query.order_by(-priority, due, WorkItem.item_id).limit(limit))
    return total, [(item, rank) for item, rank in rows.all()]
