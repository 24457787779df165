"""A/R's tables: claims and their ledger entries, the work queue, write-offs awaiting approval,
patient accounts (the patient copy A/R bills statements to), statements and claim status requests."""

import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Numeric,
    Select,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel

from services.ar_followup.domain import book
from services.ar_followup.domain.ledger import ADJUSTMENT_KINDS, PATIENT_KINDS, balances
from services.ar_followup.domain.ledger import status as claim_status
from services.ar_followup.domain.work import OWNERS, NewWork
from shared.db import COUNTED, count_at_most, driver, json_dumps, json_loads


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
    status: str = Field(max_length=20)  # not indexed (0011): an update that changes it can stay HOT
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
    # CLM01 as claim.submitted carries it: what a 276 and a rejected claim's replacement name (0006)
    patient_control_number: str | None = Field(default=None, max_length=20)


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
    owner: str = Field(max_length=64)  # a team (domain.work.OWNERS) until a person takes it: their subject
    owner_name: str | None = Field(default=None, max_length=255)  # that person's display name (0007)
    status: str = Field(default="open", max_length=12, index=True)
    resolution: str | None = Field(default=None, max_length=300)
    resolved_by: str | None = Field(default=None, max_length=64)  # the token's subject (0007)
    resolved_by_name: str | None = Field(default=None, max_length=255)
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
    requested_by: str = Field(max_length=64)  # the token's subject
    requested_by_name: str | None = Field(default=None, max_length=255)  # their display name then (0007)
    status: str = Field(max_length=10)  # approved | pending | refused
    decided_by: str | None = Field(default=None, max_length=64)  # a second person's subject
    decided_by_name: str | None = Field(default=None, max_length=255)
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


class AwaitingCoverage(SQLModel, table=True):
    """A primary's payment that left the patient a part while A/R did not yet hold the patient's
    coverages (topics are not ordered among themselves): kept until patient.registered says whether a
    secondary payer is to be billed. `request` is the primary's adjudication as claims needs it (COB)."""

    __tablename__ = "ar_awaiting_coverage"
    claim_id: UUID = Field(primary_key=True)  # the ledger's claim
    patient_id: UUID = Field(index=True)
    request: dict = Field(sa_column=Column(JSONB, nullable=False))  # SecondaryClaimRequestedV1, as json
    correlation_id: str = Field(sa_column=Column(Text, nullable=False))  # the payment's, for the request
    created_at: datetime = Field(sa_column=_when(nullable=False))


TABLES = (
    "ar_claim",
    "ledger_entry",
    "ar_work_item",
    "ar_adjustment",
    "ar_patient_account",
    "ar_statement",
    "ar_status_request",
    "ar_awaiting_coverage",
)


# -- claims and their ledgers --------------------------------------------------------------------

NEW_CLAIM = dict(
    status="awaiting_claim",
    adjudicated=False,
    denied=False,
    role="primary",
    secondary_pending=False,
    submissions=0,
    rejected=False,
)


async def lock_claims(session: AsyncSession, claim_ids: Iterable[UUID]) -> dict[UUID, ArClaim]:
    """The claims' rows, created if new, locked in id order (so two batches cannot deadlock)."""
    ordered = sorted(set(claim_ids))
    if not ordered:
        return {}
    await session.execute(
        insert(ArClaim.__table__).on_conflict_do_nothing(), [{"claim_id": c, **NEW_CLAIM} for c in ordered]
    )
    rows = await session.execute(
        select(ArClaim).where(ArClaim.claim_id.in_(ordered)).order_by(ArClaim.claim_id).with_for_update()
    )
    return {claim.claim_id: claim for claim in rows.scalars()}


async def with_roots(session: AsyncSession, claims: dict[UUID, ArClaim]) -> dict[UUID, ArClaim]:
    """The claims plus the original claims whose ledgers their money books onto, locked too."""
    missing = {c.root_claim_id for c in claims.values() if c.root_claim_id and c.root_claim_id not in claims}
    return claims | await lock_claims(session, missing)


async def original_claim(session: AsyncSession, claim: ArClaim, named: UUID | None) -> ArClaim | None:
    """The claim this one replaces or follows: the one claims names, else an earlier claim for the
    same encounter (the first one keeps the ledger)."""
    if named is not None and named != claim.claim_id:
        return await session.get(ArClaim, named)
    if not claim.encounter_id:
        return None
    rows = await session.execute(
        select(ArClaim)
        .where(
            ArClaim.encounter_id == claim.encounter_id,
            ArClaim.claim_id != claim.claim_id,
            ArClaim.root_claim_id.is_(None),
            ArClaim.submitted_at.is_not(None),
        )
        .order_by(ArClaim.submitted_at)
        .limit(1)
    )
    return rows.scalars().first()


def add_entries(
    session: AsyncSession, claim_id: UUID, source_event_id: UUID, entries: Iterable[tuple[str, Decimal]]
) -> None:
    """Ledger entries, one per kind of a source event (a redelivered event cannot book twice)."""
    session.add_all(
        LedgerEntry(claim_id=claim_id, source_event_id=source_event_id, kind=kind, amount=amount)
        for kind, amount in entries
    )


