"""The transactional outbox. A handler stages events in the same transaction as its state change
(one INSERT per transaction, one NOTIFY); the relays publish them in id order with key = aggregate
id, acks=all and an idempotent producer, and delete them in the same transaction. The rows are
shared out by key among the replicas' relays (OutboxRelay), so replicas publish in parallel and a
key's events still go out in order. A crash between publish and delete republishes: consumers'
inboxes make that harmless."""

import asyncio
import contextlib
import logging
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Column, DateTime, Identity, LargeBinary, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import await_
from sqlmodel import Field, SQLModel

from shared import metrics, telemetry
from shared.db import Statement, begin_as_the_adapter, begins_like_the_adapter, json_dumps, json_loads
from shared.envelope import Event
from shared.kafka import ProducerBroken, delivered

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


# All of a transaction's events in one statement over arrays (an executemany would be a statement
# per row); the trigger's NOTIFY fires once for it.
INSERT_STAGED_SQL = (
    "INSERT INTO outbox (topic, key, headers, value) SELECT t, k, h::jsonb, v"
    " FROM unnest(CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:headers AS text[]), CAST(:values AS bytea[]))"
    " AS u(t, k, h, v)"
)
INSERT_STAGED = Statement(INSERT_STAGED_SQL)


@listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    rows = session.info.pop(STAGED, None)
    if not rows:
        return
    columns = {
        "topics": [row["topic"] for row in rows],
        "keys": [row["key"] for row in rows],
        "headers": [json_dumps(row["headers"]) for row in rows],
        "values": [row["value"] for row in rows],
    }
    pooled = session.connection().connection  # the session's own connection, in its transaction
    adapted = pooled.dbapi_connection
    if not begins_like_the_adapter(adapted):
        session.execute(text(INSERT_STAGED_SQL), columns)
        return
    # Straight on asyncpg (a statement through the session costs ~0.5 ms, once per consumer batch);
    # this hook runs in SQLAlchemy's greenlet, where await_ runs a coroutine as the session's own calls do.
    raw = pooled.driver_connection
    assert raw is not None  # a checked-out connection has its driver's
    await_(begin_as_the_adapter(adapted))
    await_(raw.execute(INSERT_STAGED.sql, *INSERT_STAGED.args(columns)))


@listens_for(Session, "after_rollback")
def _forget_staged(session: Session) -> None:
    session.info.pop(STAGED, None)


def stage_all(session: AsyncSession, topic: str, events: Iterable[Event[Any]]) -> None:
    for event in events:
        stage(session, topic, event)


