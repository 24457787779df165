"""The routes the console added to the services, on the real database and broker: patient search,
ICD-10-CM search, the queues' cursors, a held claim fixed and billed again, an unmatched payment posted
to a chosen claim, the claim's history in each service, the approvals list and the dashboard's figures."""

import uuid
from datetime import date, timedelta

import pytest

from rcmctl.sample import patients
from services.coding.app import build as coding
from services.registration.app import build as registration
from shared.contracts import topics
from shared.contracts.events import EncounterDocumentedV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import eventually, publish, running, scalar, settings_for

pytestmark = pytest.mark.integration


async def test_patients_are_found_by_name_prefix_birth_date_and_mrn_a_page_at_a_time(platform):
    service = registration(settings_for(platform, ServiceSettings, "registration"))
    people = patients(12, seed=5)
    async with running(service) as client:
        for body in people:
            assert (await client.post("/v1/patients", json=body)).status_code == 201
        target = people[3]
        last = target["patient"]["last_name"]
        by_name = await client.post("/v1/patients/search", json={"last_name": last[:3].lower(), "limit": 100})
        by_birth = await client.post("/v1/patients/search", json={"birth_date": target["patient"]["birth_date"]})
        by_mrn = await client.post("/v1/patients/search", json={"mrn": target["mrn"]})
        first_page = await client.post("/v1/patients/search", json={"last_name": last[:1], "limit": 1})
        second_page = await client.post(
            "/v1/patients/search", json={"last_name": last[:1], "limit": 1, "cursor": first_page.json()["next"]}
        )
        nothing = await client.post("/v1/patients/search", json={})
        stranger = await client.post("/v1/patients/search", json={"last_name": "Zzzz"})
        audit = await client.get("/v1/audit", params={"limit": 1000})
    expected = sorted(
        (p["patient"]["last_name"].lower(), p["patient"]["first_name"].lower(), p["mrn"])
        for p in people
        if p["patient"]["last_name"].lower().startswith(last[:3].lower())
    )
    found = by_name.json()["patients"]
    assert [(p["last_name"].lower(), p["first_name"].lower()) for p in found] == [e[:2] for e in expected]
    assert target["mrn"] in {p["mrn"] for p in by_birth.json()["patients"]}
    assert [p["mrn"] for p in by_mrn.json()["patients"]] == [target["mrn"]]
    assert first_page.json()["next"] and second_page.json()["patients"][0] != first_page.json()["patients"][0]
    assert nothing.status_code == 422 and stranger.json() == {"patients": [], "next": None}
    searched = {e["entity_id"] for e in audit.json()["entries"] if e["subtype"] == "search-type"}
    assert {p["patient_id"] for p in found} <= searched  # every patient a search showed is in the audit trail


def documented(encounter_id: str, statement: str) -> Event:
    data = EncounterDocumentedV1.model_validate(
        {
            "encounter_id": encounter_id,
            "patient_id": str(uuid.uuid4()),
            "date_of_service": (date.today() - timedelta(days=2)).isoformat(),
            "rendering_provider": {"npi": "1093817462", "first_name": "Helen", "last_name": "Marsh"},
            "diagnosis_statements": [statement],
            "total_time_minutes": 25,
            "patient_type": "established",
        }
    )
    return Event(data, encounter_id, "/test/ehr", correlation_id=str(uuid.uuid4()))


async def test_the_code_picker_and_the_coder_queue_a_page_at_a_time(platform):
    service = coding(settings_for(platform, ServiceSettings, "coding"))
    async with running(service) as client:
        by_code = (await client.get("/v1/code-sets/icd10cm", params={"q": "e11.6", "limit": 3})).json()
        by_words = (await client.get("/v1/code-sets/icd10cm", params={"q": "essential hypertension"})).json()
        header = (await client.get("/v1/code-sets/icd10cm", params={"q": "E11"})).json()
        empty = await client.get("/v1/code-sets/icd10cm", params={"q": ""})
        await publish(
            platform, topics.ENCOUNTER_DOCUMENTED, [documented(f"ENC-P{n}", "rule out pneumonia") for n in range(5)]
        )
        await eventually(lambda: scalar(service, "SELECT count(*) = 5 FROM coding_outcome WHERE status = 'queued'"))
        pages, cursor = [], None
        while True:
            answer = (
                await client.get("/v1/work-queue", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            ).json()
            pages.append([item["encounter_id"] for item in answer["items"]])
            cursor = answer["next"]
            if cursor is None:
                break
        wrong = await client.get("/v1/work-queue", params={"cursor": "yesterday|x"})
    assert [c["code"] for c in by_code["codes"]] == ["E11.610", "E11.618", "E11.620"]
    assert by_words["codes"][0] == {"code": "I10", "description": "Essential (primary) hypertension"}
    assert "E11" not in {c["code"] for c in header["codes"]} and all(
        c["code"].startswith("E11.") for c in header["codes"]
    )
    assert empty.status_code == 422
    assert [len(p) for p in pages] == [2, 2, 1] and sorted(e for page in pages for e in page) == [
        f"ENC-P{n}" for n in range(5)
    ]
    assert wrong.status_code == 422
