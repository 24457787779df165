"""Each service's Alembic history builds exactly the schema its models declare."""

import asyncio
import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from rcmctl.processes import SERVICES
from shared.migrations import MESSAGING_TABLES, upgrade

pytestmark = pytest.mark.integration
SERVICES_DIR = Path(importlib.import_module("services").__path__[0])


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_models(platform, service):
    module = importlib.import_module(f"services.{service}.db")
    own = set(module.TABLES) | set(MESSAGING_TABLES)
    url = platform.database_url(service)
    await asyncio.to_thread(upgrade, SERVICES_DIR / service / "migrations", url)

    def differences(connection):
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": lambda obj, name, type_, reflected, other: type_ != "table" or name in own,
                "compare_type": True,
            },
        )
        return compare_metadata(context, SQLModel.metadata)

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
