"""Claims after sending, on the real broker and database, with the payer simulator answering in
this process: 999 and 277CA read back into claim.acknowledged (rejections in the work queue),
and A/R's requests for a secondary claim and a replacement becoming new 837Ps the simulator pays."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.simulator import Simulator
from services.claims.app import build
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimCorrectionRequestedV1, PatientRegisteredV1, SecondaryClaimRequestedV1
from shared.envelope import Event
from tests.integration.test_claims import coded_event, patient_event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.validate import validate_x12
from x12.x835 import parse_835
from x12.x837p import parse_837p

pytestmark = pytest.mark.integration


def with_coverages(event: Event, member_id: str | None = None, secondary: bool = False) -> Event:
    data = event.data.model_dump(mode="json")
    if member_id:
        data["coverages"][0]["member_id"] = member_id
    if secondary:
        data["coverages"].append(
            {
                "rank": "secondary",
                "payer_id": "SIMBC",
                "payer_name": "SIM BLUE PLAN",
                "member_id": "SEC12345",
                "relationship": "self",
                "effective_date": "2020-01-01",
            }
        )
    return Event(PatientRegisteredV1.model_validate(data), event.subject, "/test/registration", str(uuid.uuid4()))


def answer(platform) -> Simulator:
    """The clearinghouse and payers answer whatever is in outbound/ (without random denials)."""
    contracts = {k: c.model_copy(update={"random_denial_one_in": 0}) for k, c in load_contracts().items()}
    simulator = Simulator(platform.clearinghouse_dir, contracts)
    for path in simulator.folders.pending():
        simulator.handle(path)
    simulator.store.close()
    return simulator


async def test_277ca_and_999_become_claim_acknowledged_and_rejections_join_the_work_queue(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    good = with_coverages(patient_event(20))
    unknown = with_coverages(patient_event(21), member_id="TERM0001")
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [good, unknown])
        await publish(
            platform,
            topics.ENCOUNTER_CODED,
            [coded_event(200, good.data.patient_id), coded_event(201, unknown.data.patient_id)],
        )
        await read_topic(platform, topics.CLAIM_SUBMITTED, expect=2, settle=0.2)
        answer(platform)
        acks = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=2)
        queue = (await client.get("/v1/work-queue")).json()
        counts = (await client.get("/v1/acknowledgements")).json()
        stats = (await client.get("/v1/stats")).json()
        # the same 277CA dropped again is applied once
        await eventually(lambda: scalar(service, "SELECT count(*) FROM ack_file WHERE status = 'applied'"))
    by_claim = {json.loads(r.value)["claim_id"]: json.loads(r.value) for r in acks}
    assert len(acks) == 2 and sorted(a["accepted"] for a in by_claim.values()) == [False, True]
    accepted = next(a for a in by_claim.values() if a["accepted"])
    rejected = next(a for a in by_claim.values() if not a["accepted"])
    assert accepted["source"] == "277CA" and accepted["payer_claim_control_number"].startswith("SIM")
    assert rejected["reasons"][0]["code"] == "A7:164:IL" and "subscriber" in rejected["reasons"][0]["message"]
    assert queue["total"] == 1 and queue["items"][0]["claim_id"] == rejected["claim_id"]
    assert queue["items"][0]["task"] == "resolve the rejection"
    assert counts == {"accepted": 1, "rejected": 1} and stats == {"submitted": 2}
    processed = platform.clearinghouse_dir / "processed"
    assert list((processed / "999").glob("*.x12")) and list((processed / "277").glob("*.x12"))


async def test_a_rejecting_999_rejects_every_claim_of_its_file_and_bad_files_are_quarantined(platform):
    from x12.x837p import parse_837p
    from x12.x999 import AckError, render_999

    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    patient = with_coverages(patient_event(22))
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(220, patient.data.patient_id)])
        [record] = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1, settle=0.2)
        sent = platform.clearinghouse_dir / "outbound" / json.loads(record.value)["file_name"]
        inbound = platform.clearinghouse_dir / "inbound" / "999"
        rejection = render_999(
            parse_837p(sent.read_text()),
            accepted=False,
            errors=[AckError(segment_id="NM1", position=12, loop_id="2010")],
        )
        (inbound / "reject.999.x12").write_text(rejection)
        (inbound / "garbage.999.x12").write_text("ISA*nonsense")
        [ack] = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=1)
        await eventually(lambda: scalar(service, "SELECT count(*) FROM ack_file WHERE status = 'quarantined'"))
        queue = (await client.get("/v1/work-queue")).json()
    ack = json.loads(ack.value)
    assert ack["source"] == "999" and not ack["accepted"] and ack["reasons"][0]["segment"] == "NM1"
    assert queue["total"] == 1
    quarantine = platform.clearinghouse_dir / "quarantine" / "999"
    assert (quarantine / "garbage.999.x12").exists() and (quarantine / "garbage.999.x12.reason.txt").exists()


async def test_secondary_and_replacement_requests_become_new_837ps_the_payers_answer(platform):
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    patient = with_coverages(patient_event(23), secondary=True)
    async with running(service):
        await publish(platform, topics.PATIENT_REGISTERED, [patient])
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(230, patient.data.patient_id)])
        [original] = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1, settle=0.2)
        answer(platform)
        [ack] = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=1, settle=0.2)
        claim_id, number = json.loads(ack.value)["claim_id"], json.loads(ack.value)["payer_claim_control_number"]
        now = datetime.now(UTC)
        request = SecondaryClaimRequestedV1(
            claim_id=claim_id,
            primary_payer_id="SIMAETNA",
            primary_payer_claim_control_number=number,
            primary_paid=Decimal("120.00"),
            primary_paid_date=now.date(),
            requested_at=now,
            primary_adjustments=[
                {"group_code": "CO", "reason_code": "45", "amount": "60.00"},
                {"group_code": "PR", "reason_code": "2", "amount": "40.00"},
            ],
        )
        correction = ClaimCorrectionRequestedV1(
            claim_id=claim_id,
            frequency_code="7",
            payer_claim_control_number=number,
            reason="CO-16 corrected",
            requested_by="ar",
            requested_at=now,
        )
        for topic, data in (
            (topics.CLAIM_SECONDARY_REQUESTED, request),
            (topics.CLAIM_CORRECTION_REQUESTED, correction),
        ):
            # sent twice: the same request makes one claim
            await publish(platform, topic, [Event(data, claim_id, "/test/ar", str(uuid.uuid4())) for _ in range(2)])
        submitted = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=3)
        files = {json.loads(r.value)["kind"]: json.loads(r.value)["file_name"] for r in submitted}
        texts = {
            kind: (platform.clearinghouse_dir / "outbound" / name).read_text()
            for kind, name in files.items()
            if kind != "original"
        }
        answer(platform)
    assert sorted(json.loads(r.value)["kind"] for r in submitted) == ["original", "replacement", "secondary"]
    assert all(
        json.loads(r.value)["original_claim_id"] == claim_id
        for r in submitted
        if json.loads(r.value)["kind"] != "original"
    )
    for text in texts.values():
        assert validate_x12(text) == []
    claims = {c.payer_responsibility + c.frequency_code: c for t in texts.values() for c in parse_837p(t).claims}
    second, replacement = claims["S1"], claims["P7"]
    assert second.payer.id == "SIMBC" and second.other_payers[0].paid == Decimal("120.00")
    assert second.subscriber.member_id == "SEC12345"
    assert second.other_payers[0].payer.id == json.loads(original.value)["payer_id"]
    assert replacement.payer_claim_control_number == number
    remits = [parse_835(p.read_text()) for p in (platform.clearinghouse_dir / "inbound" / "835").glob("*.x12")]
    statuses = {c.patient_control_number: c for r in remits for rem in r.remittances for c in rem.claims}
    paid_secondary = statuses[second.patient_control_number]
    assert paid_secondary.status == "2" and paid_secondary.paid <= Decimal("40.00")
