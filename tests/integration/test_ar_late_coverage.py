"""A/R on the real broker and database: topics are not ordered among themselves, so a patient's
registration may come after the primary's payment of their claim. The secondary payer it names is
billed then, once however often the registration comes, with the primary's adjudication; a patient
with no secondary coverage keeps owing their part."""

import json
import uuid

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from tests.integration.test_ar_followup import payment
from tests.integration.test_ar_followup_work import claim_for, patient
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


async def test_a_secondary_coverage_registered_after_the_primary_paid_is_billed(platform, tmp_path):
    service = build(settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path / "statements"))
    ada, bob = uuid.uuid4(), uuid.uuid4()
    adas, bobs = uuid.uuid4(), uuid.uuid4()
    async with running(service) as client:
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(adas, ada, "ENC-A"), claim_for(bobs, bob, "ENC-B")])
        await publish(platform, topics.PAYMENT_POSTED, [payment(adas), payment(bobs)])
        unregistered = {"primary": "0.00", "secondary": "0.00", "patient": "51.60"}
        await eventually(lambda: _by_party(client, adas, unregistered))
        await eventually(lambda: _by_party(client, bobs, unregistered))
        assert await scalar(service, "SELECT count(*) FROM ar_awaiting_coverage") == 2
        assert await _waiting_for_patients(client) == 2.0  # the gauge the cycle refreshes (and its alert)

        # the registrations come now, Ada's twice (a redelivery, or the EHR sending it again)
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada), patient(bob, secondary=False)])
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada)])
        requests = await read_topic(platform, topics.CLAIM_SECONDARY_REQUESTED, expect=1, settle=2.0)
        assert [header(r, "ce_subject") for r in requests] == [str(adas)]
        request = json.loads(requests[0].value)
        assert request["primary_payer_id"] == "SIMBC" and request["primary_paid"] == "110.40"
        await eventually(lambda: _by_party(client, adas, {"primary": "0.00", "secondary": "51.60", "patient": "0.00"}))
        assert await _by_party(client, bobs, unregistered)  # no secondary coverage: Bob owes his part
        queue = (await client.get("/v1/work-queue", params={"kind": "secondary"})).json()
        assert [(i["claim_id"], i["amount"], i["action"]) for i in queue["items"]] == [
            (str(adas), "51.60", "await_secondary")
        ]
        assert await scalar(service, "SELECT count(*) FROM ar_awaiting_coverage") == 0
        assert await _waiting_for_patients(client) == 0.0


async def _waiting_for_patients(client) -> float:
    assert (await client.post("/v1/cycle")).status_code == 200
    metrics = (await client.get("/metrics")).text
    (line,) = [x for x in metrics.splitlines() if x.startswith('rcm_waiting{what="payment_for_patient"}')]
    return float(line.split()[-1])


async def _by_party(client, claim_id: uuid.UUID, expected: dict[str, str]) -> bool:
    response = await client.get(f"/v1/claims/{claim_id}")
    return response.status_code == 200 and response.json()["by_party"] == expected
