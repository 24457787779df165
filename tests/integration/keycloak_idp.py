"""The real Keycloak for tests, and tokens from it: the one already running (`./rcm stack up`: theirs
to stop), else started here by rcmctl.stack.keycloak once per session and stopped at its end.

tests/conftest.py makes it the session fixture `idp`: any test that names it gets the one Keycloak
(started once per session), and its users' tokens:

    async with running(service, Authenticator(idp.settings())) as client:
        await client.get("/v1/work-queue", headers=await idp.bearer("carol.coder"))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest

from rcmctl import stack
from rcmctl.stack import keycloak
from shared.auth import OidcSettings

LOCKOUT_SECONDS = 75.0  # the realm's brute-force wait after quick failed logins (60 s) and some


def keycloak_for_tests() -> Iterator[Idp]:
    """The local Keycloak for as long as the generator runs; stops it only if it started it."""
    run_dir = stack.run_dir_from_env()
    try:
        started = keycloak.start(run_dir)  # False at once when it already runs
    except Exception as exc:  # noqa: BLE001 - the message is the point
        pytest.fail(f"identity tests need Keycloak and it could not be started: {exc}", pytrace=False)
    try:
        yield Idp(run_dir=run_dir, port=keycloak.port(), creds=keycloak.credentials(run_dir))
    finally:
        if started:
            keycloak.stop(run_dir)


@dataclass(frozen=True)
class Idp:
    run_dir: Path
    port: int
    creds: keycloak.Credentials
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def issuer(self) -> str:
        return keycloak.issuer(self.port)

    def settings(self, **overrides) -> OidcSettings:
        return OidcSettings(issuer=self.issuer, audience=keycloak.AUDIENCE, **overrides)

    async def token(self, form: dict[str, str], realm: str = keycloak.REALM) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(keycloak.token_url(self.port, realm), data=form)

    async def password_token(self, username: str, client: str = keycloak.TEST_CLIENT) -> str:
        """A person's access token by the password grant (only the test client may use it); kept while it is
        good for another minute (a sign-in costs Keycloak a password hash, about half a second here)."""
        cached = self._tokens.get(username)
        if cached and cached[1] > time.time() + 60:
            return cached[0]
        form = {"grant_type": "password", "client_id": client, "client_secret": self.creds.clients.get(client, ""),
                "username": username, "password": self.creds.users[username], "scope": "openid"}  # fmt: skip
        response = await self.token(form)
        deadline = time.monotonic() + LOCKOUT_SECONDS
        while response.status_code == 401 and time.monotonic() < deadline:
            # Keycloak's brute-force guard locks a user for a minute after quick failures (the PKCE refusal
            # tests make some), and answers as for a wrong password: wait it out rather than fail.
            await asyncio.sleep(5)
            response = await self.token(form)
        response.raise_for_status()
        self._tokens[username] = (response.json()["access_token"], time.time() + response.json()["expires_in"])
        return self._tokens[username][0]

    async def bearer(self, username: str) -> dict[str, str]:
        """The Authorization header of a sample user's request."""
        return {"Authorization": f"Bearer {await self.password_token(username)}"}

    async def subject(self, username: str) -> str:
        """The user's `sub`, as the services record it."""
        return str(jwt.decode(await self.password_token(username), options={"verify_signature": False})["sub"])

    async def client_token(self, client: str) -> str:
        """A machine's access token by client credentials."""
        response = await self.token(
            {"grant_type": "client_credentials", "client_id": client, "client_secret": self.creds.clients[client]}
        )
        response.raise_for_status()
        return response.json()["access_token"]

    async def admin(self, path: str, method: str = "GET", body: dict | None = None, realm: str = keycloak.REALM):
        """The admin REST API as the master realm's admin (to compare with what tokens say, or to change a realm)."""
        response = await self.token(
            {"grant_type": "password", "client_id": "admin-cli", "username": self.creds.admin_user,
             "password": self.creds.admin_password},
            realm="master",
        )  # fmt: skip
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        # a realm made or dropped costs Keycloak seconds, more on a busy machine: wait for it
        async with httpx.AsyncClient(base_url=keycloak.base_url(self.port), timeout=180, headers=headers) as http:
            answer = await http.request(method, f"/admin/realms/{realm}{path}".rstrip("/"), json=body)
            answer.raise_for_status()
            return answer.json() if answer.content else None
