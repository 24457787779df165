"""Which failures are retried (transient) and which isolate the event and dead-letter it."""

import errno

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from shared.consumer import Rejected, _sanitized, is_transient
from shared.contracts.events import Finding
from shared.envelope import EnvelopeError


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


def consumer_record(headers) -> ConsumerRecord:
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=5,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"{}",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=2,
        headers=headers,
    )


def test_sanitized_headers_are_utf8_for_faststream():
    safe = _sanitized(consumer_record([("ce_subject", b"ENC-\xff"), ("ce_id", b"abc")]))
    for _, value in safe.headers:
        value.decode("utf-8")
    assert safe.headers[1] == ("ce_id", b"abc")
    assert safe.offset == 5 and safe.value == b"{}"


def test_sanitizing_a_null_header_value_does_not_crash_the_subscriber():
    # Kafka allows null header values (aiokafka yields None); FastStream then calls .decode() on
    # every header value, so the sanitizer must hand it bytes, or the batch fails in a loop.
    safe = _sanitized(consumer_record([("ce_subject", None), ("ce_id", b"abc")]))
    for _, value in safe.headers:
        value.decode("utf-8")
