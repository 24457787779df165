"""Consuming events safely, the same way in every service.

A subscriber takes a batch of records and:
1. decodes each against its contract; a record that does not decode goes to the dead-letter
   topic at once (retrying cannot fix it);
2. runs the handler for every new event in ONE database transaction, with the inbox recording
   the event ids, so a redelivered event changes nothing; an id already handled with a different
   body (the inbox keeps a digest of each) is a conflict, dead-lettered once the transaction commits
   (rcm_messages_conflict_total), never skipped unseen;
3. if that transaction fails because the database or the broker is not there now (connection
   refused or lost, shutting down, starting up, read-only, too many connections, timeouts), the
   subscriber PAUSES: it commits nothing, retries the same records with capped backoff for as long
   as the fault lasts (rcm_consumer_paused, readiness false, a log line saying why) and resumes in
   order. Deadlocks and serialization failures are retried a few times. Any other failure isolates
   the events one per transaction, and an event that fails on its own while the infrastructure is
   healthy (checked, not assumed) is dead-lettered with the reason;
4. returns, and only then are the batch's own offsets committed (Subscriber); a pause longer than
   HOLD_SECONDS rewinds the batch and keeps pausing on its redelivery, so the consumer never
   overstays its poll interval; the inbox absorbs the repeats.

A dead letter is the record with its headers plus `dlt_*` headers. A record too large to copy with
them (see shared.kafka.KafkaLimits) is dead-lettered as a reference: no value, `dlt_reference` =
true and `dlt_size`; `rcm dlq replay` fetches the original from its source topic, partition and offset.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import IllegalStateError, KafkaConnectionError, KafkaError, KafkaTimeoutError
from asyncpg.exceptions import InterfaceError as DriverInterfaceError
from asyncpg.exceptions import PostgresConnectionError, PostgresError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import inbox, metrics, telemetry
from shared.contracts.events import Contract, Finding
from shared.contracts.topics import dead_letter_topic
from shared.envelope import EnvelopeError, Event, decode
from shared.kafka import KafkaLimits, ProducerBroken, client_options, delivered, record_size
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T", bound=Contract)
# A handler gets the batch's new events (redeliveries already removed) and the open transaction.
Handler = Callable[[AsyncSession, list[Event[T]]], Awaitable[None]]

PAUSE_BACKOFF_CAP = 5.0  # seconds between attempts while paused: a 20 s outage costs at most 5 s more
HOLD_SECONDS = 120.0  # in one delivery, then the batch is rewound and redelivered (max.poll.interval.ms: 300 s)
PROBE_TIMEOUT = 5.0


class Rejected(Exception):
    """A handler's verdict that this event can never be processed: dead-letter it with the reason."""


class EventIdConflict(Rejected):
    """The inbox's verdict: this event id was already handled with another body. Skipping it would
    drop the new body unseen, handling it would handle the id twice: dead-letter it with the reason."""

    def __init__(self, event_id: UUID) -> None:
        super().__init__(f"event id {event_id} already handled with a different body (conflict)")


class StillPaused(Exception):
    """The infrastructure has been away longer than HOLD_SECONDS: rewind the batch, keep pausing."""


# SQLSTATEs meaning "the database is not there now": connection exceptions (08), admin/crash
# shutdown and starting up (57P01-57P03), statement timeout or cancel (57014), read-only (25006,
# a replica or a failover in progress), too many connections (53300) and other lack of resources.
INFRASTRUCTURE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014", "25006", "53000", "53100", "53200", "53300"})
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock: ask again
INFRASTRUCTURE_TYPES = (
    OSError,  # refused, reset, unreachable; TimeoutError and ConnectionError are OSErrors
    PoolTimeout,
    OperationalError,
    InterfaceError,
    PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    DriverInterfaceError,  # asyncpg: connection closed or in use by a dead transaction
    KafkaConnectionError,
    KafkaTimeoutError,
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (.orig) and its causes, without looping."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def is_infrastructure(exc: BaseException) -> bool:
    """The database or the broker is not there now; the event itself may well be fine."""
    for error in _causes(exc):
        if isinstance(error, INFRASTRUCTURE_TYPES) or _sqlstate(error) in INFRASTRUCTURE_SQLSTATES:
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, KafkaError) and error.retriable:
            return True
        if (_sqlstate(error) or "").startswith("08"):
            return True
    return False


