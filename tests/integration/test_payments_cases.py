"""Payments on the real broker and database with the hand-written 835 of every case: statuses,
reversal and correction, bundling, the work queue, the same ERA twice; then patient payments,
refunds and hostile requests over HTTP."""

import json
import re
import shutil
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.envelope import Event
from tests.kit import eventually, header, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
D = Decimal
ERA = Path(__file__).parents[1] / "unit" / "payments" / "eras" / "every-case.835.x12"
PATIENT, OTHER = uuid.UUID(int=501), uuid.UUID(int=502)
# pcn -> (patient, date of service, lines (number, code, modifiers, charge))
CLAIMS = {
    "PCNA1": (PATIENT, date(2026, 3, 2), [(1, "99214", ["25"], "200"), (2, "36415", [], "100")]),
    "PCNB1": (PATIENT, date(2026, 3, 3), [(1, "99213", [], "100")]),
    "PCNC1": (PATIENT, date(2026, 1, 15), [(1, "99213", [], "80")]),
    "PCND1": (OTHER, date(2026, 3, 3), [(1, "97110", ["GP"], "150")]),
    "PCNE1": (OTHER, date(2026, 3, 4), [(2, "99214", [], "120")]),  # the payer's line matches none of ours
    "PCNF1": (OTHER, date(2026, 3, 4), [(1, "99213", [], "50")]),
    "PCNG1": (OTHER, date(2026, 3, 4), [(1, "99213", [], "40")]),
    "PCNH1": (OTHER, date(2026, 3, 4), [(1, "99213", [], "100")]),
    "PCNI1": (OTHER, date(2026, 3, 4), [(1, "99213", [], "60")]),
    # line 1 (80053) was unbundled into two codes that carry REF*6R 1; the payer's REF*6R 3 is none
    # of our line numbers, so its 36415 matches our line 4 by procedure code.
    "PCNJ1": (OTHER, date(2026, 3, 5), [(1, "80053", [], "60"), (2, "99213", [], "100"), (4, "36415", [], "15")]),
    "PCNK1": (OTHER, date(2026, 3, 6), [(1, "99212", [], "90")]),
}


def claim_id(pcn: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_OID, f"cases-{pcn}")


def submitted(pcn: str) -> Event:
    patient, dos, lines = CLAIMS[pcn]
    data = ClaimSubmittedV1(
        claim_id=claim_id(pcn),
        patient_control_number=pcn,
        encounter_id=f"E-{pcn}",
        patient_id=patient,
        payer_id="SIMBC",
        payer_name="SIM BLUE PLAN",
        date_of_service=dos,
        total_charge=sum(D(c) for *_, c in lines),
        lines=[
            {"line_number": n, "procedure_code": code, "modifiers": mods, "units": 1, "charge": D(c)}
            for n, code, mods, c in lines
        ],
        interchange_control_number=1,
        file_name="test.837p.x12",
        submitted_at=datetime.now(UTC),
    )
    return Event(data, str(data.claim_id), "/test/claims", str(uuid.uuid4()))