async def totals_by_kind(session: AsyncSession, claim_id: UUID | None = None) -> dict[str, Decimal]:
    query = select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
    if claim_id is not None:
        query = query.where(LedgerEntry.claim_id == claim_id)
    return {kind: amount for kind, amount in (await session.execute(query)).all()}


async def totals_by_claim(session: AsyncSession, claim_ids: Iterable[UUID]) -> dict[UUID, dict[str, Decimal]]:
    """Each claim's ledger totals by kind, with what this transaction has added so far."""
    claim_ids = list(claim_ids)
    await session.flush()
    rows = await session.execute(
        select(LedgerEntry.claim_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.claim_id.in_(claim_ids))
        .group_by(LedgerEntry.claim_id, LedgerEntry.kind)
    )
    totals: dict[UUID, dict[str, Decimal]] = {claim_id: {} for claim_id in claim_ids}
    for claim_id, kind, amount in rows.all():
        totals[claim_id][kind] = amount
    return totals


async def refresh_statuses(session: AsyncSession, claims: Mapping[UUID, ArClaim]) -> None:
    """Each claim's A/R status from its ledger as this transaction leaves it."""
    totals = await totals_by_claim(session, claims)
    for claim_id, claim in claims.items():
        claim.status = claim_status(
            claim.submitted_at is not None, claim.adjudicated, claim.denied, balances(totals[claim_id])
        )


async def ledgers(session: AsyncSession) -> list[tuple[ArClaim, dict[str, Decimal]]]:
    """Every submitted claim that keeps a ledger (originals), with its totals by kind."""
    query = select(ArClaim).where(ArClaim.root_claim_id.is_(None), ArClaim.submitted_at.is_not(None))
    claims = (await session.execute(query)).scalars().all()
    totals = await totals_by_claim(session, [c.claim_id for c in claims]) if claims else {}
    return [(c, totals[c.claim_id]) for c in claims]


async def patient_ledgers(
    session: AsyncSession, patient_ids: Iterable[UUID]
) -> dict[UUID, list[tuple[ArClaim, dict[str, Decimal]]]]:
    """Each patient's ledgers (original claims only) with their totals by kind, by date of service."""
    query = select(ArClaim).where(ArClaim.patient_id.in_(list(patient_ids)), ArClaim.root_claim_id.is_(None))
    rows = (await session.execute(query)).scalars().all()
    totals = await totals_by_claim(session, [c.claim_id for c in rows])
    result: dict[UUID, list[tuple[ArClaim, dict[str, Decimal]]]] = defaultdict(list)
    for claim in sorted(rows, key=lambda c: (c.date_of_service or date.min, str(c.claim_id))):
        result[claim.patient_id].append((claim, totals[claim.claim_id]))
    return result


async def claims_by_status(session: AsyncSession) -> dict[str, int]:
    query = select(ArClaim.status, func.count()).where(ArClaim.root_claim_id.is_(None)).group_by(ArClaim.status)
    return dict((await session.execute(query)).all())


async def unanswered_claims(session: AsyncSession, submitted_by: datetime) -> list[ArClaim]:
    """Ledgers submitted by then that no payer has adjudicated."""
    query = (
        select(ArClaim)
        .where(
            ArClaim.root_claim_id.is_(None),
            ArClaim.adjudicated.is_(False),
            ArClaim.submitted_at <= submitted_by,
        )
        .order_by(ArClaim.claim_id)
    )
    return list((await session.execute(query)).scalars().all())


async def claims_near_filing_limit(session: AsyncSession, horizon: date) -> list[ArClaim]:
    """Ledgers the payer has not paid (unadjudicated, denied or rejected) whose filing limit falls by then."""
    query = (
        select(ArClaim)
        .where(
            ArClaim.root_claim_id.is_(None),
            ArClaim.filing_deadline <= horizon,
            ArClaim.adjudicated.is_(False) | ArClaim.denied.is_(True) | ArClaim.rejected.is_(True),
        )
        .order_by(ArClaim.claim_id)
    )
    return list((await session.execute(query)).scalars().all())


# -- the work queue ------------------------------------------------------------------------------


async def open_work(session: AsyncSession, claim: ArClaim, work: NewWork, now: datetime) -> None:
    """Open a work item unless one of this kind is already open for the claim."""
    await session.execute(
        insert(WorkItem.__table__)
        .values(
            item_id=uuid.uuid4(),
            claim_id=claim.claim_id,
            patient_id=claim.patient_id,
            kind=work.kind,
            category=work.category,
            action=work.action,
            reason=work.reason[:300],
            amount=work.amount,
            due_date=claim.filing_deadline,
            owner=OWNERS[work.kind],
            status="open",
            created_at=now,
        )
        # a literal predicate: a bound one stops matching the partial index once PostgreSQL picks a generic plan
        .on_conflict_do_nothing(index_elements=["claim_id", "kind"], index_where=text("status = 'open'"))
    )


