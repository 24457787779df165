"""FastAPI dependencies every service's routes share: the service, its settings and a database
session. A route names what it needs in its signature (`session: SessionDep`) instead of reaching
into `request.app.state`."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.settings import ServiceSettings


def get_service(request: Request) -> Any:
    """The running `shared.service.Service` (typed Any: each service knows its own deps)."""
    return request.app.state.service


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route opens its transaction with `async with session.begin()`."""
    async with request.app.state.service.sessions() as session:
        yield session


ServiceDep = Annotated[Any, Depends(get_service)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
