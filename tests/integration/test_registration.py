"""Registration's front door on the real database and broker."""

import asyncio
import json

import pytest

from rcmctl.sample import patients
from services.registration.app import build
from shared.contracts import topics
from shared.settings import ServiceSettings
from tests.kit import header, read_topic, running, settings_for

pytestmark = pytest.mark.integration


async def test_register_validate_and_publish(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1)[0]
    async with running(service) as client:
        assert (await client.post("/v1/patients", json=body, headers={"X-API-Key": "wrong"})).status_code == 401
        created = await client.post("/v1/patients", json=body)
        assert created.status_code == 201, created.text
        again = await client.post("/v1/patients", json=body)
        changed = {**body, "patient": {**body["patient"], "last_name": "Renamed"}}
        updated = await client.post("/v1/patients", json=changed)
        fetched = await client.get(f"/v1/patients/{created.json()['patient_id']}")
        published = await read_topic(platform, topics.PATIENT_REGISTERED, expect=2)
    assert again.status_code == 200 and again.json() == {**created.json(), "changed": False}
    assert updated.json()["patient_id"] == created.json()["patient_id"] and updated.json()["version"] == 2
    assert fetched.json()["patient"]["last_name"] == "Renamed"
    versions = [json.loads(r.value)["version"] for r in published]
    assert versions == [1, 2]  # no event for the unchanged re-registration
    assert all(r.key.decode() == created.json()["patient_id"] for r in published)
    assert header(published[0], "ce_type") == "org.openrcm.patient.registered.v1"


async def test_racing_registrations_of_one_person_resolve_to_one_patient(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1, seed=3)[0]
    async with running(service) as client:
        responses = await asyncio.gather(*(client.post("/v1/patients", json=body) for _ in range(8)))
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["patient_id"] for r in responses}) == 1
    assert sum(r.status_code == 201 for r in responses) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["patient"].update(birth_date="not-a-date"), "patient.birth_date"),
        (lambda b: b["patient"].update(sex=7), "patient.sex"),
        (lambda b: b["coverages"][0].update(member_id="x' OR 1=1 --"), "coverages.0.member_id"),
        (lambda b: b["patient"]["address"].update(state="Illinois"), "patient.address.state"),
        (lambda b: b.update(coverages=[]), "coverages"),
    ],
)
async def test_invalid_registrations_get_422_naming_the_field(platform, change, field):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1)[0]
    change(body)
    async with running(service) as client:
        response = await client.post("/v1/patients", json=body)
    assert response.status_code == 422
    paths = [".".join(str(p) for p in error["loc"][1:]) for error in response.json()["detail"]]
    assert field in paths


async def test_non_ascii_names_are_accepted(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1)[0]
    body["patient"].update(first_name="Zoë", last_name="Ñúñez-Øster")
    async with running(service) as client:
        response = await client.post("/v1/patients", json=body)
        fetched = await client.get(f"/v1/patients/{response.json()['patient_id']}")
    assert response.status_code == 201
    assert fetched.json()["patient"]["last_name"] == "Ñúñez-Øster"
