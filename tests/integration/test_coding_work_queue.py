"""The coder work queue on the real broker and database: a visit that needs judgement is queued
(not published), a coder signed in at the real Keycloak amends it, encounter.coded carries who coded
it (the token's subject and name, never the body's), every change is in the coding history and the
audit trail; age/sex edits use coding's own copy of the patient from patient.registered."""

import json
import uuid
from datetime import date, timedelta

import pytest

from services.coding.app import build
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1, PatientRegisteredV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
PATIENT = uuid.uuid4()


def encounter(encounter_id: str, **fields) -> Event:
    data = EncounterDocumentedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(PATIENT),
            "date_of_service": (date.today() - timedelta(days=3)).isoformat(),
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            **fields,
        }
    )
    return Event(data, encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


def registered(sex: str) -> Event:
    data = PatientRegisteredV1.model_validate(
        {
            "patient_id": str(PATIENT),
            "version": 1,
            "mrn": "MRN-1",
            "registered_at": "2026-11-01T10:00:00Z",
            "patient": {
                "first_name": "Ana",
                "last_name": "Ruiz",
                "birth_date": "1950-02-03",
                "sex": sex,
                "address": {"line1": "1 Oak St", "city": "Peoria", "state": "IL", "postal_code": "61602"},
            },
            "coverages": [
                {
                    "rank": "primary",
                    "payer_id": "SIMBC",
                    "payer_name": "SIM BLUE",
                    "member_id": "M1",
                    "effective_date": "2024-01-01",
                }
            ],
        }
    )
    return Event(data, str(PATIENT), "/test/registration", correlation_id=str(uuid.uuid4()))


async def test_queue_amend_publishes_coded_with_the_coder_and_keeps_an_audit_trail(platform, idp):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    carol = await idp.subject("carol.coder")
    async with running(service, idp) as client:
        client.headers.update(await idp.bearer("carol.coder"))
        await publish(platform, topics.PATIENT_REGISTERED, [registered("F")])
        await eventually(lambda: scalar(service, "SELECT count(*) FROM coding_patient"))
        await publish(
            platform,
            topics.ENCOUNTER_DOCUMENTED,
            [
                encounter("ENC-Q1", diagnoses=[{"code": "N40.1"}], procedures=[{"code": "99213"}]),  # BPH, female
                encounter(
                    "ENC-Q2",
                    diagnosis_statements=["HTN", "type 2 diabetes without complications"],
                    patient_type="established",
                    total_time_minutes=25,  # CAC: confident and clean
                    referring_provider={"npi": "1861492431", "first_name": "Rafael", "last_name": "Ortiz"},
                ),
                encounter("ENC-Q3", diagnosis_statements=["rule out pneumonia"], total_time_minutes=30),
            ],
        )
        await eventually(lambda: _decided(service, 3))
        assert (await client.get("/v1/stats")).json() == {"coded": 1, "queued": 2}
        queue = (await client.get("/v1/work-queue")).json()["items"]
        assert [(i["encounter_id"], i["reasons"]) for i in queue] == [
            ("ENC-Q1", ["icd.sex"]),
            ("ENC-Q3", ["cac.low_confidence"]),
        ]
        view = (await client.get("/v1/work-queue/ENC-Q3")).json()
        assert view["suggestions"][0]["evidence"]["uncertain_or_negated"] == "rule out"

        # Hostile or wrong amendments: 4xx with field paths, nothing published.
        bad = await client.post(
            "/v1/work-queue/ENC-Q3/amend",
            json={
                "diagnoses": ["E11", "X99.999"],
                "service_lines": [{"procedure_code": "99213", "diagnosis_pointers": [3]}],
            },
        )
        assert bad.status_code == 422
        assert {d["field"] for d in bad.json()["detail"]} == {
            "diagnoses[0].code",
            "diagnoses[1].code",
            "service_lines[0].diagnosis_pointers",
        }
        assert (
            await client.post("/v1/work-queue/ENC-Q3/amend", json={"diagnoses": ["J18.9"], "service_lines": []})
        ).status_code == 422
        named = await client.post("/v1/work-queue/ENC-Q1/accept", json={"coder": "someone.else"})
        assert named.status_code == 422 and named.json()["detail"][0]["loc"] == ["body", "coder"]  # not a name to trust
        assert (await client.post("/v1/work-queue/ENC-Q2/accept")).status_code == 409
        assert (await client.post("/v1/work-queue/NOPE/accept", json={})).status_code == 404

        amended = await client.post(
            "/v1/work-queue/ENC-Q3/amend",
            json={
                "note": "chest x-ray negative; coded the symptom",
                "diagnoses": ["R05.9"],
                "service_lines": [{"procedure_code": "99213", "diagnosis_pointers": [1]}],
            },
        )
        assert amended.status_code == 200, amended.text
        accepted = await client.post("/v1/work-queue/ENC-Q1/accept")
        assert accepted.json() | {"coded_by": carol, "coded_by_name": "carol.coder"} == accepted.json()
        assert (await client.post("/v1/work-queue/ENC-Q1/accept")).status_code == 409
        coded = await read_topic(platform, topics.ENCOUNTER_CODED, expect=3)
        trail = (await client.get("/v1/encounters/ENC-Q3/audit")).json()
        assert (await client.get("/v1/stats")).json() == {"coded": 3}
    by_id = {json.loads(r.value)["encounter_id"]: json.loads(r.value) for r in coded}
    assert sorted(by_id) == ["ENC-Q1", "ENC-Q2", "ENC-Q3"]
    assert by_id["ENC-Q2"]["coded_by"] == "auto" and by_id["ENC-Q2"]["diagnoses"] == ["I10", "E119"]
    assert [l["procedure_code"] for l in by_id["ENC-Q2"]["service_lines"]] == ["99213"]
    assert by_id["ENC-Q2"]["referring_provider"]["npi"] == "1861492431"  # passed on for the claim (2310A)
    assert by_id["ENC-Q3"]["coded_by"] == carol and by_id["ENC-Q3"]["diagnoses"] == ["R059"]
    assert (by_id["ENC-Q1"]["coded_by"], by_id["ENC-Q1"]["coded_by_name"]) == (carol, "carol.coder")
    assert by_id["ENC-Q2"]["coded_by_name"] is None
    assert [(t["actor"], t["actor_name"], t["action"]) for t in trail] == [
        ("auto", None, "queued"), (carol, "carol.coder", "amended")]  # fmt: skip
    assert trail[1]["diagnoses"] == ["R059"] and trail[1]["note"].startswith("chest x-ray")


async def test_code_sets_are_reported_and_reload_without_stopping(platform):
    service = build(settings_for(platform, ServiceSettings, "coding"))
    async with running(service) as client:
        before = (await client.get("/v1/code-sets")).json()
        assert before["icd_releases"] == [{"name": "2026-04", "effective": "2026-04-01"}]
        after = (await client.post("/v1/code-sets/reload")).json()
        assert after["loaded_at"] > before["loaded_at"]
        assert (await client.get("/v1/code-sets", headers={"X-API-Key": "wrong"})).status_code == 401


async def _decided(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM coding_outcome") >= count
