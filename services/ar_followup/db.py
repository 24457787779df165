"""A/R's tables: one row per claim and its ledger entries."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Numeric, UniqueConstraint, func, select
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession


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


TABLES = ("ar_claim", "ledger_entry")


async def totals_by_kind(session: AsyncSession, claim_id: UUID | None = None) -> dict[str, Decimal]:
    query = select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
    if claim_id is not None:
        query = query.where(LedgerEntry.claim_id == claim_id)
    return {kind: amount for kind, amount in (await session.execute(query)).all()}
