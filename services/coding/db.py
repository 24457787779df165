"""Coding's tables: the outcome of every encounter it was given."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession


class CodingOutcome(SQLModel, table=True):
    __tablename__ = "coding_outcome"

    encounter_id: str = Field(primary_key=True, max_length=64)
    patient_id: UUID = Field(index=True)
    status: str = Field(max_length=16)  # coded | rejected
    findings: list = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    coded_by: str = Field(max_length=64)
    correlation_id: str = Field(max_length=64)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


TABLES = ("coding_outcome",)


async def outcome_exists(session: AsyncSession, encounter_id: str) -> bool:
    return await session.get(CodingOutcome, encounter_id) is not None


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(CodingOutcome.status, func.count()).group_by(CodingOutcome.status))
    return {status: count for status, count in rows.all()}
