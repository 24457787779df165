"""The analysts' example (docs/analytics) on the real topics: the payments service posts the 835 of
every case and a patient payment; the example reads claim.submitted, payment.posted and
patient-payment.posted into DuckDB and the KPIs (the shared definition) are the ones worked out by
hand from the file."""

import importlib.util
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.payments.app import build
from services.payments.settings import PaymentsSettings
from shared.contracts import topics
from tests.integration.test_payments_cases import CLAIMS, ERA, PATIENT, submitted
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for

pytestmark = pytest.mark.integration
D = Decimal
EXAMPLE = Path(__file__).parents[2] / "docs" / "analytics" / "payment_posted_duckdb.py"


def example():
    spec = importlib.util.spec_from_file_location("payment_posted_duckdb", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_analysts_example_computes_the_kpis_from_the_topic(platform, tmp_path):
    service = build(settings_for(platform, PaymentsSettings, "payments", era_poll_seconds=0.1))
    async with running(service) as client:
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted(p) for p in CLAIMS])
        await eventually(lambda: _known(service, len(CLAIMS)))
        shutil.copy(ERA, platform.clearinghouse_dir / "inbound" / "835" / "every-case.835.x12")
        await read_topic(platform, topics.PAYMENT_POSTED, expect=12, settle=0)
        paid = await client.post(f"/v1/patients/{PATIENT}/payments", json={"amount": "50.00", "method": "cash"})
        assert paid.status_code == 201
        await read_topic(platform, topics.PATIENT_PAYMENT_POSTED, expect=1, settle=0)

    module = example()
    analytics = module.Analytics(str(tmp_path / "rcm.duckdb"))
    bootstrap = platform.stack.kafka_bootstrap
    # 11 claim.submitted, 12 payment.posted, 1 patient-payment.posted
    assert await module.consume(analytics, bootstrap, platform.namespace, idle_seconds=2) == 24
    # Loading the topics again changes nothing: ce_id is the key.
    assert await module.consume(analytics, bootstrap, platform.namespace, idle_seconds=2) == 24
    queries = analytics.queries()
    # 11 claims (PCNH1 reversed and corrected counts once); paid 150+25+10+0+80+40+0-80+90+0+110+72.
    assert queries["collections_by_payer"] == [("SIMBC", "SIM BLUE PLAN", 11, D("497.00"))]
    # Each charge once: every posting is of an original claim here, PCNH1's reversal takes one back.
    assert queries["charges_once"] == [(D("1165.00"),)]
    today = date.today()
    kpis = analytics.kpis(today, today, today)
    assert kpis["period"]["claims"] == 11 and kpis["clean_claim_rate"] == "100.0"
    # Refused by the claim's own payer: PCND1 (CLP02 4, CARC 50), PCNI1 (CO-109) and PCNJ1's line (CO-97);
    # OA-23 (the prior payer's adjudication) on PCNB1, C1, F1 and G1 is coordination of benefits, no denial.
    assert kpis["denial_rate"] == "27.3" and kpis["first_pass_resolution_rate"] == "72.7"
    assert kpis["denial_rate_by_reason"] == {"109": "9.1", "50": "9.1", "97": "9.1"}
    # (497 + 50 from the patient) / (the claims' charges 1265 - contractual 373): PCNH1 is charged its 100
    # once, whatever its postings say.
    assert kpis["net_collection_rate"] == "61.3"
    assert analytics.con.execute("SELECT count(*) FROM posting WHERE outcome = 'reversed'").fetchone() == (1,)


async def _known(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM known_claim") >= count
