"""Kafka clients built from settings, with one place for security options (SASL/TLS)."""

import ssl
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.settings import ServiceSettings


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap}
    protocol = settings.kafka_security_protocol.upper()
    if protocol != "PLAINTEXT":
        options["security_protocol"] = protocol
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context()
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return options


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """acks=all + idempotence: a retried send is never written twice and never reordered."""
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        compression_type=None,
    )
