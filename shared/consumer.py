"""Consuming events safely, the same way in every service.

A subscriber takes a batch of records and:
1. decodes each against its contract; a record that does not decode goes to the dead-letter
   topic at once (retrying cannot fix it);
2. runs the handler for every new event in ONE database transaction, with the inbox recording
   the event ids, so a redelivered event changes nothing;
3. if that transaction fails, retries it with backoff when the fault looks transient (database or
   network), else isolates the events one per transaction so one bad event cannot hold back its
   neighbours; an event that still fails is dead-lettered with the reason;
4. returns, and only then are the offsets committed (ack policy NACK_ON_ERROR: if dead-lettering
   itself fails, the batch is rewound and redelivered, and the inbox absorbs the repeats).
"""

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import inbox, metrics, telemetry
from shared.contracts.events import Contract
from shared.contracts.topics import dead_letter_topic
from shared.envelope import EnvelopeError, Event, decode
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Contract)
# A handler gets the batch's new events (redeliveries already removed) and the open transaction.
Handler = Callable[[AsyncSession, list[Event[T]]], Awaitable[None]]


class Rejected(Exception):
    """A handler's verdict that this event can never be processed: dead-letter it with the reason."""


TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _is_conflict(exc.orig)):
        return True
    return isinstance(exc, TRANSIENT)


def _is_conflict(error: BaseException | None) -> bool:
    """Deadlocks and serialization failures: the database asks for the transaction again."""
    sqlstate = getattr(error, "sqlstate", None) or getattr(getattr(error, "__cause__", None), "sqlstate", None)
    return sqlstate in ("40001", "40P01")


@dataclass
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error_type: str
    attempts: int


@dataclass
class Subscription(Generic[T]):
    topic: str  # logical name
    consumer: str  # logical consumer (group) name, e.g. "claims.encounter-coded"
    contract: type[T]
    handler: Handler[T]


