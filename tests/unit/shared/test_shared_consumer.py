"""Which failures pause the consumer (the database or broker is away), which are retried
(conflicts), and which isolate the event and dead-letter it; a dead letter too large to copy."""

import asyncio
import errno

import asyncpg
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotEnoughReplicasError, RecordTooLargeError
from asyncpg import exceptions as pg
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared import consumer as consumer_module
from shared.consumer import (
    BatchProcessor,
    DeadLetter,
    Rejected,
    Subscriber,
    Subscription,
    _CommitBeforeRevoke,
    failure_reason,
    is_conflict,
    is_infrastructure,
    is_transient,
)
from shared.contracts.events import EncounterDocumentedV1, Finding
from shared.envelope import EnvelopeError
from shared.kafka import KafkaLimits, record_size
from shared.settings import ServiceSettings

DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)


class DriverError(Exception):
    pass


def test_database_connection_failures_are_transient():
    assert is_transient(OperationalError("SELECT 1", {}, DriverError("server closed the connection")))
    assert is_transient(InterfaceError("SELECT 1", {}, DriverError("connection is closed")))
    invalidated = DBAPIError("SELECT 1", {}, DriverError("terminating connection"), connection_invalidated=True)
    assert is_transient(invalidated)


@pytest.mark.parametrize(
    "exc", [ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ConnectionResetError(), TimeoutError()]
)
def test_network_failures_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad amount"),
        KeyError("claim"),
        Rejected("unknown payer"),
        EnvelopeError([Finding(field="(value)", code="envelope.empty", message="empty value")]),
        IntegrityError("INSERT", {}, DriverError("duplicate key")),
        DBAPIError("SELECT 1", {}, DriverError("syntax error"), connection_invalidated=False),
    ],
)
def test_data_and_logic_failures_are_not_transient(exc):
    assert not is_transient(exc)


def as_sqlalchemy_raises(driver_error: Exception) -> DBAPIError:
    """What SQLAlchemy's asyncpg dialect hands the handler: the driver's error adapted, then wrapped."""
    adapted_class = next(
        (dbapi for cls, dbapi in DBAPI._asyncpg_error_translate.items() if isinstance(driver_error, cls)), DBAPI.Error
    )
    try:
        try:
            raise driver_error
        except Exception as exc:
            raise adapted_class(str(exc)) from exc
    except DBAPI.Error as adapted:
        return DBAPIError.instance("INSERT …", {}, adapted, DBAPI.Error)


@pytest.mark.parametrize(
    "driver_error",
    [
        pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
        pg.CrashShutdownError("terminating connection because of crash of another server process"),  # 57P02
        pg.CannotConnectNowError("the database system is starting up"),  # 57P03
        pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),  # 25006
        pg.TooManyConnectionsError("too many connections for database"),  # 53300
        pg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),  # 08003
        pg.ConnectionFailureError("connection failure"),  # 08006
        asyncpg.InterfaceError("connection is closed"),
    ],
)
def test_the_database_not_being_there_pauses_the_consumer(driver_error):
    assert is_infrastructure(as_sqlalchemy_raises(driver_error))
    assert is_infrastructure(driver_error)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        OSError(errno.EHOSTUNREACH, "no route"),
        TimeoutError(),
        PoolTimeout("QueuePool limit reached"),
        KafkaConnectionError("no broker"),
        KafkaTimeoutError(),
        NotEnoughReplicasError(),
    ],
)
def test_the_network_or_broker_not_being_there_pauses_the_consumer(exc):
    assert is_infrastructure(exc)


@pytest.mark.parametrize(
    "driver_error",
    [
        pg.UniqueViolationError("duplicate key"),
        pg.NumericValueOutOfRangeError("numeric field overflow"),
        pg.StringDataRightTruncationError("value too long for type character varying(200)"),
        pg.UndefinedColumnError("column does not exist"),
        pg.NotNullViolationError("null value in column"),
    ],
)
def test_an_events_own_database_error_is_not_infrastructure(driver_error):
    assert not is_infrastructure(as_sqlalchemy_raises(driver_error))


