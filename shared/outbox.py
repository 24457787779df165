"""The transactional outbox. A handler stages events in the same transaction as its state change;
one relay per service (held by a PostgreSQL advisory lock, so a second replica stands by) publishes
them in id order with key = aggregate id, acks=all and an idempotent producer, then deletes them.
A crash between publish and delete republishes: consumers' inboxes make that harmless."""

import asyncio
import logging
import time
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Column, DateTime, Identity, LargeBinary, delete, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from shared import metrics, telemetry
from shared.db import table_of
from shared.envelope import Event

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "outbox"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    topic: str = Field(max_length=200)  # logical name; the relay adds the deployment's prefix
    key: str = Field(max_length=200)
    headers: list[list[str]] = Field(sa_column=Column(JSONB, nullable=False))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


STAGED = "outbox.staged"


PUBLISHES = "rcm_publishes"  # Session.info key: the topics the session's service may publish


class UndeclaredTopic(RuntimeError):
    """A service staged an event on a topic its Declaration does not list."""


def stage(session: AsyncSession, topic: str, event: Event[Any]) -> None:
    """Add an event to the caller's transaction; it is published only if that commits. Rows are
    written in one statement just before the commit (no ORM object per event: that was a hot spot).
    A service's sessions carry the topics it declared; publishing another is a bug, caught here."""
    declared = session.info.get(PUBLISHES)
    if declared is not None and topic not in declared:
        raise UndeclaredTopic(f"{topic} is not among the topics this service declares it publishes")
    session.info.setdefault(STAGED, []).append(
        {
            "topic": topic,
            "key": event.subject,
            # traceparent: the consumers' spans continue this journey's trace (shared/telemetry.py)
            "headers": [[k, v.decode()] for k, v in [*event.headers(), *telemetry.staged_headers(topic, event)]],
            "value": event.value(),
        }
    )


@listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    rows = session.info.pop(STAGED, None)
    if rows:
        session.execute(insert(table_of(OutboxMessage)), rows)


@listens_for(Session, "after_rollback")
def _forget_staged(session: Session) -> None:
    session.info.pop(STAGED, None)


def stage_all(session: AsyncSession, topic: str, events: Iterable[Event[Any]]) -> None:
    for event in events:
        stage(session, topic, event)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        dsn: str,
        producer: AIOKafkaProducer,
        topic_prefix: str = "",
        batch_size: int = 1000,
        poll_seconds: float = 0.05,
    ) -> None:
        self.engine, self.dsn, self.producer = engine, dsn, producer
        self.prefix, self.batch_size, self.poll_seconds = topic_prefix, batch_size, poll_seconds
        self.lock_key = zlib.crc32(f"outbox-relay:{service}".encode())
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run(self) -> None:
        """Publish forever; reacquire leadership after any connection loss."""
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.is_leader = False
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _lead(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                await asyncio.sleep(1.0)  # another replica relays; stand by
            self.is_leader = True
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            while not conn.is_closed():
                published = await self.publish_batch()
                if published < self.batch_size:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds * 20)
                    except TimeoutError:
                        pass
            raise ConnectionError("relay lock connection closed")
        finally:
            self.is_leader = False
            await conn.close()

    async def publish_batch(self) -> int:
        table = table_of(OutboxMessage)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(select(table).order_by(table.c.id).limit(self.batch_size))).all()
            metrics.OUTBOX_BACKLOG.set(len(rows))
            if not rows:
                metrics.OUTBOX_AGE.set(0)
                return 0
            metrics.OUTBOX_AGE.set((datetime.now(UTC) - rows[0].created_at).total_seconds())
            started = time.monotonic()
            deliveries = [
                await self.producer.send(
                    self.prefix + row.topic,
                    value=row.value,
                    key=row.key.encode(),
                    headers=[(k, v.encode()) for k, v in row.headers],
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
            await conn.execute(delete(table).where(table.c.id.in_([row.id for row in rows])))
        for row in rows:
            metrics.PUBLISHED.labels(row.topic).inc()
        log.debug("outbox published", extra={"count": len(rows), "seconds": time.monotonic() - started})
        return len(rows)
