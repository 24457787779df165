"""Explicit topic management (the brokers run with auto.create.topics.enable=false).

`python -m rcmctl.stack.topics [NAME...]` creates the named topics, or every topic of
shared/contracts/topics.py, on RCM_KAFKA_BOOTSTRAP (the compose file's topic-init container).
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from shared.kafka import KafkaLimits


@asynccontextmanager
async def _admin(bootstrap: str):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


def _raise_errors(results, tolerated: type[Exception], action: str) -> None:
    for topic, code, *_ in results:
        if code and for_code(code) is not tolerated:
            raise for_code(code)(f"cannot {action} topic {topic!r}")


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 3, replication: int = 1) -> None:
    """Creates the topics that do not exist yet (existing ones are left as they are), then waits until
    every partition has a leader, so producers can write at once. Each topic's max.message.bytes
    follows RCM_KAFKA_MAX_MESSAGE_BYTES (shared.kafka.KafkaLimits); with replicas, min.insync.replicas
    is 2, so an acknowledged write survives the loss of a broker."""
    limits = KafkaLimits()
    durability = {"min.insync.replicas": str(min(2, replication))}
    async with _admin(bootstrap) as admin:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        if missing:
            new = [
                NewTopic(t, partitions, replication, topic_configs=limits.topic_config(t) | durability) for t in missing
            ]
            response = await admin.create_topics(new)
            _raise_errors(response.topic_errors, TopicAlreadyExistsError, "create")
        await _wait_for_leaders(admin, topics)


async def _wait_for_leaders(admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await admin.describe_topics(list(topics))
        if all(t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
               for t in described):  # fmt: skip
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics {topics} have no leaders after {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Deletes the topics; ones that do not exist are ignored."""
    async with _admin(bootstrap) as admin:
        present = set(await admin.list_topics())
        doomed = [t for t in topics if t in present]
        if doomed:
            response = await admin.delete_topics(doomed)
            _raise_errors(response.topic_error_codes, UnknownTopicOrPartitionError, "delete")


def _main(argv: list[str]) -> None:
    import os

    names = argv or _project_topics()
    bootstrap = os.environ.get("RCM_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    partitions = int(os.environ.get("RCM_TOPIC_PARTITIONS", "3"))
    asyncio.run(ensure_topics(bootstrap, names, partitions=partitions))
    print(f"topics ensured on {bootstrap}: {', '.join(names)}")


def _project_topics() -> list[str]:
    from shared.contracts.topics import ALL_TOPICS

    return list(ALL_TOPICS)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
