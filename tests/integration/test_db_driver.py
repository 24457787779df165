"""The session's asyncpg connection (shared.db.driver) is inside the session's transaction: what is
written through it commits and rolls back with the session, without a statement run to begin it."""

import asyncio
import uuid

import pytest
from sqlalchemy import text

from services.payments.app import DECLARATION
from shared import migrations
from shared.db import driver, make_engine, make_sessions
from shared.inbox import claim_new_of

pytestmark = pytest.mark.integration


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
            assert await claim_new_of(session, [("test.driver", kept)]) == {("test.driver", kept)}
            ours = await raw.fetchval("SELECT txid_current()")
            assert await session.scalar(text("SELECT txid_current()")) == ours  # one transaction, both ways

        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await claim_new_of(session, [("test.driver", dropped)])
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
