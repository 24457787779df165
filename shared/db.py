"""Database wiring shared by every service: one async engine per process, sessions that expire
nothing on commit (handlers read what they wrote), and the plain asyncpg DSN for LISTEN/locks."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Select, Table, func, inspect, literal, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel


def json_dumps(value: Any) -> str:
    """JSON as the services store it (orjson: several times faster than the standard library)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


json_loads = orjson.loads


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """No pre-ping: it costs a round trip on every checkout, and a connection that died is found by
    the statement that uses it (an infrastructure fault: the consumer pauses and the pool drops it).
    JSON columns go through orjson both ways."""
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=10, json_serializer=json_dumps, json_deserializer=json_loads
    )


def make_sessions(engine: AsyncEngine, info: dict[str, object] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `Session.info` (the service's declared topics, say)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for set-wise statements (`Model.__table__`, which is untyped)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy URL -> libpq-style DSN for a raw asyncpg connection."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, inside the session's transaction: for set-wise statements
    over arrays (`unnest`) that SQLAlchemy would bind row by row, and hot statements (a statement
    through the session costs ~0.5 ms of CPU here, ~0.13 ms straight on asyncpg). A pooled connection
    that died finds out at its BEGIN here: see forget_pool_if_lost."""
    connection = await (await session.connection()).get_raw_connection()
    raw: asyncpg.Connection = connection.driver_connection
    if not raw.is_in_transaction():  # SQLAlchemy's adapter begins lazily, at its first statement
        try:
            await _begin(connection.dbapi_connection, session)
        except Exception:
            await forget_pool_if_lost(session, raw)
            raise
    return raw


async def forget_pool_if_lost(session: AsyncSession, raw: asyncpg.Connection) -> None:
    """When a statement straight on asyncpg finds its connection gone (a restart, a failover: the
    pool's other connections went too), the pool makes new ones as they are next wanted, and drops
    those checked out as they come back: what SQLAlchemy does when one of its own statements finds
    that. SQLAlchemy never sees these errors, and with no pre-ping (make_engine) each dead pooled
    connection would fail one more batch."""
    if raw.is_closed():
        await (await session.connection()).engine.dispose(close=False)


async def _begin(adapted: Any, session: AsyncSession) -> None:
    """BEGIN as SQLAlchemy's asyncpg adapter does before its first statement (so its COMMIT and
    ROLLBACK end this transaction), without running a statement through the session to get there:
    that was a `SELECT 1` and half a millisecond on every consumer batch. The adapter's hooks are
    private: if a SQLAlchemy upgrade moves them, the statement is the way again."""
    if not begins_like_the_adapter(adapted):
        await session.execute(text("SELECT 1"))
        return
    await begin_as_the_adapter(adapted)


def begins_like_the_adapter(adapted: Any) -> bool:
    """Whether SQLAlchemy's asyncpg adapter connection still has the hooks `begin_as_the_adapter` uses."""
    return all(hasattr(adapted, name) for name in ("_start_transaction", "_execute_mutex", "_transaction"))


async def begin_as_the_adapter(adapted: Any) -> None:
    async with adapted._execute_mutex:
        if adapted._transaction is None:
            await adapted._start_transaction()


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # :name, not a ::cast nor a time of day


class Statement:
    """SQL with :named parameters run straight on the session's asyncpg connection, in its transaction
    (`driver`): for statements every consumer batch runs, which through the session cost ~0.5 ms of
    CPU each (compiling, caching, wrapping the result) against ~0.13 ms here. Rows come back as
    asyncpg Records (by name: row["claim_id"]), JSON columns decoded by the engine's codec."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []
        self.sql = _NAMED.sub(self._number, sql)

    def _number(self, match: re.Match[str]) -> str:
        if match.group(1) not in self.names:
            self.names.append(match.group(1))
        return f"${self.names.index(match.group(1)) + 1}"

    def args(self, params: Mapping[str, Any] | None) -> list[Any]:
        """The parameters in the order of their $n."""
        return [(params or {})[name] for name in self.names]

    async def execute(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> str:
        return str(await self._run(session, "execute", params))

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> list[asyncpg.Record]:
        return list(await self._run(session, "fetch", params))

    async def fetch_value(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> Any:
        """The first row's first column; None when there is no row."""
        return await self._run(session, "fetchval", params)

    async def _run(self, session: AsyncSession, method: str, params: Mapping[str, Any] | None) -> Any:
        raw = await driver(session)
        try:
            return await getattr(raw, method)(self.sql, *self.args(params))
        except Exception:
            await forget_pool_if_lost(session, raw)
            raise


_TRANSACTION_LOCK = Statement("SELECT pg_advisory_xact_lock(:key)")


async def lock_for_transaction(session: AsyncSession, key: int) -> None:
    """A PostgreSQL advisory lock (a bigint key) held until the session's transaction ends; taken on
    hot paths (every batch of some consumers), so straight on asyncpg."""
    await _TRANSACTION_LOCK.execute(session, {"key": key})


# One lock per key, taken in the keys' order (the aggregate pulls the sorted rows one by one), so
# two transactions wanting overlapping sets wait for each other instead of deadlocking.
_TRANSACTION_LOCKS = Statement(
    "SELECT count(pg_advisory_xact_lock(CAST(:space AS int), k)) FROM"
    " (SELECT DISTINCT hashtext(key) AS k FROM unnest(CAST(:keys AS text[])) AS key ORDER BY 1) AS taken"
)


async def lock_keys_for_transaction(session: AsyncSession, space: int, keys: Iterable[object]) -> None:
    """An advisory lock for each key (str() of it, in the lock space `space`, an int4), held until
    the session's transaction ends. Transactions with disjoint keys run side by side; distinct keys
    whose hashes collide only wait for each other."""
    keys = sorted({str(key) for key in keys})
    if keys:
        await _TRANSACTION_LOCKS.execute(session, {"space": space, "keys": keys})


COUNTED = 10_000  # a work queue counts at most this many items: beyond, its count says "at least"


async def count_at_most(session: AsyncSession, query: Select[Any], most: int = COUNTED) -> tuple[int, bool]:
    """How many rows the query has, counting no further than `most` (a page of a 100,000-item queue
    should not cost a count of all of them): (count, whether there are more)."""
    capped = query.with_only_columns(literal(1)).order_by(None).limit(most + 1).subquery()
    found = (await session.execute(select(func.count()).select_from(capped))).scalar_one()
    return min(found, most), found > most
