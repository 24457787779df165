"""Registration's front door on the real database and broker."""

import asyncio
import json

import pytest

from rcmctl.sample import patients
from services.registration.app import build
from services.registration.settings import RegistrationSettings
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
    assert again.status_code == 200 and again.json() == {**created.json(), "changed": False, "matched_by": "mrn"}
    assert updated.json()["patient_id"] == created.json()["patient_id"] and updated.json()["version"] == 2
    assert fetched.json()["patient"]["last_name"] == "Renamed"
    versions = [(json.loads(r.value)["version"], json.loads(r.value)["changes"]) for r in published]
    assert versions == [(1, []), (2, ["patient"])]  # no event for the unchanged re-registration
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


def person_at(facility: str, mrn: str, body: dict) -> dict:
    """The same person as another system spells them: other facility, MRN, case and accents."""
    patient = {
        **body["patient"],
        "first_name": body["patient"]["first_name"].upper(),
        "last_name": body["patient"]["last_name"].lower(),
    }
    return {**body, "facility": facility, "mrn": mrn, "patient": patient}


async def test_same_name_birth_date_and_member_id_is_one_patient_also_when_racing(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1, seed=5)[0]
    others = [person_at(f"CLINIC{n}", f"X{n}", body) for n in range(8)]
    async with running(service) as client:
        responses = await asyncio.gather(*(client.post("/v1/patients", json=b) for b in others))
        assert {r.status_code for r in responses} == {200, 201}, [r.text for r in responses]
        patient_id = responses[0].json()["patient_id"]
        # An unrelated person who reuses an MRN number at another facility is someone else.
        stranger = {**patients(1, seed=6)[0], "facility": "NORTH", "mrn": body["mrn"]}
        separate = await client.post("/v1/patients", json=stranger)
        fetched = (await client.get(f"/v1/patients/{patient_id}")).json()
    assert len({r.json()["patient_id"] for r in responses}) == 1
    assert sum(r.status_code == 201 for r in responses) == 1
    assert {r.json()["matched_by"] for r in responses if r.status_code == 200} == {"member"}
    assert separate.status_code == 201 and separate.json()["patient_id"] != patient_id
    assert sorted(m["facility"] for m in fetched["mrns"]) == [f"CLINIC{n}" for n in range(8)]


async def test_coverage_change_is_a_new_version_with_what_changed(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1, seed=8)[0]
    secondary = {
        "rank": "secondary",
        "payer_id": "SIMMCD",
        "payer_name": "SIM STATE MEDICAID",
        "member_id": "MCD-77",
        "relationship": "spouse",
        "effective_date": "2025-01-01",
        "subscriber": {**body["patient"], "first_name": "Ana", "sex": "F"},
    }
    async with running(service) as client:
        first = await client.post("/v1/patients", json=body)
        second = await client.post("/v1/patients", json={**body, "coverages": [*body["coverages"], secondary]})
        published = await read_topic(platform, topics.PATIENT_REGISTERED, expect=2)
    assert first.status_code == 201 and second.status_code == 200
    events = [json.loads(r.value) for r in published]
    assert [(e["version"], e["changes"]) for e in events] == [(1, []), (2, ["coverages"])]
    assert events[1]["coverages"][1]["subscriber"]["first_name"] == "Ana"


async def test_cross_field_errors_are_422_with_every_path(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    body = patients(1)[0]
    body["coverages"] = [
        {**body["coverages"][0], "rank": "secondary", "payer_id": "NOPAYER"},
        {**body["coverages"][0], "rank": "tertiary", "relationship": "child"},
    ]
    async with running(service) as client:
        response = await client.post("/v1/patients", json=body)
    assert response.status_code == 422
    paths = [".".join(str(p) for p in error["loc"][1:]) for error in response.json()["detail"]]
    assert paths == ["coverages.0.rank", "coverages.0.payer_id", "coverages.1.subscriber", "coverages"]


async def test_hostile_bodies_get_clear_4xx_and_the_service_goes_on(platform):
    settings = settings_for(platform, RegistrationSettings, "registration", max_body_bytes=20_000)
    service = build(settings)
    body = patients(1, seed=9)[0]
    injection = {**body, "mrn": "1; DROP TABLE patient"}
    huge = {**body, "patient": {**body["patient"], "first_name": "A" * 50_000}}
    wrong_types = {**body, "patient": [1, 2], "coverages": "primary"}
    async with running(service) as client:
        answers = [
            await client.post("/v1/patients", json=injection),
            await client.post("/v1/patients", json=huge),
            await client.post("/v1/patients", json=wrong_types),
            await client.post(
                "/v1/patients", content=b"\xff\xfe{not json", headers={"content-type": "application/json"}
            ),
            await client.post(
                "/v1/patients", json={**body, "patient": {**body["patient"], "last_name": "O'Brien\"; --"}}
            ),
            await client.post("/v1/patients", json={**body, "unexpected": True}),
        ]
        still_fine = await client.post("/v1/patients", json=patients(1, seed=10)[0])
        unauthenticated = await client.get("/v1/payers", headers={"X-API-Key": ""})
    codes = [a.status_code for a in answers]
    assert codes == [422, 413, 422, 400, 201, 422], [a.text[:200] for a in answers]
    assert "mrn" in answers[0].text and "DROP TABLE" not in json.dumps(answers[0].json()["detail"][0]["msg"])
    assert still_fine.status_code == 201 and unauthenticated.status_code == 401


async def test_payer_directory_api(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    async with running(service) as client:
        listed = await client.get("/v1/payers")
        one = await client.get("/v1/payers/SIMMCR")
        missing = await client.get("/v1/payers/NOSUCH")
    assert {p["payer_id"] for p in listed.json()} == {"SIMBC", "SIMAETNA", "SIMMCR", "SIMMCD"}
    assert one.json()["timely_filing_days"] == 365 and one.json()["accepts_eligibility"] is True
    assert one.json()["submission"]["receiver_id"] == "SIMCH"
    assert missing.status_code == 404
