"""Every service as a process, the payer simulator answering. An EHR bills three visits, then
corrects one (version 2: one more diagnosis and a lab line) and voids another (version 2,
entered in error) after the payer paid them; the third patient's secondary payer is billed too.
The correction ends in a replacement claim (frequency 7) and the void in a void claim (8), each
ledger balanced to the cent; the analysts' example and A/R's /v1/kpis agree on every KPI over the
run; and every record of every topic is valid against its published schema."""

import asyncio
import importlib.util
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from payer_simulator.domain.adjudication import denial_reason
from rcmctl.ehr import publish_encounters, register_patients
from services.claims.domain.assembly import claim_id_for, derived_claim_id, patient_control_number
from services.claims.domain.follow_up import revision_target
from shared.contracts import check
from tests.e2e.test_ar_scenarios import coverage, person, visit
from tests.e2e.test_cycle import get, wait_until

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parents[2] / "docs" / "analytics" / "payment_posted_duckdb.py"


def pcn(claim_id) -> str:
    return patient_control_number(claim_id)


def paid_throughout(prefix: str, *follow_ups) -> str:
    """An encounter id whose claim, and each follow-up claim made of it, no random denial touches."""

    def clean(n: int) -> bool:
        original = claim_id_for(f"{prefix}-{n}")
        return all(
            denial_reason(pcn(c)) is None for c in (original, *(make(original, f"{prefix}-{n}") for make in follow_ups))
        )

    return next(f"{prefix}-{n}" for n in range(10_000) if clean(n))


def ledger(platform, claim_id) -> dict:
    with platform.client("ar_followup") as client:
        response = client.get(f"/v1/claims/{claim_id}")
    return response.json() if response.status_code == 200 else {}


def money(ledger_view: dict) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in ledger_view["balances"].items()}


def balanced(view: dict[str, Decimal]) -> bool:
    return (
        view["charge"] == view["paid"] + view["adjusted"] + view["patient_responsibility"] + view["insurance_balance"]
    )


@pytest.fixture
async def running(platform, tmp_path):
    platform.extra_env["RCM_AR_STATEMENTS_DIR"] = str(tmp_path / "statements")
    platform.start_all()
    await asyncio.to_thread(platform.wait_ready)
    return platform


async def test_an_ehrs_correction_and_void_of_billed_visits_end_in_balanced_ledgers(running):
    platform = running
    primary_only = [coverage("primary", "SIMAETNA", "SIMULATED CARE PLAN", "SIM100200300")]
    with_secondary = [
        coverage("primary", "SIMAETNA", "SIMULATED CARE PLAN", "SIM400500600"),
        coverage("secondary", "SIMMCD", "SIM STATE MEDICAID", "SIM700800900"),
    ]
    people = [person("MRN-EHR-1", primary_only), person("MRN-EHR-2", primary_only), person("MRN-EHR-3", with_secondary)]
    ada, ben, cy = await register_patients(platform, people)
    corrected = paid_throughout("ENC-EHR-FIX", lambda c, e: revision_target(c, e, 2))
    voided = paid_throughout("ENC-EHR-VOID")
    cob = paid_throughout("ENC-EHR-COB", lambda c, e: derived_claim_id(c, "secondary"))
    first = [
        visit(corrected, ada, ["E11.9"], ["99213"]),
        visit(voided, ben, ["I10"], ["99213"]),
        visit(cob, cy, ["E11.9", "I10"], ["99214", "83036"]),
    ]
    await publish_encounters(platform, first)

    def all_paid() -> bool:
        statuses = [ledger(platform, claim_id_for(e.encounter_id)).get("status") for e in first]
        return statuses == ["paid"] * 3 and get(platform, "claims", "/v1/stats").get("submitted", 0) == 4

    await wait_until(all_paid, 180, "the three visits and the secondary to be paid")
    before = money(ledger(platform, claim_id_for(corrected)))

    fix = {
        "version": 2,
        "action": "correct",
        "diagnoses": [{"code": "E11.9"}, {"code": "E78.5"}],
        "procedures": [{"code": "99213", "diagnosis_pointers": [1]}, {"code": "80061", "diagnosis_pointers": [2]}],
    }
    correction = type(first[0]).model_validate(first[0].model_dump() | fix)
    void = type(first[1]).model_validate(first[1].model_dump() | {"version": 2, "action": "void"})
    await publish_encounters(platform, [correction, void])

    def revised() -> bool:
        fixed = ledger(platform, claim_id_for(corrected))
        gone = ledger(platform, claim_id_for(voided))
        return (
            get(platform, "claims", "/v1/stats").get("submitted", 0) == 6
            and fixed.get("status") == "paid"
            and money(fixed)["charge"] != before["charge"]
            and gone.get("status") is not None
            and money(gone)["paid"] == 0
        )

    await wait_until(revised, 180, "the replacement to be paid and the void to take the payment back")
    fixed = money(ledger(platform, claim_id_for(corrected)))
    gone = money(ledger(platform, claim_id_for(voided)))
    assert balanced(fixed) and fixed["insurance_balance"] == 0 and fixed["paid"] > 0
    assert fixed["charge"] > before["charge"]  # the lipid panel is billed too
    assert balanced(gone) and all(value == 0 for value in gone.values()), gone
    replacement = get(platform, "claims", f"/v1/claims/{revision_target(claim_id_for(corrected), corrected, 2)}")
    void_claim = get(platform, "claims", f"/v1/claims/{revision_target(claim_id_for(voided), voided, 2)}")
    assert (replacement["kind"], replacement["status"]) == ("replacement", "submitted")
    assert (void_claim["kind"], void_claim["status"]) == ("void", "submitted")

    # The analysts' example and A/R agree on every KPI of the run (secondary, replacement and void included).
    today = date.today()
    query = f"/v1/kpis?start={today - timedelta(days=30)}&end={today}"
    from_ar = get(platform, "ar_followup", query)
    spec = importlib.util.spec_from_file_location("payment_posted_duckdb", EXAMPLE)
    analytics_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(analytics_module)
    analytics = analytics_module.Analytics()
    await analytics_module.consume(analytics, platform.stack.kafka_bootstrap, platform.namespace, idle_seconds=3)
    from_topics = analytics.kpis(today - timedelta(days=30), today, today)
    assert from_topics == from_ar
    assert from_ar["period"]["claims"] == 3 and from_ar["net_collection_rate"] is not None

    # Every record of every topic is what the published schemas say.
    read, violations = await check.check_deployment(platform.stack.kafka_bootstrap, platform.namespace, 3.0)
    assert read > 20 and dict(violations) == {}