def is_conflict(exc: BaseException) -> bool:
    """Deadlocks and serialization failures: the database asks for the transaction again."""
    return any(_sqlstate(error) in CONFLICT_SQLSTATES for error in _causes(exc))


def failure_reason(exc: BaseException) -> str:
    """What failed, for a dead letter or a quarantine: the error's kind and SQLSTATE, never its
    message (SQLAlchemy's quotes the statement's parameters, and PostgreSQL's may quote a value)."""
    errors = [e for e in _causes(exc) if _sqlstate(e)]
    driver = next((e for e in errors if isinstance(e, PostgresError)), errors[0] if errors else None)
    if driver is None:
        return type(exc).__name__
    return f"{type(driver).__name__} (SQLSTATE {_sqlstate(driver)})"


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database answers now: a failure is an event's (or a file's) own only if it does."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT), sessions() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure here means "not there now"
        return False


def is_transient(exc: BaseException) -> bool:
    """Worth trying again as it is: the infrastructure was away, or the database asked for a retry."""
    return is_infrastructure(exc) or is_conflict(exc)


@dataclass
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error_type: str
    attempts: int


# Tells the sender of a record that is not a valid event why (stages e.g. encounter.rejected), in a transaction.
InvalidAnswer = Callable[[AsyncSession, ConsumerRecord, list[Finding]], None]


@dataclass
class Subscription(Generic[T]):
    topic: str  # logical name
    consumer: str  # logical consumer name (its inbox and dead letters), e.g. "claims.encounter-coded"
    contract: type[T]
    handler: Handler[T]
    answer_invalid: InvalidAnswer | None = None  # the dead letter is kept either way
    group: str | None = None  # the consumer group (default: the consumer); see BatchProcessor

    @property
    def group_id(self) -> str:
        return self.group or self.consumer


class Pause:
    """A consumer's (or a loop's) wait for its infrastructure: capped backoff, a gauge, a log line
    when it starts and ends. `hold` bounds one wait; the state survives a rewound batch."""

    def __init__(self, topic: str, consumer: str, first_delay: float) -> None:
        self.topic, self.consumer, self.first_delay = topic, consumer, first_delay
        self.since: float | None = None
        self.attempts = 0

    @property
    def paused(self) -> bool:
        return self.since is not None

    async def wait(self, exc: BaseException, held_since: float | None = None) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since, self.attempts = now, 0
            metrics.CONSUMER_PAUSED.labels(self.topic, self.consumer).set(1)
        self.attempts += 1
        delay = min(PAUSE_BACKOFF_CAP, self.first_delay * 2 ** min(self.attempts - 1, 16))
        log.warning(
            "paused: database or broker unavailable; retrying",
            extra={
                "consumer": self.consumer,
                "topic": self.topic,
                "exc_type": type(exc).__name__,
                "sqlstate": next((s for e in _causes(exc) if (s := _sqlstate(e))), None),
                "attempt": self.attempts,
                "paused_seconds": round(now - self.since, 1),
                "retry_in_seconds": round(delay, 2),
            },
        )
        if held_since is not None and now - held_since + delay > HOLD_SECONDS:
            raise StillPaused(f"{self.consumer}: infrastructure away for {now - self.since:.0f}s") from exc
        await asyncio.sleep(delay)

    def resume(self, at: float | None = None) -> None:
        """The fault is over: it was over `at` (the start of the attempt that went through; now by default)."""
        if self.since is None:
            return
        paused = max(0.0, (at or time.monotonic()) - self.since)
        metrics.CONSUMER_PAUSED.labels(self.topic, self.consumer).set(0)
        metrics.PAUSED_SECONDS.labels(self.topic, self.consumer).inc(paused)
        log.warning(
            "resumed after pause",
            extra={"consumer": self.consumer, "topic": self.topic, "paused_seconds": round(paused, 1)},
        )
        self.since = None


