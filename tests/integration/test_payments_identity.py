"""Posting identity on the real broker and database, with 835s written by others (the conformance
corpus): every claim payment of an ERA posts, however alike; the same remittance re-sent on a new
check in a new envelope posts nothing and is recorded as a re-issue; a reversal and its correction
post; a file that breaks the guide is quarantined with the segment, position and reason."""

import json
import re
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
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parents[1] / "conformance"
NINE = (CORPUS / "valid" / "835" / "written-nine-claims-same-patient.x12").read_text()
REVERSAL = (CORPUS / "valid" / "835" / "written-reversal-correction-plb.x12").read_text()


def submitted(number: str, code: str = "99213") -> Event:
    data = ClaimSubmittedV1(
        claim_id=uuid.uuid5(uuid.NAMESPACE_OID, number),
        patient_control_number=number,
        encounter_id=f"E-{number}",
        patient_id=uuid.uuid4(),
        payer_id="EXHP1",
        payer_name="EXAMPLE HEALTH PLAN",
        date_of_service=date(2024, 3, 1),
        total_charge=Decimal("120.00"),
        lines=[{"line_number": 1, "procedure_code": code, "modifiers": [], "units": 1, "charge": Decimal("120.00")}],
        interchange_control_number=1,
        file_name="test.837p.x12",
        submitted_at=datetime.now(UTC),
    )
    return Event(data, str(data.claim_id), "/test/claims", str(uuid.uuid4()))


def reissued(text: str) -> str:
    """The same remittance on a new EFT (TRN02) in a new interchange (ISA13, IEA02)."""
    return text.replace("000000101", "000000999").replace("TRN*1*EFT20240315001*", "TRN*1*EFT20240402777*")


def paid(records) -> list[Decimal]:
    return [Decimal(json.loads(r.value)["amounts"]["paid"]) for r in records]


async def _files_left(inbound: Path) -> bool:
    return not list(inbound.glob("*.x12"))


async def test_nine_alike_claims_post_and_a_reissued_check_posts_nothing(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    numbers = [f"ACCT100{n}" for n in range(1, 7)]
    async with running(service) as client:
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(n) for n in numbers])
        await eventually(lambda: _known(service, 6))
        (inbound / "nine.835.x12").write_text(NINE)
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=9)
        assert len(postings) == 9 and sum(paid(postings)) == Decimal("810.80")
        (inbound / "nine-again.835.x12").write_text(reissued(NINE))
        await eventually(lambda: _files_left(inbound))
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=10, timeout=3)
        stats = (await client.get("/v1/stats")).json()
        reissue = await scalar(
            service, "SELECT kind || ' ' || claim_payments || ' ' || paid || ' ' || trace_number FROM era_reissue"
        )
        status = await scalar(service, "SELECT status FROM era_file WHERE file_name = 'nine-again.835.x12'")
    assert len(postings) == 9 and sum(paid(postings)) == Decimal("810.80")
    assert stats["claim_payments"] == {"posted": 9} and Decimal(stats["total_posted"]) == Decimal("810.80")
    assert reissue == "reissued_check 9 810.80 EFT20240402777" and status == "reissued"


async def test_a_reversal_and_its_correction_post(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service):
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted("ACCT2001"), submitted("ACCT2002", "99214")])
        await eventually(lambda: _known(service, 2))
        (inbound / "reversal.835.x12").write_text(REVERSAL)
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=3)
    first = str(uuid.uuid5(uuid.NAMESPACE_OID, "ACCT2001"))
    reversed_then_corrected = [r for r in postings if json.loads(r.value)["claim_id"] == first]  # one partition
    assert [json.loads(r.value)["claim_status_code"] for r in reversed_then_corrected] == ["22", "1"]
    assert paid(reversed_then_corrected) == [Decimal("-100.00"), Decimal("120.00")]
    assert sorted(paid(postings)) == [Decimal("-100.00"), Decimal("120.00"), Decimal("160.00")]


async def test_a_file_that_breaks_the_guide_is_quarantined_with_where_and_why(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    broken = (CORPUS / "broken" / "835" / "835-no-patient-name.x12").read_text()
    unbalanced = (CORPUS / "broken" / "835" / "835-payment-mismatch.x12").read_text()
    async with running(service):
        (inbound / "no-patient.835.x12").write_text(broken)
        (inbound / "mismatch.835.x12").write_text(unbalanced)
        await eventually(lambda: _files_left(inbound))
        assert await scalar(service, "SELECT count(*) FROM claim_payment") == 0
    quarantine = platform.clearinghouse_dir / "quarantine" / "835"
    reason = (quarantine / "no-patient.835.x12.reason.txt").read_text()
    assert re.search(r"NM1 at segment 16 \(loop 2100\): NM1\*QC \(patient name\) is required \[IK3 3", reason), reason
    reason = (quarantine / "mismatch.835.x12.reason.txt").read_text()
    assert "BPR at segment 2, element BPR02: BPR02 800.80 is not the sum of CLP04 810.80" in reason
    assert "SNIP level 3" in reason


async def _known(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM known_claim") >= count
