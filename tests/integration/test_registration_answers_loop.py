"""Registration's 271 loop pauses through a database outage (no crash and restart): the answer that
arrives meanwhile is neither set aside nor lost; it answers its check once the database is back."""

import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from rcmctl.sample import patients
from services.registration.app import build
from shared.settings import ServiceSettings
from tests.integration.test_infrastructure_pauses import block
from tests.integration.test_registration_eligibility import CORPUS_271
from tests.kit import eventually, running, settings_for

pytestmark = pytest.mark.integration


def paused() -> float | None:
    labels = {"topic": "eligibility/inbound", "consumer": "registration.read-answers"}
    return REGISTRY.get_sample_value("rcm_consumer_paused", labels)


async def test_a_271_arriving_during_a_database_outage_waits_and_answers_its_check(platform, caplog):
    caplog.set_level(logging.ERROR, logger="shared.service")
    service = build(settings_for(platform, ServiceSettings, "registration"))
    eligibility = platform.clearinghouse_dir / "eligibility"
    async with running(service) as client:
        patient = (await client.post("/v1/patients", json=patients(1, seed=41)[0])).json()["patient_id"]
        check = (await client.post(f"/v1/patients/{patient}/eligibility", json={"rank": "primary"})).json()
        answer = (CORPUS_271 / "written-aaa-subscriber-not-found.x12").read_text()
        answer = answer.replace("TRN*2*TRACE0001*", f"TRN*2*{uuid.UUID(check['check_id']).hex}*")
        await block(platform, platform.database("registration"), True)
        try:
            (eligibility / "inbound" / "during.271.x12").write_text(answer)
            await eventually(lambda: _true(paused() == 1.0), timeout=20)
            assert (eligibility / "inbound" / "during.271.x12").exists()
        finally:
            await block(platform, platform.database("registration"), False)

        async def answered() -> bool:
            response = await client.get(f"/v1/eligibility/{check['check_id']}")
            return response.status_code == 200 and response.json()["status"] == "answered"

        await eventually(answered, timeout=30)
        await eventually(lambda: _true(paused() == 0.0))
    assert (eligibility / "archive" / "during.271.x12").exists()
    assert not list((eligibility / "rejected").glob("*.x12"))
    crashes = [r for r in caplog.records if getattr(r, "loop", None) == "read_answers"]
    assert crashes == []  # paused, not crashed and restarted


async def _true(value: bool) -> bool:
    return value
