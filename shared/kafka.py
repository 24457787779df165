"""Kafka clients built from settings, with one place for security options: TLS (SSL, SASL_SSL)
and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), for the aiokafka producer and the FastStream
broker alike; and one place for size limits (KafkaLimits: producers, topics and consumers)."""

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts import topics
from shared.settings import ServiceSettings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


class KafkaSecurityError(ValueError):
    """The Kafka security settings contradict each other; the message names the settings."""


def _checked(settings: ServiceSettings) -> tuple[str, str]:
    protocol = settings.kafka_security_protocol.upper()
    mechanism = (settings.kafka_sasl_mechanism or "").upper()
    if protocol not in PROTOCOLS:
        raise KafkaSecurityError(f"RCM_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}")
    if protocol.startswith("SASL_") != bool(mechanism):
        raise KafkaSecurityError(
            "RCM_KAFKA_SASL_MECHANISM goes with RCM_KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT or SASL_SSL"
        )
    if mechanism and mechanism not in MECHANISMS:
        raise KafkaSecurityError(f"RCM_KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}")
    return protocol, mechanism


def _sasl_login(settings: ServiceSettings) -> tuple[str, str]:
    username, password = settings.kafka_sasl_username, settings.kafka_sasl_password
    if not (username and password):
        raise KafkaSecurityError("SASL needs RCM_KAFKA_SASL_USERNAME and RCM_KAFKA_SASL_PASSWORD")
    return username, password.get_secret_value()


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if not settings.kafka_security_protocol.upper().endswith("SSL"):
        return None
    return ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)


def bootstrap_servers(settings: ServiceSettings) -> list[str]:
    """RCM_KAFKA_BOOTSTRAP as a list: `host:port,host:port` names several brokers (FastStream would
    take the whole string for one host)."""
    return [server.strip() for server in settings.kafka_bootstrap.split(",") if server.strip()]


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    protocol, mechanism = _checked(settings)
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(settings), "security_protocol": protocol}
    if context := ssl_context(settings):
        options["ssl_context"] = context
    if mechanism:
        options["sasl_mechanism"] = mechanism
        options["sasl_plain_username"], options["sasl_plain_password"] = _sasl_login(settings)
    return options


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same options in FastStream's form, for KafkaBroker(security=...)."""
    _, mechanism = _checked(settings)
    context = ssl_context(settings)
    if mechanism:
        username, password = _sasl_login(settings)
        return MECHANISMS[mechanism](
            username=username,
            password=password,
            ssl_context=context,
            use_ssl=context is not None,
        )
    return BaseSecurity(ssl_context=context) if context else None


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send is never written twice and never reordered."""
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=KafkaLimits().kafka_max_message_bytes,
        compression_type=None,
    )


# An idempotent aiokafka producer retries a batch until the broker takes it, never expiring one; and
# after a broker restart the broker may refuse its sequence numbers for good (aiokafka keeps its
# producer id and sequences where the Java client would bump its epoch). Either way that producer
# delivers nothing more, and only a new one (a new producer id) sends again.
DELIVERY_TIMEOUT = 60.0
PRODUCER_STATE_REFUSED = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, InvalidProducerIdMapping)


class ProducerBroken(KafkaError):  # type: ignore[misc]  # aiokafka is untyped
    """The producer can deliver nothing more: renew it and send again (consumers take a repeat once)."""

    retriable = True  # the broker is fine; a new producer is all it takes


async def delivered(sends: Sequence["asyncio.Future[Any]"], timeout: float = DELIVERY_TIMEOUT) -> None:
    """Waits for the broker's acks of sends already made and raises the first failure; ProducerBroken
    when the broker refused the producer's state or left sends unanswered for `timeout`."""
    if not sends:
        return
    done, pending = await asyncio.wait(sends, timeout=timeout)
    failures = [error for future in sends if future in done and (error := future.exception()) is not None]
    refused = [error for error in failures if isinstance(error, PRODUCER_STATE_REFUSED)]
    if refused:
        raise ProducerBroken(f"the broker refused the producer's state: {type(refused[0]).__name__}") from refused[0]
    if failures:
        raise failures[0]
    if pending:
        raise ProducerBroken(f"{len(pending)} of {len(sends)} sends unanswered after {timeout:.0f}s")


async def close_producer(producer: AIOKafkaProducer | None, timeout: float = 10.0) -> None:
    """Stopped, or given up on: a broken producer's stop may wait for sends it cannot deliver."""
    if producer is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), timeout)


# -- size limits: one setting, every client and topic derived from it --------------------------------


class KafkaLimits(BaseSettings):
    """RCM_KAFKA_MAX_MESSAGE_BYTES: the largest record the platform carries. The producers'
    max_request_size, the topics' max.message.bytes and the consumers' fetch sizes all follow it, so
    a record one side accepts is never too large for the other."""

    model_config = SettingsConfigDict(env_prefix="RCM_", extra="ignore")

    kafka_max_message_bytes: int = Field(default=1_048_576, ge=128 * 1024)

    @property
    def intake_max_bytes(self) -> int:
        """What the intake topics take from other systems: less than the rest by the room a dead
        letter's headers need, so an intake record is always dead-lettered whole."""
        return self.kafka_max_message_bytes - DEAD_LETTER_HEADROOM

    def topic_config(self, topic: str) -> dict[str, str]:
        """max.message.bytes of a topic (its name, with or without the deployment's prefix)."""
        limit = self.intake_max_bytes if topic.endswith(tuple(INTAKE_TOPICS)) else self.kafka_max_message_bytes
        return {"max.message.bytes": str(limit)}

    @property
    def partition_fetch_bytes(self) -> int:
        """A consumer's fetch per partition: the largest record and its batch header."""
        return self.kafka_max_message_bytes + BATCH_HEADROOM

    @property
    def fetch_max_bytes(self) -> int:
        return max(self.partition_fetch_bytes, 50 * 1024 * 1024)  # aiokafka's default, or more


DEAD_LETTER_HEADROOM = 64 * 1024  # dlt_* headers are < 2 KiB (the reason is cut at 1,000 characters)
BATCH_HEADROOM = 16 * 1024
INTAKE_TOPICS = frozenset({topics.ENCOUNTER_DOCUMENTED, topics.INTAKE_FHIR})  # written by other systems


def record_size(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> int:
    """The producer's own upper bound of a record's size in a batch (what max_request_size is checked against)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))
