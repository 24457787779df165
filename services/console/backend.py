"""The five services, called over HTTP with the signed-in person's access token (refreshed shortly
before it expires), so each service's permissions and audit trail apply to the person, unchanged.
A refusal becomes a ServiceError that says what failed and what to do about it."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx

from services.console.oidc import Provider, expiring
from services.console.sessions import WebSession
from services.console.settings import ConsoleSettings

log = logging.getLogger(__name__)
TITLES = {
    "registration": "registration",
    "coding": "coding",
    "claims": "claims",
    "payments": "payments",
    "ar_followup": "A/R",
}


class SessionEnded(Exception):
    """The person's sign-in is over (the provider ended it or refused the token): sign in again."""


class ServiceError(Exception):
    """A service refused or did not answer: what failed, in the person's words, and what to do."""

    def __init__(self, service: str, status: int, detail: Any = None) -> None:
        self.service, self.status, self.detail = service, status, detail
        super().__init__(f"{service} answered {status}")

    @property
    def title(self) -> str:
        name = TITLES.get(self.service, self.service)
        if self.status == 0:
            return f"The {name} service did not answer"
        return f"The {name} service refused ({self.status}{': ' + self.reason if self.reason else ''})"

    @property
    def reason(self) -> str:
        """The service's own explanation, flattened (FastAPI's 422 lists one entry per field)."""
        detail = self.detail
        if isinstance(detail, list):
            return "; ".join(_entry(e) for e in detail)
        return str(detail) if detail else ""

    @property
    def advice(self) -> str:
        return {
            0: "Try again in a minute; if it keeps failing, tell your administrator the service is down.",
            400: "Check what you entered and try again.",
            401: "Sign in again.",
            403: "Your role does not allow this. Ask a supervisor if you need it.",
            404: "It may have been removed or never existed; go back to the list and reload it.",
            409: "Someone else changed it first. Reload to see where it stands now; nothing was applied twice.",
            412: "It changed since you opened it. Reload to see the latest version, then decide again.",
            413: "The request is too large.",
            422: "Correct the fields named above and submit again.",
        }.get(self.status, "Try again in a minute; if it keeps failing, tell your administrator.")


def _entry(entry: Any) -> str:
    if isinstance(entry, dict):
        where = ".".join(str(part) for part in entry.get("loc", ()) if part not in ("body", "query"))
        message = entry.get("msg") or entry.get("message") or ""
        return f"{where}: {message}" if where else str(message)
    return str(entry)


class Backend:
    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient, provider: Provider) -> None:
        self.settings, self.http, self.provider = settings, http, provider

    async def token(self, session: WebSession) -> str:
        """The session's access token, refreshed first when it is about to expire."""
        if session.tokens is None:
            raise SessionEnded
        if expiring(session.tokens):
            async with session.refreshing:  # two tabs at once refresh once
                if session.tokens is not None and expiring(session.tokens):
                    fresh = await self.provider.refresh(session.tokens)
                    if fresh is None:
                        session.tokens, session.user = None, None
                        raise SessionEnded
                    session.tokens = fresh
        if session.tokens is None:
            raise SessionEnded
        return session.tokens.access

    async def call(self, session: WebSession, service: str, method: str, path: str, *,
                   params: dict[str, Any] | None = None, json: Any = None, headers: dict[str, str] | None = None,
                   allow: tuple[int, ...] = ()) -> httpx.Response:  # fmt: skip
        """The service's answer; a status of 400 or more raises ServiceError unless `allow` names it."""
        token = await self.token(session)
        sent = {"Authorization": f"Bearer {token}", "X-Correlation-Id": str(uuid.uuid4()), **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        url = self.settings.service_url(service) + path
        try:
            response = await self.http.request(method, url, params=clean, json=json, headers=sent)
        except httpx.HTTPError as err:
            log.warning("service did not answer", extra={"service": service, "error": type(err).__name__})
            raise ServiceError(service, 0) from None
        if response.status_code == 401:
            raise SessionEnded
        if response.status_code >= 400 and response.status_code not in allow:
            raise ServiceError(service, response.status_code, _detail(response))
        return response

    async def get(self, session: WebSession, service: str, path: str, **params: Any) -> Any:
        return (await self.call(session, service, "GET", path, params=params)).json()

    async def post(self, session: WebSession, service: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        return (await self.call(session, service, "POST", path, json=body, headers=headers)).json()


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or None
    if isinstance(body, dict):
        if "detail" in body:
            return body["detail"]
        if body.get("resourceType") == "OperationOutcome":
            return [issue.get("diagnostics", "") for issue in body.get("issue", [])]
    return body