class BatchProcessor(Generic[T]):
    def __init__(
        self,
        subscription: Subscription[T],
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        producer: Callable[[], AIOKafkaProducer],
    ) -> None:
        self.sub, self.settings, self.sessions, self.producer = subscription, settings, sessions, producer
        self._trace_headers: dict[UUID, Any] = {}  # event id -> record headers of the batch in hand (traceparent)

    async def process(self, records: tuple[ConsumerRecord, ...]) -> None:
        started = time.monotonic()
        events: list[tuple[ConsumerRecord, Event[T]]] = []
        dead: list[DeadLetter] = []
        for record in records:
            try:
                events.append((record, decode(record.headers, record.value, self.sub.contract, record.key)))
            except EnvelopeError as exc:
                dead.append(DeadLetter(record, str(exc), "EnvelopeError", 1))

        self._trace_headers = {event.id: record.headers for record, event in events}
        if events:
            dead += await self._handle(events)
        if dead:
            await self._dead_letter(dead)
        metrics.CONSUMED.labels(self.sub.topic, self.sub.consumer).inc(len(records))
        metrics.BATCH_SECONDS.labels(self.sub.topic, self.sub.consumer).observe(time.monotonic() - started)

    async def _handle(self, events: list[tuple[ConsumerRecord, Event[T]]]) -> list[DeadLetter]:
        try:
            await self._with_retries(lambda: self._transaction([e for _, e in events]))
            return []
        except Exception as exc:  # noqa: BLE001 - any failure: find the bad event below
            if is_transient(exc) or len(events) == 1:
                # The fault outlived the retries (database down): nothing here can be processed.
                return [self._dead(record, exc) for record, _ in events]
        # One of them is bad: give each its own transaction so its neighbours go through.
        dead = []
        for record, event in events:
            try:
                await self._with_retries(functools.partial(self._transaction, [event]))
            except Exception as exc:  # noqa: BLE001 - whatever failed it, this event is dead-lettered
                dead.append(self._dead(record, exc))
        return dead

    async def _transaction(self, events: list[Event[T]]) -> None:
        async with self.sessions() as session, session.begin():
            new = await inbox.claim_new(session, self.sub.consumer, [e.id for e in events])
            if new:
                fresh = list({e.id: e for e in events if e.id in new}.values())  # a repeat inside one batch too
                with telemetry.consuming(self.sub.consumer, self.sub.topic, fresh, self._trace_headers):
                    await self.sub.handler(session, fresh)
            skipped = len(events) - len(new)
        if skipped:
            metrics.DUPLICATES.labels(self.sub.topic, self.sub.consumer).inc(skipped)

    async def _with_retries(self, attempt: Callable[[], Awaitable[None]]) -> None:
        delay = self.settings.retry_backoff_seconds
        for number in range(1, self.settings.retry_attempts + 1):
            try:
                return await attempt()
            except Exception as exc:
                metrics.FAILED.labels(self.sub.topic, self.sub.consumer).inc()
                if not is_transient(exc) or number == self.settings.retry_attempts:
                    raise
                log.warning(
                    "transient failure; retrying",
                    extra={"consumer": self.sub.consumer, "attempt": number, "exc_type": type(exc).__name__},
                )
                await asyncio.sleep(delay)
                delay *= 2

    def _dead(self, record: ConsumerRecord, exc: Exception) -> DeadLetter:
        attempts = self.settings.retry_attempts if is_transient(exc) else 1
        reason = str(exc) if isinstance(exc, Rejected | EnvelopeError) else f"{type(exc).__name__} in handler"
        log.error(
            "event dead-lettered",
            exc_info=not isinstance(exc, Rejected),
            extra={"consumer": self.sub.consumer, "topic": record.topic, "offset": record.offset, "reason": reason},
        )
        return DeadLetter(record, reason, type(exc).__name__, attempts)

    async def _dead_letter(self, dead: list[DeadLetter]) -> None:
        sends = []
        for letter in dead:
            record = letter.record
            headers = [(k, v) for k, v in record.headers if not k.startswith("dlt_")]
            headers += [
                (k, str(v).encode())
                for k, v in {
                    "dlt_reason": letter.reason[:1000],
                    "dlt_error_type": letter.error_type,
                    "dlt_consumer": self.sub.consumer,
                    "dlt_source_topic": record.topic,
                    "dlt_source_partition": record.partition,
                    "dlt_source_offset": record.offset,
                    "dlt_attempts": letter.attempts,
                    "dlt_failed_at": datetime.now(UTC).isoformat(),
                }.items()
            ]
            target = self.settings.topic(dead_letter_topic(self.sub.topic))
            sends.append(await self.producer().send(target, value=record.value, key=record.key, headers=headers))
            log.warning("dead letter", extra={"consumer": self.sub.consumer, "reason": letter.reason[:300]})
        await asyncio.gather(*sends)  # raises -> batch nacked and redelivered; nothing is lost
        metrics.DEAD_LETTERED.labels(self.sub.topic, self.sub.consumer).inc(len(dead))


def _sanitized(record: ConsumerRecord) -> ConsumerRecord:
    """FastStream decodes headers as UTF-8 before the handler runs; hostile bytes would crash the
    subscriber in a loop. Hand it printable headers; our own decoding sees the originals."""
    safe = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers]
    return dataclasses.replace(record, headers=safe)


async def _safe_parser(records: tuple[ConsumerRecord, ...], original: Callable[..., Awaitable[Any]]) -> Any:
    message = await original(tuple(_sanitized(r) for r in records))
    message.raw_message = records
    return message


async def _no_decode(message: Any) -> Any:
    return None  # events are decoded per record against their contract, in BatchProcessor


def subscribe(
    broker: KafkaBroker,
    subscription: Subscription[T],
    settings: ServiceSettings,
    sessions: async_sessionmaker[AsyncSession],
    producer: Callable[[], AIOKafkaProducer],
) -> BatchProcessor[T]:
    processor = BatchProcessor(subscription, settings, sessions, producer)

    @broker.subscriber(
        settings.topic(subscription.topic),
        group_id=settings.group(subscription.consumer),
        batch=True,
        max_records=settings.consume_max_records,
        batch_timeout_ms=settings.consume_batch_timeout_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        parser=_safe_parser,
        decoder=_no_decode,
        title=f"{subscription.consumer}:{subscription.topic}",
    )
    async def on_batch(message: KafkaMessage) -> None:
        await processor.process(message.raw_message)

    return processor
