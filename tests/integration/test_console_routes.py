"""The routes the console added to the services, on the real database and broker: patient search,
ICD-10-CM search, the queues' cursors, a held claim fixed and billed again, an unmatched payment posted
to a chosen claim, the claim's history in each service, the approvals list and the dashboard's figures."""

import pytest

from rcmctl.sample import patients
from services.registration.app import build as registration
from shared.settings import ServiceSettings
from tests.kit import running, settings_for

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
