"""Alembic, one migration history per service database. Services call `upgrade` at start (or a
Kubernetes Job does); a PostgreSQL advisory lock keeps concurrent replicas from racing."""

import asyncio
import zlib
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import shared.audit
import shared.inbox
import shared.outbox  # noqa: F401 - registers the outbox table

# The kernel's tables every service has beside its own: messaging, and the audit trail (shared/audit.py).
MESSAGING_TABLES = ("outbox", "inbox", "audit_log")


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
    if url is None:
        raise RuntimeError("alembic_config() sets sqlalchemy.url; run migrations through shared.migrations.upgrade")

    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return type_ != "table" or name in own

    def migrate(connection: Connection) -> None:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"migrate:{service}".encode())}
        )
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


def create_messaging_tables() -> None:
    """Every service's first migration: the outbox (with a trigger that wakes the relay as soon as
    events commit) and the inbox."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("headers", JSONB(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(120), primary_key=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger AS $$ "
        "BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def drop_messaging_tables() -> None:
    op.execute("DROP FUNCTION IF EXISTS outbox_notify() CASCADE")
    op.drop_table("outbox")
    op.drop_table("inbox")
