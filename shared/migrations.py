"""Alembic, one migration history per service database. Services call `upgrade` at start (or a
Kubernetes Job does); a PostgreSQL advisory lock keeps concurrent replicas from racing."""

import asyncio
import zlib
from collections.abc import Iterable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import shared.inbox  # noqa: F401 - registers the inbox table
import shared.outbox  # noqa: F401 - registers the outbox table

MESSAGING_TABLES = ("outbox", "inbox")


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, url), revision)


def run_migrations(service: str, tables: Iterable[str]) -> None:
    """Body of every service's migrations/env.py: only this service's tables are its concern."""
    own = set(tables) | set(MESSAGING_TABLES)
    url = context.config.get_main_option("sqlalchemy.url")

    def include(obj, name, type_, reflected, compare_to):
        return type_ != "table" or name in own

    def migrate(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"migrate:{service}".encode())})
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            include_object=include,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(online())


# Used by every service's first migration: wakes the outbox relay as soon as events commit.
OUTBOX_NOTIFY_SQL = (
    "CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger AS $$ "
    "BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
)
