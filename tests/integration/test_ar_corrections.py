"""A correction carries the corrected data: resolving a denial with action "correct" and `changes`
puts them on claim.correction-requested and on the work item; bad changes are a 422 with field
paths; a void or an appeal with changes is refused."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.contracts.events import ClaimCorrectionRequestedV1
from shared.envelope import Event
from tests.integration.test_ar_followup import payment
from tests.integration.test_ar_followup_work import claim_for, denial, patient
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration


def xray_denied_without_authorization(claim_id: uuid.UUID) -> Event:
    """The visit (line 1) paid, the chest X-ray (line 2, 71046) denied CO-16: no prior authorization."""
    data = payment(claim_id).data.model_validate(
        {
            **payment(claim_id).data.model_dump(),
            "payer_claim_control_number": "PCN-16",
            "payment_date": date(2026, 11, 20),
            "carc_codes": ["45", "16"],
            "amounts": {
                "charge": "305.00",
                "paid": "130.00",
                "contractual": "150.00",
                "deductible": "0",
                "coinsurance": "0",
                "copay": "25.00",
                "other_patient_responsibility": "0",
                "other_adjustments": "0",
            },
            "lines": [
                {
                    "line_number": 1,
                    "procedure_code": "99214",
                    "charge": "180.00",
                    "paid": "130.00",
                    "adjustments": [
                        {"group_code": "CO", "reason_code": "45", "amount": "25.00"},
                        {"group_code": "PR", "reason_code": "3", "amount": "25.00"},
                    ],
                },
                {
                    "line_number": 2,
                    "procedure_code": "71046",
                    "charge": "125.00",
                    "paid": "0.00",
                    "adjustments": [{"group_code": "CO", "reason_code": "16", "amount": "125.00"}],
                },
            ],
        }
    )
    return Event(data, str(claim_id), "/test/payments", str(uuid.uuid4()))


async def test_a_correction_carries_its_changes_to_claims_and_keeps_them_on_the_item(platform, tmp_path, idp):
    settings = settings_for(
        platform,
        ArSettings,
        "ar_followup",
        ar_statements_dir=tmp_path / "statements",
        ar_now=datetime(2026, 11, 25, tzinfo=UTC),
    )
    ada, claim_id = uuid.uuid4(), uuid.uuid4()
    anna = await idp.subject("anna.ar")
    async with running(build(settings), idp) as client:
        client.headers.update(await idp.bearer("anna.ar"))
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(claim_id, ada)])
        await publish(platform, topics.PAYMENT_POSTED, [xray_denied_without_authorization(claim_id)])

        async def denial_item():
            items = (await client.get("/v1/work-queue", params={"kind": "denial"})).json()["items"]
            return items[0] if items else None

        item = await eventually(denial_item)
        assert (item["category"], item["action"], item["amount"], item["reason"]) == (
            "correctable",
            "correct",
            "125.00",
            "CARC 16",
        )
        resolve = f"/v1/work-queue/{item['item_id']}/resolve"

        bad = await client.post(
            resolve,
            json={
                "action": "correct",
                "changes": {
                    "prior_authorization": "AUTH 1!",
                    "diagnoses": [],
                    "lines": [{"line_number": 0, "units": 0}],
                    "surprise": 1,
                },
            },
        )
        assert bad.status_code == 422
        assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {
            ("body", "changes", "prior_authorization"),
            ("body", "changes", "diagnoses"),
            ("body", "changes", "lines", 0, "line_number"),
            ("body", "changes", "lines", 0, "units"),
            ("body", "changes", "surprise"),
        }
        for refused in (
            {"action": "void", "changes": {"prior_authorization": "AUTH12345"}},
            {"action": "appeal", "changes": {"prior_authorization": "AUTH12345"}},
            {"action": "correct", "changes": {}},
            {
                "action": "correct",
                "changes": {"lines": [{"line_number": 2, "units": 1}, {"line_number": 2, "modifiers": ["RT"]}]},
            },
        ):
            response = await client.post(resolve, json=refused)
            assert response.status_code == 422, refused
            assert response.json()["detail"][0]["loc"][:2] == ["body", "changes"]
        assert (await denial_item())["status"] == "open"  # nothing of the refused requests was recorded

        changes = {"prior_authorization": "AUTH12345", "lines": [{"line_number": 2, "diagnosis_pointers": [1]}]}
        resolved = await client.post(resolve, json={"action": "correct", "note": "auth on file", "changes": changes})
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["changes"] == changes and resolved.json()["status"] == "resolved"
        ledger = (await client.get(f"/v1/claims/{claim_id}")).json()
        [kept] = [i for i in ledger["work_items"] if i["item_id"] == item["item_id"]]
        assert kept["changes"] == changes and kept["resolution"] == "correct by anna.ar: auth on file"
        assert (kept["resolved_by"], kept["resolved_by_name"]) == (anna, "anna.ar")
        assert ledger["status"] == "open" and ledger["balances"]["insurance_balance"] == "125.00"

        [record] = await read_topic(platform, topics.CLAIM_CORRECTION_REQUESTED, expect=1)
        request = ClaimCorrectionRequestedV1.model_validate(json.loads(record.value))
        assert request.frequency_code == "7" and request.payer_claim_control_number == "PCN-16"
        assert request.changes.model_dump(exclude_none=True) == changes
        assert (request.requested_by, request.requested_by_name) == (anna, "anna.ar")  # the token's, not the body's


def reversal_of_the_denial(claim_id: uuid.UUID) -> Event:
    """The payer takes its claim-level CO-16 denial back (CLP02 22, the amounts negated)."""
    data = denial(claim_id, "16").data.model_validate(
        {
            **denial(claim_id, "16").data.model_dump(),
            "claim_status_code": "22",
            "outcome": "reversed",
            "denied": False,
            "claim_adjustments": [{"group_code": "CO", "reason_code": "16", "amount": "-305.00"}],
            "amounts": {
                "charge": "-305.00",
                "paid": "0.00",
                "contractual": "-305.00",
                "deductible": "0",
                "coinsurance": "0",
                "copay": "0",
                "other_patient_responsibility": "0",
                "other_adjustments": "0",
            },
        }
    )
    return Event(data, str(claim_id), "/test/payments", str(uuid.uuid4()))


async def test_a_payer_reversal_of_a_denial_already_reopened_counts_once(platform, tmp_path):
    """A/R reopened the denial when the biller asked for a correction; the payer then reverses the
    denial and pays the replacement. The denial's write-off must come off the ledger once, not twice."""
    settings = settings_for(
        platform,
        ArSettings,
        "ar_followup",
        ar_statements_dir=tmp_path / "statements",
        ar_now=datetime(2026, 11, 25, tzinfo=UTC),
    )
    service = build(settings)
    bob, original, replacement = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(bob, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(original, bob)])
        await publish(platform, topics.PAYMENT_POSTED, [denial(original, "16")])
        await eventually(lambda: _status(client, original, "denied"))
        [item] = (await client.get("/v1/work-queue", params={"kind": "denial"})).json()["items"]
        resolved = await client.post(f"/v1/work-queue/{item['item_id']}/resolve", json={"action": "correct"})
        assert resolved.status_code == 200 and await _status(client, original, "open")

        reversal, paid = reversal_of_the_denial(original), payment(replacement)
        await publish(platform, topics.CLAIM_SUBMITTED, [replacement_of(original, replacement, bob)])
        await publish(platform, topics.PAYMENT_POSTED, [reversal, paid, reversal])  # one redelivered
        await eventually(lambda: _booked(service, reversal, paid))
        ledger = (await client.get(f"/v1/claims/{original}")).json()
    assert ledger["status"] == "paid"
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


def replacement_of(original: uuid.UUID, claim_id: uuid.UUID, patient_id: uuid.UUID) -> Event:
    event = claim_for(claim_id, patient_id)
    data = event.data.model_copy(update={"kind": "replacement", "original_claim_id": original})
    return Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))


async def _booked(service, *events: Event) -> bool:
    """Every one of the events has put its entries on a ledger."""
    return await scalar(
        service,
        "SELECT count(DISTINCT source_event_id) FROM ledger_entry WHERE source_event_id = ANY(:ids)",
        ids=[e.id for e in events],
    ) == len(events)


async def _status(client, claim_id: uuid.UUID, status: str) -> bool:
    response = await client.get(f"/v1/claims/{claim_id}")
    return response.status_code == 200 and response.json()["status"] == status