async def test_every_case_posts_once_and_patients_pay(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service) as client:
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(p) for p in CLAIMS if p != "PCNK1"])
        await eventually(lambda: _count(service, "SELECT count(*) FROM known_claim", 10))
        shutil.copy(ERA, inbound / "every-case.835.x12")
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=11)
        queue = (await client.get("/v1/work-queue")).json()
        assert [(i["kind"], i["patient_control_number"]) for i in queue] == [
            ("unmatched_line", "PCNE1"),
            ("unmatched_claim", "PCNK1"),
        ]
        # Listing them is an access to the patients they name: one audit row per item, the patient when known.
        audited = await scalar(
            service,
            "SELECT string_agg(entity_id || ' ' || coalesce(patient_id::text, '-'), ',' ORDER BY id) FROM audit_log"
            " WHERE entity_type = 'PaymentReconciliation' AND subtype = 'search-type'",
        )
        assert audited == f"{queue[0]['posting_id']} {CLAIMS['PCNE1'][0]},{queue[1]['posting_id']} -"

        # The same ERA again under another name: nothing new.
        shutil.copy(ERA, inbound / "again.835.x12")
        await eventually(lambda: _no_files(inbound))
        # The unknown claim arrives: its payment posts and leaves the work queue.
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted("PCNK1")])
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=12, settle=2)
        queue = (await client.get("/v1/work-queue")).json()
        assert [(i["kind"], i["patient_control_number"]) for i in queue] == [("unmatched_line", "PCNE1")]
        stats = (await client.get("/v1/stats")).json()

        # Patient PATIENT owes 10 (PCNC1, Jan), 80 (PCNA1, Mar 2) and 20 (PCNB1, Mar 3).
        balance = (await client.get(f"/v1/patients/{PATIENT}/balance")).json()
        assert [(c["claim_id"], c["balance"]) for c in balance["claims"]] == [
            (str(claim_id("PCNC1")), "10.00"),
            (str(claim_id("PCNA1")), "80.00"),
            (str(claim_id("PCNB1")), "20.00"),
        ]
        paid = await client.post(
            f"/v1/patients/{PATIENT}/payments",
            json={"amount": "50.00", "method": "card", "reference": "AUTH 4411"},
            headers={"Idempotency-Key": "front-desk-1"},
        )
        assert paid.status_code == 201, paid.text
        payment = paid.json()
        assert [(a["claim_id"], a["amount"]) for a in payment["applications"]] == [
            (str(claim_id("PCNC1")), "10.00"),
            (str(claim_id("PCNA1")), "40.00"),
        ]
        again = await client.post(
            f"/v1/patients/{PATIENT}/payments",
            json={"amount": "50.00", "method": "card", "reference": "AUTH 4411"},
            headers={"Idempotency-Key": "front-desk-1"},
        )
        assert again.status_code == 201 and again.json()["payment_id"] == payment["payment_id"]
        chosen = await client.post(
            f"/v1/patients/{PATIENT}/payments",
            json={"amount": "30.00", "method": "check", "reference": "1042", "claim_id": str(claim_id("PCNB1"))},
        )
        assert [(a["claim_id"], a["amount"]) for a in chosen.json()["applications"]] == [
            (str(claim_id("PCNB1")), "20.00")
        ]
        assert chosen.json()["unapplied"] == "10.00"
        # Refund 15.00 of the check: 10.00 of credit, then 5.00 taken back from PCNB1.
        refund = await client.post(
            f"/v1/patient-payments/{chosen.json()['payment_id']}/refunds", json={"amount": "15.00"}
        )
        assert refund.status_code == 201, refund.text
        assert refund.json()["amount"] == "-15.00" and refund.json()["unapplied"] == "0.00"
        assert [(a["claim_id"], a["amount"]) for a in refund.json()["applications"]] == [
            (str(claim_id("PCNB1")), "-5.00")
        ]
        balance = (await client.get(f"/v1/patients/{PATIENT}/balance")).json()
        assert balance["total_due"] == "45.00" and balance["credit"] == "0.00"

        # Hostile and wrong requests: 4xx with the field path, nothing recorded.
        for body, path in (
            ({"amount": "-5", "method": "cash"}, ["body", "amount"]),
            ({"amount": "1.005", "method": "cash"}, ["body", "amount"]),
            ({"amount": "5", "method": "bitcoin"}, ["body", "method"]),
            ({"amount": "5", "method": "cash", "reference": "x~y*z"}, ["body", "reference"]),
            ({"amount": "5", "method": "cash", "surprise": 1}, ["body", "surprise"]),
            ({"amount": "5", "method": "cash", "claim_id": str(claim_id("PCND1"))}, ["body", "claim_id"]),
        ):
            refused = await client.post(f"/v1/patients/{PATIENT}/payments", json=body)
            assert refused.status_code == 422, body
            assert refused.json()["detail"][0]["loc"] == path
        too_much = await client.post(f"/v1/patient-payments/{payment['payment_id']}/refunds", json={"amount": "50.01"})
        assert too_much.status_code == 422 and too_much.json()["detail"][0]["loc"] == ["body", "amount"]
        assert (
            await client.post(f"/v1/patient-payments/{uuid.uuid4()}/refunds", json={"amount": "1"})
        ).status_code == 404
        assert (await client.get("/v1/patients/not-a-uuid/balance")).status_code == 422
        patient_events = await read_topic(platform, topics.PATIENT_PAYMENT_POSTED, expect=3)

    assert len(postings) == 12  # 12 claim payments (PCNK1 once it was known) and no duplicate from the second copy
    assert stats["claim_payments"] == {"posted": 12} and stats["era_files"] == {"posted": 1}
    by_pcn: dict[str, list[dict]] = {}
    for record in postings:
        posting = json.loads(record.value)
        by_pcn.setdefault(next(p for p in CLAIMS if str(claim_id(p)) == posting["claim_id"]), []).append(posting)
        assert header(record, "ce_type") == "org.openrcm.payment.posted.v1"
        text = record.value.decode()
        assert str(PATIENT) not in text and str(OTHER) not in text  # internal patient ids stay in payments
        assert not re.search(
            r"SAMPLE|EXAMPLE|TESTER|DEMO|PLACEHOLDER|FICTION|\"M(?:[1-9]|1[01])\"", text
        )  # names, member ids
    assert [p["outcome"] for p in by_pcn["PCNH1"]] == ["reversed", "paid"]
    assert {p["outcome"] for p in by_pcn["PCND1"]} == {"denied"} and by_pcn["PCND1"][0]["rarc_codes"] == ["M15", "N115"]
    assert by_pcn["PCNI1"][0]["outcome"] == "not_our_claim"
    assert [l["line_number"] for l in by_pcn["PCNJ1"][0]["lines"]] == [1, 1, 2, 4]
    assert by_pcn["PCNJ1"][0]["unmatched_lines"] == 0 and by_pcn["PCNE1"][0]["unmatched_lines"] == 1
    assert by_pcn["PCNK1"][0]["check_or_eft_number"] == "EFT20001"
    assert len(patient_events) == 3  # the retried request was one payment
    kinds = [json.loads(r.value)["kind"] for r in patient_events]
    assert kinds == ["payment", "payment", "refund"]
    assert {r.key.decode() for r in patient_events} == {str(PATIENT)}


async def _count(service, sql: str, expected: int) -> bool:
    return await scalar(service, sql) >= expected


async def _no_files(folder) -> bool:
    return not list(folder.glob("*.x12"))
