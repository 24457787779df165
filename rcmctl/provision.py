"""Databases and topics for one deployment namespace (the demo's, or a test run's)."""

import asyncio

import asyncpg

from rcmctl.processes import SERVICES, Platform
from rcmctl.stack.topics import delete_topics, ensure_topics
from shared.contracts.topics import ALL_TOPICS


def _admin_dsn(platform: Platform) -> str:
    return platform.stack.database_url("postgres").replace("postgresql+asyncpg://", "postgresql://", 1)


async def provision(platform: Platform, fresh: bool = False) -> None:
    """Create the namespace's five databases and every topic; `fresh` drops what was there first."""
    connection = await asyncpg.connect(_admin_dsn(platform))
    try:
        existing = {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
        for service in SERVICES:
            name = platform.database(service)
            if fresh and name in existing:
                await _drop(connection, name)
                existing.discard(name)
            if name not in existing:
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    topics = [platform.namespace + topic for topic in ALL_TOPICS]
    if fresh:
        await delete_topics(platform.stack.kafka_bootstrap, topics)
    await ensure_topics(platform.stack.kafka_bootstrap, topics, partitions=platform.partitions)


async def deprovision(platform: Platform) -> None:
    connection = await asyncpg.connect(_admin_dsn(platform))
    try:
        for service in SERVICES:
            await _drop(connection, platform.database(service))
    finally:
        await connection.close()
    await delete_topics(platform.stack.kafka_bootstrap, [platform.namespace + t for t in ALL_TOPICS])


async def _drop(connection: asyncpg.Connection, name: str, attempts: int = 120) -> None:
    """DROP DATABASE ... WITH (FORCE) ends the sessions on it, but fails (InsufficientPrivilegeError)
    when one of them belongs to a role ours may not signal: a server process of its own, such as an
    autovacuum worker, busy there for a moment. The drop is tried again."""
    for attempt in range(attempts):
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
