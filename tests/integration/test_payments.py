"""Payments on the real broker and database: 835 files from the payer simulator are posted to
the claims they pay, once, whole or not at all; payment.posted carries no patient identifiers."""

import json
import shutil
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from shared.contracts.events import ClaimSubmittedV1
from shared.envelope import Event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.samples import sample_interchange

pytestmark = pytest.mark.integration


def submitted(claim, interchange) -> Event:
    data = ClaimSubmittedV1(
        claim_id=uuid.uuid5(uuid.NAMESPACE_OID, claim.patient_control_number),
        patient_control_number=claim.patient_control_number,
        encounter_id=f"E-{claim.patient_control_number}",
        patient_id=uuid.uuid4(),
        payer_id=claim.payer.id,
        payer_name=claim.payer.name,
        date_of_service=claim.lines[0].service_date,
        total_charge=claim.total_charge,
        lines=[
            {
                "line_number": int(line.control_number.rsplit("-", 1)[-1]),
                "procedure_code": line.procedure_code,
                "modifiers": list(line.modifiers),
                "units": int(line.units),
                "charge": line.charge,
            }
            for line in claim.lines
        ],
        interchange_control_number=interchange.control_number,
        file_name="test.837p.x12",
        submitted_at=datetime.now(UTC),
    )
    return Event(data, str(data.claim_id), "/test/claims", str(uuid.uuid4()))


def era_texts(claims: int):
    interchange = sample_interchange(claims=claims, lines=2)
    result = remit(interchange, load_contracts(), defaultdict(Decimal), 1, datetime(2026, 3, 10, 8, 0))
    return interchange, result


async def test_an_era_is_posted_once_and_balances(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    interchange, result = era_texts(claims=6)
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service) as client:
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, interchange) for c in interchange.claims[:4]])
        await eventually(lambda: _known(service, 4))
        for payer, text in result.by_payer.items():
            (inbound / f"{payer}.835.x12").write_text(text)
        # Two claims were paid before their claim.submitted arrived: they wait, then post.
        await eventually(lambda: _payments(service, "unmatched", 2))
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, interchange) for c in interchange.claims[4:]])
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=6)
        # The same remittance again, under another name: nothing is posted twice.
        processed = platform.clearinghouse_dir / "processed" / "835"
        for file in processed.glob("*.x12"):
            shutil.copy(file, inbound / f"again-{file.name}")
        await eventually(lambda: _no_files(inbound))
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=7, timeout=3)
        stats = (await client.get("/v1/stats")).json()
    assert len(postings) == 6
    assert stats["claim_payments"] == {"posted": 6}
    total = Decimal(0)
    for record in postings:
        posting = json.loads(record.value)
        amounts = {k: Decimal(v) for k, v in posting["amounts"].items()}
        assert amounts["charge"] == sum(v for k, v in amounts.items() if k != "charge")
        total += amounts["paid"]
        text = record.value.decode()
        for claim in interchange.claims:
            assert claim.subscriber.member_id not in text and claim.subscriber.last_name not in text
    assert total == result.paid == Decimal(stats["total_posted"])


async def test_a_malformed_or_unbalanced_era_is_quarantined_whole(platform):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    interchange, result = era_texts(claims=3)
    text = next(iter(result.by_payer.values()))
    first_clp = text.index("CLP*")
    clp = text[first_clp : text.index("~", first_clp)].split("*")
    unbalanced = text.replace("*".join(clp), "*".join(clp[:4] + [str(Decimal(clp[4]) + 1)] + clp[5:]), 1)
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(service):
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, interchange) for c in interchange.claims])
        await eventually(lambda: _known(service, 3))
        (inbound / "garbage.835.x12").write_text("ISA*this is not an 835~")
        (inbound / "unbalanced.835.x12").write_text(unbalanced)
        await eventually(lambda: _no_files(inbound))
        assert await scalar(service, "SELECT count(*) FROM claim_payment") == 0
        assert await scalar(service, "SELECT count(*) FROM era_file WHERE status = 'quarantined'") == 2
    quarantine = platform.clearinghouse_dir / "quarantine" / "835"
    assert sorted(p.name for p in quarantine.glob("*.reason.txt")) == [
        "garbage.835.x12.reason.txt",
        "unbalanced.835.x12.reason.txt",
    ]


async def _known(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM known_claim") >= count


async def _payments(service, status: str, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM claim_payment WHERE status = :s", s=status) >= count


async def _no_files(folder) -> bool:
    return not list(folder.glob("*.x12"))


async def test_two_replicas_sharing_the_drop_folder_post_each_payment_once(platform):
    """Two payments processes read the same clearinghouse folder (the chart's shared volume): each 835 and
    its copies under other names are taken by whichever gets there first, every claim payment posts once,
    nothing is quarantined for having been moved by the other replica, and neither loop stops."""
    settings = settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.05)
    first, second = build(settings), build(settings)
    paused_before = _paused_seconds()
    interchange, result = era_texts(claims=6)
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    async with running(first) as one, running(second) as other:
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, interchange) for c in interchange.claims])
        await eventually(lambda: _known(first, 6))
        for copy in range(5):  # the same remittances, dropped five times under five names
            for payer, text in result.by_payer.items():
                (inbound / f"{payer}-{copy}.835.x12").write_text(text)
        await eventually(lambda: _no_files(inbound))
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=7, timeout=5)
        stats = [(await client.get("/v1/stats")).json() for client in (one, other)]
    quarantined = list((platform.clearinghouse_dir / "quarantine" / "835").glob("*"))
    assert len(postings) == 6 and quarantined == []
    assert _paused_seconds() == paused_before  # a file the other replica moved is no outage to wait out
    assert stats[0] == stats[1] and stats[0]["claim_payments"] == {"posted": 6}
    assert Decimal(stats[0]["total_posted"]) == result.paid


def _paused_seconds() -> float:
    labels = {"topic": "inbound/835", "consumer": "payments.post-remittances"}
    return REGISTRY.get_sample_value("rcm_consumer_paused_seconds_total", labels) or 0.0