async def close_work(
    session: AsyncSession, claim_id: UUID, kinds: tuple[str, ...], resolution: str, now: datetime
) -> None:
    await session.execute(
        update(WorkItem)
        .where(WorkItem.claim_id == claim_id, WorkItem.kind.in_(kinds), WorkItem.status == "open")
        .values(status="resolved", resolution=resolution, resolved_at=now)
    )


async def date_early_work(session: AsyncSession, claim: ArClaim) -> None:
    """Work opened by a payment or an acknowledgement that came before the claim: its deadline and patient."""
    await session.execute(
        update(WorkItem)
        .where(WorkItem.claim_id == claim.claim_id, WorkItem.due_date.is_(None))
        .values(due_date=claim.filing_deadline, patient_id=claim.patient_id)
    )


async def work_item_for_update(session: AsyncSession, item_id: UUID) -> WorkItem | None:
    query = select(WorkItem).where(WorkItem.item_id == item_id).with_for_update()
    return (await session.execute(query)).scalar()


async def open_item_for_update(session: AsyncSession, claim_id: UUID, kind: str) -> WorkItem | None:
    query = (
        select(WorkItem)
        .where(WorkItem.claim_id == claim_id, WorkItem.kind == kind, WorkItem.status == "open")
        .with_for_update()
    )
    return (await session.execute(query)).scalar()


async def work_items_of(session: AsyncSession, claim_id: UUID) -> list[WorkItem]:
    query = select(WorkItem).where(WorkItem.claim_id == claim_id).order_by(WorkItem.created_at)
    return list((await session.execute(query)).scalars().all())


async def open_work_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).where(WorkItem.status == "open"))).scalar_one()


def urgency_rank(today: date) -> Any:
    """domain.work.urgency in SQL: 3 within a week of the deadline (or past it), 2 within a month, else 1."""
    due = WorkItem.due_date
    return case(
        (due.is_(None), 1), (due <= today + timedelta(days=7), 3), (due <= today + timedelta(days=30), 2), else_=1
    )


NEVER = literal_column(
    "'infinity'::date", Date
)  # an item without a deadline ranks after every dated one of its priority
DUE = func.coalesce(WorkItem.due_date, NEVER)
# The work queue's order within one urgency band (migration 0010): money highest first, then the nearest
# deadline, then id. Within a band priority is money × a constant, so the band's top is read from here.
Index("ix_ar_work_item_rank", WorkItem.status, -WorkItem.amount, DUE, WorkItem.item_id)
Index("ix_ar_work_item_owner", WorkItem.status, WorkItem.owner)  # a person's items (0010)


def urgency_bands(today: date) -> list[tuple[int, Any]]:
    """urgency_rank as three ranges of the deadline (none counts as the latest): (urgency, condition)."""
    week, month = today + timedelta(days=7), today + timedelta(days=30)
    return [(3, DUE <= week), (2, and_(DUE > week, DUE <= month)), (1, DUE > month)]


async def work_queue(
    session: AsyncSession,
    today: date,
    status: str,
    kind: str | None,
    owner: str | None,
    limit: int,
    after: tuple[Decimal, date | None, UUID] | None = None,
    payer: str | None = None,
    age: tuple[int | None, int | None] = (None, None),
) -> tuple[tuple[int, bool], list[tuple[WorkItem, Decimal]]]:
    """The items by priority (money × deadline urgency, highest first), then the nearest deadline, then
    id: ranked and cut in PostgreSQL, the page after `after` (the last item's priority, due date, id).
    `payer` and `age` (least and most days since the claim's date of service) filter by the claim.
    Also how many items match (at most COUNTED, and whether there are more).

    No index can hold a priority that changes with the day, but within an urgency band it is the money
    times a constant: each band's first `limit` items (after `after`, translated to the band) are read
    from ix_ar_work_item_rank, and the page is the first `limit` of those three, merged by priority. The
    page costs the same at the end of a 100,000-item queue as at the start of a 10-item one (owner:
    ix_ar_work_item_owner). Filtered by the claim (payer, age), the matching items are sorted as before."""
    query = select(WorkItem).where(WorkItem.status == status)
    if kind:
        query = query.where(WorkItem.kind == kind)
    if owner:
        query = query.where(WorkItem.owner == owner)
    by_claim = bool(payer) or age != (None, None)
    if by_claim:
        query = query.join(ArClaim, ArClaim.claim_id == WorkItem.claim_id)
        if payer:
            query = query.where(ArClaim.payer_id == payer)
        if age[0] is not None:
            query = query.where(ArClaim.date_of_service <= today - timedelta(days=age[0]))
        if age[1] is not None:
            query = query.where(ArClaim.date_of_service >= today - timedelta(days=age[1]))
    total = await count_at_most(session, query, COUNTED)  # COUNTED read here: a test lowers it
    if by_claim:  # the claim's facts are no part of the index: the matching items are ranked in one sort
        page = _ranked_in_one_sort(query, today, after)
    else:
        page = _merged_bands(query, today, after, limit)
    rows = await session.execute(page.limit(limit))
    return total, [(row, rank) for row, rank in rows.all()]


