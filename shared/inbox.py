"""The inbox: a redelivered event is recognised by (consumer, event id) and skipped, inside the
same transaction as the business write, so processing happens exactly once."""

from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Column, CursorResult, DateTime, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.db import table_of


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: UUID = Field(primary_key=True)
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


async def purge(session: AsyncSession, older_than_days: int) -> int:
    """Forget ids older than any redelivery can be: the topics' retention (7 days) plus a margin."""
    table = table_of(InboxMessage)
    result = await session.execute(
        delete(table).where(table.c.received_at < func.now() - timedelta(days=older_than_days))
    )
    return cast(CursorResult[Any], result).rowcount  # a DELETE's result is a CursorResult


async def claim_new(session: AsyncSession, consumer: str, event_ids: list[UUID]) -> set[UUID]:
    """Record the ids; return those never seen before by this consumer."""
    if not event_ids:
        return set()
    table = table_of(InboxMessage)
    statement = (
        insert(table)
        .values([{"consumer": consumer, "event_id": event_id} for event_id in event_ids])
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    result = await session.execute(statement)
    return set(result.scalars().all())
