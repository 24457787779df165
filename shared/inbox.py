"""The inbox: a redelivered event is recognised by (consumer, event id) and skipped, inside the
same transaction as the business write, so processing happens exactly once.

Each row keeps a digest of the body it was handled with (sha256 of the decoded event's canonical
JSON, so a sender's re-serialisation of the same content matches). An id seen again with another
body is not a redelivery but a conflict: the consumer dead-letters it. Rows written before the
digest was (body_digest NULL) take any body as a redelivery."""

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, cast
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Column, CursorResult, DateTime, LargeBinary, delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from shared.db import driver, table_of

# The migration each service runs to add the digest (nullable: rows written before have none).
ADD_BODY_DIGEST = "ALTER TABLE inbox ADD COLUMN IF NOT EXISTS body_digest BYTEA"


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: UUID = Field(primary_key=True)
    received_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    body_digest: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))


def body_digest(data: BaseModel) -> bytes:
    """sha256 of the event's body as its contract writes it: other whitespace or key order in the
    record's bytes give the same digest."""
    return hashlib.sha256(data.model_dump_json().encode()).digest()


class Claim(NamedTuple):
    consumer: str
    event_id: UUID
    digest: bytes


class Verdict(StrEnum):
    NEW = "new"  # handle it
    DUPLICATE = "duplicate"  # already handled (or earlier in this batch) with this body: skip it
    CONFLICT = "conflict"  # the id was handled with another body: dead-letter it


Key = tuple[str, UUID]


def verdicts(claims: Sequence[Claim], inserted: Collection[Key], recorded: Mapping[Key, bytes | None]) -> list[Verdict]:
    """One verdict per claim, in order. `inserted`: the keys this batch recorded first; `recorded`:
    each key's digest in the inbox now (None: recorded before digests were, any body matches; a key
    absent, e.g. purged meanwhile, is taken as a duplicate as before). A key claimed twice in a batch
    is new once, and a conflict where its bodies differ."""
    handed: set[Key] = set()
    result = []
    for claim in claims:
        key = (claim.consumer, claim.event_id)
        known = recorded.get(key)
        if known is not None and known != claim.digest:
            result.append(Verdict.CONFLICT)
        elif key in inserted and key not in handed:
            handed.add(key)
            result.append(Verdict.NEW)
        else:
            result.append(Verdict.DUPLICATE)
    return result


async def purge(session: AsyncSession, older_than_days: int) -> int:
    """Forget ids older than any redelivery can be: the topics' retention (7 days) plus a margin."""
    table = table_of(InboxMessage)
    result = await session.execute(
        delete(table).where(table.c.received_at < func.now() - timedelta(days=older_than_days))
    )
    return cast(CursorResult[Any], result).rowcount  # a DELETE's result is a CursorResult


async def claim(session: AsyncSession, claims: Sequence[Claim]) -> list[Verdict]:
    """Record the claims (several consumers at once: a group reading several topics) and judge each.
    One statement over three arrays (no parameter per row to bind) when every id is new, as it
    nearly always is; a second reads the digests of the ids that were not."""
    if not claims:
        return []
    connection = await driver(session)
    consumers, event_ids, digests = (list(column) for column in zip(*claims, strict=True))
    rows = await connection.fetch(CLAIM, consumers, event_ids, digests)
    recorded: dict[Key, bytes | None] = {(row[0], row[1]): row[2] for row in rows}
    seen = {(c.consumer, c.event_id) for c in claims} - recorded.keys()
    if seen:
        old = await connection.fetch(RECORDED, *(list(column) for column in zip(*seen, strict=True)))
        recorded |= {(row[0], row[1]): row[2] for row in old}
    return verdicts(claims, {(row[0], row[1]) for row in rows}, recorded)


CLAIM = (
    "INSERT INTO inbox (consumer, event_id, body_digest) SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[])"
    " ON CONFLICT DO NOTHING RETURNING consumer, event_id, body_digest"
)
RECORDED = (
    "SELECT consumer, event_id, body_digest FROM inbox"
    " WHERE (consumer, event_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))"
)
