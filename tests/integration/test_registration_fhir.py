"""FHIR R4 intake over HTTP and from the intake.fhir topic, on the real database and broker."""

import json
import uuid

import pytest

from services.registration.app import build
from shared.contracts import topics
from shared.contracts.events import IntakeFhirV1
from shared.envelope import Event
from shared.settings import ServiceSettings
from tests.kit import header, publish, read_topic, running, settings_for
from tests.unit.registration.fhir_bundles import bundle

pytestmark = pytest.mark.integration


async def test_a_bundle_over_http_registers_and_documents_once(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    async with running(service) as client:
        created = await client.post("/v1/fhir/Bundle", json=bundle(), headers={"content-type": "application/fhir+json"})
        resent = await client.post("/v1/fhir/Bundle", json=bundle())
        bad = bundle()
        bad["entry"][1]["resource"]["payor"][0]["identifier"]["value"] = "NOSUCHPAYER"
        refused = await client.post("/v1/fhir/Bundle", json=bad)
        not_json = await client.post("/v1/fhir/Bundle", content=b"<Bundle/>")
        unauthenticated = await client.post("/v1/fhir/Bundle", json=bundle(), headers={"X-API-Key": "nope"})
        patient = (await client.get(f"/v1/patients/{created.json()['patient_id']}")).json()
        documented = await read_topic(platform, topics.ENCOUNTER_DOCUMENTED, expect=1)
    assert created.status_code == 201, created.text
    assert created.json()["encounter_forwarded"] is True and created.json()["encounter_id"] == "FHIR-ENC-1"
    assert resent.status_code == 200 and resent.json()["encounter_forwarded"] is False
    assert resent.json()["patient_id"] == created.json()["patient_id"]
    assert refused.status_code == 422 and refused.json()["resourceType"] == "OperationOutcome"
    assert refused.json()["issue"][0]["expression"] == ["coverages.0.payer_id"]
    assert not_json.status_code == 400 and unauthenticated.status_code == 401
    assert patient["mrns"] == [{"facility": "SPRINGFIELD", "mrn": "EHR-MRN-1"}]
    assert [c["rank"] for c in patient["coverages"]] == ["primary", "secondary"]
    assert len(documented) == 1
    event = json.loads(documented[0].value)
    assert event["patient_id"] == created.json()["patient_id"] and event["diagnoses"][0]["code"] == "E11.9"
    assert header(documented[0], "ce_type") == "org.openrcm.encounter.documented.v1"


async def test_the_intake_topic_takes_the_good_and_answers_the_bad(platform):
    service = build(settings_for(platform, ServiceSettings, "registration"))
    good = [bundle(mrn=f"K-{n}", encounter_id=f"K-ENC-{n}", family=f"Family{n}", member_id=f"KM{n}") for n in range(5)]
    invalid = bundle(mrn="K-BAD", encounter_id="K-ENC-BAD")
    invalid["entry"][0]["resource"]["birthDate"] = "'; DROP TABLE patient; --"
    incomplete = bundle(mrn="K-BAD2", encounter_id="K-ENC-BAD2")
    incomplete["entry"][1]["resource"].pop("period")
    events = [
        Event(IntakeFhirV1.model_validate(b), f"bundle-{n}", "/tests/ehr", str(uuid.uuid4()))
        for n, b in enumerate([good[0], good[1], invalid, good[2], incomplete, good[3], good[4]])
    ]
    garbage = (b"garbage", [("ce_type", b"org.openrcm.intake.fhir.v1"), ("ce_specversion", b"1.0")], b"\xff{")
    async with running(service):
        await publish(platform, topics.INTAKE_FHIR, events=events[:3], raw=[garbage])
        await publish(platform, topics.INTAKE_FHIR, events=events[3:])
        await publish(platform, topics.INTAKE_FHIR, events=events[:1])  # redelivered: changes nothing
        documented = await read_topic(platform, topics.ENCOUNTER_DOCUMENTED, expect=5)
        rejected = await read_topic(platform, topics.INTAKE_REJECTED, expect=3)
        dead = await read_topic(platform, topics.INTAKE_FHIR + ".dlt", expect=3)
        patients = [json.loads(r.value) for r in await read_topic(platform, topics.PATIENT_REGISTERED, expect=5)]
    assert sorted(json.loads(r.value)["encounter_id"] for r in documented) == [f"K-ENC-{n}" for n in range(5)]
    assert {p["mrn"] for p in patients} == {f"K-{n}" for n in range(5)}
    answers = {json.loads(r.value)["intake_id"]: json.loads(r.value) for r in rejected}
    garbage_answer = answers.pop(next(i for i in answers if i not in (str(events[2].id), str(events[4].id))))
    assert set(answers) == {str(events[2].id), str(events[4].id)}
    # the record that is not a valid event: each violation its own finding, for a sender that listens
    assert {(f["field"], f["code"]) for f in garbage_answer["findings"]} >= {
        ("ce_id", "envelope.missing"),
        ("ce_source", "envelope.missing"),
        ("ce_time", "envelope.missing"),
        ("ce_subject", "envelope.missing"),
        ("content-type", "envelope.missing"),
        ("(root)", "schema.json_invalid"),
    }
    assert [f["field"] for f in answers[str(events[2].id)]["findings"]] == ["entry.0.resource.birthDate"]
    assert [f["field"] for f in answers[str(events[4].id)]["findings"]] == ["entry.1.resource.period.start"]
    assert "DROP TABLE" not in json.dumps(answers)  # reasons name paths, never values
    reasons = sorted(header(r, "dlt_reason") for r in dead)
    assert len(dead) == 3 and any("entry.0.resource.birthDate" in r for r in reasons)
    assert any(header(r, "dlt_error_type") == "EnvelopeError" for r in dead)


async def test_a_bundle_written_from_the_specification_is_accepted_and_its_versions_go_on(platform):
    """A transaction bundle naming the payer as an Organization; then the EHR's version 2 of the
    Encounter (a correction) and its entered-in-error version 3 (a void) reach coding in order."""
    from tests.unit.registration.test_registration_fhir_mapping import spec

    def version(number: str, status: str = "finished"):
        def edit(resources):
            resources["Encounter7"].update(status=status, meta={"versionId": number})
            resources["Procedure8"]["code"]["coding"][1]["code"] = "99213"  # what the correction changes

        return edit

    service = build(settings_for(platform, ServiceSettings, "registration"))
    async with running(service) as client:
        created = await client.post("/v1/fhir/Bundle", json=spec())
        again = await client.post("/v1/fhir/Bundle", json=spec())
        corrected = await client.post("/v1/fhir/Bundle", json=spec(version("2")))
        voided = await client.post("/v1/fhir/Bundle", json=spec(version("3", "entered-in-error")))
        documented = [json.loads(r.value) for r in await read_topic(platform, topics.ENCOUNTER_DOCUMENTED, expect=3)]
    assert created.status_code == 201, created.text
    assert [r.json()["encounter_forwarded"] for r in (created, again, corrected, voided)] == [True, False, True, True]
    assert [(d["version"], d["action"], d["place_of_service"]) for d in documented] == [
        (1, "original", "22"),
        (2, "correct", "22"),
        (3, "void", "22"),
    ]
    assert documented[0]["billing_provider_npi"] == "1245319599"
    assert [p["code"] for p in documented[1]["procedures"]] == ["99213", "82947"]
