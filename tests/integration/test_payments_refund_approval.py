"""Refunds with the real Keycloak's people (issue 16, finding 5): a refund above the threshold waits for a
second person, who is neither the requester nor a machine; two approvals of one payment's money record one
at a time and never more than it has left; a small refund goes through; every payment and refund names the
person who moved the money."""

import asyncio
import json
import uuid

import pytest

from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from tests.kit import read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


async def test_a_refund_above_the_threshold_waits_for_a_second_person(platform, idp):
    service = build(settings_for(platform, PaymentsSettings, "payments", refund_approval_threshold="100.00"))
    frank, anna, sam, sue = [await idp.bearer(u) for u in ("frank.frontdesk", "anna.ar", "sam.supervisor",
                                                           "sue.supervisor")]  # fmt: skip
    demo = {"Authorization": f"Bearer {await idp.client_token('rcm-demo')}"}  # a machine with the supervisor role
    patient = uuid.uuid4()
    async with running(service, idp, api_key=False) as client:
        paid = await client.post(
            f"/v1/patients/{patient}/payments", json={"amount": "500.00", "method": "card"}, headers=frank
        )  # fmt: skip (paid at check-in: all of it is credit)
        assert paid.status_code == 201, paid.text
        refunds = f"/v1/patient-payments/{paid.json()['payment_id']}/refunds"

        asked = await client.post(refunds, json={"amount": "300.00"}, headers=sam)
        assert asked.status_code == 202 and asked.json()["status"] == "pending", asked.text
        again = await client.post(refunds, json={"amount": "300.00"}, headers={**anna, "Idempotency-Key": "k1"})
        same = await client.post(refunds, json={"amount": "300.00"}, headers={**anna, "Idempotency-Key": "k1"})
        assert again.json()["refund_id"] == same.json()["refund_id"]  # one request, asked twice
        listed = (await client.get("/v1/refunds", headers=sue)).json()["items"]
        first, second = (f"/v1/refunds/{r.json()['refund_id']}/approve" for r in (asked, again))

        own = await client.post(first, headers=sam)
        not_a_supervisor = await client.post(second, headers=anna)
        machine = await client.post(first, headers=demo)
        decided = await asyncio.gather(client.post(first, headers=sue), client.post(second, headers=sam))
        small = await client.post(refunds, json={"amount": "20.00"}, headers=anna)
        too_much = await client.post(refunds, json={"amount": "180.01"}, headers=anna)
        left = await client.post(refunds, json={"amount": "150.00"}, headers=anna)
        refused = await client.post(f"/v1/refunds/{left.json()['refund_id']}/refuse", headers=sue)
        posted = await read_topic(platform, topics.PATIENT_PAYMENT_POSTED, expect=3)
        people = {
            kind: await scalar(service, "SELECT string_agg(recorded_by_name, ',' ORDER BY recorded_by_name) "
                                        "FROM patient_payment WHERE kind = :k", k=kind)
            for kind in ("payment", "refund")
        }  # fmt: skip

    assert [r["refund_id"] for r in listed] == [asked.json()["refund_id"], again.json()["refund_id"]]
    assert (own.status_code, own.json()["detail"]) == (
        403,
        "a refund above the threshold needs a second person's approval",
    )
    assert not_a_supervisor.status_code == 403 and not_a_supervisor.json()["detail"] == "requires one of: supervisor"
    assert machine.status_code == 403 and "a person" in machine.json()["detail"]
    assert sorted(d.status_code for d in decided) == [200, 409], [d.text for d in decided]
    assert "more than what is left" in next(d for d in decided if d.status_code == 409).json()["detail"]
    approved = next(d for d in decided if d.status_code == 200).json()
    assert approved["status"] == "approved" and approved["decided_by_name"] in ("sue.supervisor", "sam.supervisor")
    assert small.status_code == 201 and small.json()["amount"] == "-20.00"  # within the threshold: at once
    assert too_much.status_code == 422  # 500.00 - 300.00 - 20.00 = 180.00 left
    assert left.status_code == 202 and refused.json()["status"] == "refused"
    kinds = [(json.loads(r.value)["kind"], json.loads(r.value)["amount"]) for r in posted]
    assert kinds == [("payment", "500.00"), ("refund", "-300.00"), ("refund", "-20.00")]  # the refused moved nothing
    assert people == {"payment": "frank.frontdesk", "refund": f"anna.ar,{approved['decided_by_name']}"}
