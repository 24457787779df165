"""The session's asyncpg connection (shared.db.driver) is inside the session's transaction: what is
written through it commits and rolls back with the session, without a statement run to begin it."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text

from services.payments.app import DECLARATION
from shared import migrations, outbox
from shared.contracts.events import ClaimAcknowledgedV1
from shared.db import Statement, asyncpg_dsn, driver, lock_keys_for_transaction, make_engine, make_sessions
from shared.envelope import Event
from shared.inbox import Claim, Verdict, claim

pytestmark = pytest.mark.integration
DIGEST = bytes(32)


async def test_writes_through_the_driver_commit_and_roll_back_with_the_session(platform):
    url = platform.database_url("payments")
    await asyncio.to_thread(migrations.upgrade, DECLARATION.migrations_dir, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    try:
        async with sessions() as session, session.begin():
            raw = await driver(session)
            assert raw.is_in_transaction()
            adapted = (await (await session.connection()).get_raw_connection()).dbapi_connection
            assert adapted._transaction is not None  # begun as the adapter begins it: its COMMIT ends it
            assert await claim(session, [Claim("test.driver", kept, DIGEST)]) == [Verdict.NEW]
            ours = await raw.fetchval("SELECT txid_current()")
            assert await session.scalar(text("SELECT txid_current()")) == ours  # one transaction, both ways

        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await claim(session, [Claim("test.driver", dropped, DIGEST)])
                raise RuntimeError("the handler failed")

        async with sessions() as session:
            found = await session.scalars(
                text("SELECT event_id FROM inbox WHERE consumer = 'test.driver' AND event_id = ANY(:ids)"),
                {"ids": [kept, dropped]},
            )
            assert set(found) == {kept}
    finally:
        async with sessions() as session, session.begin():
            await session.execute(text("DELETE FROM inbox WHERE consumer = 'test.driver'"))
        await engine.dispose()


async def test_staged_events_are_written_with_the_commit_even_as_its_only_statement_and_not_after_a_rollback(platform):
    url = platform.database_url("payments")
    await asyncio.to_thread(migrations.upgrade, DECLARATION.migrations_dir, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    kept, dropped = f"test-driver-{uuid.uuid4()}", f"test-driver-{uuid.uuid4()}"
    try:
        async with sessions() as session, session.begin():  # nothing else runs: the commit begins, writes, ends
            outbox.stage(session, "claim.acknowledged", Event(acknowledged(1), kept, "/openrcm/test", "corr-1"))
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await claim(session, [Claim("test.driver", uuid.uuid4(), DIGEST)])
                outbox.stage(session, "claim.acknowledged", Event(acknowledged(2), dropped, "/openrcm/test", "corr-2"))
                raise RuntimeError("the handler failed")
        async with sessions() as session:
            rows = (
                await session.execute(
                    text("SELECT key, headers, value FROM outbox WHERE key = ANY(:keys)"), {"keys": [kept, dropped]}
                )
            ).all()
        assert [row.key for row in rows] == [kept]
        assert json.loads(rows[0].value)["source"] == "999" and ["ce_source", "/openrcm/test"] in rows[0].headers
    finally:
        async with sessions() as session, session.begin():
            await session.execute(text("DELETE FROM outbox WHERE key LIKE 'test-driver-%'"))
            await session.execute(text("DELETE FROM inbox WHERE consumer = 'test.driver'"))
        await engine.dispose()


def acknowledged(n: int) -> ClaimAcknowledgedV1:
    return ClaimAcknowledgedV1(claim_id=uuid.uuid4(), accepted=n == 1, source="999", acknowledged_at=datetime.now(UTC))


async def test_key_locks_make_overlapping_transactions_take_turns_and_let_disjoint_ones_run(platform):
    """lock_keys_for_transaction: a transaction wanting a key another holds waits for its commit; one
    with other keys does not; two wanting the same keys in opposite orders do not deadlock."""
    engine = make_engine(platform.database_url("payments"))
    sessions = make_sessions(engine)
    space = 4242
    try:
        async with sessions() as holder, holder.begin():
            await lock_keys_for_transaction(holder, space, ["patient-a", "patient-b"])

            async def takes(keys: list[str]) -> None:
                async with sessions() as other, other.begin():
                    await lock_keys_for_transaction(other, space, keys)

            await asyncio.wait_for(takes(["patient-c"]), 5)  # disjoint: at once
            waiting = asyncio.create_task(takes(["patient-c", "patient-b"]))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # patient-b is held
        await asyncio.wait_for(waiting, 5)  # ... until the holder commits

        async def both_ways(keys: list[str]) -> None:
            for _ in range(20):
                async with sessions() as session, session.begin():
                    await lock_keys_for_transaction(session, space, keys)
                    await asyncio.sleep(0.005)

        await asyncio.wait_for(asyncio.gather(both_ways(["x", "y", "z"]), both_ways(["z", "y", "x"])), 20)
    finally:
        await engine.dispose()


async def test_a_connection_lost_under_a_statement_is_forgotten_with_the_pool_s_others(platform):
    """A restart or failover ends every connection of the pool. SQLAlchemy, when one of its statements
    finds that, has the pool make new ones; a statement straight on asyncpg (driver, Statement) has it
    too, so the next session's first statement works instead of failing on the next dead connection."""
    url = platform.database_url("payments")
    engine = make_engine(url)
    sessions = make_sessions(engine)
    backend = Statement("SELECT pg_backend_pid()")
    try:
        async with sessions() as first, sessions() as second:  # two connections in the pool
            pids = [await backend.fetch_value(first), await backend.fetch_value(second)]
            await first.commit()
            await second.commit()
        killer = await asyncpg.connect(asyncpg_dsn(url))
        try:
            assert (
                await killer.fetchval("SELECT count(pg_terminate_backend(pid)) FROM unnest($1::int[]) AS pid", pids)
                == 2
            )
        finally:
            await killer.close()
        await asyncio.sleep(0.2)
        with pytest.raises(Exception):  # noqa: B017 -- asyncpg's, as the session had a dead connection
            async with sessions() as session, session.begin():
                await (await driver(session)).fetchval("SELECT 1")  # as the handlers' own raw statements do
        for _ in range(2):  # the pool's other dead connection is gone too
            async with sessions() as session, session.begin():
                assert await session.scalar(text("SELECT pg_backend_pid()")) not in pids
    finally:
        await engine.dispose()
