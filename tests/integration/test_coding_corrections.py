"""The EHR corrects and voids encounters through coding, over the real broker and database: a
correction (a later version, action correct) is coded again and passed on with its version; a
changed re-send without the marker, or an older version, is answered on encounter.rejected; a void
passes on the codes voided; the same record again changes nothing."""

import json
import uuid
from datetime import date, timedelta

import pytest

from services.coding.app import build
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
PATIENT = uuid.uuid4()


def visit(encounter_id: str, diagnoses: list[str], **changes) -> Event:
    data = EncounterDocumentedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(PATIENT),
            "date_of_service": (date.today() - timedelta(days=2)).isoformat(),
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnoses": [{"code": code} for code in diagnoses],
            "procedures": [{"code": "99213", "diagnosis_pointers": [1]}],
        }
        | changes
    )
    return Event(data, encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


def values(records) -> list[dict]:
    return [json.loads(r.value) for r in records]


async def test_corrections_voids_and_refused_changes(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    original = visit("ENC-C1", ["I10"])
    corrected = visit("ENC-C1", ["I10", "E78.5"], version=2, action="correct")
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [original])
        await read_topic(platform, topics.ENCOUNTER_CODED, expect=1, settle=0)
        await publish(
            platform,
            topics.ENCOUNTER_DOCUMENTED,
            [
                visit("ENC-C1", ["I10"]),  # the same record under a new event id: nothing
                visit("ENC-C1", ["I10", "E11.9"]),  # changed, no marker: refused
                corrected,
                visit("ENC-C1", ["I10"], version=1, action="correct"),  # an older version: refused
            ],
        )
        coded = values(await read_topic(platform, topics.ENCOUNTER_CODED, expect=2, settle=0))
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [visit("ENC-C1", [], version=3, action="void")])
        coded = values(await read_topic(platform, topics.ENCOUNTER_CODED, expect=3, settle=2.0))
        rejected = values(await read_topic(platform, topics.ENCOUNTER_REJECTED, expect=2, settle=1.0))
        status = await scalar(service, "SELECT status FROM coding_outcome WHERE encounter_id = 'ENC-C1'")
        trail = await scalar(
            service, "SELECT string_agg(action, ',' ORDER BY id) FROM coding_audit WHERE encounter_id = 'ENC-C1'"
        )
    assert [(c["version"], c["action"], c["diagnoses"]) for c in coded] == [
        (1, "original", ["I10"]),
        (2, "correct", ["I10", "E785"]),
        (3, "void", ["I10", "E785"]),  # what is voided: the codes last passed on
    ]
    assert [[(f["code"], f["field"]) for f in r["findings"]] for r in rejected] == [
        [("encounter.already_coded", "action")],
        [("encounter.stale_version", "version")],
    ]
    assert status == "voided"
    assert trail == "auto_coded,refused,auto_coded,refused,voided"


async def test_a_rejected_encounter_sent_again_fixed_is_coded(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [visit("ENC-C2", ["E11"])])  # a category: rejected
        first = values(await read_topic(platform, topics.ENCOUNTER_REJECTED, expect=1, settle=0))
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, [visit("ENC-C2", ["E11.9"])])
        coded = values(await read_topic(platform, topics.ENCOUNTER_CODED, expect=1, settle=1.0))
    assert first[0]["findings"][0]["field"].startswith("diagnoses")
    assert [(c["encounter_id"], c["action"], c["diagnoses"]) for c in coded] == [("ENC-C2", "original", ["E119"])]


async def test_a_record_that_is_not_a_valid_event_is_answered_to_its_sender_and_dead_lettered(platform):
    """units "2" (a string where the schema says integer) and a missing ce_source: each violation is
    its own finding on encounter.rejected (keyed by the record's key) and in the dead letter's reason."""
    service = build(settings_for(platform, ServiceSettings, "coding"))
    good = visit("ENC-C3", ["I10"])
    body = json.loads(good.value())
    body["procedures"][0]["units"] = "2"
    headers = [(k, v) for k, v in good.headers() if k != "ce_source"]
    async with running(service):
        await publish(platform, topics.ENCOUNTER_DOCUMENTED, raw=[(b"ENC-C3", headers, json.dumps(body).encode())])
        [answer] = values(await read_topic(platform, topics.ENCOUNTER_REJECTED, expect=1, settle=1.0))
        [dead] = await read_topic(platform, topics.dead_letter_topic(topics.ENCOUNTER_DOCUMENTED), expect=1)
        outcomes = await scalar(service, "SELECT count(*) FROM coding_outcome")
    assert answer["encounter_id"] == "ENC-C3" and outcomes == 0
    assert [(f["field"], f["code"]) for f in answer["findings"]] == [
        ("ce_source", "envelope.missing"),
        ("procedures.0.units", "schema.int_type"),
    ]
    reason = dict(dead.headers)["dlt_reason"].decode()
    assert "ce_source: required CloudEvents attribute is missing [envelope.missing]" in reason
    assert "procedures.0.units:" in reason and "[schema.int_type]" in reason


async def test_a_journey_in_one_batch_ends_as_it_would_one_record_at_a_time(platform):
    """Coded, corrected and voided in one go (one batch, as after a backlog): the void passes on the
    corrected codes (the batch's own), and the row and the trail end as they would have."""
    service = build(settings_for(platform, ServiceSettings, "coding"))
    journey = [
        visit("ENC-C4", ["I10"]),
        visit("ENC-C4", ["I10", "E78.5"], version=2, action="correct"),
        visit("ENC-C4", [], version=3, action="void"),
    ]
    await publish(platform, topics.ENCOUNTER_DOCUMENTED, journey)  # waiting when the service starts
    async with running(service):
        coded = values(await read_topic(platform, topics.ENCOUNTER_CODED, expect=3, settle=1.0))
        row = await scalar(service, "SELECT status || ':' || (documented->>'version') FROM coding_outcome")
        trail = await scalar(service, "SELECT string_agg(action, ',' ORDER BY id) FROM coding_audit")
    assert [(c["version"], c["action"], c["diagnoses"]) for c in coded] == [
        (1, "original", ["I10"]),
        (2, "correct", ["I10", "E785"]),
        (3, "void", ["I10", "E785"]),
    ]
    assert row == "voided:3"
    assert trail == "auto_coded,auto_coded,voided"