def _ranked_in_one_sort(query: Select, today: date, after: tuple[Decimal, date | None, UUID] | None) -> Select:
    priority = (WorkItem.amount * urgency_rank(today)).label("priority")
    query = query.add_columns(priority)
    if after is not None:
        last_priority, last_due, last_id = after
        query = query.where(
            tuple_(-priority, DUE, WorkItem.item_id)
            > tuple_(-last_priority, func.coalesce(literal(last_due, Date), NEVER), last_id)
        )
    return query.order_by(-priority, DUE, WorkItem.item_id)


def _merged_bands(query: Select, today: date, after: tuple[Decimal, date | None, UUID] | None, limit: int) -> Select:
    """Each urgency band's first `limit` items after `after` (in index order), merged by priority."""
    bands = []
    for urgency, within in urgency_bands(today):
        band = query.where(within).add_columns((WorkItem.amount * urgency).label("priority"))
        if after is not None:
            # (-priority, due, id) > the last item's  <=>  (-amount, due, id) > (-its priority / urgency, ...)
            last_priority, last_due, last_id = after
            bound = -(literal(last_priority, Numeric) / urgency)
            band = band.where(
                tuple_(-WorkItem.amount, DUE, WorkItem.item_id)
                > tuple_(bound, func.coalesce(literal(last_due, Date), NEVER), last_id)
            )
        bands.append(band.order_by(-WorkItem.amount, DUE, WorkItem.item_id).limit(limit))
    merged = union_all(*bands).subquery()
    item = aliased(WorkItem, merged)
    return select(item, merged.c.priority).order_by(
        -merged.c.priority, func.coalesce(merged.c.due_date, NEVER), merged.c.item_id
    )


async def claims_of(session: AsyncSession, claim_ids: Iterable[UUID]) -> dict[UUID, ArClaim]:
    query = select(ArClaim).where(ArClaim.claim_id.in_(set(claim_ids)))
    return {claim.claim_id: claim for claim in (await session.execute(query)).scalars()}


async def entries_of(session: AsyncSession, claim_id: UUID) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.claim_id == claim_id).order_by(LedgerEntry.entry_id)
    return list((await session.execute(query)).scalars())


# -- adjustments ---------------------------------------------------------------------------------


async def adjustments_of(session: AsyncSession, claim_id: UUID) -> list[Adjustment]:
    query = select(Adjustment).where(Adjustment.claim_id == claim_id).order_by(Adjustment.created_at)
    return list((await session.execute(query)).scalars())


async def adjustments(session: AsyncSession, status: str, limit: int,
                      after: tuple[datetime, UUID] | None = None) -> list[Adjustment]:  # fmt: skip
    """Write-offs in a status (pending: a supervisor's approvals list), oldest first, the page after `after`."""
    query = select(Adjustment).where(Adjustment.status == status)
    if after is not None:
        query = query.where(tuple_(Adjustment.created_at, Adjustment.adjustment_id) > tuple_(*after))
    query = query.order_by(Adjustment.created_at, Adjustment.adjustment_id).limit(limit)
    return list((await session.execute(query)).scalars())


async def adjustment_for_update(session: AsyncSession, adjustment_id: UUID) -> Adjustment | None:
    query = select(Adjustment).where(Adjustment.adjustment_id == adjustment_id).with_for_update()
    return (await session.execute(query)).scalar()


async def lock_requester(session: AsyncSession, subject: str) -> None:
    """One person's write-offs are counted against their day's limit one at a time (to the transaction's end)."""
    key = zlib.crc32(f"ar:write-offs:{subject.lower()}".encode()) - 2**31
    await session.execute(text("SELECT pg_advisory_xact_lock(2, :key)"), {"key": key})


async def written_off_unreviewed(session: AsyncSession, *, claim_id: UUID | None = None,
                                 requested_by: str | None = None, day: date | None = None) -> Decimal:  # fmt: skip
    """What went through without a second person's approval: on a claim, or asked by a person on a day (UTC)."""
    query = select(func.coalesce(func.sum(Adjustment.amount), 0)).where(
        Adjustment.status == "approved", Adjustment.decided_by.is_(None)
    )
    if claim_id is not None:
        query = query.where(Adjustment.claim_id == claim_id)
    if requested_by is not None:
        query = query.where(func.lower(Adjustment.requested_by) == requested_by.lower())
    if day is not None:
        start = datetime.combine(day, datetime.min.time(), UTC)
        query = query.where(Adjustment.created_at >= start, Adjustment.created_at < start + timedelta(days=1))
    return Decimal((await session.execute(query)).scalar_one())


# -- the office's figures (set-wise: one pass of the ledger, whatever its size) --------------------

