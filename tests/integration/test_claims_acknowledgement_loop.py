"""Claims' acknowledgement loop never stops on one file and never loses one to an outage: a 999
whose name is 224 characters (longer than the column that records it) is applied and the files
behind it follow; while the claims database refuses connections the loop pauses, the waiting file
stays in inbound/ (neither quarantined nor marked received), and it is applied once the database
is back. Files waiting together are applied in one transaction; one of them that the database refuses
on its own is quarantined alone and the others are applied. A file another replica is applying
is left to it: this one applies the others, and takes the file up only once the other lets go."""

import hashlib
import logging

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.claims import db
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


# A fault of one file's own, raised by the real database: its ack_file row is refused.
REFUSE_POISON = [
    (
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.status = 'applied' AND NEW.file_name LIKE '%poison%' THEN"
        " RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"
    ),
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON ack_file FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
]


async def test_files_waiting_together_share_a_transaction_and_one_at_fault_is_quarantined_alone(platform):
    settings = settings_for(platform, ClaimsSettings, "claims")
    folder = platform.clearinghouse_dir / "inbound" / "999"
    quarantine = platform.clearinghouse_dir / "quarantine" / "999"
    async with running(build(settings)):  # its tables
        pass
    for n in range(4):
        (folder / f"a-{n}.x12").write_text(a_999(50 + n))
    service = build(settings)
    async with running(service):
        await eventually(lambda: _files(service, 4))
        transactions = "SELECT count(DISTINCT xmin::text) FROM ack_file WHERE file_name LIKE 'a-%'"
        assert await scalar(service, transactions) == 1

    async with service.engine.begin() as connection:
        for statement in REFUSE_POISON:
            await connection.execute(text(statement))
    for name, number in (("b-1.x12", 60), ("b-2-poison.x12", 61), ("b-3.x12", 62)):
        (folder / name).write_text(a_999(number))
    (folder / "b-4-garbage.x12").write_text("not X12 at all")
    service = build(settings)
    async with running(service):
        await eventually(lambda: _files(service, 6))
        await eventually(lambda: _true((quarantine / "b-2-poison.x12").exists()))
        await eventually(lambda: _true((quarantine / "b-4-garbage.x12").exists()))
        (folder / "c-the-same-garbage.x12").write_text("not X12 at all")  # known by its hash: quarantined again
        await eventually(lambda: _true((quarantine / "c-the-same-garbage.x12").exists()))
    assert not list(folder.glob("*.x12"))
    processed = platform.clearinghouse_dir / "processed" / "999"
    assert sorted(p.name for p in processed.iterdir()) == [
        "a-0.x12",
        "a-1.x12",
        "a-2.x12",
        "a-3.x12",
        "b-1.x12",
        "b-3.x12",
    ]
    assert "SQLSTATE 23514" in (quarantine / "b-2-poison.x12.reason.txt").read_text()
    garbage = (quarantine / "b-4-garbage.x12.reason.txt").read_text()
    assert garbage.startswith("X12Error") and (quarantine / "c-the-same-garbage.x12.reason.txt").read_text() == garbage


async def test_a_file_another_replica_is_applying_is_left_to_it_and_the_others_are_applied(platform):
    settings = settings_for(platform, ClaimsSettings, "claims", ack_fallback_seconds=0.5)
    folder = platform.clearinghouse_dir / "inbound" / "999"
    folder.mkdir(parents=True, exist_ok=True)
    held, free = a_999(70), a_999(71)
    service = build(settings)
    async with running(service):
        sha = hashlib.sha256(held.encode()).hexdigest()
        async with service.sessions() as other_replica, other_replica.begin():  # its transaction has the file
            assert await db.take_ack_files(other_replica, [sha]) == {sha}
            (folder / "held.x12").write_text(held)
            (folder / "free.x12").write_text(free)
            await eventually(lambda: _files(service, 1))
            await eventually(lambda: _true(not (folder / "free.x12").exists()))
            assert (folder / "held.x12").exists()  # neither applied nor marked received: not ours now
            assert await scalar(service, "SELECT count(*) FROM ack_file") == 1
        # The other replica's transaction ended without applying it (it gave up): the file is free again.
        await eventually(lambda: _files(service, 2))
        await eventually(lambda: _true(not (folder / "held.x12").exists()))
    assert not list((platform.clearinghouse_dir / "quarantine" / "999").glob("*.x12"))


async def _files(service, count: int) -> bool:
    return await scalar(service, "SELECT count(*) FROM ack_file WHERE status = 'applied'") >= count


async def _true(value: bool) -> bool:
    return value
