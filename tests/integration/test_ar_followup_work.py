"""A/R follow-up on the real broker and database: a denial becomes typed work and, resolved as a
correction, a claim.correction-requested event; a paid primary with a secondary coverage becomes
claim.secondary-requested, the secondary's payment books onto the same ledger, and statements go
out (as PDFs, announced without names) once insurance is done; the patient pays; a large write-off
waits for a second person; a 999 rejection is work too; aging, KPIs and the clock moved by as_of."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.contracts.events import ClaimAcknowledgedV1, PatientPaymentPostedV1, PatientRegisteredV1
from shared.envelope import Event
from tests.integration.test_ar_followup import claim, payment
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
SUBMITTED = datetime(2026, 11, 3, tzinfo=UTC)


def patient(patient_id: uuid.UUID, secondary: bool = True) -> Event:
    person = {
        "first_name": "Ada",
        "last_name": "Quill",
        "birth_date": "1960-02-03",
        "sex": "F",
        "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"},
    }
    coverages = [
        {
            "rank": "primary",
            "payer_id": "SIMBC",
            "payer_name": "SIM BLUE PLAN",
            "member_id": "M1",
            "effective_date": "2026-01-01",
        }
    ]
    if secondary:
        coverages.append(
            {
                "rank": "secondary",
                "payer_id": "SIMMCD",
                "payer_name": "SIM STATE MEDICAID",
                "member_id": "M2",
                "effective_date": "2026-01-01",
            }
        )
    data = PatientRegisteredV1(
        patient_id=patient_id, version=1, mrn="MRN1", patient=person, coverages=coverages, registered_at=SUBMITTED
    )
    return Event(data, str(patient_id), "/test/registration", str(uuid.uuid4()))


def claim_for(
    claim_id: uuid.UUID,
    patient_id: uuid.UUID,
    encounter: str | None = None,
    payer: str = "SIMBC",
    secondary_of: uuid.UUID | None = None,
) -> Event:
    event = claim(claim_id)
    data = event.data.model_copy(
        update={
            "patient_id": patient_id,
            "submitted_at": SUBMITTED,
            "payer_id": payer,
            **({"encounter_id": encounter} if encounter else {}),
            **({"kind": "secondary", "original_claim_id": secondary_of} if secondary_of else {}),
        }
    )
    return Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))


def denial(claim_id: uuid.UUID, carc: str) -> Event:
    event = payment(claim_id, denied=True)
    data = type(event.data).model_validate(
        {
            **event.data.model_dump(),
            "claim_adjustments": [{"group_code": "CO", "reason_code": carc, "amount": "305.00"}],
            "carc_codes": [carc],
            "payer_claim_control_number": "PCN-9",
            "payment_date": date(2026, 11, 20),
        }
    )
    return Event(data, str(claim_id), "/test/payments", str(uuid.uuid4()))


def secondary_payment(claim_id: uuid.UUID) -> Event:
    event = payment(claim_id)
    amounts = {
        "charge": "305.00",
        "paid": "40.00",
        "contractual": "0",
        "deductible": "0",
        "coinsurance": "0",
        "copay": "5.00",
        "other_patient_responsibility": "0",
        "other_adjustments": "0",
    }
    data = event.data.model_copy(
        update={"payer_id": "SIMMCD", "claim_status_code": "2", "amounts": event.data.amounts.model_validate(amounts)}
    )
    return Event(data, str(claim_id), "/test/payments", str(uuid.uuid4()))


async def test_follow_up_from_denial_to_statement(platform, tmp_path, idp):
    settings = settings_for(
        platform,
        ArSettings,
        "ar_followup",
        ar_statements_dir=tmp_path / "statements",
        ar_now=datetime(2026, 11, 25, tzinfo=UTC),
        ar_write_off_approval_threshold="25.00",
    )
    service = build(settings)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    denied, paid, rejected, secondary = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with running(service, idp) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada), patient(bob, secondary=False)])
        # topics are not ordered among themselves: here the payment finds Ada's coverages held (the
        # registration that comes after the payment is test_ar_late_coverage.py's)
        await eventually(lambda: _registered(service, ada, bob))
        await publish(
            platform,
            topics.CLAIM_SUBMITTED,
            [claim_for(denied, bob), claim_for(paid, ada, "ENC-ADA"), claim_for(rejected, bob)],
        )
        await publish(
            platform,
            topics.CLAIM_ACKNOWLEDGED,
            [
                Event(
                    ClaimAcknowledgedV1(
                        claim_id=rejected,
                        accepted=False,
                        source="999",
                        reasons=[{"code": "I6", "message": "bad", "segment": "NM1"}],
                        acknowledged_at=SUBMITTED,
                    ),
                    str(rejected),
                    "/test/claims",
                    "c",
                )
            ],
        )
        await publish(platform, topics.PAYMENT_POSTED, [denial(denied, "16"), payment(paid)])
        queue = await eventually(lambda: _queue(client, 3))
        kinds = {(i["kind"], i["claim_id"]): i for i in queue["items"]}
        assert set(kinds) == {("denial", str(denied)), ("rejection", str(rejected)), ("secondary", str(paid))}
        fix = kinds[("denial", str(denied))]
        assert fix["category"] == "correctable" and fix["action"] == "correct" and fix["amount"] == "305.00"
        assert fix["owner"] == "denials" and fix["due_date"] == "2027-05-01"  # SIMBC files within 180 days

        # the biller sends a corrected claim: the denial write-off is reversed, claims gets the request
        resolved = await client.post(f"/v1/work-queue/{fix['item_id']}/resolve", json={"action": "correct"})
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        again = await client.post(f"/v1/work-queue/{fix['item_id']}/resolve", json={"action": "correct"})
        assert again.status_code == 409
        reopened = (await client.get(f"/v1/claims/{denied}")).json()
        assert reopened["status"] == "open" and reopened["balances"]["insurance_balance"] == "305.00"
        corrections = await read_topic(platform, topics.CLAIM_CORRECTION_REQUESTED, expect=1)
        assert len(corrections) == 1 and header(corrections[0], "ce_subject") == str(denied)
        assert json.loads(corrections[0].value)["payer_claim_control_number"] == "PCN-9"
        # the replacement is paid: one charge, the ledger balances
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(denied, bob)])
        await publish(platform, topics.PAYMENT_POSTED, [payment(denied)])
        await eventually(lambda: _status(service, denied, "paid"))

        # the primary paid Ada's claim; the secondary is asked for, then pays under its own claim id
        requests = await read_topic(platform, topics.CLAIM_SECONDARY_REQUESTED, expect=1)
        assert [header(r, "ce_subject") for r in requests] == [str(paid)]
        assert json.loads(requests[0].value)["primary_paid"] == "110.40"
        held = (await client.get(f"/v1/claims/{paid}")).json()
        assert held["by_party"] == {"primary": "0.00", "secondary": "51.60", "patient": "0.00"}
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(secondary, ada, payer="SIMMCD", secondary_of=paid)])
        await publish(platform, topics.PAYMENT_POSTED, [secondary_payment(secondary)])
        await eventually(lambda: _patient_owes(client, ada, "5.00"))
        ledger = (await client.get(f"/v1/claims/{paid}")).json()
        assert ledger["balances"]["charge"] == "305.00" and ledger["balances"]["paid"] == "150.40"
        assert ledger["by_party"] == {"primary": "0.00", "secondary": "0.00", "patient": "5.00"}

        # statements once insurance is done; a reminder 30 days later; nothing in between
        first = (await client.post("/v1/cycle")).json()
        assert first["statements"] == 2  # Ada (5.00) and Bob (51.60 from the corrected claim)
        assert (await client.post("/v1/cycle", params={"as_of": "2026-12-10T12:00:00Z"})).json()["statements"] == 0
        issued = await read_topic(platform, topics.STATEMENT_ISSUED, expect=2)
        values = [json.loads(r.value) for r in issued]
        assert {v["stage"] for v in values} == {"first"} and {v["balance"] for v in values} == {"5.00", "51.60"}
        assert all("Quill" not in r.value.decode() and "Main St" not in r.value.decode() for r in issued)
        account = (await client.get(f"/v1/patients/{ada}/account")).json()
        pdf = await client.get(f"/v1/statements/{account['statements'][0]['statement_id']}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        reminder = (await client.post("/v1/cycle", params={"as_of": "2026-12-26T12:00:00Z"})).json()
        assert reminder["statements"] == 2
        account = (await client.get(f"/v1/patients/{bob}/account")).json()
        assert [s["stage"] for s in account["statements"]] == ["first", "reminder_30"]

        # Patients pay at the payments service (the one place money is taken); A/R applies what it
        # announces. Ada's payment, delivered twice, counts once; Bob's goes to his corrected claim.
        ada_pays = Event(
            PatientPaymentPostedV1(
                payment_id=uuid.uuid4(),
                patient_id=ada,
                kind="payment",
                amount="5.00",
                method="card",
                applications=[{"claim_id": paid, "amount": "5.00"}],
                unapplied="0.00",
                received_at=SUBMITTED,
            ),
            str(ada),
            "/test/payments",
            "p",
        )
        await publish(platform, topics.PATIENT_PAYMENT_POSTED, [ada_pays, ada_pays])
        await eventually(lambda: _patient_owes(client, ada, "0.00"))
        await publish(
            platform,
            topics.PATIENT_PAYMENT_POSTED,
            [
                Event(
                    PatientPaymentPostedV1(
                        payment_id=uuid.uuid4(),
                        patient_id=bob,
                        kind="payment",
                        amount="10.00",
                        method="card",
                        applications=[{"claim_id": denied, "amount": "10.00"}],
                        unapplied="0.00",
                        received_at=SUBMITTED,
                    ),
                    str(bob),
                    "/test/payments",
                    "p",
                )
            ],
        )
        await eventually(lambda: _patient_owes(client, bob, "41.60"))

        # Bob's balance written off by an A/R specialist: above the threshold it waits for a supervisor
        anna, sam = await idp.bearer("anna.ar"), await idp.bearer("sam.supervisor")
        asked = await client.post(
            f"/v1/claims/{denied}/write-offs",
            json={"party": "patient", "amount": "41.60", "reason_code": "charity"},
            headers=anna,
        )
        assert asked.status_code == 201 and asked.json()["status"] == "pending"
        assert (asked.json()["requested_by"], asked.json()["requested_by_name"]) == (
            await idp.subject("anna.ar"),
            "anna.ar",
        )
        decision = f"/v1/write-offs/{asked.json()['adjustment_id']}/approve"
        assert (await client.post(decision, headers=anna)).status_code == 403  # not a supervisor
        assert (await client.post(decision)).status_code == 403  # the API key is no person
        approved = (await client.post(decision, headers=sam)).json()
        assert (approved["status"], approved["decided_by_name"]) == ("approved", "sam.supervisor")
        assert (await client.get(f"/v1/patients/{bob}/account")).json()["balance"] == "0.00"
        bad = await client.post(
            f"/v1/claims/{denied}/write-offs",
            json={"party": "patient", "amount": "-1", "reason_code": "nope", "requested_by": "sam", "extra": 1},
        )
        assert bad.status_code == 422
        assert {tuple(e["loc"]) for e in bad.json()["detail"]} >= {
            ("body", "amount"),
            ("body", "reason_code"),
            ("body", "requested_by"),  # who asks is the token's subject, never the body's
            ("body", "extra"),
        }

        # aging and KPIs, as of a later day
        aging = (await client.get("/v1/aging", params={"as_of": "2027-03-01T00:00:00Z"})).json()
        assert aging["groups"]["SIMBC"]["91-120"] == "305.00" and aging["groups"]["SIMBC"]["total"] == "305.00"
        kpis = (await client.get("/v1/kpis", params={"start": "2026-11-01", "end": "2026-11-30"})).json()
        assert kpis["period"]["claims"] == 3 and kpis["clean_claim_rate"] == "66.7"
        assert kpis["denial_rate"] == "50.0" and kpis["denial_rate_by_reason"] == {"16": "50.0"}
        assert (await client.get("/v1/kpis", params={"start": "2026-12-01", "end": "2026-11-01"})).status_code == 422
        summary = (await client.get("/v1/summary")).json()
    assert summary["claims"] == 3 and summary["charged"] == "915.00"
    assert await scalar(service, "SELECT count(*) FROM ledger_entry WHERE kind = 'charge'") == 3


async def _queue(client, count: int):
    queue = (await client.get("/v1/work-queue")).json()
    return queue if queue["count"] >= count else None


async def _registered(service, *patient_ids: uuid.UUID) -> bool:
    sql = "SELECT count(*) FROM ar_patient_account WHERE patient_id = ANY(:p) AND version > 0"
    return await scalar(service, sql, p=list(patient_ids)) == len(patient_ids)


async def _status(service, claim_id: uuid.UUID, status: str) -> bool:
    return await scalar(service, "SELECT status FROM ar_claim WHERE claim_id = :c", c=claim_id) == status


async def _patient_owes(client, patient_id: uuid.UUID, amount: str) -> bool:
    response = await client.get(f"/v1/patients/{patient_id}/account")
    return response.status_code == 200 and response.json()["by_party"]["patient"] == amount