async def look_forever(look: Callable[[], Awaitable[None]], pause: Pause, wait: Callable[[], Awaitable[None]]) -> None:
    """A file or mailbox loop: look, then wait for the next reason to; while the database or broker
    is away, pause with backoff and look again (an item that fails on its own is `look`'s to set
    aside, so it never stops the loop)."""
    while True:
        try:
            await look()
        except Exception as exc:
            if not is_infrastructure(exc):
                raise
            await pause.wait(exc)
            continue
        pause.resume()
        await wait()


class BatchProcessor(Generic[T]):
    """Handles a consumer group's batches. A group may read several topics (subscriptions sharing a
    `group`): a batch's events are then handled in ONE transaction, each subscription's handler in
    turn in the order given, so the topics' handlers never wait on each other's row locks."""

    def __init__(
        self,
        subscriptions: Subscription[T] | Sequence[Subscription[Any]],
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        producer: Callable[[], AIOKafkaProducer],
        renew_producer: Callable[[AIOKafkaProducer], Awaitable[None]] | None = None,
    ) -> None:
        subs = [subscriptions] if isinstance(subscriptions, Subscription) else list(subscriptions)
        self.subs, self.sub = subs, subs[0]
        self.settings, self.sessions, self.producer = settings, sessions, producer
        self.renew_producer = renew_producer
        self.by_topic = {settings.topic(sub.topic): sub for sub in subs}
        self.limits = KafkaLimits()
        topic, consumer = (self.sub.topic, self.sub.consumer) if len(subs) == 1 else (self.topics, self.sub.group_id)
        self.pause = Pause(topic, consumer, settings.retry_backoff_seconds)
        for sub in subs:
            metrics.CONSUMER_PAUSED.labels(sub.topic, sub.consumer).set(0)
        self._trace_headers: dict[UUID, Any] = {}  # event id -> record headers of the batch in hand (traceparent)
        self._held_since = 0.0

    @property
    def topics(self) -> str:
        return ",".join(sub.topic for sub in self.subs)

    @property
    def paused(self) -> bool:
        return self.pause.paused

    def subscription_of(self, record: ConsumerRecord) -> Subscription[Any]:
        return self.by_topic.get(record.topic, self.sub)

    async def process(self, records: tuple[ConsumerRecord, ...]) -> None:
        started = self._held_since = time.monotonic()
        events: list[tuple[ConsumerRecord, Event[Any]]] = []
        dead: list[DeadLetter] = []
        invalid: dict[int, list[tuple[ConsumerRecord, list[Finding]]]] = {}
        for record in records:
            sub = self.subscription_of(record)
            try:
                events.append((record, decode(record.headers, record.value, sub.contract, record.key)))
            except EnvelopeError as exc:
                dead.append(DeadLetter(record, str(exc), "EnvelopeError", 1))
                invalid.setdefault(self.subs.index(sub), []).append((record, exc.findings))
        for index, refused in invalid.items():
            if self.subs[index].answer_invalid is not None:
                await self._settle(functools.partial(self._answer_invalid, self.subs[index], refused))

        self._trace_headers = {event.id: record.headers for record, event in events}
        if events:
            dead += await self._handle(events)
        if dead:
            await self._until_sent(dead)
        elapsed = time.monotonic() - started
        for sub in self.subs:
            count = sum(1 for r in records if self.subscription_of(r) is sub)
            if count:
                metrics.CONSUMED.labels(sub.topic, sub.consumer).inc(count)
                metrics.BATCH_SECONDS.labels(sub.topic, sub.consumer).observe(elapsed)

    async def _handle(self, events: list[tuple[ConsumerRecord, Event[Any]]]) -> list[DeadLetter]:
        conflicts: list[tuple[ConsumerRecord, Event[Any]]] = []  # filled by the transactions that commit
        failure = await self._settle(lambda: self._transaction(events, conflicts))
        dead = []
        if failure is not None and len(events) == 1:
            dead.append(self._dead(events[0][0], failure))
        elif failure is not None:
            # One of them is bad: give each its own transaction so its neighbours go through.
            for record, event in events:
                failure = await self._settle(functools.partial(self._transaction, [(record, event)], conflicts))
                if failure is not None:
                    dead.append(self._dead(record, failure))
        return dead + [self._dead(record, EventIdConflict(event.id)) for record, event in conflicts]

    async def _settle(self, attempt: Callable[[], Awaitable[None]]) -> Exception | None:
        """Runs the attempt until it succeeds (None) or fails on its own (its exception). While the
        database or broker is away it pauses, however long that takes."""
        conflicts = 0
        while True:
            began = time.monotonic()
            try:
                await attempt()
            except Exception as exc:  # noqa: BLE001 - classified below; nothing is swallowed unseen
                metrics.FAILED.labels(self.sub.topic, self.sub.consumer).inc()
                if is_infrastructure(exc) or not await database_answers(self.sessions):
                    await self.pause.wait(exc, self._held_since)
                    continue
                if is_conflict(exc) and conflicts + 1 < self.settings.retry_attempts:
                    conflicts += 1
                    await asyncio.sleep(self.settings.retry_backoff_seconds * 2 ** (conflicts - 1))
                    continue
                self.pause.resume(began)
                return exc
            self.pause.resume(began)
            return None

    async def _answer_invalid(
        self, sub: Subscription[Any], invalid: list[tuple[ConsumerRecord, list[Finding]]]
    ) -> None:
        """The senders hear why their records were refused (a repeat after a crash carries the same
        event ids, derived from the records' positions, so their consumers take it once)."""
        assert sub.answer_invalid is not None
        async with self.sessions() as session, session.begin():
            for record, findings in invalid:
                sub.answer_invalid(session, record, findings)

    async def _transaction(
        self, events: list[tuple[ConsumerRecord, Event[Any]]], conflicts: list[tuple[ConsumerRecord, Event[Any]]]
    ) -> None:
        """The new events of the batch, each subscription's handler in turn, in one transaction. The
        events whose id was handled with another body are added to `conflicts` once it commits."""
        by_sub: dict[int, list[tuple[ConsumerRecord, Event[Any]]]] = {}
        for record, event in events:
            by_sub.setdefault(self.subs.index(self.subscription_of(record)), []).append((record, event))
        ordered = [(i, record, event) for i in sorted(by_sub) for record, event in by_sub[i]]
        claims = [inbox.Claim(self.subs[i].consumer, e.id, inbox.body_digest(e.data)) for i, _, e in ordered]
        async with self.sessions() as session, session.begin():
            verdicts = await inbox.claim(session, claims)
            fresh: dict[int, list[Event[Any]]] = {}
            skipped: dict[int, int] = {}
            conflicting: dict[int, list[tuple[ConsumerRecord, Event[Any]]]] = {}
            for (index, record, event), verdict in zip(ordered, verdicts, strict=True):
                if verdict is inbox.Verdict.NEW:
                    fresh.setdefault(index, []).append(event)
                elif verdict is inbox.Verdict.DUPLICATE:  # a redelivery, or a repeat within the batch
                    skipped[index] = skipped.get(index, 0) + 1
                else:
                    conflicting.setdefault(index, []).append((record, event))
            for index, batch in fresh.items():
                sub = self.subs[index]
                with telemetry.consuming(sub.consumer, sub.topic, batch, self._trace_headers):
                    await sub.handler(session, batch)
        for index, count in skipped.items():
            metrics.DUPLICATES.labels(self.subs[index].topic, self.subs[index].consumer).inc(count)
        for index, pairs in conflicting.items():
            metrics.CONFLICTS.labels(self.subs[index].topic, self.subs[index].consumer).inc(len(pairs))
            conflicts += pairs

    def _dead(self, record: ConsumerRecord, exc: Exception) -> DeadLetter:
        attempts = self.settings.retry_attempts if is_conflict(exc) else 1
        reason = str(exc) if isinstance(exc, Rejected | EnvelopeError) else f"{failure_reason(exc)} in handler"
        consumer = self.subscription_of(record).consumer
        log.error(
            "event dead-lettered",
            exc_info=not isinstance(exc, Rejected),
            extra={"consumer": consumer, "topic": record.topic, "offset": record.offset, "reason": reason},
        )
        return DeadLetter(record, reason, type(exc).__name__, attempts)

    async def _until_sent(self, dead: list[DeadLetter]) -> None:
        """Dead letters wait for the broker as events wait for the database; any other failure to
        write them rewinds the batch (raised: NACK), so nothing is lost."""
        while True:
            try:
                await self._dead_letter(dead)
            except Exception as exc:
                if not is_infrastructure(exc):
                    raise
                if isinstance(exc, ProducerBroken) and self.renew_producer is not None:
                    with contextlib.suppress(Exception):  # the broker still away: the next try finds out
                        await self.renew_producer(self.producer())
                await self.pause.wait(exc, self._held_since)
                continue
            self.pause.resume()
            return

    async def _dead_letter(self, dead: list[DeadLetter]) -> None:
        sends = []
        for letter in dead:
            sub = self.subscription_of(letter.record)
            key, value, headers = self.letter(letter)
            target = self.settings.topic(dead_letter_topic(sub.topic))
            sends.append(await self.producer().send(target, value=value, key=key, headers=headers))
            log.warning("dead letter", extra={"consumer": sub.consumer, "reason": letter.reason[:300]})
        await delivered(sends)  # broken: the service renews its producer; paused, the letters go again
        for letter in dead:
            sub = self.subscription_of(letter.record)
            metrics.DEAD_LETTERED.labels(sub.topic, sub.consumer).inc()
            metrics.DEAD_LETTER_LAST.labels(sub.topic, sub.consumer).set(time.time())

    def letter(self, letter: DeadLetter) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
        """Key, value and headers of a dead letter: the record whole, or a reference to it when the
        copy with the dlt_* headers would not fit the dead-letter topic."""
        record = letter.record
        dlt = {
            "dlt_reason": letter.reason[:1000],
            "dlt_error_type": letter.error_type,
            "dlt_consumer": self.subscription_of(record).consumer,
            "dlt_source_topic": record.topic,
            "dlt_source_partition": record.partition,
            "dlt_source_offset": record.offset,
            "dlt_attempts": letter.attempts,
            "dlt_failed_at": datetime.now(UTC).isoformat(),
        }
        original = [(k, v or b"") for k, v in record.headers if not k.startswith("dlt_")]
        whole = original + [(k, str(v).encode()) for k, v in dlt.items()]
        if record_size(record.key, record.value, whole) <= self.limits.kafka_max_message_bytes:
            return record.key, record.value, whole
        size = record_size(record.key, record.value, original)
        dlt |= {"dlt_reference": "true", "dlt_size": size}
        reference = [(k, str(v).encode()) for k, v in dlt.items()]
        key = record.key if record.key is None or len(record.key) <= 1024 else None
        return key, None, reference


