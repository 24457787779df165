"""The whole cycle with every service as a separate process, the payer simulator answering, and
services killed without warning mid-stream: every encounter ends exactly once, either rejected
at coding or in a balanced A/R record, and the money agrees across services to the cent."""

import asyncio
import json
import re
import time
from decimal import Decimal

import httpx
import pytest

from rcmctl import sample
from rcmctl.ehr import publish_encounters, register_patients
from services.claims.domain.practice import load_chargemaster
from services.coding.domain.validation import check_encounter
from shared.contracts import check
from shared.contracts.topics import EVENT_TOPICS, dead_letter_topic
from tests.kit import read_topic

pytestmark = pytest.mark.e2e
ENCOUNTERS = 400
# The topics the cycle must produce: the contract check must have read records on each of them.
CYCLE_TOPICS = ("patient.registered", "encounter.documented", "encounter.coded", "claim.submitted", "payment.posted")


def get(platform, service: str, path: str) -> dict:
    with platform.client(service) as client:
        return client.get(path).raise_for_status().json()


def finished(platform) -> int:
    """Encounters at their end: rejected at coding, or billed on a claim the payer has answered
    (one claim bills a patient's encounters of one date and provider). Read in the cycle's order
    (billed encounters, then submitted claims, then A/R): a batch delivered between two reads can
    then only make it wait longer, never count encounters whose claims A/R has not seen."""
    rejected = get(platform, "coding", "/v1/stats").get("rejected", 0)
    billed = get(platform, "claims", "/v1/stats/encounters").get("submitted", 0)
    submitted = get(platform, "claims", "/v1/stats").get("submitted", 0)
    ar = get(platform, "ar_followup", "/v1/summary")["by_status"]
    adjudicated = sum(ar.get(s, 0) for s in ("paid", "partially_paid", "denied"))
    return rejected + (billed if submitted and adjudicated >= submitted else 0)


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def test_every_encounter_ends_once_and_balanced_even_when_services_are_killed(platform):
    platform.start_all()
    await asyncio.to_thread(platform.wait_ready)
    patient_ids = await register_patients(platform, sample.patients(60, seed=21))
    visits = sample.encounters(patient_ids, ENCOUNTERS, faulty_rate=0.05, seed=23)
    await publish_encounters(platform, visits[: ENCOUNTERS // 2])

    def some_claims_submitted() -> bool:
        return get(platform, "claims", "/v1/stats").get("submitted", 0) > 0

    await wait_until(some_claims_submitted, 60, "the first claims")
    # kill -9 in the middle of the stream, then bring them back
    for name in ("coding", "claims", "payments"):
        platform.stop(name, kill=True)
    await publish_encounters(platform, visits[ENCOUNTERS // 2 :])
    for name in ("coding", "claims", "payments"):
        platform.start(name)
    await asyncio.to_thread(platform.wait_ready)
    await wait_until(lambda: finished(platform) >= ENCOUNTERS, 240, "every encounter to finish")
    await asyncio.sleep(2)  # anything doubled would show up now

    today = visits[0].date_of_service.today()
    valid = [v for v in visits if not check_encounter(v, today)]
    chargemaster = load_chargemaster()
    expected_charge = sum(chargemaster[p.code] * p.units for v in valid for p in v.procedures)

    coding = get(platform, "coding", "/v1/stats")
    claims = get(platform, "claims", "/v1/stats")
    ar = get(platform, "ar_followup", "/v1/summary")
    payments = get(platform, "payments", "/v1/stats")
    assert coding == {"coded": len(valid), "rejected": ENCOUNTERS - len(valid)}
    assert get(platform, "claims", "/v1/stats/encounters") == {"submitted": len(valid)}
    assert list(claims) == ["submitted"] and ar["claims"] == claims["submitted"]
    # Each valid encounter is billed on exactly one claim, with only its patient's encounters of that
    # date and provider; encounters arriving together share a claim (the first half surely did).
    submitted = [
        json.loads(r.value)
        for r in await read_topic(platform, "claim.submitted", expect=claims["submitted"], timeout=10, settle=1.0)
    ]
    billed = [encounter for claim in submitted for encounter in claim["encounter_ids"]]
    assert sorted(billed) == sorted(v.encounter_id for v in valid)
    visit = {v.encounter_id: v for v in valid}
    for claim in submitted:
        together = [visit[e] for e in claim["encounter_ids"]]
        assert len({(v.patient_id, v.date_of_service, v.rendering_provider.npi) for v in together}) == 1
    assert len(submitted) < len(valid)
    assert Decimal(ar["charged"]) == expected_charge
    assert Decimal(ar["insurance_balance"]) == 0
    assert Decimal(ar["charged"]) == (
        Decimal(ar["paid"]) + Decimal(ar["adjusted"]) + Decimal(ar["patient_responsibility"])
    )
    assert Decimal(ar["paid"]) == Decimal(payments["total_posted"])
    assert payments["claim_payments"] == {"posted": claims["submitted"]}

    # Every claim went to the payer in exactly one interchange that the payer processed.
    archive = platform.clearinghouse_dir / "archive"
    claim_numbers = re.findall(r"~\s*CLM\*([A-Z0-9]+)\*", "".join(p.read_text() for p in archive.glob("*.x12")))
    assert len(claim_numbers) == len(set(claim_numbers)) == claims["submitted"]

    # A normal run dead-letters nothing.
    for topic in EVENT_TOPICS:
        assert await read_topic(platform, dead_letter_topic(topic), expect=0, timeout=0.5, settle=0.5) == []

    # What an outside consumer sees: every record of every topic is what the published schemas and
    # AsyncAPI headers say, kills and restarts included, and the cycle's topics were all read.
    found = await check.read_deployment(platform.stack.kafka_bootstrap, platform.namespace)
    print(f"contract check: {found.line()}")
    assert dict(found.violations) == {}, "\n".join(check.details(found.violations))
    assert found.without_records(CYCLE_TOPICS) == []
    assert found.records["encounter.documented"] >= ENCOUNTERS
    assert found.records["encounter.rejected"] >= ENCOUNTERS - len(valid)
    assert found.records["payment.posted"] >= claims["submitted"]


def test_services_refuse_api_calls_without_a_key(platform):
    platform.start("registration")
    platform.wait_ready(("registration",))
    url = platform.url("registration")
    assert httpx.get(f"{url}/v1/patients/00000000-0000-0000-0000-000000000000").status_code == 401
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert "rcm_outbox_backlog" in httpx.get(f"{url}/metrics").text
