"""Eligibility 270/271 through the clearinghouse directory, answered by the payer simulator's desk."""

import asyncio
import json
import threading
import uuid
from pathlib import Path

import pytest

from payer_simulator.domain.contracts import load_contracts
from payer_simulator.eligibility import EligibilityDesk
from rcmctl.sample import patients
from services.registration.app import build
from shared.contracts import topics
from shared.settings import ServiceSettings
from tests.kit import eventually, read_topic, running, settings_for

pytestmark = pytest.mark.integration


async def test_270_out_271_back_stored_published_and_inactive_flagged(platform):
    settings = settings_for(platform, ServiceSettings, "registration")
    service = build(settings)
    active, lapsed = patients(2, seed=21)
    lapsed["coverages"][0]["member_id"] = "TERM-4410"
    active["coverages"].append(
        {
            "rank": "secondary",
            "payer_id": "SIMMCD",
            "payer_name": "SIM STATE MEDICAID",
            "member_id": "MCD-1",
            "effective_date": "2024-01-01",
        }
    )
    desk = EligibilityDesk(platform.clearinghouse_dir, load_contracts())
    stop = threading.Event()
    simulator = threading.Thread(target=desk.run, args=(stop, 0.05), daemon=True)
    simulator.start()
    try:
        async with running(service) as client:
            ids = [(await client.post("/v1/patients", json=body)).json()["patient_id"] for body in (active, lapsed)]
            (desk.root / "inbound" / "garbage.271.x12").write_text("ISA*this is not x12~")
            checks = [await client.post(f"/v1/patients/{pid}/eligibility", json={"rank": "primary"}) for pid in ids]
            refused = await client.post(f"/v1/patients/{ids[0]}/eligibility", json={"rank": "secondary"})
            missing = await client.post(f"/v1/patients/{ids[1]}/eligibility", json={"rank": "tertiary"})
            unknown = await client.post(f"/v1/patients/{uuid.uuid4()}/eligibility", json={})
            wrong = await client.post(f"/v1/patients/{ids[0]}/eligibility", json={"rank": 3, "service_date": "soon"})

            async def answered():
                results = [(await client.get(f"/v1/eligibility/{c.json()['check_id']}")).json() for c in checks]
                return results if all(r["status"] == "answered" for r in results) else None

            results = await eventually(answered, timeout=30)
            lapsed_patient = (await client.get(f"/v1/patients/{ids[1]}")).json()
            published = [json.loads(r.value) for r in await read_topic(platform, topics.ELIGIBILITY_CHECKED, expect=2)]
    finally:
        stop.set()
        await asyncio.to_thread(simulator.join, 5)
    assert [c.status_code for c in checks] == [202, 202]
    assert (refused.status_code, missing.status_code, unknown.status_code, wrong.status_code) == (409, 404, 404, 422)
    assert [r["active"] for r in results] == [True, False]
    by_patient = {e["patient_id"]: e for e in published}
    assert len(published) == 2
    good = by_patient[ids[0]]
    assert (good["copay"], good["deductible_remaining"], good["coinsurance_percent"]) == ("25.00", "500.00", "20.00")
    assert by_patient[ids[1]]["active"] is False and by_patient[ids[1]]["copay"] is None
    assert lapsed_patient["eligibility"]["primary"]["active"] is False
    assert "member_id" not in json.dumps(published)  # the event carries no identifiers but the patient id
    assert (desk.root / "rejected" / "garbage.271.x12.reason.txt").exists()
    sent = sorted(p.name for p in (desk.root / "archive").glob("*.270.x12"))
    assert sent == sorted(f"{c.json()['check_id']}.270.x12" for c in checks)


CORPUS_271 = Path(__file__).resolve().parents[1] / "conformance" / "valid" / "271"


async def test_a_271_that_rejects_the_request_ends_the_check_with_that_answer(platform):
    """AAA at 2100B (the payer refused the request whole: no member level, no trace; the 270's BHT03 is
    echoed) and AAA at 2100C (this member is not found) both answer their pending check, rejected."""
    settings = settings_for(platform, ServiceSettings, "registration")
    service = build(settings)
    inbound = platform.clearinghouse_dir / "eligibility" / "inbound"
    async with running(service) as client:
        ids = [(await client.post("/v1/patients", json=body)).json()["patient_id"] for body in patients(2, seed=33)]
        checks = [await client.post(f"/v1/patients/{pid}/eligibility", json={"rank": "primary"}) for pid in ids]
        receiver, member = (uuid.UUID(c.json()["check_id"]).hex for c in checks)
        refused = (CORPUS_271 / "lfh-subscriber-health-benefit-check-error.x12").read_text()
        not_found = (CORPUS_271 / "written-aaa-subscriber-not-found.x12").read_text()
        inbound.mkdir(parents=True, exist_ok=True)
        (inbound / "refused.271.x12").write_text(refused.replace("BHT*0022*11*10001234*", f"BHT*0022*11*{receiver}*"))
        (inbound / "not-found.271.x12").write_text(not_found.replace("TRN*2*TRACE0001*", f"TRN*2*{member}*"))

        async def answered():
            results = [(await client.get(f"/v1/eligibility/{c.json()['check_id']}")).json() for c in checks]
            return results if all(r["status"] == "answered" for r in results) else None

        results = await eventually(answered, timeout=30)
        published = [json.loads(r.value) for r in await read_topic(platform, topics.ELIGIBILITY_CHECKED, expect=2)]
    assert [r["active"] for r in results] == [False, False]
    codes = {e["check_id"]: e["rejection_code"] for e in published}
    assert codes == {checks[0].json()["check_id"]: "50", checks[1].json()["check_id"]: "75"}
