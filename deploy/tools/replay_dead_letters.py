"""Puts dead letters back on their topic once the cause is fixed.

    python deploy/tools/replay_dead_letters.py claim.submitted [--consumer payments.claim.submitted] [--dry-run]

Reads `<prefix><topic>.dlt` from the beginning up to its current end with its own consumer group
(`<prefix>replay.<topic>`, so a second run continues where the first stopped), drops the `dlt_*`
headers and publishes key, value and the original headers to `<prefix><topic>` with the service's
Kafka settings (RCM_KAFKA_*, RCM_TOPIC_PREFIX). The event keeps its ce_id: a consumer that already
processed it skips it (inbox); the one that dead-lettered it processes it now. `--consumer` replays
only the letters one consumer group wrote (another service may have processed the same event).
Prints counts only: the records may carry patient data."""

import argparse
import asyncio
import sys
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import EVENT_TOPICS, dead_letter_topic
from shared.kafka import client_options, make_producer
from shared.settings import ServiceSettings


async def replay(settings: ServiceSettings, topic: str, consumer: str | None = None, dry_run: bool = False) -> dict[str, int]:
    source = settings.topic(dead_letter_topic(topic))
    reader = AIOKafkaConsumer(**client_options(settings), group_id=settings.group(f"replay.{topic}"),
                              auto_offset_reset="earliest", enable_auto_commit=False)
    producer = make_producer(settings)
    await reader.start()
    await producer.start()
    counts = {"read": 0, "replayed": 0, "skipped": 0}
    try:
        partitions = [TopicPartition(source, p) for p in sorted(await producer.partitions_for(source))]
        reader.assign(partitions)  # from the group's committed offsets, else the beginning
        ends = await reader.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
            for batch in (await reader.getmany(timeout_ms=1000)).values():
                for record in batch:
                    if record.offset >= ends[TopicPartition(record.topic, record.partition)]:
                        continue  # arrived after we started (perhaps our own replay failing again): next run
                    counts["read"] += 1
                    if consumer is not None and dict(record.headers).get("dlt_consumer") != consumer.encode():
                        counts["skipped"] += 1
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
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topic", choices=EVENT_TOPICS, help="the topic whose dead letters to replay")
    parser.add_argument("--consumer", help="only letters of this consumer (group), e.g. payments.claim.submitted")
    parser.add_argument("--dry-run", action="store_true", help="count, publish nothing, commit nothing")
    args = parser.parse_args(argv)
    counts = asyncio.run(replay(ServiceSettings(), args.topic, args.consumer, args.dry_run))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