class OutboxRelay:
    """Publishes the service's outbox. The rows are shared out by their key into `slots` (a key's
    events are always in one slot, so they go out in order); a slot is relayed by the replica that
    holds its PostgreSQL advisory lock, and each replica takes its fair share (slots / replicas,
    rounded up), so a second replica publishes half. A replica that stops frees its slots; the others
    take them up at their next look (every `rebalance_seconds`). Woken by NOTIFY; `poll_seconds` is
    only how long it waits for one before looking anyway."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        dsn: str,
        producer: AIOKafkaProducer,
        topic_prefix: str = "",
        batch_size: int = 1000,
        poll_seconds: float = 30.0,
        slots: int = 8,
        rebalance_seconds: float = 10.0,
        renew: Callable[[AIOKafkaProducer], Awaitable[None]] | None = None,
    ) -> None:
        """`renew(broken)` replaces a producer that can deliver nothing more (and sets `producer`)."""
        self.engine, self.dsn, self.producer, self.renew = engine, dsn, producer, renew
        self.prefix, self.batch_size, self.poll_seconds = topic_prefix, batch_size, poll_seconds
        self.slot_count, self.rebalance_seconds = slots, rebalance_seconds
        self.lock_key = zlib.crc32(f"outbox-relay:{service}".encode()) & 0x7FFFFFFF  # slot s: (lock_key, s)
        self.members_key = zlib.crc32(f"outbox-relay-members:{service}".encode()) & 0x7FFFFFFF
        self.member = secrets.randbelow(2**31)
        self.slots: set[int] = set()
        self._wake = asyncio.Event()
        self._next_rebalance = 0.0

    @property
    def is_leader(self) -> bool:
        """Whether this replica relays any part of the outbox now."""
        return bool(self.slots)

    async def run(self) -> None:
        """Publish forever; take the share of slots up again after any connection loss."""
        while True:
            try:
                await self._relay()
            except asyncio.CancelledError:
                raise
            except ProducerBroken as broken:
                log.error("outbox relay: the producer is broken; renewing it", extra={"reason": str(broken)})
                await self._renew()
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _renew(self) -> None:
        if self.renew is None:
            await asyncio.sleep(1.0)
            return
        try:
            await self.renew(self.producer)
        except Exception:  # the broker is still away: the next batch finds out again
            log.exception("outbox relay: no new producer yet; retrying")
            await asyncio.sleep(1.0)

    async def _relay(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", self.members_key, self.member)  # present
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            self._next_rebalance = 0.0
            while not conn.is_closed():
                if time.monotonic() >= self._next_rebalance:
                    await self._rebalance(conn)
                self._wake.clear()  # before looking: a NOTIFY that comes meanwhile wakes the next wait
                if await self.publish_batch(conn) < self.batch_size:
                    wait = min(self.poll_seconds, max(0.0, self._next_rebalance - time.monotonic()))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
            raise ConnectionError("relay connection closed")
        finally:
            self.slots = set()
            await conn.close()  # frees the session's locks

    async def _rebalance(self, conn: asyncpg.Connection) -> None:
        """Holds ceil(slots / replicas): frees what is over it, takes free slots while under it."""
        self._next_rebalance = time.monotonic() + self.rebalance_seconds
        members = await conn.fetchval(COUNT_MEMBERS, self.members_key) or 1
        share = -(-self.slot_count // members)
        for slot in sorted(self.slots, reverse=True)[: max(0, len(self.slots) - share)]:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", self.lock_key, slot)
            self.slots.discard(slot)
        start = self.member % self.slot_count  # replicas start looking at different slots
        for slot in ((start + n) % self.slot_count for n in range(self.slot_count)):
            if len(self.slots) >= share:
                break
            if slot not in self.slots and await conn.fetchval(TRY_SLOT, self.lock_key, slot):
                self.slots.add(slot)

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """The oldest rows of this replica's slots: taken out, published in id order (acks=all), and
        gone only when the broker has them all (a failure rolls the DELETE back)."""
        if not self.slots:
            return 0
        async with conn.transaction():
            rows = sorted(await conn.fetch(TAKE_ROWS, self.batch_size, self.slot_count, sorted(self.slots)),
                          key=lambda row: row["id"])  # fmt: skip
            metrics.OUTBOX_BACKLOG.set(len(rows))
            if not rows:
                metrics.OUTBOX_AGE.set(0)
                return 0
            metrics.OUTBOX_AGE.set((datetime.now(UTC) - rows[0]["created_at"]).total_seconds())
            started = time.monotonic()
            sends = [
                await self.producer.send(
                    self.prefix + row["topic"],
                    value=row["value"],
                    key=row["key"].encode(),
                    headers=[(k, v.encode()) for k, v in json_loads(row["headers"])],
                )
                for row in rows
            ]
            await delivered(sends)  # a broken producer raises: the DELETE rolls back, the rows wait
        for row in rows:
            metrics.PUBLISHED.labels(row["topic"]).inc()
        log.debug("outbox published", extra={"count": len(rows), "seconds": time.monotonic() - started})
        return len(rows)


SLOT = "abs(hashtext(key)) % $2"  # a key's slot: the same on every replica
TAKE_ROWS = (
    "DELETE FROM outbox WHERE id = ANY(ARRAY("
    f"SELECT id FROM outbox WHERE {SLOT} = ANY($3::int[]) ORDER BY id LIMIT $1"
    ")) RETURNING id, topic, key, headers::text AS headers, value, created_at"
)
TRY_SLOT = "SELECT pg_try_advisory_lock($1, $2)"
COUNT_MEMBERS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objsubid = 2"
    " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
