"""The console's wiring: settings, the HTTP client the services and the provider are called with, the
session store, templates and static files, the pages, the security headers every answer carries, and
what a page shows when something fails.

    python -m services.console          # RCM_CONSOLE_ISSUER (or RCM_OIDC_ISSUER) must name the provider"""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.console.backend import Backend, ServiceError, SessionEnded
from services.console.domain import formatting
from services.console.oidc import Provider
from services.console.pages import ar, audit, auth, claims, coding, home, patients, payments, registering, search
from services.console.pages.common import (
    Console,
    Forbidden,
    NotSignedIn,
    Viewer,
    console_of,
    login_path,
    render,
    session_of,
)
from services.console.sessions import SessionStore
from services.console.settings import ConsoleSettings
from shared import telemetry
from shared.auth import ProviderUnavailable
from shared.http_server import serve
from shared.logging import configure_logging

log = logging.getLogger("console")
HERE = Path(__file__).resolve().parent
# registering's /patients/new before patients' /patients/{patient_id}, which would take "new" for an id
PAGES = (auth, home, search, coding, claims, payments, ar, registering, patients, audit)


def templates() -> Jinja2Templates:
    made = Jinja2Templates(directory=HERE / "templates")
    made.env.filters |= {"money": formatting.money, "day": formatting.day, "percent": formatting.percent,
                         "counted": formatting.counted,
                         "trace_id": journey_trace_id}  # fmt: skip
    made.env.globals["moment"] = formatting.moment
    return made


def journey_trace_id(correlation_id: str) -> str:
    """The W3C trace id the services give this correlation id's journey: what Jaeger or Tempo finds."""
    return f"{telemetry.journey(correlation_id).trace_id:032x}"


def content_security_policy(settings: ConsoleSettings) -> str:
    """Scripts, styles and images from this origin only (no inline script or style anywhere); forms post
    here, or to the provider (signing out redirects there); no framing."""
    issuer = urlsplit(settings.issuer)
    provider = f"{issuer.scheme}://{issuer.netloc}" if issuer.netloc else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"form-action 'self' {provider}".rstrip()
        + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


def build(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if not settings.issuer:
        raise ValueError("RCM_CONSOLE_ISSUER (or RCM_OIDC_ISSUER) must name the OpenID Connect provider")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.service_timeout_seconds, follow_redirects=False) as http:
            provider = Provider(settings, http)
            store = SessionStore(settings.session_idle_minutes * 60, settings.session_max_hours * 3600)
            app.state.console = Console(settings, store, provider, Backend(settings, http, provider), templates())
            yield

    app = FastAPI(title="OpenRCM console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for page in PAGES:
        app.include_router(page.router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _handle_failures(app)
    _secure_headers(app, settings)
    return app


def _secure_headers(app: FastAPI, settings: ConsoleSettings) -> None:
    policy = content_security_policy(settings)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = policy
        if settings.https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        route = getattr(request.scope.get("route"), "path", "?")  # the route's template: ids, never query strings
        log.info("request", extra={"method": request.method, "route": route, "status": response.status_code,
                                   "ms": round((time.perf_counter() - started) * 1000, 1)})  # fmt: skip
        return response


def _handle_failures(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse(login_path(exc.next_path), status_code=303)

    @app.exception_handler(SessionEnded)
    async def session_ended(request: Request, exc: SessionEnded) -> Response:
        session = session_of(request)
        if session is not None:
            console_of(request).store.drop(session)
        return RedirectResponse(login_path(request.url.path if request.method == "GET" else "/"), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _failure(request, 403, "Not for your role", exc.reason, "Use the menu for the screens of your role.")

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        status = {0: 503, 403: 403, 404: 404, 409: 409, 412: 412}.get(exc.status, 502)
        return _failure(request, status, exc.title, exc.reason, exc.advice)

    @app.exception_handler(RequestValidationError)
    async def not_a_page(request: Request, exc: RequestValidationError) -> Response:
        return _failure(request, 404, "No such page", "the address names nothing here",
                        "Use the menu, or search for the patient or claim.")  # fmt: skip

    @app.exception_handler(ProviderUnavailable)
    async def provider_down(request: Request, exc: ProviderUnavailable) -> Response:
        log.warning("identity provider unavailable", extra={"reason": str(exc)})
        return _failure(request, 503, "The sign-in service does not answer", "",
                        "Try again in a minute; if it keeps failing, tell your administrator.")  # fmt: skip


def _failure(request: Request, status: int, title: str, reason: str, advice: str) -> Response:
    session = session_of(request)
    viewer = Viewer(request, console_of(request), session) if session is not None and session.signed_in else None
    return render(request, "error.html", status, viewer=viewer, title=title, reason=reason, advice=advice)


def run() -> None:
    settings = ConsoleSettings()
    configure_logging("console", settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request's URL: ids and cursors stay out
    serve(build(settings), settings.http_host, settings.http_port, graceful_seconds=10)