def test_deadlocks_and_serialization_failures_are_conflicts_retried_not_paused():
    for error in (pg.DeadlockDetectedError("deadlock"), pg.SerializationError("could not serialize")):
        assert is_conflict(as_sqlalchemy_raises(error)) and not is_infrastructure(as_sqlalchemy_raises(error))


def test_a_record_too_large_for_the_broker_is_not_infrastructure():
    assert not is_infrastructure(RecordTooLargeError())


def consumer_record(headers, value: bytes | None = b"{}", key: bytes | None = b"k") -> ConsumerRecord:
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=5,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=2,
        headers=headers,
    )


class FakeConsumer:
    """What the Subscriber asks of aiokafka after a batch: commits, or seeks."""

    def __init__(self, assigned=()) -> None:
        self.commits: list[dict] = []
        self.seeks: dict = {}
        self.assigned = set(assigned)

    @property
    def committed(self) -> dict | None:
        return self.commits[-1] if self.commits else None

    async def commit(self, offsets: dict) -> None:
        self.commits.append(offsets)

    def seek(self, tp, offset: int) -> None:
        self.seeks[tp] = offset

    def assignment(self) -> set:
        return self.assigned


class FakeProcessor:
    def __init__(self, fails: bool) -> None:
        self.fails, self.seen = fails, None

    async def process(self, records) -> None:
        self.seen = records
        if self.fails:
            raise RuntimeError("the batch cannot be handled now")


def at(topic: str, partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"{}", None, 1, 2, [])


BATCH = (at("a", 0, 7), at("a", 0, 8), at("b", 1, 3), at("a", 0, 9), at("b", 1, 4))


def subscriber_over(consumer: FakeConsumer, processor: FakeProcessor) -> Subscriber:
    subscriber = object.__new__(Subscriber)
    subscriber.consumer, subscriber.processor, subscriber.group_id = consumer, processor, "g"
    subscriber._handled, subscriber._committed_at = {}, 0.0
    return subscriber


def offsets(committed: dict) -> dict:
    return {(tp.topic, tp.partition): offset for tp, offset in committed.items()}


A0, B1 = TopicPartition("a", 0), TopicPartition("b", 1)


@pytest.mark.parametrize("fails", [False, True])
async def test_a_batch_commits_exactly_its_offsets_or_rewinds_each_partition_to_its_first_record(fails):
    subscriber = subscriber_over(FakeConsumer(assigned=(A0, B1)), FakeProcessor(fails))
    await subscriber._consume(BATCH)
    await subscriber.commit()
    assert subscriber.processor.seen == BATCH
    positions = {(tp.topic, tp.partition): offset for tp, offset in subscriber.consumer.seeks.items()}
    committed = subscriber.consumer.committed
    if fails:
        assert committed is None and positions == {("a", 0): 7, ("b", 1): 3}
    else:
        assert positions == {}
        assert offsets(committed) == {("a", 0): 10, ("b", 1): 5}


async def test_handled_batches_are_committed_together_and_only_after_they_are_handled():
    subscriber = subscriber_over(FakeConsumer(assigned=(A0, B1)), FakeProcessor(fails=False))
    await subscriber._consume(BATCH[:2])
    await subscriber._consume(BATCH[2:])
    assert subscriber.consumer.commits == []  # handled, not committed yet: one commit serves many batches
    await subscriber.commit()
    assert [offsets(c) for c in subscriber.consumer.commits] == [{("a", 0): 10, ("b", 1): 5}]
    await subscriber.commit()  # nothing handled since: nothing to ask the broker
    assert len(subscriber.consumer.commits) == 1


async def test_a_rebalance_commits_what_was_handled_of_the_partitions_it_takes_and_nothing_of_others():
    consumer = FakeConsumer(assigned=(A0, B1))
    subscriber = subscriber_over(consumer, FakeProcessor(fails=False))
    await subscriber._consume(BATCH)
    await subscriber._consume((at("c", 2, 0),))  # c-2 was taken away by an earlier rebalance mid-batch
    await _CommitBeforeRevoke(subscriber).on_partitions_revoked([B1])
    assert [offsets(c) for c in consumer.commits] == [{("b", 1): 5}]
    consumer.assigned = {A0}
    await subscriber.commit()
    assert offsets(consumer.committed) == {("a", 0): 10}  # c-2 is someone else's now: not committed by us
    assert subscriber._handled == {}


