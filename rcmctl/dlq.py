"""Dead letters: count them by reason, and put them back on their topic once the cause is fixed.

Replay reads `<prefix><topic>.dlt` up to its end as it was when the run started, with its own
consumer group (`<prefix>replay.<topic>`, so a second run continues where the first stopped),
drops the `dlt_*` headers and publishes key, value and the original headers to `<prefix><topic>`
with the service's Kafka settings (RCM_KAFKA_*, RCM_TOPIC_PREFIX, SASL/TLS included). The event
keeps its ce_id: a consumer that already processed it skips it (inbox); the one that
dead-lettered it processes it now. `consumer` replays only the letters one consumer group wrote.
A letter that is a reference (`dlt_reference`: the record was too large to copy with its reasons)
is replayed from the original, fetched from its source topic, partition and offset; one the source
topic no longer holds (past its retention) is counted as `unreachable`.
Only counts are reported: the records may carry patient data."""

from collections import Counter

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.contracts.topics import dead_letter_topic
from shared.kafka import KafkaLimits, client_options, make_producer
from shared.settings import ServiceSettings


async def _read_to_end(reader: AIOKafkaConsumer, partitions: list[TopicPartition]):
    ends = await reader.end_offsets(partitions)
    while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
        for batch in (await reader.getmany(timeout_ms=1000)).values():
            for record in batch:
                if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                    yield record  # later ones (perhaps our own replay failing again) wait for the next run


def _header(record: ConsumerRecord, name: str) -> str:
    return (dict(record.headers).get(name) or b"").decode("utf-8", "replace")


async def _partitions(settings: ServiceSettings, topic: str) -> list[TopicPartition]:
    producer = make_producer(settings)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()


async def reasons(settings: ServiceSettings, topic: str) -> Counter:
    """How many letters the topic's dead-letter topic holds, by consumer and reason."""
    source = settings.topic(dead_letter_topic(topic))
    partitions = await _partitions(settings, source)
    reader = AIOKafkaConsumer(**client_options(settings), group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        return Counter(
            [(_header(r, "dlt_consumer"), _header(r, "dlt_reason")) async for r in _read_to_end(reader, partitions)]
        )
    finally:
        await reader.stop()


async def replay(
    settings: ServiceSettings, topic: str, consumer: str | None = None, dry_run: bool = False
) -> dict[str, int]:
    source = settings.topic(dead_letter_topic(topic))
    partitions = await _partitions(settings, source)
    reader = AIOKafkaConsumer(
        **client_options(settings),
        group_id=settings.group(f"replay.{topic}"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = make_producer(settings)
    originals = _fetcher(settings)
    await reader.start()
    await producer.start()
    await originals.start()
    counts = {"read": 0, "replayed": 0, "skipped": 0, "unreachable": 0}
    try:
        reader.assign(partitions)  # from the group's committed offsets, else the beginning
        ends = await reader.end_offsets(partitions)
        async for letter in _read_to_end(reader, partitions):
            counts["read"] += 1
            if consumer is not None and _header(letter, "dlt_consumer") != consumer:
                counts["skipped"] += 1
                continue
            record = await _original(originals, letter) if _header(letter, "dlt_reference") == "true" else letter
            if record is None:
                counts["unreachable"] += 1
                continue
            if not dry_run:
                kept = [(k, v) for k, v in record.headers if not k.startswith("dlt_")]
                await producer.send_and_wait(settings.topic(topic), record.value, key=record.key, headers=kept)
            counts["replayed"] += 1
        if not dry_run:
            await reader.commit(ends)
    finally:
        await reader.stop()
        await producer.stop()
        await originals.stop()
    return counts


def _fetcher(settings: ServiceSettings) -> AIOKafkaConsumer:
    """Reads originals by position: fetch sizes for the largest record the topics take."""
    limits = KafkaLimits()
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=limits.partition_fetch_bytes,
        fetch_max_bytes=limits.fetch_max_bytes,
    )


async def _original(fetcher: AIOKafkaConsumer, letter: ConsumerRecord) -> ConsumerRecord | None:
    """The record a reference letter names, or None when its topic no longer holds it."""
    source = TopicPartition(_header(letter, "dlt_source_topic"), int(_header(letter, "dlt_source_partition")))
    offset = int(_header(letter, "dlt_source_offset"))
    fetcher.assign([source])
    if offset < (await fetcher.beginning_offsets([source]))[source]:
        return None
    fetcher.seek(source, offset)
    for _ in range(30):
        for record in (await fetcher.getmany(source, timeout_ms=1000, max_records=1)).get(source, []):
            return record if record.offset == offset else None
    return None