# A claim's balances are sums of its entries (domain.ledger.balances), so the office's are too: each
# entry counts +1, -1 or 0 towards what insurance and what the patient still owe.
INSURANCE_OWED = case(
    (LedgerEntry.kind == "charge", LedgerEntry.amount),
    (LedgerEntry.kind.in_(("payment", *ADJUSTMENT_KINDS, *PATIENT_KINDS)), -LedgerEntry.amount),
    else_=0,
)
PATIENT_OWED = case(
    (LedgerEntry.kind.in_(PATIENT_KINDS), LedgerEntry.amount),
    (LedgerEntry.kind.in_(("patient_payment", "patient_write_off")), -LedgerEntry.amount),
    else_=0,
)
LEDGERS = (ArClaim.root_claim_id.is_(None), ArClaim.submitted_at.is_not(None))


async def owed_by_service_date(session: AsyncSession) -> list[tuple[date, Decimal, Decimal]]:
    """(date of service, insurance owes, patient owes) over every ledger, one row per date."""
    query = (
        select(ArClaim.date_of_service, func.sum(INSURANCE_OWED), func.sum(PATIENT_OWED))
        .join(ArClaim, ArClaim.claim_id == LedgerEntry.claim_id)
        .where(*LEDGERS)
        .group_by(ArClaim.date_of_service)
    )
    return [(day, insurance, patient) for day, insurance, patient in (await session.execute(query)).all()]


