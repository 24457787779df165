"""Payments' tables: the claims it knows (from claim.submitted), every 835 file it received,
and every claim payment, posted or waiting for its claim."""

import zlib
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import BigInteger, Column, DateTime, Numeric, func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class KnownClaim(SQLModel, table=True):
    __tablename__ = "known_claim"

    claim_id: UUID = Field(primary_key=True)
    patient_control_number: str = Field(max_length=20, unique=True)
    payer_id: str = Field(max_length=80)
    payer_name: str = Field(max_length=60)
    date_of_service: date
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    line_numbers: list = Field(sa_column=Column(JSONB, nullable=False))
    correlation_id: str = Field(max_length=64)


class EraFile(SQLModel, table=True):
    __tablename__ = "era_file"

    era_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    sha256: str = Field(max_length=64, unique=True)
    file_name: str = Field(max_length=200)
    status: str = Field(max_length=16)  # posted | quarantined
    reason: str | None = Field(default=None, max_length=1000)
    claim_payments: int = 0
    total_paid: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(14, 2), nullable=False))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class ClaimPaymentRecord(SQLModel, table=True):
    __tablename__ = "claim_payment"

    posting_id: UUID = Field(primary_key=True)
    era_id: int = Field(index=True)
    patient_control_number: str = Field(max_length=38, index=True)
    claim_id: UUID | None = Field(default=None, index=True)
    status: str = Field(max_length=16, index=True)  # posted | unmatched
    paid: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    # Kept so an unmatched payment can be posted when its claim becomes known.
    claim_payment: dict = Field(sa_column=Column(JSONB, nullable=False))  # x12 ClaimPayment
    remittance_header: dict = Field(sa_column=Column(JSONB, nullable=False))  # x12 Remittance without claims
    posted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


TABLES = ("known_claim", "era_file", "claim_payment")
MATCHING_LOCK = zlib.crc32(b"payments:matching")


async def lock_matching(session: AsyncSession) -> None:
    """Posting a file and learning a claim both match payments to claims. Run concurrently, each
    could miss the other's uncommitted rows and leave a payment unmatched for good; this
    transaction-scoped lock makes them take turns."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MATCHING_LOCK})
