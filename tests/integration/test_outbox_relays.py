"""Two replicas' outbox relays on one database: each takes half of the slots, together they publish
every row once, and the events of one key come out in the order they were written."""

import asyncio
import json
from collections import defaultdict

import asyncpg
import pytest

from services.payments.app import DECLARATION
from shared import migrations
from shared.db import asyncpg_dsn, make_engine
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests.kit import eventually, outbox_empty, read_topic

pytestmark = pytest.mark.integration
KEYS, PER_KEY = 40, 10


async def test_two_relays_share_the_outbox_and_keep_each_keys_order(platform):
    url = platform.database_url("payments")
    await asyncio.to_thread(migrations.upgrade, DECLARATION.migrations_dir, url)
    settings = ServiceSettings(kafka_bootstrap=platform.stack.kafka_bootstrap, service_name="payments")
    engine, producers = make_engine(url), [make_producer(settings), make_producer(settings)]
    relays = [
        OutboxRelay(
            service="payments",
            engine=engine,
            dsn=asyncpg_dsn(url),
            producer=producer,
            topic_prefix=platform.namespace,
            rebalance_seconds=0.3,
        )
        for producer in producers
    ]
    for producer in producers:
        await producer.start()
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        await eventually(lambda: _split(relays), timeout=20)
        held = [set(relay.slots) for relay in relays]
        await _write_rows(asyncpg_dsn(url))
        records = await read_topic(platform, "payment.posted", expect=KEYS * PER_KEY, settle=2.0)
        await eventually(lambda: outbox_empty(asyncpg_dsn(url)))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for producer in producers:
            await producer.stop()
        await engine.dispose()
    assert held[0] and held[1] and not held[0] & held[1] and len(held[0] | held[1]) == relays[0].slot_count
    by_key = defaultdict(list)
    for record in records:
        by_key[record.key.decode()].append(json.loads(record.value)["n"])
    assert len(records) == KEYS * PER_KEY  # every row once
    assert all(numbers == list(range(PER_KEY)) for numbers in by_key.values()) and len(by_key) == KEYS


async def _split(relays: list[OutboxRelay]) -> bool:
    return all(len(relay.slots) == relay.slot_count // 2 for relay in relays)


async def _write_rows(dsn: str) -> None:
    """Rows of many keys, each key's in order, written in several transactions (each one NOTIFYs)."""
    connection = await asyncpg.connect(dsn)
    try:
        for n in range(PER_KEY):
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO outbox (topic, key, headers, value)"
                    " SELECT 'payment.posted', k, '[]'::jsonb, convert_to(json_build_object('n', $1::int)::text, 'UTF8')"
                    " FROM unnest($2::text[]) AS k",
                    n,
                    [f"claim-{k}" for k in range(KEYS)],
                )
    finally:
        await connection.close()
