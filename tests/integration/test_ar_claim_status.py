"""A/R asks for the status of a claim with no answer (276) and reads the payer's 277 back into the
claim's no-response work item; the simulator's desk answers; a stray 277 is quarantined, not read."""

import asyncio
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from payer_simulator.claim_status import ClaimStatusDesk, StatusBook
from services.ar_followup import db
from services.ar_followup.app import build
from services.ar_followup.settings import ArSettings
from shared.contracts import topics
from shared.envelope import Event
from tests.integration.test_ar_followup_work import claim_for, patient
from tests.kit import eventually, publish, running, settings_for
from x12.x276 import parse_276

pytestmark = pytest.mark.integration


async def test_no_response_claim_gets_a_276_and_the_277_lands_on_its_work_item(platform, tmp_path):
    clearinghouse = platform.clearinghouse_dir
    settings = settings_for(
        platform,
        ArSettings,
        "ar_followup",
        ar_statements_dir=tmp_path / "statements",
        ar_now=datetime(2026, 11, 25, tzinfo=UTC),
    )
    ada, claim_id = uuid.uuid4(), uuid.uuid4()
    # a control number not made from the claim id: the 276 names the one claims sent, as A/R kept it
    data = claim_for(claim_id, ada).data.model_copy(update={"patient_control_number": "ADA20261102X1"})
    submitted = Event(data, str(claim_id), "/test/claims", str(uuid.uuid4()))
    async with running(build(settings)) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [submitted])

        async def known():
            response = await client.get(f"/v1/claims/{claim_id}")
            account = await client.get(f"/v1/patients/{ada}/account")
            return response.status_code == 200 and account.status_code == 200

        await eventually(known)
        assert (await client.post("/v1/cycle")).json()["status_requests"] == 0  # not late yet
        late = (await client.post("/v1/cycle", params={"as_of": "2026-12-10T12:00:00Z"})).json()
        assert (late["no_response"], late["status_requests"]) == (1, 1)
        [sent] = list((clearinghouse / "claim-status" / "outbound").glob("*.276.x12"))
        _, request = parse_276(sent.read_text())
        assert (request.patient_control_number, request.member_id, request.payer.identifier) == (
            "ADA20261102X1",
            "M1",
            "SIMBC",
        )
        again = (await client.post("/v1/cycle", params={"as_of": "2026-12-11T12:00:00Z"})).json()
        assert again["status_requests"] == 0  # still waiting for the answer: not asked twice

        desk = ClaimStatusDesk(clearinghouse, StatusBook(tmp_path / "payer.sqlite"))  # it never saw the claim
        desk.run(threading.Event(), once=True)
        (desk.inbound / "stray.277.x12").write_text("ISA*nonsense~")
        read = (await client.post("/v1/cycle", params={"as_of": "2026-12-12T12:00:00Z"})).json()
        assert (read["status_answers"], read["status_requests"]) == (1, 0)

        [item] = (await client.get("/v1/work-queue", params={"kind": "no_response"})).json()["items"]
        assert item["claim_id"] == str(claim_id)
        assert "277 A4:35 the payer has no such claim" in item["reason"]
        quarantine = clearinghouse / "claim-status" / "quarantine"
        assert (quarantine / "stray.277.x12").exists() and (quarantine / "stray.277.x12.reason.txt").exists()
        assert list((clearinghouse / "claim-status" / "processed").glob("*.277.x12"))
        assert not list(desk.inbound.glob("*.x12"))
        # two weeks after the answer the payer is asked again
        later = (await client.post("/v1/cycle", params={"as_of": "2026-12-27T12:00:00Z"})).json()
        assert later["status_requests"] == 1


class RolledBack(Exception):
    pass


async def test_a_276_is_written_only_once_its_request_has_committed_and_only_once(platform, tmp_path):
    settings = settings_for(
        platform,
        ArSettings,
        "ar_followup",
        ar_statements_dir=tmp_path / "statements",
        ar_now=datetime(2026, 12, 10, 12, tzinfo=UTC),
    )
    service = build(settings)
    desk, now = service.deps.status_desk, settings.now()
    ada, claim_id = uuid.uuid4(), uuid.uuid4()
    async with running(service) as client:
        await publish(platform, topics.PATIENT_REGISTERED, [patient(ada, secondary=False)])
        await publish(platform, topics.CLAIM_SUBMITTED, [claim_for(claim_id, ada)])
        await eventually(lambda: _known(client, claim_id, ada))
        files = lambda: sorted(p.name for p in desk.outbound.glob("*.276.x12")) if desk.outbound.is_dir() else []

        async def ask() -> int:
            async with service.sessions() as session, session.begin():
                claim = await session.get(db.ArClaim, claim_id)
                return await desk.request(session, [claim], now)

        with pytest.raises(RolledBack):  # the cycle's transaction fails after the request was made
            async with service.sessions() as session, session.begin():
                assert await desk.request(session, [await session.get(db.ArClaim, claim_id)], now) == 1
                raise RolledBack
        assert await desk.write_pending(service.sessions, now) == 0 and files() == []

        assert await ask() == 1
        assert files() == []  # recorded with the transaction; nothing written before it committed
        first, second = await asyncio.gather(
            desk.write_pending(service.sessions, now), desk.write_pending(service.sessions, now)
        )
        [name] = files()
        assert first + second == 1
        [row] = await _requests(service)
        assert (row.file_name, row.written_at, row.document) == (name, now, None)
        parse_276((desk.outbound / name).read_text())
        (desk.outbound / name).unlink()  # the clearinghouse took it
        assert await desk.write_pending(service.sessions, now) == 0 and files() == []
        assert await ask() == 0  # waiting for the answer: not asked again


async def _known(client, claim_id, patient_id) -> bool:
    claim = await client.get(f"/v1/claims/{claim_id}")
    account = await client.get(f"/v1/patients/{patient_id}/account")
    return claim.status_code == 200 and account.status_code == 200


async def _requests(service) -> list:
    async with service.sessions() as session:
        return (await session.execute(select(db.StatusRequest))).scalars().all()
