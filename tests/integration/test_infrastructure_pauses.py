"""Infrastructure faults pause, they never dead-letter: the database of a consumer refuses every
connection (CONNECTION LIMIT 0: "too many connections", 53300) and its sessions are terminated
(57P01, "terminating connection due to administrator command") in the middle of a stream; the
consumer pauses (rcm_consumer_paused, a log line), commits nothing, and once the database is back
every event is processed, in order and once, and nothing is on the dead-letter topic. Only this
test's own database is blocked: the shared PostgreSQL keeps serving everyone else."""

import asyncio
import json
import logging

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.coding.app import build
from shared.contracts import topics
from shared.settings import ServiceSettings
from tests.integration.test_delivery_guarantees import encounter
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
CONSUMER = "coding.encounter.documented"


def admin_dsn(platform) -> str:
    return platform.stack.database_url("postgres").replace("postgresql+asyncpg://", "postgresql://", 1)


async def block(platform, database: str, blocked: bool) -> None:
    """Refuse (or admit again) every new session of one database, and end the ones it has."""
    connection = await asyncpg.connect(admin_dsn(platform))
    try:
        await connection.execute(f'ALTER DATABASE "{database}" CONNECTION LIMIT {0 if blocked else -1}')
        if blocked:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
    finally:
        await connection.close()


def paused(topic: str) -> float | None:
    return REGISTRY.get_sample_value("rcm_consumer_paused", {"topic": topic, "consumer": CONSUMER})


async def test_a_database_outage_mid_stream_pauses_and_loses_or_dead_letters_nothing(platform, caplog):
    caplog.set_level(logging.WARNING, logger="shared.consumer")
    service = build(settings_for(platform, ServiceSettings, "coding"))
    first, during, after = [encounter(n) for n in range(100, 120)], [encounter(n) for n in range(120, 140)], []
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, first)
        await eventually(lambda: _coded(service, 20))
        await block(platform, platform.database("coding"), True)
        try:
            await publish(platform, topics.ENCOUNTER_DOCUMENTED, during)
            await eventually(lambda: _true(paused(topics.ENCOUNTER_DOCUMENTED) == 1.0), timeout=20)
            await asyncio.sleep(6)  # an outage of several seconds: many attempts, all paused
            assert paused(topics.ENCOUNTER_DOCUMENTED) == 1.0
            ready = await service.ready()
            assert not ready["database"] and not ready["consumers"]
        finally:
            await block(platform, platform.database("coding"), False)
        after = [encounter(n) for n in range(140, 150)]
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, after)
        await eventually(lambda: _coded(service, 50), timeout=60)
        assert await scalar(service, "SELECT count(*) FROM coding_outcome") == 50
        await eventually(lambda: _true(paused(topics.ENCOUNTER_DOCUMENTED) == 0.0))
        assert (await service.ready())["consumers"]
        coded = await read_topic(platform, topics.ENCOUNTER_CODED, expect=50, timeout=60, settle=1.0)
    dead = await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=1, timeout=3)
    assert dead == []
    assert len(coded) == 50  # each once
    sent = [e.data.encounter_id for e in first + during + after]
    assert sorted(json.loads(r.value)["encounter_id"] for r in coded) == sorted(sent)
    pauses = [r for r in caplog.records if r.getMessage().startswith("paused: database or broker unavailable")]
    assert pauses and {r.consumer for r in pauses} == {CONSUMER}
    assert any(r.getMessage() == "resumed after pause" for r in caplog.records)


async def _coded(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM coding_outcome") >= count


async def _true(value: bool) -> bool:
    return value
