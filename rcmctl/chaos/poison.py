"""Poison records: what no healthy system can process, published onto every topic a service
consumes. Each must be dead-lettered with its reason by every consumer of the topic, while the
events around it flow. Their keys start with `poison-`, so the reconciliation can tell them from a
dead letter a healthy system would have processed."""

import uuid

from aiokafka import AIOKafkaProducer

from services import NAMES, declaration
from shared.contracts.topics import dead_letter_topic

KEY_PREFIX = b"poison-"


def consumed_topics() -> dict[str, list[str]]:
    """topic -> the consumer groups (logical) that read it."""
    topics: dict[str, list[str]] = {}
    for name in NAMES:
        for consumes in declaration(name).consumes:
            topics.setdefault(consumes.topic, []).append(consumes.consumer or f"{name}.{consumes.topic}")
    return topics


def records(topic: str) -> list[tuple[bytes, list[tuple[str, bytes]], bytes | None]]:
    """Key, headers and value of each poison record for one topic."""
    valid = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", b"/chaos"),
        ("ce_type", f"org.openrcm.{topic}.v1".encode()),
        ("ce_time", b"2026-11-30T12:00:00+00:00"),
        ("ce_subject", b"chaos"),
        ("content-type", b"application/json"),
    ]
    other_type = [(k, b"org.openrcm.nothing-we-know.v1" if k == "ce_type" else v) for k, v in valid]
    return [
        (KEY_PREFIX + b"json", valid, b"{not json"),
        (KEY_PREFIX + b"schema", valid, b'{"unexpected": true}'),
        (KEY_PREFIX + b"type", other_type, b"{}"),
        (KEY_PREFIX + b"encoding", [("ce_specversion", b"\xff\xfe"), ("ce_type", b"\x80")], b"{}"),
        (KEY_PREFIX + b"empty", [], None),
    ]


async def publish(bootstrap: str, prefix: str) -> dict[str, int]:
    """Publish the poison records; returns dead-letter topic -> how many letters must land there."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    expected = {}
    try:
        for topic, consumers in consumed_topics().items():
            poison = records(topic)
            for key, headers, value in poison:
                await producer.send_and_wait(prefix + topic, value=value, key=key, headers=headers)
            expected[dead_letter_topic(topic)] = len(poison) * len(consumers)
    finally:
        await producer.stop()
    return expected
