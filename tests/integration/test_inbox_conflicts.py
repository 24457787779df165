"""An event id seen again with a different body is not a redelivery: the inbox keeps a digest of
the body each id was handled with, and the consumer dead-letters the other body as a conflict
(counted) while an exact or re-serialised redelivery is skipped as before, on the real broker and
database (the coding service)."""

import hashlib
import json
import uuid
from datetime import date, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.coding.app import build
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
CONSUMER = "coding.encounter.documented"
LABELS = {"topic": topics.ENCOUNTER_DOCUMENTED, "consumer": CONSUMER}


def encounter(number: str, procedure: str = "99213") -> Event:
    data = EncounterDocumentedV1(
        encounter_id=number,
        patient_id=uuid.uuid4(),
        date_of_service=date.today() - timedelta(days=2),
        rendering_provider={"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
        diagnoses=[{"code": "I10"}],
        procedures=[{"code": procedure}],
    )
    return Event(data, data.encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(name, LABELS) or 0.0


async def test_an_id_seen_again_with_another_body_is_dead_lettered_as_a_conflict_and_a_redelivery_is_skipped(platform):
    first, after, legacy = encounter("ENC-C1"), encounter("ENC-C2"), encounter("ENC-C3")
    other = encounter("ENC-C1", procedure="99214")
    same_id = Event(other.data, first.subject, first.source, first.correlation_id, id=first.id, time=first.time)
    reserialised = json.dumps(dict(reversed(json.loads(first.value()).items())), indent=2).encode()
    key = first.subject.encode()
    conflicts, duplicates = counted("rcm_messages_conflict_total"), counted("rcm_messages_duplicate_total")
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service):
        async with service.sessions() as session, session.begin():  # handled before the inbox kept digests
            await session.execute(
                text("INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :id)"),
                {"consumer": CONSUMER, "id": legacy.id},
            )
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [first])
        await eventually(lambda: _outcomes_at_least(service, 1))
        await publish(
            platform,
            topics.ENCOUNTER_DOCUMENTED,
            raw=[
                (key, first.headers(), first.value()),  # an exact redelivery
                (key, first.headers(), reserialised),  # the same content written another way
                (key, same_id.headers(), same_id.value()),  # the same id, another body
                (legacy.subject.encode(), legacy.headers(), legacy.value()),  # an id recorded without a digest
                (after.subject.encode(), after.headers(), after.value()),
            ],
        )
        dead = await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=1, settle=2)
        await eventually(lambda: _outcomes_at_least(service, 2))
        patient = await scalar(service, "SELECT patient_id FROM coding_outcome WHERE encounter_id = 'ENC-C1'")
        digest = await scalar(service, "SELECT body_digest FROM inbox WHERE event_id = :id", id=first.id)
        assert (
            await scalar(service, "SELECT count(*) FROM coding_outcome") == 2
        )  # ENC-C1 once and ENC-C2; not ENC-C3 (pre-digest row)
    assert len(dead) == 1 and dead[0].value == same_id.value() and header(dead[0], "ce_id") == str(first.id)
    assert header(dead[0], "dlt_reason") == f"event id {first.id} already handled with a different body (conflict)"
    assert header(dead[0], "dlt_error_type") == "EventIdConflict"
    assert header(dead[0], "dlt_consumer") == CONSUMER
    assert counted("rcm_messages_conflict_total") - conflicts == 1
    assert counted("rcm_messages_duplicate_total") - duplicates == 3  # exact, re-serialised, pre-digest row
    assert digest == hashlib.sha256(first.data.model_dump_json().encode()).digest()
    assert patient == first.data.patient_id != other.data.patient_id  # the first body stands


async def _outcomes_at_least(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM coding_outcome") >= count
