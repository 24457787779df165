"""The analysts' example (docs/analytics) on the real topic: the payments service posts the 835 of
every case and a patient payment; the example reads payment.posted and patient-payment.posted into
DuckDB and its KPIs are the ones worked out by hand from the file."""

import importlib.util
import shutil
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

    analytics = example()
    con = analytics.connect(str(tmp_path / "rcm.duckdb"))
    assert await analytics.consume(con, platform.stack.kafka_bootstrap, platform.namespace, idle_seconds=2) == 13
    # Loading the topic again changes nothing: ce_id is the key.
    assert await analytics.consume(con, platform.stack.kafka_bootstrap, platform.namespace, idle_seconds=2) == 13
    kpis = analytics.kpis(con)
    # 11 claims (PCNH1 reversed and corrected counts once); paid 150+25+10+0+80+40+0-80+90+0+110+72.
    assert kpis["collections_by_payer"] == [("SIMBC", "SIM BLUE PLAN", 11, D("497.00"))]
    # One denied claim (PCND1, CARC 50) of 11 adjudicated.
    assert kpis["denial_rate_by_carc"] == [("50", 1, pytest.approx(1 / 11, abs=1e-4))]
    # (497 + 50 from the patient) / (charges 1165 - contractual 373)
    assert kpis["net_collection_rate"] == [(pytest.approx(547 / 792, abs=1e-4),)]
    assert con.execute("SELECT count(*) FROM posting WHERE outcome = 'reversed'").fetchone() == (1,)


async def _known(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM known_claim") >= count
