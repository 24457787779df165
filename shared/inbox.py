"""The inbox: a redelivered event is recognised by (consumer, event id) and skipped, inside the
same transaction as the business write, so processing happens exactly once."""

from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Column, CursorResult, DateTime, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.db import driver, table_of


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


async def claim_new_of(session: AsyncSession, pairs: list[tuple[str, UUID]]) -> set[tuple[str, UUID]]:
    """`claim_new` for several consumers at once (a group reading several topics), in one statement
    over two arrays (no parameter per row to bind)."""
    if not pairs:
        return set()
    consumers, event_ids = (list(column) for column in zip(*pairs, strict=True))
    rows = await (await driver(session)).fetch(CLAIM_NEW, consumers, event_ids)
    return {(consumer, event_id) for consumer, event_id in rows}


CLAIM_NEW = (
    "INSERT INTO inbox (consumer, event_id) SELECT * FROM unnest($1::text[], $2::uuid[])"
    " ON CONFLICT DO NOTHING RETURNING consumer, event_id"
)
