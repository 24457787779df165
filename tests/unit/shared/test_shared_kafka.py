"""Kafka client settings: several brokers in RCM_KAFKA_BOOTSTRAP, and one size limit every client
and topic follows; and what a producer's delivery results mean (a broken producer is named so)."""

import asyncio

import pytest
from aiokafka.errors import NotLeaderForPartitionError, OutOfOrderSequenceNumber, RecordTooLargeError

from shared.consumer import is_infrastructure
from shared.contracts import topics
from shared.kafka import KafkaLimits, ProducerBroken, bootstrap_servers, client_options, delivered, record_size
from shared.settings import ServiceSettings


def test_several_brokers_are_several_bootstrap_servers():
    settings = ServiceSettings(kafka_bootstrap="127.0.0.1:29092, 127.0.0.1:29094,127.0.0.1:29096")
    assert bootstrap_servers(settings) == ["127.0.0.1:29092", "127.0.0.1:29094", "127.0.0.1:29096"]
    assert client_options(settings)["bootstrap_servers"] == bootstrap_servers(settings)
    assert bootstrap_servers(ServiceSettings(kafka_bootstrap="kafka:9092")) == ["kafka:9092"]


def test_one_limit_sets_topics_and_fetches(monkeypatch):
    monkeypatch.setenv("RCM_KAFKA_MAX_MESSAGE_BYTES", "2097152")
    limits = KafkaLimits()
    assert limits.topic_config("t1_" + topics.CLAIM_SUBMITTED) == {"max.message.bytes": "2097152"}
    assert limits.topic_config(topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED)) == {
        "max.message.bytes": "2097152"
    }
    for intake in (topics.ENCOUNTER_DOCUMENTED, "t1_" + topics.INTAKE_FHIR):
        assert limits.topic_config(intake) == {"max.message.bytes": str(2097152 - 64 * 1024)}
    assert limits.partition_fetch_bytes > limits.kafka_max_message_bytes
    assert limits.fetch_max_bytes >= limits.partition_fetch_bytes


def test_an_intake_record_always_leaves_room_for_a_dead_letters_headers():
    limits = KafkaLimits()
    headers = [(name, b"x" * 1000) for name in ("dlt_reason", "dlt_error_type", "dlt_consumer", "dlt_source_topic")]
    assert record_size(None, None, headers) < limits.kafka_max_message_bytes - limits.intake_max_bytes


def _answered(error: Exception | None = None) -> "asyncio.Future[object]":
    future = asyncio.get_running_loop().create_future()
    future.set_exception(error) if error else future.set_result("metadata")
    return future


async def test_acks_of_every_send_are_delivered():
    await delivered([_answered(), _answered()])
    await delivered([])


async def test_a_refused_producer_state_means_a_broken_producer_the_broker_being_fine():
    with pytest.raises(ProducerBroken, match="OutOfOrderSequenceNumber") as caught:
        await delivered([_answered(), _answered(OutOfOrderSequenceNumber())])
    assert isinstance(caught.value.__cause__, OutOfOrderSequenceNumber)
    assert is_infrastructure(caught.value)  # a consumer pauses and sends again, never dead-letters


async def test_sends_left_unanswered_mean_a_broken_producer():
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(ProducerBroken, match="1 of 2 sends unanswered"):
        await delivered([_answered(), never], timeout=0.05)


async def test_any_other_failure_is_the_sends_own():
    with pytest.raises(RecordTooLargeError):
        await delivered([_answered(RecordTooLargeError()), _answered(NotLeaderForPartitionError())])
