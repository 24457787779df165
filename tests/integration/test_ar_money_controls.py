"""A/R's money controls with the real Keycloak's people (issue 16, finding 5): two approvals of one
balance book one at a time and never below zero; a write-off split into pieces still waits for a second
person (per claim, and per person per day); a requester whose subject differs only by case is still the
requester."""

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.envelope import Event
from tests.integration.test_ar_followup_work import claim_for, patient
from tests.kit import eventually, publish, running, settings_for

pytestmark = pytest.mark.integration


def charged(claim_id: uuid.UUID, patient_id: uuid.UUID, amount: str) -> Event:
    event = claim_for(claim_id, patient_id)
    lines = [event.data.lines[0].model_copy(update={"charge": Decimal(amount)})]
    data = event.data.model_copy(update={"total_charge": Decimal(amount), "lines": lines})
    return Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))


async def ledgers(platform, client, claims: list[Event], headers: dict) -> None:
    """The claims' ledgers open in A/R (their patient registered first)."""
    patients = {event.data.patient_id for event in claims}
    await publish(platform, topics.PATIENT_REGISTERED, [patient(p, secondary=False) for p in patients])
    await publish(platform, topics.CLAIM_SUBMITTED, claims)

    async def known() -> bool:
        for event in claims:
            response = await client.get(f"/v1/claims/{event.data.claim_id}", headers=headers)
            if response.status_code != 200 or response.json()["status"] == "awaiting_claim":
                return False
        return True

    await eventually(known)


def ask(amount: str) -> dict:
    return {"party": "insurance", "amount": amount, "reason_code": "administrative"}


async def test_two_approvals_of_one_balance_book_one_at_a_time_never_below_zero(platform, idp, tmp_path):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path)
    claim_id = uuid.uuid4()
    anna, sam, sue = [await idp.bearer(u) for u in ("anna.ar", "sam.supervisor", "sue.supervisor")]
    async with running(build(settings), idp, api_key=False) as client:
        await ledgers(platform, client, [charged(claim_id, uuid.uuid4(), "238.00")], anna)
        asked = [await client.post(f"/v1/claims/{claim_id}/write-offs", json=ask("150.00"), headers=anna)
                 for _ in range(2)]  # fmt: skip
        assert [a.json()["status"] for a in asked] == ["pending", "pending"], [a.text for a in asked]
        first, second = [f"/v1/write-offs/{a.json()['adjustment_id']}/approve" for a in asked]
        decided = await asyncio.gather(client.post(first, headers=sam), client.post(second, headers=sue))
        ledger = (await client.get(f"/v1/claims/{claim_id}", headers=anna)).json()
        statuses = {w["adjustment_id"]: w["status"] for w in ledger["write_offs"]}

    assert sorted(d.status_code for d in decided) == [200, 409], [d.text for d in decided]
    refused = next(d for d in decided if d.status_code == 409).json()["detail"]
    assert refused.startswith("the insurance balance is now 88.00"), refused
    assert ledger["balances"]["insurance_balance"] == "88.00"
    assert sorted(statuses.values()) == ["approved", "pending"]  # the other waits to be refused or asked again


async def test_a_write_off_split_into_pieces_still_waits_for_a_second_person(platform, idp, tmp_path):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path,
                            ar_write_off_approval_threshold="100.00", ar_write_off_daily_threshold="150.00")  # fmt: skip
    one, other, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    anna, alex = await idp.bearer("anna.ar"), await idp.bearer("alex.ar")
    async with running(build(settings), idp, api_key=False) as client:
        ada = uuid.uuid4()
        await ledgers(platform, client, [charged(c, ada, "305.00") for c in (one, other, third)], anna)

        async def write_off(claim_id: uuid.UUID, amount: str, who: dict) -> str:
            response = await client.post(f"/v1/claims/{claim_id}/write-offs", json=ask(amount), headers=who)
            assert response.status_code == 201, response.text
            return response.json()["status"]

        same_claim = [await write_off(one, "100.00", anna), await write_off(one, "54.00", anna)]
        across_claims = [await write_off(other, "100.00", alex), await write_off(third, "54.00", alex)]
        small_again = await write_off(third, "40.00", anna)  # anna's day so far: 100.00 on her own; 140.00 <= 150.00

    assert same_claim == ["approved", "pending"]  # the claim's 100.00 + 54.00 is above 100.00
    assert across_claims == ["approved", "pending"]  # alex's day: 100.00 + 54.00 is above 150.00
    assert small_again == "approved"  # a claim's pending piece counts once approved, not before


