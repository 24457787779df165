"""Two processes of every service, as the chart's replicas run: they join their consumer groups and
share the partitions, their outbox relays share the outbox, the two payments read one clearinghouse
folder. The cycle still ends once and balanced: nothing processed twice, nothing lost, and each
replica of each consuming service did part of the work."""

import asyncio
import re
from decimal import Decimal

import httpx
import pytest

from rcmctl import sample
from rcmctl.ehr import publish_encounters, register_patients
from services import NAMES
from services.coding.domain.validation import check_encounter
from shared.contracts.topics import EVENT_TOPICS, dead_letter_topic
from tests.e2e.test_cycle import finished, get, wait_until
from tests.kit import read_topic

pytestmark = pytest.mark.e2e
ENCOUNTERS = 300
CONSUMING = ("coding", "claims", "payments", "ar_followup")


def counted(platform, process: str, metric: str) -> float:
    """The sum of one counter's samples on one process's /metrics."""
    text = httpx.get(f"{platform.url(process)}/metrics", timeout=10).text
    return sum(float(value) for value in re.findall(rf"^{metric}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE))


async def test_two_replicas_of_every_service_share_the_work_and_the_cycle_balances(platform):
    platform.replicas = {name: 2 for name in NAMES}
    platform.start_all()
    await asyncio.to_thread(platform.wait_ready)
    # The first relay to start holds every outbox slot; within two rebalances (10 s each) it has given
    # the other replica its half.
    await asyncio.sleep(21)
    patient_ids = await register_patients(platform, sample.patients(60, seed=31))
    visits = sample.encounters(patient_ids, ENCOUNTERS, faulty_rate=0.05, seed=33)
    await publish_encounters(platform, visits)
    await wait_until(lambda: finished(platform) >= ENCOUNTERS, 300, "every encounter to finish")
    await asyncio.sleep(2)  # anything doubled would show up now

    valid = [v for v in visits if not check_encounter(v, visits[0].date_of_service.today())]
    coding = get(platform, "coding", "/v1/stats")
    claims = get(platform, "claims", "/v1/stats")
    ar = get(platform, "ar_followup", "/v1/summary")
    payments = get(platform, "payments", "/v1/stats")
    assert coding == {"coded": len(valid), "rejected": ENCOUNTERS - len(valid)}
    assert get(platform, "claims", "/v1/stats/encounters") == {"submitted": len(valid)}
    assert list(claims) == ["submitted"] and ar["claims"] == claims["submitted"]
    assert payments["claim_payments"] == {"posted": claims["submitted"]}
    assert Decimal(ar["insurance_balance"]) == 0 and Decimal(ar["paid"]) == Decimal(payments["total_posted"])
    assert Decimal(ar["charged"]) == Decimal(ar["paid"]) + Decimal(ar["adjusted"]) + Decimal(
        ar["patient_responsibility"]
    )
    for topic in EVENT_TOPICS:
        assert await read_topic(platform, dead_letter_topic(topic), expect=0, timeout=0.5, settle=0.5) == []

    shares = {
        process: counted(platform, process, "rcm_messages_consumed_total")
        for name in CONSUMING
        for process in (name, f"{name}.2")
    }
    assert all(share > 0 for share in shares.values()), shares
    published = {
        process: counted(platform, process, "rcm_messages_published_total") for process in ("coding", "coding.2")
    }
    assert all(share > 0 for share in published.values()), published  # the relays share the outbox too
    # Each 835 is read by one replica (a lease per file), not parsed by both.
    read = {process: counted(platform, process, "rcm_era_files_read_total") for process in ("payments", "payments.2")}
    eras = list((platform.clearinghouse_dir / "processed" / "835").glob("*.x12"))
    assert eras and sum(read.values()) == len(eras), (read, len(eras))