async def ledger_by_month(session: AsyncSession, since: date) -> list[tuple[date, str | None, str, Decimal]]:
    """(month, payer, kind, amount) of the entries booked since then, and of those before as month None."""
    month = func.date_trunc("month", LedgerEntry.created_at).label("month")
    query = (
        select(month, ArClaim.payer_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .join(ArClaim, ArClaim.claim_id == LedgerEntry.claim_id)
        .where(*LEDGERS)
        .group_by(month, ArClaim.payer_id, LedgerEntry.kind)
    )
    rows = (await session.execute(query)).all()
    return [(m.date() if m.date() >= since else date.min, payer, kind, amount) for m, payer, kind, amount in rows]


async def open_ar(session: AsyncSession) -> Decimal:
    """What is still owed over every ledger, as the KPIs count it: each claim's insurance balance (never
    below zero) plus what its patient owes."""
    per_claim = (
        select(func.sum(INSURANCE_OWED).label("insurance"), func.sum(PATIENT_OWED).label("patient"))
        .join(ArClaim, ArClaim.claim_id == LedgerEntry.claim_id)
        .where(*LEDGERS)
        .group_by(LedgerEntry.claim_id)
        .subquery()
    )
    owed = func.greatest(per_claim.c.insurance, 0) + per_claim.c.patient
    return (await session.execute(select(func.coalesce(func.sum(owed), 0)))).scalar_one()


def _submitted_between(start: date, end: date) -> tuple[Any, ...]:
    return (*LEDGERS, func.date(ArClaim.submitted_at) >= start, func.date(ArClaim.submitted_at) <= end)


async def period_claims(session: AsyncSession, start: date, end: date) -> dict[str, int]:
    """The claims first submitted from start to end: how many, rejected ever, adjudicated, paid at first pass."""
    query = select(
        func.count(),
        func.count().filter(ArClaim.rejected.is_(True)),
        func.count().filter(ArClaim.first_pass_paid.is_not(None)),
        func.count().filter(ArClaim.first_pass_paid.is_(True)),
    ).where(*_submitted_between(start, end))
    claims, rejected, adjudicated, first_pass = (await session.execute(query)).one()
    return {"claims": claims, "rejected": rejected, "adjudicated": adjudicated, "first_pass": first_pass}


async def period_money(session: AsyncSession, start: date, end: date) -> dict[str, Decimal]:
    """The ledger totals by kind of the claims first submitted from start to end."""
    query = (
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .join(ArClaim, ArClaim.claim_id == LedgerEntry.claim_id)
        .where(*_submitted_between(start, end))
        .group_by(LedgerEntry.kind)
    )
    return {kind: amount for kind, amount in (await session.execute(query)).all()}


async def denial_codes_of_period(session: AsyncSession, start: date, end: date) -> tuple[int, list[tuple[list, int]]]:
    """Claims first submitted from start to end that their payer adjudicated, and how many denied with
    each list of CARCs (first refusal's reasons)."""
    period = (*LEDGERS, ArClaim.first_pass_paid.is_not(None),
              func.date(ArClaim.submitted_at) >= start, func.date(ArClaim.submitted_at) <= end)  # fmt: skip
    adjudicated = (await session.execute(select(func.count()).where(*period))).scalar_one()
    query = select(ArClaim.denial_codes, func.count()).where(*period, func.jsonb_array_length(ArClaim.denial_codes) > 0)
    rows = await session.execute(query.group_by(ArClaim.denial_codes))
    return adjudicated, [(codes, count) for codes, count in rows.all()]


# -- patient accounts and statements -------------------------------------------------------------


async def ensure_accounts(session: AsyncSession, patient_ids: Iterable[UUID]) -> None:
    """An account for each patient a claim names, before (or without) their patient.registered."""
    rows = [{"patient_id": p, "version": 0, "coverages": []} for p in sorted(set(patient_ids))]
    if rows:
        await session.execute(insert(PatientAccount.__table__).on_conflict_do_nothing(), rows)


async def store_patients(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Patients as registered (version, person, coverages); an older version never overwrites a newer."""
    if not rows:
        return
    statement = insert(PatientAccount.__table__)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["patient_id"],
            set_={
                "version": statement.excluded.version,
                "person": statement.excluded.person,
                "coverages": statement.excluded.coverages,
            },
            where=PatientAccount.__table__.c.version < statement.excluded.version,
        ),
        rows,
    )


async def coverages(session: AsyncSession, patient_ids: Iterable[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """The coverages of the patients registered with A/R (an account a claim opened ahead of its
    patient.registered has none yet, and is left out)."""
    patient_ids = set(patient_ids)
    if not patient_ids:
        return {}
    query = select(PatientAccount.patient_id, PatientAccount.coverages).where(
        PatientAccount.patient_id.in_(patient_ids), PatientAccount.version > 0
    )
    return dict((await session.execute(query)).all())


async def coverages_held(session: AsyncSession, patient_ids: Iterable[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """`coverages`, with the accounts of patients not registered yet read again under a share lock (so
    only when a payment comes ahead of its patient): a patient.registered batch storing one is waited
    for, and one that comes later waits for this transaction and then finds what it left awaiting."""
    found = await coverages(session, patient_ids)
    if missing := sorted(set(patient_ids) - found.keys()):
        query = (
            select(PatientAccount.patient_id, PatientAccount.version, PatientAccount.coverages)
            .where(PatientAccount.patient_id.in_(missing))
            .order_by(PatientAccount.patient_id)
            .with_for_update(read=True)
        )
        found |= {p: covered for p, version, covered in (await session.execute(query)).all() if version > 0}
    return found


async def claims_awaiting_coverage(session: AsyncSession, patient_ids: Iterable[UUID]) -> list[UUID]:
    """The ledgers whose payments wait for these patients' coverages (read, not locked)."""
    query = select(AwaitingCoverage.claim_id).where(AwaitingCoverage.patient_id.in_(set(patient_ids)))
    return list((await session.execute(query)).scalars())


async def awaiting_coverage_age(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many paid claims wait for their patient's coverages, and since when the oldest one."""
    query = select(func.count(), func.min(AwaitingCoverage.created_at))
    count, oldest = (await session.execute(query)).one()
    return count, oldest


async def take_awaiting(session: AsyncSession, patient_ids: Iterable[UUID]) -> list[tuple[UUID, dict[str, Any], str]]:
    """The payments awaiting these patients' coverages (claim, the primary's adjudication, correlation),
    removed: registered, the patients' coverages decide them once."""
    rows = await (await driver(session)).fetch(
        "DELETE FROM ar_awaiting_coverage WHERE patient_id = ANY($1::uuid[])"
        " RETURNING claim_id, request::text, correlation_id",
        sorted(set(patient_ids)),
    )
    return [(row["claim_id"], json_loads(row["request"]), row["correlation_id"]) for row in rows]


async def accounts(session: AsyncSession, patient_ids: Iterable[UUID]) -> dict[UUID, PatientAccount]:
    query = select(PatientAccount).where(PatientAccount.patient_id.in_(set(patient_ids)))
    return {a.patient_id: a for a in (await session.execute(query)).scalars()}


async def all_accounts_for_update(session: AsyncSession) -> list[PatientAccount]:
    query = select(PatientAccount).order_by(PatientAccount.patient_id).with_for_update()
    return list((await session.execute(query)).scalars().all())


async def statements_of(session: AsyncSession, patient_id: UUID) -> list[Statement]:
    query = select(Statement).where(Statement.patient_id == patient_id).order_by(Statement.issued_on)
    return list((await session.execute(query)).scalars().all())


# -- claim status requests (276/277) -------------------------------------------------------------


async def claims_asked_lately(session: AsyncSession, claim_ids: Iterable[UUID], since: datetime) -> set[UUID]:
    """Claims with a status request still unanswered, or sent since then."""
    query = select(StatusRequest.claim_id).where(
        StatusRequest.claim_id.in_(list(claim_ids)),
        StatusRequest.answered_at.is_(None) | (StatusRequest.sent_at > since),
    )
    return set((await session.execute(query)).scalars())


async def unwritten_requests(session: AsyncSession, limit: int) -> list[StatusRequest]:
    """Committed requests whose 276 is not written yet, locked; another writer skips them."""
    query = (
        select(StatusRequest)
        .where(StatusRequest.written_at.is_(None))
        .order_by(StatusRequest.sent_at, StatusRequest.request_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars().all())


# -- the consumers' ledgers, set-wise (domain/book.py): one read per table a batch touches, one write ----------

CLAIM_SELECT = ", ".join(f"{c}::text" if c in ("denial_codes", "pending_postings") else c for c in book.COLUMNS)


def _claim_of(row: asyncpg.Record) -> book.Claim:
    values = dict(row)
    values["denial_codes"] = json_loads(values["denial_codes"])
    values["pending_postings"] = json_loads(values["pending_postings"])
    return book.Claim(**values)


async def load_claims(session: AsyncSession, into: book.Book, claim_ids: Iterable[UUID], create: bool = True) -> None:
    """The claims' rows into the book, locked in id order (so two batches cannot deadlock); with
    `create`, a claim A/R has no row of yet enters the book as new (its row is inserted on saving)."""
    wanted = sorted(set(claim_ids) - into.claims.keys())
    if not wanted:
        return
    raw = await driver(session)
    rows = await raw.fetch(
        f"SELECT {CLAIM_SELECT} FROM ar_claim WHERE claim_id = ANY($1::uuid[]) ORDER BY claim_id FOR UPDATE", wanted
    )
    stored = [into.add_stored(_claim_of(row)) for row in rows]
    if create:
        for claim_id in wanted:
            into.add_new(claim_id)
    await _load_totals(raw, into, [c.claim_id for c in stored])


async def load_roots(session: AsyncSession, into: book.Book) -> None:
    """The original claims whose ledgers the book's follow-on claims book onto, locked too."""
    while missing := into.missing_roots():
        await load_claims(session, into, missing, create=False)
        if missing & into.claims.keys() != missing:
            raise LookupError("a follow-on claim names an original claim A/R does not hold")


async def load_first_claims(session: AsyncSession, into: book.Book, encounter_ids: Iterable[str]) -> dict[str, UUID]:
    """For each encounter, the claim first submitted for it that keeps its own ledger (locked, into
    the book): a later claim for the same encounter books onto it."""
    encounters = sorted(set(encounter_ids))
    if not encounters:
        return {}
    raw = await driver(session)
    rows = await raw.fetch(
        f"SELECT {CLAIM_SELECT} FROM ar_claim WHERE encounter_id = ANY($1::text[])"
        " AND root_claim_id IS NULL AND submitted_at IS NOT NULL ORDER BY claim_id FOR UPDATE",
        encounters,
    )
    claims = [into.add_stored(_claim_of(row)) for row in rows]
    await _load_totals(raw, into, [c.claim_id for c in claims if c.claim_id not in into.totals])
    first: dict[str, book.Claim] = {}
    for claim in claims:
        known = first.get(claim.encounter_id or "")
        if known is None or (claim.submitted_at, str(claim.claim_id)) < (known.submitted_at, str(known.claim_id)):
            first[claim.encounter_id or ""] = claim
    return {encounter: claim.claim_id for encounter, claim in first.items()}


async def _load_totals(raw: asyncpg.Connection, into: book.Book, claim_ids: list[UUID]) -> None:
    if not claim_ids:
        return
    for claim_id in claim_ids:
        into.totals.setdefault(claim_id, {})
    rows = await raw.fetch(
        "SELECT claim_id, kind, sum(amount) AS amount FROM ledger_entry WHERE claim_id = ANY($1::uuid[])"
        " GROUP BY claim_id, kind",
        claim_ids,
    )
    for row in rows:
        totals = into.totals[row["claim_id"]]
        totals[row["kind"]] = totals.get(row["kind"], Decimal("0.00")) + row["amount"]


async def load_work(session: AsyncSession, into: book.Book) -> None:
    """Which stored claims have open work items (so only those are resolved) or undated ones."""
    claim_ids = sorted(into.stored)
    if not claim_ids:
        return
    rows = await (await driver(session)).fetch(
        "SELECT claim_id, kind, status = 'open' AS open, due_date IS NULL AS undated FROM ar_work_item"
        " WHERE claim_id = ANY($1::uuid[]) AND (status = 'open' OR due_date IS NULL)",
        claim_ids,
    )
    for row in rows:
        if row["open"]:
            into.open_work.add((row["claim_id"], row["kind"]))
        if row["undated"]:
            into.undated.add(row["claim_id"])


def _columns(claims: list[book.Claim]) -> list[list[Any]]:
    """The claims' values column by column (JSON as text), in book.COLUMNS order."""
    columns = []
    for name in book.COLUMNS:
        values = [getattr(c, name) for c in claims]
        columns.append([json_dumps(v) for v in values] if name in ("denial_codes", "pending_postings") else values)
    return columns


CLAIM_TYPES = {
    "claim_id": "uuid", "status": "text", "patient_id": "uuid", "payer_id": "text", "payer_name": "text",
    "date_of_service": "date", "submitted_at": "timestamptz", "adjudicated": "bool", "denied": "bool",
    "encounter_id": "text", "root_claim_id": "uuid", "role": "text", "secondary_pending": "bool",
    "secondary_payer_id": "text", "payer_claim_control_number": "text", "submissions": "int4", "rejected": "bool",
    "first_pass_paid": "bool", "denial_codes": "text", "first_paid_on": "date", "filing_deadline": "date",
    "pending_postings": "text", "patient_control_number": "text",
}  # fmt: skip
_UNNEST = ", ".join(f"${n}::{CLAIM_TYPES[c]}[]" for n, c in enumerate(book.COLUMNS, 1))
_AS = f"u({', '.join(book.COLUMNS)})"
_VALUES = ", ".join(f"u.{c}::jsonb" if CLAIM_TYPES[c] == "text" and c in ("denial_codes", "pending_postings")
                    else f"u.{c}" for c in book.COLUMNS)  # fmt: skip
INSERT_CLAIMS = f"INSERT INTO ar_claim ({', '.join(book.COLUMNS)}) SELECT {_VALUES} FROM unnest({_UNNEST}) AS {_AS}"
UPDATE_CLAIMS = (
    f"UPDATE ar_claim AS c SET {', '.join(f'{c} = {v}' for c, v in zip(book.COLUMNS[1:], _VALUES.split(', ')[1:], strict=True))}"
    f" FROM unnest({_UNNEST}) AS {_AS} WHERE c.claim_id = u.claim_id"
)
INSERT_ENTRIES = (
    "INSERT INTO ledger_entry (claim_id, source_event_id, kind, amount)"
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[])"
)
INSERT_WORK = (
    "INSERT INTO ar_work_item (item_id, claim_id, patient_id, kind, category, action, reason, amount, due_date,"
    " owner, status, created_at, resolution, resolved_at)"
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::numeric[], $9::date[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::timestamptz[])"
    # a literal predicate: a bound one stops matching the partial index once PostgreSQL picks a generic plan
    " ON CONFLICT (claim_id, kind) WHERE status = 'open' DO NOTHING"
)
CLOSE_WORK = (
    "UPDATE ar_work_item AS w SET status = 'resolved', resolution = u.resolution, resolved_at = $4"
    " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(claim_id, kind, resolution)"
    " WHERE w.claim_id = u.claim_id AND w.kind = u.kind AND w.status = 'open'"
)
DATE_WORK = (  # a rejection that came before its claim was opened for 0.00: it is for the claim's charge
    "UPDATE ar_work_item AS w SET due_date = u.due_date, patient_id = u.patient_id,"
    " amount = CASE WHEN w.kind = 'rejection' AND w.amount = 0 THEN u.charge ELSE w.amount END"
    " FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::numeric[]) AS u(claim_id, due_date, patient_id, charge)"
    " WHERE w.claim_id = u.claim_id AND w.due_date IS NULL"
)


class ClaimRaced(Exception):
    """Two transactions found the same claim new and the other committed it first: the batch is asked
    again (as a serialization failure is), and then finds the claim's row."""

    sqlstate = "40001"


async def save_book(session: AsyncSession, done: book.Book, now: datetime) -> None:
    """What the batch decided, one statement per table and kind of write (none when there is nothing)."""
    raw = await driver(session)
    done.refresh_statuses()
    if new := done.new_claims():
        try:
            await raw.execute(INSERT_CLAIMS, *_columns(new))
        except asyncpg.UniqueViolationError as exc:
            raise ClaimRaced("another transaction created one of these claims first") from exc
    if changed := done.changed_claims():
        await raw.execute(UPDATE_CLAIMS, *_columns(changed))
    if done.entries:
        await raw.execute(INSERT_ENTRIES, *map(list, zip(*done.entries, strict=True)))
    if done.dated:
        await raw.execute(DATE_WORK, *map(list, zip(*((c.claim_id, c.filing_deadline, c.patient_id, done.charge_of(c))
                                                      for c in done.dated), strict=True)))  # fmt: skip
    if done.closed:
        await raw.execute(CLOSE_WORK, *map(list, zip(*done.closed, strict=True)), now)
    if done.opened:
        await raw.execute(INSERT_WORK, *map(list, zip(*(_work_row(row) for row in done.opened), strict=True)))
    if done.awaiting:
        await raw.execute(AWAIT_COVERAGE, *map(list, zip(*done.awaiting.values(), strict=True)), now)


AWAIT_COVERAGE = (  # a later payment of the same ledger (a replacement's) is the adjudication to send
    "INSERT INTO ar_awaiting_coverage (claim_id, patient_id, request, correlation_id, created_at)"
    " SELECT c, p, r::jsonb, k, $5 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS u(c, p, r, k)"
    " ON CONFLICT (claim_id) DO UPDATE SET request = excluded.request, correlation_id = excluded.correlation_id"
)


def _work_row(row: book.WorkRow) -> tuple[Any, ...]:
    work = row.work
    return (
        uuid.uuid4(), row.claim_id, row.patient_id, work.kind, work.category, work.action, work.reason[:300],
        work.amount, row.due_date, row.owner, "open" if row.resolved_at is None else "resolved", row.created_at,
        row.resolution, row.resolved_at,
    )  # fmt: skip


async def open_accounts(session: AsyncSession, patient_ids: Iterable[UUID]) -> None:
    """An account for each patient a claim names, before (or without) their patient.registered: one
    statement over an array (the ORM's executemany would be one per patient)."""
    if patients := sorted(set(patient_ids)):
        await (await driver(session)).execute(
            "INSERT INTO ar_patient_account (patient_id, version, coverages)"
            " SELECT p, 0, '[]'::jsonb FROM unnest($1::uuid[]) AS p ON CONFLICT DO NOTHING",
            patients,
        )
