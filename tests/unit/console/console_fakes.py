"""The console app with a fake identity provider and fake services: pages rendered from canned answers,
without a network. `signed_in(client, "coder")` signs a person with that role in."""

import dataclasses
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from services.console.app import build
from services.console.backend import ServiceError
from services.console.sessions import LoginState, Tokens
from services.console.settings import ConsoleSettings
from shared.auth import Principal

ISSUER = "https://idp.example/realms/openrcm"


class FakeProvider:
    def __init__(self) -> None:
        self.next_user: Principal | None = None

    async def authorization_url(self, login: LoginState) -> str:
        return f"{ISSUER}/auth?state={login.state}&code_challenge=x"

    async def exchange(self, code: str, login: LoginState) -> tuple[Tokens, Principal]:
        assert self.next_user is not None
        return Tokens(access=f"token-{code}", access_expires=time.time() + 300, refresh="r"), self.next_user

    async def refresh(self, tokens: Tokens) -> Tokens | None:
        return None

    async def logout_url(self, tokens: Tokens | None, after: str) -> str:
        return f"{ISSUER}/logout?post_logout_redirect_uri={after}"


class FakeBackend:
    """Answers by (service, method, path); records every call with the token it carried."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], Any] = {}
        self.calls: list[tuple[str, str, str, Any, dict]] = []

    def on(self, service: str, method: str, path: str, answer: Any) -> None:
        self.answers[(service, method, path)] = answer

    async def call(self, session, service, method, path, *, params=None, json=None, headers=None, allow=()):
        self.calls.append((service, method, path, json, {**(params or {}), **(headers or {})}))
        answer = self.answers.get((service, method, path))
        if answer is None:
            raise ServiceError(service, 404, "no such thing")
        if isinstance(answer, ServiceError):
            raise answer
        body, response_headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(200, json=body, headers=response_headers)

    async def get(self, session, service, path, **params):
        return (await self.call(session, service, "GET", path, params=params)).json()

    async def post(self, session, service, path, body=None, headers=None):
        return (await self.call(session, service, "POST", path, json=body, headers=headers)).json()


def console_client(public_url: str = "http://console.test") -> tuple[TestClient, FakeProvider, FakeBackend]:
    settings = ConsoleSettings(issuer=ISSUER, public_url=public_url, time_zone="America/Chicago")
    app = build(settings)
    client = TestClient(app, base_url=public_url, follow_redirects=False)
    client.__enter__()  # the lifespan: the console's parts exist
    provider, backend = FakeProvider(), FakeBackend()
    app.state.console = dataclasses.replace(app.state.console, provider=provider, backend=backend)
    return client, provider, backend


def signed_in(client: TestClient, provider: FakeProvider, *roles: str, name: str = "pat.person") -> str:
    """Signs a person in through /login and the callback; returns their CSRF token."""
    provider.next_user = Principal(f"sub-{name}", name, frozenset(roles), "rcm-console", False)
    started = client.get("/login", params={"next": "/"})
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    done = client.get("/auth/callback", params={"state": state, "code": "abc"})
    assert done.status_code == 303, done.text
    page = client.get("/")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
