"""Dead letters: list them with their reasons, and put them back on their source topic once the
cause is fixed. Replay strips the dlt_* headers and keeps the original key, headers and value, so
the event keeps its ce_id: one that was processed meanwhile is skipped by the consumer's inbox."""

import asyncio
from collections import Counter
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import dead_letter_topic


@dataclass
class Replayed:
    count: int
    reasons: Counter


def _reason(headers) -> str:
    return dict(headers).get("dlt_reason", b"").decode("utf-8", "replace")


async def _consumer(bootstrap: str, topic: str, group: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"]:
        await consumer.stop()
        raise ValueError(f"no topic {topic!r}")
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer.assign(partitions)
    return consumer


async def _drain(consumer: AIOKafkaConsumer):
    """Every record up to the end offsets as they were when we started."""
    partitions = list(consumer.assignment())
    ends = await consumer.end_offsets(partitions)
    while [p for p in partitions if await consumer.position(p) < ends[p]]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                    yield record


async def list_dead_letters(bootstrap: str, topic: str) -> Counter:
    consumer = await _consumer(bootstrap, dead_letter_topic(topic), group=None)
    try:
        await consumer.seek_to_beginning()
        return Counter([_reason(record.headers) async for record in _drain(consumer)])
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, group: str) -> Replayed:
    """Republish what the group has not replayed yet, then commit, so a second run replays nothing."""
    consumer = await _consumer(bootstrap, dead_letter_topic(topic), group=group)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    reasons: Counter = Counter()
    try:
        sends = []
        async for record in _drain(consumer):
            headers = [(k, v) for k, v in record.headers if not k.startswith("dlt_")]
            sends.append(await producer.send(topic, value=record.value, key=record.key, headers=headers))
            reasons[_reason(record.headers)] += 1
        await asyncio.gather(*sends)
        await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return Replayed(sum(reasons.values()), reasons)
