"""The shared consumer's promises, shown on the coding service over the real broker and database:
a redelivered event is processed once; bad input goes to the dead-letter topic with its reason
and never blocks the partition."""

import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from services.coding.app import build
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


def encounter(n: int, diagnosis: str = "I10") -> Event:
    data = EncounterDocumentedV1(
        encounter_id=f"ENC-{n}",
        patient_id=uuid.uuid4(),
        date_of_service=date.today() - timedelta(days=2),
        rendering_provider={"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
        diagnoses=[{"code": diagnosis}],
        procedures=[{"code": "99213"}],
    )
    return Event(data, data.encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


async def outcomes(service) -> int:
    return await scalar(service, "SELECT count(*) FROM coding_outcome")


async def test_an_event_delivered_twice_is_processed_once(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    first, second = encounter(1), encounter(2)
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [first, first, second, first])
        await eventually(lambda: _at_least(service, 2))
        coded = await read_topic(platform, topics.ENCOUNTER_CODED, expect=2, settle=2.0)
        assert await outcomes(service) == 2
        assert await scalar(service, "SELECT count(*) FROM inbox") == 2
    assert sorted(json.loads(r.value)["encounter_id"] for r in coded) == ["ENC-1", "ENC-2"]
    # The correlation id travels from the inbound event to the next stage.
    by_id = {json.loads(r.value)["encounter_id"]: header(r, "ce_correlationid") for r in coded}
    assert by_id["ENC-1"] == first.correlation_id


async def _at_least(service, count: int) -> bool:
    return await outcomes(service) >= count


async def test_bad_input_is_dead_lettered_with_its_reason_and_the_next_event_still_flows(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    good_before, good_after = encounter(10), encounter(11)
    valid_headers = good_before.headers()
    wrong_type = [(k, b"org.openrcm.claim.submitted.v1" if k == "ce_type" else v) for k, v in valid_headers]
    hostile = [
        (b"k1", valid_headers, b"{not json"),  # undecodable
        (b"k2", valid_headers, json.dumps({"encounter_id": "x"}).encode()),  # schema violation
        (b"k3", wrong_type, good_before.value()),  # wrong event type
        (b"k4", [("ce_specversion", b"\xff\xfe"), ("ce_type", b"\x80")], b"{}"),  # not UTF-8
        (b"k5", [], None),  # no headers, no value
        (b"k6", valid_headers, b'{"encounter_id": "' + b"A" * 900_000 + b'"}'),  # oversized
        (b"k7", valid_headers, good_before.value().replace(b"ENC-10", b"ENC-10'; DROP TABLE inbox;--")),
    ]
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [good_before])
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, raw=hostile)
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [good_after])
        dead = await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=len(hostile))
        await eventually(lambda: _at_least(service, 2))
        assert await outcomes(service) == 2  # both good events, nothing else
    assert sorted(r.key for r in dead) == sorted(key for key, _, _ in hostile)
    for record in dead:
        assert header(record, "dlt_consumer") == "coding.encounter.documented"
        assert header(record, "dlt_source_topic") == platform.namespace + topics.ENCOUNTER_DOCUMENTED
        assert header(record, "dlt_source_offset").isdigit()
        assert header(record, "dlt_reason")
    reasons = {r.key: header(r, "dlt_reason") for r in dead}
    assert "unexpected ce_type" in reasons[b"k3"]
    assert "schema" in reasons[b"k2"] and "date_of_service" in reasons[b"k2"]
    assert "DROP TABLE" not in reasons[b"k7"]  # reasons name fields, never echo values


async def test_a_handler_failure_dead_letters_only_the_failing_event(platform, monkeypatch):
    """One event whose handler raises must not take its batch neighbours down with it."""
    from services.coding import handlers

    real = handlers.check_encounter

    def exploding(encounter, today, *args, **kwargs):
        if encounter.encounter_id == "ENC-21":
            raise RuntimeError("boom")
        return real(encounter, today, *args, **kwargs)

    monkeypatch.setattr(handlers, "check_encounter", exploding)
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [encounter(20), encounter(21), encounter(22)])
        dead = await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=1)
        await eventually(lambda: _at_least(service, 2))
        assert await outcomes(service) == 2
    assert [r.key for r in dead] == [b"ENC-21"]
    assert header(dead[0], "dlt_reason") == "RuntimeError in handler"


async def test_coding_rejects_a_header_code_with_a_reason_the_sender_can_consume(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service) as client:
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [encounter(30, diagnosis="E11")])
        rejected = await read_topic(platform, topics.ENCOUNTER_REJECTED, expect=1)
        outcome = (await client.get("/v1/encounters/ENC-30")).json()
    assert outcome["status"] == "rejected"
    finding = json.loads(rejected[0].value)["findings"][0]
    assert finding == {"field": "diagnoses[0].code", "code": "icd.not_billable", "message": finding["message"]}


async def test_dead_letters_are_replayed_once_the_cause_is_fixed(platform, monkeypatch):
    from rcmctl.dlq import reasons, replay
    from services.coding import handlers

    real = handlers.check_encounter
    broken = {"on": True}

    def flaky(encounter, today, *args, **kwargs):
        if broken["on"]:
            raise RuntimeError("code set not loaded")
        return real(encounter, today, *args, **kwargs)

    monkeypatch.setattr(handlers, "check_encounter", flaky)
    service = build(settings_for(platform, ServiceSettings, "coding"))
    settings = ServiceSettings(kafka_bootstrap=platform.stack.kafka_bootstrap, topic_prefix=platform.namespace)
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [encounter(40), encounter(41)])
        await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=2)
        assert await reasons(settings, topics.ENCOUNTER_DOCUMENTED) == {
            ("coding.encounter.documented", "RuntimeError in handler"): 2
        }
        broken["on"] = False  # the fix
        first = await replay(settings, topics.ENCOUNTER_DOCUMENTED)
        again = await replay(settings, topics.ENCOUNTER_DOCUMENTED)
        await eventually(lambda: _at_least(service, 2))
        assert await outcomes(service) == 2
    assert (first["replayed"], again["replayed"]) == (2, 0)


async def test_the_inbox_forgets_ids_older_than_its_retention(platform):
    from shared import inbox

    old_row = "INSERT INTO inbox (consumer, event_id, received_at) VALUES ('c', gen_random_uuid(), now() - interval '20 days')"
    # A long retention first, so the service's own purge at start cannot race the test's.
    service = build(settings_for(platform, ServiceSettings, "coding", inbox_retention_days=365))
    async with running(service):
        async with service.sessions() as session, session.begin():
            await session.execute(text(old_row))
            await session.execute(text("INSERT INTO inbox (consumer, event_id) VALUES ('c', gen_random_uuid())"))
        async with service.sessions() as session, session.begin():
            purged = await inbox.purge(session, older_than_days=14)
        assert purged == 1
        assert await scalar(service, "SELECT count(*) FROM inbox WHERE consumer = 'c'") == 1
        async with service.sessions() as session, session.begin():
            await session.execute(text(old_row))
    # Started with the default retention (14 days), the service purges by itself.
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service):
        await eventually(lambda: _no_old_ids(service))
        assert await scalar(service, "SELECT count(*) FROM inbox WHERE consumer = 'c'") == 1


async def _no_old_ids(service) -> bool:
    return (
        await scalar(
            service, "SELECT count(*) FROM inbox WHERE consumer = 'c' AND received_at < now() - interval '14 days'"
        )
        == 0
    )
