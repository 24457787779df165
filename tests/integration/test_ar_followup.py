"""A/R on the real broker and database: the ledger of a claim from its claim and payment events,
in either order, and a redelivered payment counted once."""

import uuid
from datetime import UTC, date, datetime

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.contracts.events import ClaimAcknowledgedV1, ClaimSubmittedV1, PaymentPostedV1
from shared.envelope import Event
from tests.kit import eventually, publish, running, scalar, settings_for

pytestmark = pytest.mark.integration


def claim(claim_id: uuid.UUID) -> Event:
    data = ClaimSubmittedV1(
        claim_id=claim_id,
        patient_control_number=claim_id.hex[:20].upper(),  # claims' CLM01
        encounter_id=f"E-{claim_id.hex[:6]}",
        patient_id=uuid.uuid4(),
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        date_of_service=date(2026, 11, 2),
        total_charge="305.00",
        lines=[
            {"line_number": 1, "procedure_code": "99214", "units": 1, "charge": "180.00"},
            {"line_number": 2, "procedure_code": "71046", "units": 1, "charge": "125.00"},
        ],
        interchange_control_number=7,
        file_name="x.837p.x12",
        submitted_at=datetime.now(UTC),
    )
    return Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))


def payment(claim_id: uuid.UUID, denied: bool = False) -> Event:
    amounts = (
        {
            "charge": "305.00",
            "paid": "0.00",
            "contractual": "305.00",
            "deductible": "0",
            "coinsurance": "0",
            "copay": "0",
            "other_patient_responsibility": "0",
            "other_adjustments": "0",
        }
        if denied
        else {
            "charge": "305.00",
            "paid": "110.40",
            "contractual": "143.00",
            "deductible": "20.00",
            "coinsurance": "6.60",
            "copay": "25.00",
            "other_patient_responsibility": "0",
            "other_adjustments": "0",
        }
    )
    data = PaymentPostedV1(
        posting_id=uuid.uuid4(),
        claim_id=claim_id,
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        claim_status_code="4" if denied else "1",
        denied=denied,
        payment_method="CHK",
        check_or_eft_number="T1",
        amounts=amounts,
        posted_at=datetime.now(UTC),
    )
    return Event(data, str(claim_id), "/test/payments", str(uuid.uuid4()))


async def test_ledgers_balance_whatever_the_order_of_events(platform):
    service = build(settings_for(platform, ArSettings, "ar_followup"))
    paid, denied, early = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    early_payment = payment(early)
    async with running(service) as client:
        await publish(platform, topics.PAYMENT_POSTED, [early_payment])
        await eventually(lambda: _claims(service, 1))
        awaiting = (await client.get(f"/v1/claims/{early}")).json()
        await publish(platform, topics.CLAIM_SUBMITTED, [claim(paid), claim(denied), claim(early)])
        redelivered = payment(paid)
        await publish(platform, topics.PAYMENT_POSTED, [redelivered, payment(denied, denied=True), redelivered])
        await eventually(lambda: _status(service, paid, "paid"))
        await eventually(lambda: _status(service, denied, "denied"))
        await eventually(lambda: _status(service, early, "paid"))
        summary = (await client.get("/v1/summary")).json()
        ledger = (await client.get(f"/v1/claims/{paid}")).json()
    assert awaiting["status"] == "awaiting_claim"
    assert summary["by_status"] == {"paid": 2, "denied": 1}
    assert ledger["balances"] == {
        "charge": "305.00",
        "paid": "110.40",
        "adjusted": "143.00",
        "patient_responsibility": "51.60",
        "insurance_balance": "0.00",
        "patient_paid": "0.00",
        "patient_written_off": "0.00",
        "patient_balance": "51.60",
    }
    assert summary["charged"] == "915.00" and summary["paid"] == "220.80" and summary["insurance_balance"] == "0.00"


async def test_a_rejection_that_comes_before_its_claim_is_for_the_claims_charge_once_it_comes(platform):
    service = build(settings_for(platform, ArSettings, "ar_followup"))
    rejected = uuid.uuid4()
    ack = ClaimAcknowledgedV1(
        claim_id=rejected,
        accepted=False,
        source="277CA",
        reasons=[{"code": "A7:21", "message": "missing subscriber id", "segment": "NM1"}],
        acknowledged_at=datetime.now(UTC),
    )
    async with running(service) as client:
        await publish(platform, topics.CLAIM_ACKNOWLEDGED, [Event(ack, str(rejected), "/test/claims", "a")])
        early = await eventually(lambda: _rejection(client, rejected))
        await publish(platform, topics.CLAIM_SUBMITTED, [claim(rejected)])
        await eventually(lambda: _status(service, rejected, "open"))
        item = await eventually(lambda: _rejection(client, rejected))
    assert early["amount"] == "0.00" and early["due_date"] is None  # nothing is known of the claim yet
    assert item["amount"] == "305.00" and item["due_date"] is not None and item["item_id"] == early["item_id"]


async def _rejection(client, claim_id: uuid.UUID) -> dict | None:
    items = (await client.get("/v1/work-queue", params={"kind": "rejection"})).json()["items"]
    return next((i for i in items if i["claim_id"] == str(claim_id)), None)


async def _claims(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM ar_claim") >= count


async def _status(service, claim_id: uuid.UUID, status: str) -> bool:
    return await scalar(service, "SELECT status FROM ar_claim WHERE claim_id = :c", c=claim_id) == status