async def test_a_stop_whose_group_leave_hangs_still_ends_with_the_handled_offsets_committed(monkeypatch):
    class NeverLeaves(FakeConsumer):
        async def stop(self) -> None:
            await asyncio.Event().wait()  # a join in progress that never finishes

    monkeypatch.setattr(consumer_module, "LEAVE_SECONDS", 0.05)
    consumer = NeverLeaves(assigned=(A0, B1))
    subscriber = subscriber_over(consumer, FakeProcessor(fails=False))
    subscriber._task = None
    await subscriber._consume(BATCH)
    await asyncio.wait_for(subscriber.stop(), 2)
    assert offsets(consumer.committed) == {("a", 0): 10, ("b", 1): 5}


def test_a_group_dead_letters_each_record_under_its_own_subscription():
    settings = ServiceSettings(topic_prefix="ns_")
    subs = [
        Subscription("claim.submitted", "ar.claim.submitted", EncounterDocumentedV1, None, group="ar.ledger"),
        Subscription("payment.posted", "ar.payment.posted", EncounterDocumentedV1, None, group="ar.ledger"),
    ]
    grouped = BatchProcessor(subs, settings, sessions=None, producer=None)
    record = at("ns_payment.posted", 2, 11)
    _, _, headers = grouped.letter(DeadLetter(record, "schema: a", "EnvelopeError", 1))
    assert grouped.subscription_of(record) is subs[1]
    assert dict(headers)["dlt_consumer"] == b"ar.payment.posted"
    assert grouped.pause.consumer == "ar.ledger" and grouped.pause.topic == "claim.submitted,payment.posted"


def processor() -> BatchProcessor:
    subscription = Subscription("claim.submitted", "payments.claim.submitted", EncounterDocumentedV1, None)
    return BatchProcessor(subscription, ServiceSettings(), sessions=None, producer=None)


def test_a_dead_letter_is_the_record_whole_with_its_reasons_when_it_fits():
    record = consumer_record([("ce_id", b"abc")], value=b'{"a": 1}')
    key, value, headers = processor().letter(DeadLetter(record, "schema: a", "EnvelopeError", 1))
    names = dict(headers)
    assert (key, value) == (b"k", b'{"a": 1}') and names["ce_id"] == b"abc"
    assert names["dlt_source_offset"] == b"5" and names["dlt_reason"] == b"schema: a"
    assert "dlt_reference" not in names


def test_a_record_just_under_the_limit_is_dead_lettered_as_a_reference_that_fits():
    limit = KafkaLimits().kafka_max_message_bytes
    headers = [("ce_id", b"abc"), ("ce_type", b"org.openrcm.claim.submitted.v1")]
    value = b"x" * (limit - record_size(b"k", b"", headers) - 10)  # the largest record the topic takes, nearly
    record = consumer_record(headers, value=value)
    assert record_size(record.key, record.value, headers) <= limit
    key, letter_value, letter_headers = processor().letter(DeadLetter(record, "reason " * 300, "ValueError", 1))
    names = dict(letter_headers)
    assert letter_value is None and key == b"k"
    assert names["dlt_reference"] == b"true" and int(names["dlt_size"]) >= len(value)
    assert (names["dlt_source_topic"], names["dlt_source_partition"], names["dlt_source_offset"]) == (b"t", b"0", b"5")
    assert len(names["dlt_reason"]) == 1000
    assert record_size(key, letter_value, letter_headers) < 4096


def test_a_failure_reason_names_the_error_and_its_sqlstate_never_the_values():
    overflow = as_sqlalchemy_raises(pg.NumericValueOutOfRangeError("numeric field overflow"))
    assert "12000000000.00" in str(
        DBAPIError.instance("INSERT", {"paid": "12000000000.00"}, overflow.orig, DBAPI.Error)
    )
    assert failure_reason(overflow) == "NumericValueOutOfRangeError (SQLSTATE 22003)"
    assert failure_reason(RuntimeError("Ada Quill, 1960-02-03")) == "RuntimeError"
