"""A broker restarted under a steady outbox relay. After such a restart the broker may refuse the
idempotent producer's sequence numbers for good (OUT_OF_ORDER_SEQUENCE_NUMBER on every send: aiokafka
keeps its producer id where the Java client would bump its epoch). The relay must find its producer
broken, take a new one (Service.renew_producer does that in a service) and publish every row. The
broker is the test's own, so its restarts touch no one; the outbox is in the session's PostgreSQL."""

import asyncio
import json
import shutil
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from rcmctl.chaos.stack import ChaosStack
from rcmctl.stack import DEFAULT_RUN_DIR
from rcmctl.stack.topics import ensure_topics
from services.payments.app import DECLARATION
from shared import migrations
from shared.db import asyncpg_dsn, make_engine
from shared.kafka import close_producer, make_producer
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests.kit import eventually, free_ports, outbox_empty

pytestmark = pytest.mark.integration
RESTARTS = 2


async def test_the_relay_renews_a_producer_a_broker_restart_broke_and_publishes_every_row(platform):
    base = free_ports(2)
    broker = ChaosStack(DEFAULT_RUN_DIR / f"renewal-{base}", kafka_port=base, pg_port=base + 2, with_postgres=False)
    url, topic = platform.database_url("payments"), platform.namespace + "payment.posted"
    await asyncio.to_thread(migrations.upgrade, DECLARATION.migrations_dir, url)
    bootstrap = (await asyncio.to_thread(broker.up)).kafka_bootstrap
    settings = ServiceSettings(kafka_bootstrap=bootstrap, service_name="payments")
    engine, renewed, tasks = make_engine(url), [], []

    async def renew(broken: AIOKafkaProducer) -> None:  # what Service.renew_producer does
        fresh = make_producer(settings)
        await fresh.start()
        relay.producer = fresh
        renewed.append(broken)
        await close_producer(broken)

    relay = OutboxRelay(service="payments", engine=engine, dsn=asyncpg_dsn(url), producer=make_producer(settings),
                        topic_prefix=platform.namespace, renew=renew)  # fmt: skip
    try:
        await ensure_topics(bootstrap, [topic])
        await relay.producer.start()
        restarts_done = asyncio.Event()
        writer = asyncio.create_task(_write_rows(asyncpg_dsn(url), until=restarts_done))
        tasks += [writer, asyncio.create_task(relay.run())]
        for _ in range(RESTARTS):
            await asyncio.sleep(2)
            await asyncio.to_thread(broker.stop_broker)
            await asyncio.sleep(3)
            await asyncio.to_thread(broker.start_broker)
        await asyncio.sleep(2)
        restarts_done.set()
        written = await writer
        await eventually(lambda: outbox_empty(asyncpg_dsn(url)), timeout=150)  # the relay's DELIVERY_TIMEOUT and more
        numbers = await _numbers_on(bootstrap, topic, expect=written)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_producer(relay.producer)
        await engine.dispose()
        await asyncio.to_thread(broker.down)
        shutil.rmtree(broker.run_dir, ignore_errors=True)
    assert set(numbers) == set(range(written)), f"missing: {sorted(set(range(written)) - set(numbers))[:10]}"
    print(f"{written} rows through {RESTARTS} broker restarts; producers renewed: {len(renewed)}")


async def _write_rows(dsn: str, until: asyncio.Event) -> int:
    """One outbox row every 0.02 s (each its own transaction) until the restarts are over."""
    connection = await asyncpg.connect(dsn)
    n = 0
    try:
        while not until.is_set():
            await connection.execute(
                "INSERT INTO outbox (topic, key, headers, value) VALUES ('payment.posted', $1, '[]'::jsonb,"
                " convert_to(json_build_object('n', $2::int)::text, 'UTF8'))",
                f"claim-{n % 7}",
                n,
            )
            n += 1
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    return n


async def _numbers_on(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[int]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    numbers: list[int] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(set(numbers)) < expect and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                numbers += [json.loads(record.value)["n"] for record in batch]
    finally:
        await consumer.stop()
    return numbers
