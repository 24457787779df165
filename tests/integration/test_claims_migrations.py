"""Claims' migration 0010: claim rows up to a page's size are kept uncompressed; a downgrade restores the
default (the rows themselves are untouched either way)."""

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "claims" / "migrations"
OPTIONS = text("SELECT reloptions FROM pg_class WHERE relname = 'claim'")


async def test_0010_keeps_claim_rows_uncompressed_and_downgrades(platform):
    url = platform.database_url("claims")
    engine = create_async_engine(url)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0010")
        async with engine.connect() as connection:
            upgraded = (await connection.execute(OPTIONS)).scalar_one()
        await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0009")
        async with engine.connect() as connection:
            downgraded = (await connection.execute(OPTIONS)).scalar_one()
    finally:
        await engine.dispose()
    assert (upgraded, downgraded) == (["toast_tuple_target=8160"], None)
