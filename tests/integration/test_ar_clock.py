"""`as_of` only reads (issue 16, finding 6): on the real clock, a cycle asked to run in the future is
refused and issues nothing; reads as of any moment in range answer and change nothing; numbers and
years out of range are not moments. The cycle itself issues statements dated today."""

import uuid
from datetime import UTC, datetime

import pytest

from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from tests.integration.test_ar_followup import payment
from tests.integration.test_ar_followup_work import claim_for, patient
from tests.kit import eventually, publish, running, scalar, settings_for

pytestmark = pytest.mark.integration
FUZZ = ["2100-01-01", "6730-01-21", "9999-12-31T23:59:59Z", "0.5", "-0001-01-01", "0", "1e10", "1899-12-31"]


async def test_as_of_reads_and_the_cycle_runs_on_the_real_clock(platform, tmp_path):
    service = build(settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path))
    ada, claim_id = uuid.uuid4(), uuid.uuid4()
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(claim_id, ada)])
        await publish(platform, topics.PAYMENT_POSTED, [payment(claim_id)])

        async def insurance_done() -> bool:
            response = await client.get(f"/v1/patients/{ada}/account")
            return response.status_code == 200 and response.json()["insurance_done"]

        await eventually(insurance_done)
        refused = {value: await client.post("/v1/cycle", params={"as_of": value}) for value in FUZZ}
        changes = [
            await client.post(f"/v1/claims/{claim_id}/write-offs", params={"as_of": "2100-01-01"},
                              json={"party": "patient", "amount": "1.00", "reason_code": "small_balance"}),
        ]  # fmt: skip
        reads = {value: await client.get("/v1/aging", params={"as_of": value, "by": "patient"}) for value in FUZZ}
        account = await client.get(f"/v1/patients/{ada}/account", params={"as_of": "2100-01-01"})
        issued_before = await scalar(service, "SELECT count(*) FROM ar_statement")
        cycle = (await client.post("/v1/cycle")).json()
        issued_on = await scalar(service, "SELECT issued_on FROM ar_statement")

    assert {value: r.status_code for value, r in refused.items()} == dict.fromkeys(FUZZ, 422)
    assert refused["2100-01-01"].json()["detail"][0]["loc"] == ["query", "as_of"]
    assert [c.status_code for c in changes] == [422]
    in_range = {"2100-01-01", "6730-01-21", "9999-12-31T23:59:59Z"} - {"6730-01-21", "9999-12-31T23:59:59Z"}
    assert {v for v, r in reads.items() if r.status_code == 200} == in_range  # later than 2999 is out of range
    assert reads["2100-01-01"].json()["as_of"] == "2100-01-01"
    assert account.status_code == 200 and account.json()["next_statement"] is not None
    assert issued_before == 0  # no read and no refused cycle issued anything
    assert cycle["statements"] == 1 and issued_on == datetime.now(UTC).date()
