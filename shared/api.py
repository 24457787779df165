"""FastAPI dependencies every service's routes share: the service, its settings and a database
session. A route names what it needs in its signature (`session: SessionDep`) instead of reaching
into `request.app.state`. And what a request may carry: bounded query parameters (`Offset`,
`Cursor`, `RowId`), moments in ISO 8601 within a sane range (`Day`, `Moment`), and no control
characters anywhere (`RefuseControlCharacters`, installed by shared/service.py)."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# -- what a request may carry: bounded, ISO 8601, no control characters ------------------------------

MAX_BIGINT = 2**63 - 1  # PostgreSQL's bigint: a larger id or position can name nothing
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # moments a request may name (date arithmetic stays in range)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a moment is written as ISO 8601, never as a number of seconds


def _iso(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("an ISO 8601 date (YYYY-MM-DD) or date and time, not a number")
    return value


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"a moment from {EARLIEST.year} to {LATEST.year}")
    return value


def _utc(value: datetime) -> datetime:
    """A moment without a zone is UTC, so it compares with the stored ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Day = Annotated[date, BeforeValidator(_iso), AfterValidator(_in_range)]
Moment = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_in_range), AfterValidator(_utc)]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
Cursor = Annotated[str | None, Query(max_length=400, description="`next` of the previous page.")]
RowId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
# No field of ours wants a control character; PostgreSQL's text cannot even hold a NUL. Tab, CR and LF
# are text. In a JSON body they arrive escaped after an odd run of backslashes (raw, only DEL is valid JSON).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ESCAPED_CONTROL = re.compile(rb"\x7f|(?<!\\)(?:\\\\)*\\u00(?:0[0-8bcef]|1[0-9a-f]|7f)", re.IGNORECASE)


class RefuseControlCharacters:
    """ASGI middleware: a request with a control character in its path, its query or its JSON body is
    answered 422 (as FastAPI answers a bad field) before any route, and so before PostgreSQL, sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _control_in_url(scope)
        if where is None and "json" in Headers(scope=scope).get("content-type", ""):
            body, receive = await _buffered(receive)
            where = ["body"] if ESCAPED_CONTROL.search(body) else None
        if where is None:
            await self.app(scope, receive, send)
            return
        problem = {"loc": where, "msg": "control characters (such as NUL) are not accepted", "type": "value_error"}
        await JSONResponse({"detail": [problem]}, status_code=422)(scope, receive, send)


def _control_in_url(scope: Scope) -> list[str] | None:
    if CONTROL.search(scope["path"]):
        return ["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(name) or CONTROL.search(value):
            return ["query", name]
    return None


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it to the app again."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, replayed = b"".join(chunks), False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, again
