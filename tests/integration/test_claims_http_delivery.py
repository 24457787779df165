"""The claims service delivering to an HTTP clearinghouse (a real server on 127.0.0.1): while the
clearinghouse fails, the batch stays undelivered and nothing is announced; the next loop hands the
same interchange over again under the same idempotency key, and only then is it claim.submitted."""

import json

import pytest

from services.claims.app import build
from services.claims.settings import ClaimsSettings
from shared.contracts import topics
from tests.integration.test_claims import coded_event, patient_event
from tests.kit import eventually, publish, read_topic, running, scalar, settings_for
from tests.unit.claims.clearinghouse_server import clearinghouse_server
from x12.validate import validate_x12

pytestmark = pytest.mark.integration


async def test_a_failing_clearinghouse_leaves_the_batch_undelivered_until_a_later_loop_succeeds(platform):
    patient = patient_event(70)
    with clearinghouse_server(fail_first=10_000) as server:
        service = build(
            settings_for(
                platform,
                ClaimsSettings,
                "claims",
                batch_interval_seconds=0.1,
                clearinghouse_mode="http",
                clearinghouse_url=server.url,
                clearinghouse_attempts=2,
                clearinghouse_backoff_seconds=0.01,
            )
        )
        async with running(service):
            await publish(platform, topics.PATIENT_REGISTERED, [patient])
            await publish(platform, topics.ENCOUNTER_CODED, [coded_event(70, patient.data.patient_id)])
            await eventually(lambda: _calls(server, 4))  # two loops, each retried, all failed
            assert await scalar(service, "SELECT status FROM submission_batch") == "rendered"
            assert await scalar(service, "SELECT status FROM claim") == "batched"
            assert await scalar(service, "SELECT count(*) FROM outbox") == 0
            server.fail_first = len(server.calls)  # the clearinghouse recovers
            [submitted] = await read_topic(platform, topics.CLAIM_SUBMITTED, expect=1)
            await eventually(lambda: _delivered(service))
            control_number = await scalar(service, "SELECT interchange_control_number FROM submission_batch")
    claim = json.loads(submitted.value)
    assert claim["encounter_id"] == "ENC-C70" and claim["interchange_control_number"] == control_number
    assert len(server.accepted) == 1
    assert {c.headers["Idempotency-Key"] for c in server.calls} == {f"{control_number:09d}"}
    assert len({c.body for c in server.calls}) == 1  # the same interchange every time
    assert validate_x12(server.accepted[0].body) == []
    assert not list((platform.clearinghouse_dir / "outbound").glob("*.x12"))


async def _delivered(service) -> bool:
    return await scalar(service, "SELECT status FROM submission_batch") == "delivered"


async def _calls(server, count: int) -> bool:
    return len(server.calls) >= count
