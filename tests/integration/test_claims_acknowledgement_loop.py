"""Claims' acknowledgement loop never stops on one file and never loses one to an outage: a 999
whose name is 224 characters (longer than the column that records it) is applied and the files
behind it follow; while the claims database refuses connections the loop pauses, the waiting file
stays in inbound/ (neither quarantined nor marked received), and it is applied once the database
is back."""

import logging

import pytest
from prometheus_client import REGISTRY

from services.claims.app import build
from services.claims.settings import ClaimsSettings
from tests.integration.test_infrastructure_pauses import block
from tests.kit import eventually, running, scalar, settings_for
from x12.samples import sample_interchange
from x12.x999 import render_999

pytestmark = pytest.mark.integration


def a_999(control_number: int) -> str:
    return render_999(sample_interchange(control_number=control_number))


def paused() -> float | None:
    labels = {"topic": "inbound/999+277", "consumer": "claims.read-acknowledgements"}
    return REGISTRY.get_sample_value("rcm_consumer_paused", labels)


async def test_a_long_named_999_and_an_outage_neither_stop_nor_lose_acknowledgements(platform, caplog):
    caplog.set_level(logging.ERROR, logger="shared.service")
    service = build(settings_for(platform, ClaimsSettings, "claims", ack_poll_seconds=0.1))
    inbound = platform.clearinghouse_dir / "inbound" / "999"
    processed = platform.clearinghouse_dir / "processed" / "999"
    long_name = "a-" + "n" * (224 - len("a-.x12")) + ".x12"
    inbound.mkdir(parents=True, exist_ok=True)
    async with running(service):
        (inbound / long_name).write_text(a_999(41))
        (inbound / "b-next.x12").write_text(a_999(42))
        await eventually(lambda: _files(service, 2))
        assert sorted(p.name for p in processed.iterdir()) == sorted([long_name, "b-next.x12"])

        await block(platform, platform.database("claims"), True)
        try:
            (inbound / "c-during-the-outage.x12").write_text(a_999(43))
            await eventually(lambda: _true(paused() == 1.0), timeout=20)
            assert (inbound / "c-during-the-outage.x12").exists()
        finally:
            await block(platform, platform.database("claims"), False)
        await eventually(lambda: _files(service, 3))
        await eventually(lambda: _true(paused() == 0.0))
    assert not list((platform.clearinghouse_dir / "quarantine" / "999").glob("*.x12"))
    crashes = [r for r in caplog.records if getattr(r, "loop", None) == "read_acknowledgements"]
    assert crashes == []


async def _files(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM ack_file WHERE status = 'applied'") >= count


async def _true(value: bool) -> bool:
    return value
