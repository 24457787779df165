"""What an idle consumer in a group costs the service's process, in ms of CPU a second, for each
fetcher wake-up timer asked (aiokafka's consumer_timeout_ms; the services use
shared.consumer.FETCHER_WAKE_MS). The consumers are made as shared.consumer.Subscriber makes them
(a group each, the services' fetch wait, aiokafka's heartbeats), subscribed to an empty topic
and polled the way its loop polls; the process's CPU is read over `--seconds`.

    ./rcm stack up && .venv/bin/python -m rcmctl.bench.idle_consumer [--wake-ms 1000 10000]

Needs the dev stack's broker (RCM_KAFKA_BOOTSTRAP, default 127.0.0.1:19092).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.consumer import FETCHER_WAKE_MS, POLL_SECONDS
from shared.settings import ServiceSettings

TOPIC = "bench.idle-consumer"


async def idle_cost(bootstrap: str, wake_ms: int, consumers: int, seconds: float) -> float:
    """ms of CPU a second per idle consumer."""
    group = uuid.uuid4().hex[:8]
    members = [
        AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=f"bench.idle-{group}-{n}",
            enable_auto_commit=False,
            fetch_max_wait_ms=ServiceSettings().kafka_fetch_wait_ms,
            consumer_timeout_ms=wake_ms,
        )
        for n in range(consumers)
    ]
    for member in members:
        await member.start()

    async def poll(member: AIOKafkaConsumer) -> None:
        while True:
            await member.getmany(timeout_ms=int(POLL_SECONDS * 1000))

    polls = [asyncio.create_task(poll(member)) for member in members]
    try:
        await asyncio.sleep(5.0)  # joined and assigned: the rebalance is not idle work
        start = time.process_time()
        await asyncio.sleep(seconds)
        return (time.process_time() - start) * 1000 / seconds / consumers
    finally:
        for task in polls:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for member in members:
            await member.stop()


async def main(bootstrap: str, wakes: list[int], consumers: int, seconds: float) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    for wake in wakes:
        cost = await idle_cost(bootstrap, wake, consumers, seconds)
        print(
            f"fetcher wake {wake:>6} ms: {cost:.3f} ms of CPU a second per idle consumer ({consumers} for {seconds:g} s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wake-ms", type=int, nargs="+", default=[1000, FETCHER_WAKE_MS])
    parser.add_argument("--consumers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    bootstrap = os.environ.get("RCM_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    asyncio.run(main(bootstrap, args.wake_ms, args.consumers, args.seconds))
