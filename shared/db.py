"""Database wiring shared by every service: one async engine per process, sessions that expire
nothing on commit (handlers read what they wrote), and the plain asyncpg DSN for LISTEN/locks."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def make_sessions(engine: AsyncEngine, info: dict[str, object] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `Session.info` (the service's declared topics, say)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy URL -> libpq-style DSN for a raw asyncpg connection."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