class Subscriber:
    """One consumer group's loop on aiokafka: it polls the group's topics, hands each batch to the
    processor and, once it returns, counts the batch's offsets as handled. When processing raises (a
    pause held too long, a dead letter that could not be written), each partition of the batch is
    rewound to its first record and its offsets are not counted, so the same records come again in order.

    Handled offsets are committed at most every COMMIT_SECONDS, and at once when partitions are taken
    away or the subscriber stops: a steady trickle of single-record batches would otherwise cost an
    OffsetCommit round trip per record (CPU in the broker and here). Always after the database commit;
    a crash replays at most COMMIT_SECONDS of handled records, which the inbox absorbs.

    Polling waits for records (up to POLL_SECONDS) instead of waking every few milliseconds: a record
    is handed over as soon as a fetch brings it, and an idle service costs next to nothing. With
    several topics, partitions are assigned by range: partition p of each topic goes to the same
    member, so events of one key (a claim) on different topics are handled by one replica."""

    def __init__(self, processor: BatchProcessor[Any], settings: ServiceSettings) -> None:
        self.processor, self.settings = processor, settings
        self.group_id = settings.group(processor.sub.group_id)
        self.topics = list(processor.by_topic)
        self.consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._handled: dict[TopicPartition, int] = {}  # next offset per partition, not committed yet
        self._committed_at = time.monotonic()

    async def start(self) -> None:
        limits = self.processor.limits
        self.consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            client_id=self.settings.service_name,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=limits.partition_fetch_bytes,
            fetch_max_bytes=limits.fetch_max_bytes,
            fetch_max_wait_ms=self.settings.kafka_fetch_wait_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            consumer_timeout_ms=FETCHER_WAKE_MS,
            partition_assignment_strategy=(RangePartitionAssignor,),
        )
        self.consumer.subscribe(self.topics, listener=_CommitBeforeRevoke(self))
        await self.consumer.start()
        _fetch_every_partition_together(self.consumer)
        self._task = asyncio.create_task(self._run(), name=f"consume:{self.group_id}")

    async def stop(self, graceful: float = 30.0) -> None:
        """Lets the batch in hand finish (up to `graceful` seconds), then leaves the group."""
        if self._task is not None:
            if self._busy:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(self._task), graceful)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.consumer is not None:
            with contextlib.suppress(TimeoutError):  # a broker that is gone: the inbox absorbs the replay
                await asyncio.wait_for(self.commit(), STOP_COMMIT_SECONDS)
            try:  # leaving waits for the group's coordination (a join in progress, a broker without leader)
                await asyncio.wait_for(self.consumer.stop(), LEAVE_SECONDS)
            except TimeoutError:  # the broker drops the member after its session timeout instead
                log.error("consumer did not leave its group in time", extra={"group": self.group_id})

    async def _run(self) -> None:
        assert self.consumer is not None
        while True:
            try:
                fetched = await self.consumer.getmany(
                    timeout_ms=self._poll_ms(), max_records=self.settings.consume_max_records
                )
            except KafkaError:
                log.exception("polling failed; retrying", extra={"group": self.group_id})
                await asyncio.sleep(1.0)
                continue
            records = tuple(record for batch in fetched.values() for record in batch)
            if 0 < len(records) < self.settings.consume_max_records and self.settings.consume_linger_ms:
                records += await self._linger(self.settings.consume_max_records - len(records))
            if records:
                self._busy = True
                try:
                    await self._consume(records)
                finally:
                    self._busy = False
            if self._handled and time.monotonic() - self._committed_at >= COMMIT_SECONDS:
                await self.commit()

    async def _linger(self, room: int) -> tuple[ConsumerRecord, ...]:
        """The records that arrive within the linger, up to `room`; each partition's follow its earlier
        ones (the fetcher hands out a partition's records in order)."""
        assert self.consumer is not None
        await asyncio.sleep(self.settings.consume_linger_ms / 1000)
        try:
            fetched = await self.consumer.getmany(timeout_ms=0, max_records=room)
        except KafkaError:  # the next poll says it again, and the batch in hand goes through first
            return ()
        return tuple(record for batch in fetched.values() for record in batch)

    def _poll_ms(self) -> int:
        """Wait for records, but not past the moment handled offsets are due to be committed."""
        if not self._handled:
            return int(POLL_SECONDS * 1000)
        return max(0, int((self._committed_at + COMMIT_SECONDS - time.monotonic()) * 1000))

    async def _consume(self, records: tuple[ConsumerRecord, ...]) -> None:
        try:
            await self.processor.process(records)
        except Exception:
            log.exception("batch not processed; rewound", extra={"group": self.group_id})
            self._seek(_first_offsets(records))
            return
        self._handled.update({tp: offset + 1 for tp, offset in _last_offsets(records).items()})

    async def commit(self, partitions: Collection[TopicPartition] | None = None) -> None:
        """Commits the handled offsets (of `partitions`, or all) of partitions still assigned to us."""
        assert self.consumer is not None
        if partitions is None:
            chosen, self._handled = self._handled, {}
            self._committed_at = time.monotonic()
        else:
            chosen = {tp: self._handled.pop(tp) for tp in partitions if tp in self._handled}
        offsets = {tp: offset for tp, offset in chosen.items() if tp in self.consumer.assignment()}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance took the partitions: their new owner's inbox absorbs the repeat
            log.warning("offsets not committed", extra={"group": self.group_id, "exc_type": type(exc).__name__})

    def _seek(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        for tp, offset in offsets.items():
            with contextlib.suppress(IllegalStateError, KafkaError):  # not ours any more after a rebalance
                self.consumer.seek(tp, offset)


POLL_SECONDS = 30.0  # a poll returns as soon as records arrive; this only bounds an idle wait
COMMIT_SECONDS = 0.5  # handled offsets are committed this often at most (and on revocation and stop)
STOP_COMMIT_SECONDS = 5.0
LEAVE_SECONDS = 15.0  # a stopping service must exit within Kubernetes' grace period (30 s by default)
# aiokafka's fetch routine also wakes on this timer (default 0.2 s) although fetches, consumption,
# rebalances, metadata updates and backoffs each wake it themselves (it waits on their futures). An idle
# consumer in a group cost 0.84-0.87 ms of CPU a second with 1 s, 0.48-0.52 with 10 s (ten consumers
# for 30 s, heartbeats every 3 s: python -m rcmctl.bench.idle_consumer).
FETCHER_WAKE_MS = 10_000
PREFETCH_HOLD_SECONDS = 3600.0  # see _fetch_every_partition_together


def _fetch_every_partition_together(consumer: AIOKafkaConsumer) -> None:
    """aiokafka stops holding back the next fetch 0.1 s after records were buffered and not yet taken
    (its private `_prefetch_backoff`, not an option): it then long-polls the broker for the other
    partitions only. A partition whose buffered records are taken after that cannot be fetched until
    that poll ends, up to the fetch wait (RCM_KAFKA_FETCH_WAIT_MS) when the others are quiet: a backlog
    on one partition was drained in 5-second steps (A/R behind payments by a fifth of a run). Held back until the buffer is
    taken, every fetch asks for every partition, and a record on any of them answers it at once
    (tests/integration/test_consumer_fetching.py). Buffered records are taken at the next poll
    (this loop pauses no partition), so the hold never starves the others."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_prefetch_backoff"):
        fetcher._prefetch_backoff = PREFETCH_HOLD_SECONDS
    else:  # a newer aiokafka: tests/integration/test_consumer_fetching.py says whether it still needs this
        log.warning("aiokafka's fetcher has no _prefetch_backoff; a backlog may drain in fetch-wait steps")


class _CommitBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Commits what was handled of the partitions a rebalance takes away, so their next owner starts after it."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self.subscriber.commit(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        pass


def _first_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(record.offset, first.get(tp, record.offset))
    return first


def _last_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    last: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        last[tp] = max(record.offset, last.get(tp, record.offset))
    return last
