"""Kafka client settings: several brokers in RCM_KAFKA_BOOTSTRAP, and one size limit every client
and topic follows."""

from shared.contracts import topics
from shared.kafka import KafkaLimits, bootstrap_servers, client_options, record_size
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
