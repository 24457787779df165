"""Dead letters always fit: a record just under the 1 MiB limit that fails cannot be copied with its
dlt_* headers, so it is dead-lettered as a reference (source topic, partition, offset, size, reason)
and the partition moves on; `rcm dlq replay` fetches the original from its offset once the cause is
fixed. The intake topics refuse such a record at the edge (their limit leaves room for the headers)."""

import time
import uuid
from datetime import UTC, date, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from rcmctl.dlq import replay
from services.payments import db
from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.envelope import Event
from shared.kafka import KafkaLimits, record_size
from shared.metrics import dead_letter_backlogs
from shared.settings import ServiceSettings
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


def claim(claim_id: uuid.UUID) -> Event:
    data = ClaimSubmittedV1(
        claim_id=claim_id,
        patient_control_number=claim_id.hex[:20].upper(),
        encounter_id=f"E-{claim_id.hex[:6]}",
        patient_id=uuid.uuid4(),
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        date_of_service=date(2026, 11, 2),
        total_charge="180.00",
        lines=[{"line_number": 1, "procedure_code": "99214", "units": 1, "charge": "180.00"}],
        interchange_control_number=7,
        file_name="x.837p.x12",
        submitted_at=datetime.now(UTC),
    )
    return Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))


def just_under_the_limit(event: Event, slack: int = 64) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """The event with a padding header that brings the record to `slack` bytes under the limit."""
    limit = KafkaLimits().kafka_max_message_bytes
    key, value, headers = event.subject.encode(), event.value(), event.headers()
    padding = limit - slack - record_size(key, value, [*headers, ("x-padding", b"")]) - 4  # the length's varint
    headers = [*headers, ("x-padding", b"p" * padding)]
    assert limit - slack - 8 <= record_size(key, value, headers) <= limit - slack
    return key, headers, value


async def test_a_record_just_under_1_mib_is_dead_lettered_as_a_reference_and_replayed_from_its_offset(
    platform, monkeypatch
):
    big_id, next_id = uuid.uuid4(), uuid.uuid4()
    real, broken = db.add_known_claims, {"on": True}

    async def failing_for_the_big_one(session, rows):
        if broken["on"] and big_id in rows:
            raise RuntimeError("payer directory not loaded")
        return await real(session, rows)

    monkeypatch.setattr(db, "add_known_claims", failing_for_the_big_one)
    service = build(settings_for(platform, PaymentsSettings, "payments"))
    settings = ServiceSettings(kafka_bootstrap=platform.stack.kafka_bootstrap, topic_prefix=platform.namespace)
    async with running(service):
        await publish(platform, topics.CLAIM_SUBMITTED, raw=[just_under_the_limit(claim(big_id))])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim(next_id)])
        dead = await read_topic(platform, topics.dead_letter_topic(topics.CLAIM_SUBMITTED), expect=1)
        await eventually(lambda: _known(service, next_id))  # the partition moved on
        assert not await _known(service, big_id)

        waiting = await dead_letters(platform, settings)
        broken["on"] = False
        counts = await replay(settings, topics.CLAIM_SUBMITTED)
        await eventually(lambda: _known(service, big_id))
        after = await dead_letters(platform, settings)
    assert waiting[0] == 1 and 0 <= time.time() - waiting[1] < 120  # rcm_dead_letters and the oldest's age
    assert after == (0, None)
    assert len(dead) == 1 and dead[0].value is None
    assert header(dead[0], "dlt_reference") == "true"
    assert int(header(dead[0], "dlt_size")) > KafkaLimits().kafka_max_message_bytes - 100
    assert header(dead[0], "dlt_source_topic") == platform.namespace + topics.CLAIM_SUBMITTED
    assert header(dead[0], "dlt_reason") == "RuntimeError in handler"
    assert counts == {"read": 1, "replayed": 1, "skipped": 0, "unreachable": 0}


async def test_the_intake_topics_refuse_a_record_too_large_to_dead_letter_whole(platform):
    key, headers, value = just_under_the_limit(claim(uuid.uuid4()))
    with pytest.raises(KafkaError):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, raw=[(key, headers, value)])
    with pytest.raises(KafkaError):
        await publish(platform, topics.INTAKE_FHIR, raw=[(key, headers, value)])
    edge = KafkaLimits().intake_max_bytes
    key, headers, value = just_under_the_limit(
        claim(uuid.uuid4()), slack=KafkaLimits().kafka_max_message_bytes - edge + 64
    )
    await publish(platform, topics.ENCOUNTER_DOCUMENTED, raw=[(key, headers, value)])  # under the edge: taken


async def dead_letters(platform, settings) -> tuple[int, float | None]:
    """What the services' gauges show: letters after the replay group's position, the oldest's time."""
    reader = AIOKafkaConsumer(bootstrap_servers=platform.stack.kafka_bootstrap, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.stack.kafka_bootstrap)
    await reader.start()
    await admin.start()
    try:
        dlt = settings.topic(topics.dead_letter_topic(topics.CLAIM_SUBMITTED))
        backlogs = await dead_letter_backlogs(reader, admin, {dlt: settings.group(f"replay.{topics.CLAIM_SUBMITTED}")})
        return backlogs[dlt]
    finally:
        await reader.stop()
        await admin.close()


async def _known(service, claim_id: uuid.UUID) -> bool:
    return bool(await scalar(service, "SELECT count(*) FROM known_claim WHERE claim_id = :c", c=claim_id))
