"""What every page uses: the console's parts, the signed-in person (a dependency that also checks the
route's roles and, on a form, its CSRF token) and rendering with the page frame's context."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.console.backend import Backend, ServiceError
from services.console.domain import access
from services.console.oidc import Provider
from services.console.sessions import SessionStore, WebSession
from services.console.settings import ConsoleSettings
from shared.auth import Principal
from shared.security import route_key


@dataclass(frozen=True)
class Console:
    settings: ConsoleSettings
    store: SessionStore
    provider: Provider
    backend: Backend
    templates: Jinja2Templates

    @property
    def cookie_name(self) -> str:
        # __Host-: the browser keeps it to this origin, Secure, Path=/ (RFC 6265bis §4.1.3.2)
        return "__Host-rcm_console" if self.settings.https else "rcm_console"

    def set_cookie(self, response: Response, session: WebSession) -> None:
        max_age = self.settings.session_max_hours * 3600
        response.set_cookie(self.cookie_name, session.id, max_age=max_age, path="/", secure=self.settings.https,
                            httponly=True, samesite="lax")  # fmt: skip

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(self.cookie_name, path="/", secure=self.settings.https, httponly=True, samesite="lax")


class NotSignedIn(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("not signed in")
        self.next_path = next_path


class Forbidden(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def console_of(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def session_of(request: Request) -> WebSession | None:
    console = console_of(request)
    return console.store.get(request.cookies.get(console.cookie_name))


@dataclass
class Viewer:
    """The signed-in person on this request, and what a page does for them."""

    request: Request
    console: Console
    session: WebSession

    @property
    def user(self) -> Principal:
        assert self.session.user is not None
        return self.session.user

    @property
    def backend(self) -> Backend:
        return self.console.backend

    @property
    def settings(self) -> ConsoleSettings:
        return self.console.settings

    def may(self, route: str) -> bool:
        return access.may(self.user.roles, route)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.backend.get(self.session, service, path, **params)

    async def post(self, service: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return await self.backend.post(self.session, service, path, body, headers)

    def notify(self, kind: str, text: str, detail: str = "") -> None:
        self.session.notify(kind, text, detail)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        return render(self.request, template, status, viewer=self, **context)

    def back(self, path: str) -> RedirectResponse:
        """After a form: see the page again (POST, redirect, GET: a reload never submits twice)."""
        return RedirectResponse(path, status_code=303)


def render(
    request: Request, template: str, status: int = 200, viewer: Viewer | None = None, **context: Any
) -> Response:
    console = console_of(request)
    frame: dict[str, Any] = {"office": console.settings.office_name, "zone": console.settings.zone}
    if viewer is not None:
        frame |= {
            "user": viewer.user,
            "roles": access.role_names(viewer.user.roles),
            "nav": access.screens_for(viewer.user.roles),
            "csrf": viewer.session.csrf,
            "notices": viewer.session.take_notices(),
            "can_search": viewer.may("POST /search"),
            "may": viewer.may,
        }
    response = console.templates.TemplateResponse(request, template, frame | context, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages show patient data: never kept in a cache
    return response


async def _viewer(request: Request) -> Viewer:
    console, session = console_of(request), session_of(request)
    if session is None or not session.signed_in or session.user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query and request.method == "GET" else "")
        raise NotSignedIn(target if request.method == "GET" else "/")
    route = route_key(request)
    if not access.may(session.user.roles, route):
        allowed = sorted(access.ROLE_NAMES.get(r, r) for r in access.ROUTES.get(route, ()))
        raise Forbidden(f"This page is for: {', '.join(allowed) or 'nobody'}.")
    if request.method == "POST":
        await check_form(request, console, session)
    return Viewer(request, console, session)


async def check_form(request: Request, console: Console, session: WebSession) -> None:
    """A form must come from our own pages: the session's synchronizer token, and our origin when named."""
    origin = request.headers.get("origin")
    if origin and origin != _origin(console.settings.public_url):
        raise Forbidden("The form came from another site.")
    sent = (await request.form()).get("csrf_token")
    if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden("The form expired or did not come from this console. Reload the page and try again.")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def login_path(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


ViewerDep = Annotated[Viewer, Depends(_viewer)]


async def attempt(call: Awaitable[Any]) -> tuple[Any, str]:
    """(answer, '') or (None, what failed and what to do): a part of a page that could not be loaded."""
    try:
        return await call, ""
    except ServiceError as failed:
        return None, f"{failed.title}. {failed.advice}"
