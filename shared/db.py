"""Database wiring shared by every service: one async engine per process, sessions that expire
nothing on commit (handlers read what they wrote), and the plain asyncpg DSN for LISTEN/locks."""

from sqlalchemy import Table, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


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
