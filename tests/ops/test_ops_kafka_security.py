"""Kafka security by configuration: against a real broker that only speaks SASL/SCRAM-SHA-512, the
services' clients (shared/kafka.py: the outbox producer, consumers, the FastStream broker) work with
their credentials and are refused without them or with a wrong password."""

import asyncio
import logging
import random
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import KafkaBroker
from pydantic import SecretStr

from rcmctl.stack import procs
from rcmctl.stack.secure_kafka import SecureKafka
from shared.kafka import KafkaSecurityError, broker_security, client_options, make_producer
from shared.settings import ServiceSettings

USER, PASSWORD = "claims", "claims-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory):
    port = next(
        p
        for p in random.sample(range(41000, 49000, 2), 50)
        if not procs.port_in_use(p) and not procs.port_in_use(p + 1)
    )
    broker = SecureKafka(tmp_path_factory.mktemp("scram"), port=port, users={USER: PASSWORD})
    broker.start()
    yield broker
    broker.stop()


def settings(broker: SecureKafka, **overrides) -> ServiceSettings:
    values = dict(
        service_name="claims",
        kafka_bootstrap=broker.bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=USER,
        kafka_sasl_password=SecretStr(PASSWORD),
    )
    return ServiceSettings(**{**values, **overrides})


async def test_a_service_with_credentials_publishes_and_consumes(scram_broker):
    config, topic = settings(scram_broker), f"secure-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**client_options(config))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = make_producer(config)  # the outbox relay's producer: acks=all, idempotent
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"ok": true}', key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, **client_options(config), group_id="claims.secure", auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=20)
    finally:
        await consumer.stop()
    assert record.value == b'{"ok": true}'

    broker = KafkaBroker(config.kafka_bootstrap, security=broker_security(config))  # the subscribers' side
    await broker.connect()
    try:
        assert await broker.ping(timeout=10)
    finally:
        await broker.stop()


async def test_a_wrong_password_is_refused(scram_broker, caplog):
    caplog.set_level(logging.ERROR, logger="aiokafka")  # whatever an earlier test left it at
    producer = make_producer(settings(scram_broker, kafka_sasl_password=SecretStr("not-the-password")))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "SaslAuthenticationFailed" in caplog.text


async def test_no_credentials_is_refused(scram_broker):
    producer = make_producer(
        settings(
            scram_broker,
            kafka_security_protocol="PLAINTEXT",
            kafka_sasl_mechanism=None,
            kafka_sasl_username=None,
            kafka_sasl_password=None,
        )
    )
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), timeout=30)
    await producer.stop()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"kafka_security_protocol": "PLAINTEXT"}, "goes with"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "must be one of"),
        ({"kafka_sasl_password": None}, "needs RCM_KAFKA_SASL_USERNAME and RCM_KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "TLS"}, "RCM_KAFKA_SECURITY_PROTOCOL must be one of"),
    ],
)
def test_contradictory_settings_are_refused_by_name(overrides, message):
    config = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p"),
    )
    config = config.model_copy(update=overrides)
    with pytest.raises(KafkaSecurityError, match=message):
        client_options(config)


def test_tls_uses_the_configured_ca(tmp_path):
    config = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p"),
    )
    options = client_options(config)
    assert options["security_protocol"] == "SASL_SSL" and options["ssl_context"] is not None
    assert broker_security(config).use_ssl
    with pytest.raises(FileNotFoundError):
        client_options(config.model_copy(update={"kafka_ssl_cafile": tmp_path / "missing-ca.crt"}))
