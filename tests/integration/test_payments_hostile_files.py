"""The 835 loop never stops on one file: an 835 that balances but pays $12,000,000,000.00 (more
than a claim payment's column holds) and one whose name is 224 characters are dealt with (the first
quarantined with the database's reason, no values; the second posted under a shortened label) and
the files behind them post. While the payments database refuses connections the loop pauses: the
file waiting is neither quarantined nor lost, and posts once the database is back."""

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.respond import remit
from rcmctl.chaos.eras import TWELVE_BILLION, twelve_billion
from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from tests.integration.test_infrastructure_pauses import block
from tests.integration.test_payments import submitted
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from x12.claim import ProviderClaims
from x12.samples import sample_claim, sample_interchange
from x12.x835 import parse_835

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 10, 8, 0)


def interchange_of(numbers: range, control_number: int):
    base = sample_interchange(control_number=control_number)
    provider = base.transactions[0].billing_provider
    claims = tuple(sample_claim(n, 2) for n in numbers)
    return base.model_copy(update={"transactions": (ProviderClaims(billing_provider=provider, claims=claims),)})


def eras(interchange, control_number: int) -> list[str]:
    result = remit(interchange, load_contracts(), defaultdict(Decimal), control_number, NOW)
    return [text for _, text in sorted(result.by_payer.items())]


def paused() -> float | None:
    labels = {"topic": "inbound/835", "consumer": "payments.post-remittances"}
    return REGISTRY.get_sample_value("rcm_consumer_paused", labels)


async def test_hostile_835s_are_dealt_with_and_the_loop_moves_on_and_pauses_through_an_outage(platform, caplog):
    caplog.set_level(logging.WARNING)
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    first, later = interchange_of(range(1, 9), 1), interchange_of(range(20, 23), 2)
    long_named, good = eras(first, 1)[:2]
    inbound = platform.clearinghouse_dir / "inbound" / "835"
    quarantine = platform.clearinghouse_dir / "quarantine" / "835"
    long_name = "b-" + "n" * (224 - len("b-.835.x12")) + ".835.x12"
    assert len(long_name) == 224
    async with running(service):
        claims = [*first.transactions[0].claims, *later.transactions[0].claims]
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(c, first) for c in claims])
        await eventually(lambda: _count(service, "SELECT count(*) FROM known_claim", len(claims)))
        (inbound / "a-twelve-billion.835.x12").write_text(twelve_billion())
        (inbound / long_name).write_text(long_named)
        (inbound / "c-good.835.x12").write_text(good)
        await eventually(lambda: _count(service, "SELECT count(*) FROM era_file WHERE status = 'posted'", 2))
        reason = (quarantine / "a-twelve-billion.835.x12.reason.txt").read_text()
        assert reason.startswith("NumericValueOutOfRangeError (SQLSTATE 22003)") and "12000000000" not in reason
        assert not list(inbound.glob("*.x12"))

        await block(platform, platform.database("payments"), True)
        try:
            (inbound / "d-after-outage.835.x12").write_text(eras(later, 9)[0])
            await eventually(lambda: _true(paused() == 1.0), timeout=20)
            assert (inbound / "d-after-outage.835.x12").exists()  # waiting, not quarantined
        finally:
            await block(platform, platform.database("payments"), False)
        await eventually(lambda: _count(service, "SELECT count(*) FROM era_file WHERE status = 'posted'", 3))
        await eventually(lambda: _true(paused() == 0.0))
        postings = await read_topic(platform, topics.PAYMENT_POSTED, expect=1, timeout=5)
    assert sorted(p.name for p in quarantine.glob("*.x12")) == ["a-twelve-billion.835.x12"]
    assert postings  # the files behind the hostile one posted
    crashes = [r for r in caplog.records if r.getMessage() == "background loop crashed; restarting"]
    assert crashes == []


async def _count(service, sql: str, expected: int) -> bool:
    return await scalar(service, sql) >= expected


async def _true(value: bool) -> bool:
    return value


def test_the_twelve_billion_era_reads_and_balances():
    assert parse_835(twelve_billion()).remittances[0].payment.amount == TWELVE_BILLION
