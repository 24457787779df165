"""Claims after sending, on the real broker and database, with the payer simulator answering in
this process: 999 and 277CA read back into claim.acknowledged (rejections in the work queue),
and A/R's requests for a secondary claim and a replacement becoming new 837Ps the simulator pays."""

import json
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy

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


def claim_row(claim, batch_id: int | None = None) -> dict:
    """A claim row as the claims service keeps a submitted one."""
    return dict(
        claim_id=uuid.uuid4(),
        patient_control_number=claim.patient_control_number,
        encounter_id=f"enc-{claim.patient_control_number}",
        patient_id=uuid.uuid4(),
        payer_id=claim.payer.id,
        payer_name=claim.payer.name,
        date_of_service=claim.lines[0].service_date,
        total_charge=claim.total_charge,
        status="submitted",
        findings=[],
        content=claim.model_dump(mode="json"),
        correlation_id=str(uuid.uuid4()),
    )


def partial_999(group: int, *sets: str) -> str:
    """A 999 written by hand per the X231A1 guide, answering group `group` with these AK2..IK5 loops."""
    body = [f"AK1*HC*{group}*005010X222A1", *sets]
    taken = sum("IK5*A" in s or "IK5*E" in s for s in sets)
    body.append(f"AK9*{'P' if 0 < taken < len(sets) else 'A' if taken else 'R'}*{len(sets)}*{len(sets)}*{taken}")
    segments = ["ST*999*0001*005010X231A1", *(seg for s in body for seg in s.split("~"))]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = "ISA*00*          *00*          *ZZ*SIMCH          *ZZ*OPENRCM        *260302*1000*^*00501*000000601*0*T*:"
    envelope = [isa, "GS*FA*SIMCH*OPENRCM*20260302*1000*601*X*005010X231A1", *segments, "GE*1*601", "IEA*1*000000601"]
    return "~\n".join(envelope) + "~\n"


async def test_a_partially_accepted_999_rejects_only_the_claims_of_its_rejected_transaction_set(platform, caplog):
    from sqlalchemy import insert

    from services.claims import db
    from x12.samples import sample_interchange
    from x12.x837p import render_837p

    caplog.set_level(logging.WARNING, logger="services.claims.acknowledgements")
    service = build(settings_for(platform, ClaimsSettings, "claims", batch_interval_seconds=0.2, ack_poll_seconds=0.1))
    control = 900_000_017
    sent = sample_interchange(4, providers=2, control_number=control)  # sets 0001 (claims 0, 2) and 0002 (1, 3)
    rows = [claim_row(claim) for provider in sent.transactions for claim in provider.claims]
    by_number = {row["patient_control_number"]: row["claim_id"] for row in rows}
    inbound = platform.clearinghouse_dir / "inbound" / "999"
    inbound.mkdir(parents=True, exist_ok=True)
    async with running(service) as client:
        async with service.sessions() as session, session.begin():
            await session.execute(insert(db.Claim.__table__), rows)
            await db.store_batch(session, control, "two-sets.837p.x12", render_837p(sent), list(by_number.values()))
        ack = partial_999(
            control, "AK2*837*0001*005010X222A1~IK5*A", "AK2*837*0002*005010X222A1~IK3*DMG*17**8~IK4*3*1068*7~IK5*R*5"
        )
        assert validate_x12(ack) == []
        (inbound / "partial.999.x12").write_text(ack)
        acks = await read_topic(platform, topics.CLAIM_ACKNOWLEDGED, expect=2)
        # a 999 naming a set we never sent (and one for a file we never sent) answers no claim and stops nothing
        stray = partial_999(control, "AK2*837*0009*005010X222A1~IK3*CLM*19**8~IK4*2*782*6~IK5*R*5")
        (inbound / "stray.999.x12").write_text(stray)
        (inbound / "unknown.999.x12").write_text(partial_999(123, "AK2*837*0001*005010X222A1~IK5*R"))
        applied = "SELECT count(*) FROM ack_file WHERE status = 'applied'"
        await eventually(lambda: _at_least(scalar(service, applied), 3))
        queue = (await client.get("/v1/work-queue")).json()
        claims = {n: await _claim_state(service, by_number[n]) for n in by_number}
    rejected = {"PCN00000001", "PCN00000003"}
    assert sorted(json.loads(r.value)["claim_id"] for r in acks) == sorted(str(by_number[n]) for n in rejected)
    for record in acks:
        [reason] = json.loads(record.value)["reasons"]
        assert reason["code"] == "IK4:7" and reason["segment"] == "DMG"
        assert reason["message"].startswith("DMG03 (data element 1068) of segment DMG at position 17")
    assert {n for n, (state, _) in claims.items() if state == "rejected"} == rejected
    assert all(state is None and events == [True] for n, (state, events) in claims.items() if n not in rejected)
    assert all(events == [False] for n, (_, events) in claims.items() if n in rejected)
    assert queue["total"] == 2
    assert not list((platform.clearinghouse_dir / "quarantine" / "999").glob("*.x12"))
    warnings = [r for r in caplog.records if "never sent" in r.getMessage()]
    assert [(getattr(r, "interchange", None), getattr(r, "sets", None)) for r in warnings] == [
        (control, "0009"),
        (123, None),
    ]
    assert not any("PCN" in str(r.__dict__) or "SAMPLE" in str(r.__dict__) for r in warnings)


async def _at_least(count, expected: int) -> bool:
    return (await count) >= expected


async def _claim_state(service, claim_id) -> tuple[str | None, list[bool]]:
    """The claim's acknowledgement and what each 999 recorded on its timeline (accepted or not)."""
    state = await scalar(service, "SELECT acknowledgement FROM claim WHERE claim_id = :id", id=claim_id)
    async with service.engine.connect() as connection:
        found = await connection.execute(
            sqlalchemy.text("SELECT accepted FROM claim_event WHERE claim_id = :id AND kind = '999'"), {"id": claim_id}
        )
        return state, [row.accepted for row in found]
