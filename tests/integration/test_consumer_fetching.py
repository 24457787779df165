"""A backlog on one partition drains without waiting out the broker's fetch wait.

aiokafka long-polls the quiet partitions while records of a busy one sit in its buffer; before
shared.consumer held that poll back, a record arriving on the busy partition after its buffer was
taken waited for the poll to end (the fetch wait, 5 s)."""

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from services.payments import db
from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from tests.integration.test_dead_letters_fit import claim
from tests.kit import eventually, running, scalar, settings_for, wait_for_assignment

pytestmark = pytest.mark.integration


async def to_one_partition(platform, events) -> None:
    """Every record to partition 0: the topic's other partitions stay quiet."""
    producer = AIOKafkaProducer(bootstrap_servers=platform.stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send(
                platform.namespace + topics.CLAIM_SUBMITTED,
                value=event.value(),
                key=event.subject.encode(),
                headers=event.headers(),
                partition=0,
            )
        await producer.flush()
    finally:
        await producer.stop()


async def test_a_record_behind_a_drained_backlog_is_fetched_at_once(platform, monkeypatch):
    real = db.add_known_claims

    async def slow(session, rows):  # the handler's work: buffered records outlive aiokafka's 0.1 s
        await asyncio.sleep(0.3)
        return await real(session, rows)

    monkeypatch.setattr(db, "add_known_claims", slow)
    service = build(settings_for(platform, PaymentsSettings, "payments", consume_max_records=100))
    backlog = [claim(uuid.uuid4()) for _ in range(400)]
    async with running(service):
        await to_one_partition(platform, backlog)
        await eventually(lambda: _known(service, len(backlog)), timeout=60)

        late = claim(uuid.uuid4())
        sent = time.monotonic()
        await to_one_partition(platform, [late])
        await eventually(lambda: _known(service, len(backlog) + 1), timeout=30, interval=0.05)
        waited = time.monotonic() - sent
    assert waited < service.settings.kafka_fetch_wait_ms / 1000 / 3, f"the late record waited {waited:.2f} s"


async def _known(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM known_claim") >= count


async def test_records_arriving_within_the_linger_are_handled_in_one_batch_in_order(platform, monkeypatch):
    real, batches = db.add_known_claims, []

    async def recorded(session, rows):
        batches.append(list(rows))
        return await real(session, rows)

    monkeypatch.setattr(db, "add_known_claims", recorded)
    service = build(settings_for(platform, PaymentsSettings, "payments", consume_linger_ms=400))
    trickle = [claim(uuid.uuid4()) for _ in range(5)]
    async with running(service):
        await wait_for_assignment(service)
        for event in trickle:  # one record every 20 ms, all within the first one's linger
            await to_one_partition(platform, [event])
            await asyncio.sleep(0.02)
        await eventually(lambda: _known(service, len(trickle)))
    handled = [claim_id for batch in batches for claim_id in batch]
    assert len(batches) <= 2, f"{len(batches)} batches for a trickle of {len(trickle)}"
    assert handled == [event.data.claim_id for event in trickle]