async def test_a_requester_whose_subject_differs_only_by_case_cannot_approve(platform, idp, tmp_path):
    settings = settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path)
    service, claim_id = build(settings), uuid.uuid4()
    sam, sue = await idp.bearer("sam.supervisor"), await idp.bearer("sue.supervisor")
    async with running(service, idp, api_key=False) as client:
        await ledgers(platform, client, [charged(claim_id, uuid.uuid4(), "305.00")], sam)
        asked = await client.post(f"/v1/claims/{claim_id}/write-offs", json=ask("150.00"), headers=sam)
        assert asked.json()["status"] == "pending", asked.text
        # A provider may hand out one person's subject in other capitals (Keycloak's are lower-case UUIDs).
        async with service.engine.begin() as connection:
            await connection.execute(text("UPDATE ar_adjustment SET requested_by = upper(requested_by)"))
        approve = f"/v1/write-offs/{asked.json()['adjustment_id']}/approve"
        own = await client.post(approve, headers=sam)
        other = await client.post(approve, headers=sue)

    assert asked.json()["requested_by"] != asked.json()["requested_by"].upper()  # the case did change
    assert (own.status_code, own.json()["detail"]) == (
        403,
        "a write-off above the threshold needs a second person's approval",
    )
    assert other.status_code == 200 and other.json()["decided_by_name"] == "sue.supervisor"


async def test_writing_off_a_denied_line_accepts_the_payers_adjustment_and_books_nothing_more(platform, idp, tmp_path):
    """A claim paid but for one line the payer denied (CO-16, $140.00, above the approval threshold): the
    CO adjustment already took the line off the insurance balance, so the approved write-off of that
    denial leaves the balance at zero (it used to be refused as going below zero, or book -140.00)."""
    from tests.integration.test_ar_followup import payment

    settings = settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path)
    claim_id = uuid.uuid4()
    paid = payment(claim_id)
    amounts = paid.data.amounts.model_copy(update={"paid": Decimal("100.00"), "contractual": Decimal("205.00"),
                                                   "deductible": Decimal(0), "coinsurance": Decimal(0),
                                                   "copay": Decimal(0)})  # fmt: skip
    data = type(paid.data).model_validate({
        **paid.data.model_dump(), "amounts": amounts.model_dump(), "claim_status_code": "1",
        "claim_adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "65.00"}],
        "lines": [{"line_number": 1, "procedure_code": "71046", "charge": "140.00", "paid": "0.00",
                   "adjustments": [{"group_code": "CO", "reason_code": "16", "amount": "140.00"}]}],
        "carc_codes": ["45", "16"], "payer_claim_control_number": "PCN-16",
    })  # fmt: skip
    anna, sam = await idp.bearer("anna.ar"), await idp.bearer("sam.supervisor")
    async with running(build(settings), idp, api_key=False) as client:
        await ledgers(platform, client, [charged(claim_id, uuid.uuid4(), "305.00")], anna)
        await publish(platform, topics.PAYMENT_POSTED, [Event(data, str(claim_id), "/test/payments", "p-16")])

        async def denial_item() -> dict | None:
            items = (await client.get("/v1/work-queue", params={"kind": "denial"}, headers=anna)).json()["items"]
            return next((i for i in items if i["claim_id"] == str(claim_id)), None)

        item = await eventually(denial_item)
        asked = await client.post(f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "write_off"},
                                  headers={**anna, "If-Match": item["version"]})  # fmt: skip
        pending = (await client.get(f"/v1/claims/{claim_id}", headers=anna)).json()["write_offs"]
        approved = await client.post(f"/v1/write-offs/{pending[0]['adjustment_id']}/approve", headers=sam)
        ledger = (await client.get(f"/v1/claims/{claim_id}", headers=anna)).json()

    assert item["amount"] == "140.00" and asked.status_code == 200, asked.text
    assert [w["status"] for w in pending] == ["pending"]
    assert approved.status_code == 200, approved.text
    assert ledger["balances"]["insurance_balance"] == "0.00"
    assert [w["status"] for w in ledger["write_offs"]] == ["approved"]
