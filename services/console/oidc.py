"""Signing people in: OpenID Connect authorization code flow with PKCE (S256) against the configured
provider, as a public client (no secret in the console). The ID token proves who signed in (its
nonce, issuer, audience = our client id, signature from the provider's keys); the access token is
what the services check, and its roles are what the console shows. Tokens are refreshed shortly
before they expire; signing out ends the provider's session too (RP-initiated logout)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx

from services.console.domain import pkce
from services.console.sessions import LoginState, Tokens
from services.console.settings import ConsoleSettings
from shared.auth import KeySet, OidcSettings, Principal, ProviderUnavailable, TokenValidator, Unauthenticated

RENEW_BEFORE_SECONDS = 30.0


class SignInFailed(Exception):
    """The provider refused or the answer cannot be trusted; `reason` is safe to show and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Provider:
    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient) -> None:
        self.settings, self.http = settings, http
        keys_settings = OidcSettings(
            issuer=settings.issuer, audience=settings.client_id, allow_http=settings.allow_http
        )
        keys = KeySet(keys_settings)
        self.id_tokens = TokenValidator(keys_settings, keys)
        self.access_tokens = TokenValidator(keys_settings.model_copy(update={"audience": settings.audience}), keys)
        self._discovery: dict[str, Any] | None = None

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                response = await self.http.get(url)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as err:
                raise ProviderUnavailable(f"{url}: {type(err).__name__}") from None
            if document.get("issuer") != self.settings.issuer:
                raise ProviderUnavailable("the discovery document names another issuer")
            self._discovery = document
        return self._discovery

    async def authorization_url(self, login: LoginState) -> str:
        endpoint = (await self.discovery())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_uri,
            "scope": self.settings.scopes,
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": pkce.challenge(login.verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def exchange(self, code: str, login: LoginState) -> tuple[Tokens, Principal]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": login.verifier,
        }
        answer = await self._token(form)
        if not answer.get("id_token"):
            raise SignInFailed("the provider sent no ID token")
        claims = await self._checked(self.id_tokens, answer["id_token"])
        if claims.get("nonce") != login.nonce:
            raise SignInFailed("the ID token is not the answer to this sign-in (nonce)")
        tokens = _tokens(answer, None)
        return tokens, await self.principal(tokens)

    async def principal(self, tokens: Tokens) -> Principal:
        """Who the access token names and their roles, checked as the services check it."""
        try:
            return await self.access_tokens.principal(tokens.access)
        except Unauthenticated as err:
            raise SignInFailed(f"the access token was refused: {err.reason}") from None

    async def refresh(self, tokens: Tokens) -> Tokens | None:
        """Fresh tokens by the refresh grant; None when the provider's session has ended."""
        if not tokens.refresh:
            return None
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "client_id": self.settings.client_id}
        try:
            return _tokens(await self._token(form), tokens)
        except SignInFailed:
            return None

    async def logout_url(self, tokens: Tokens | None, after: str) -> str | None:
        endpoint = (await self.discovery()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"client_id": self.settings.client_id, "post_logout_redirect_uri": after}
        if tokens is not None and tokens.id_token:
            query["id_token_hint"] = tokens.id_token
        return f"{endpoint}?{urlencode(query)}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        endpoint = (await self.discovery())["token_endpoint"]
        if self.settings.client_secret is not None:  # a confidential client (RFC 6749 §2.3.1, client_secret_post)
            form = {**form, "client_secret": self.settings.client_secret.get_secret_value()}
        try:
            response = await self.http.post(endpoint, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            raise ProviderUnavailable(f"token endpoint: {type(err).__name__}") from None
        if response.status_code != 200:
            error = _json(response).get("error", f"HTTP {response.status_code}")
            raise SignInFailed(f"the provider refused: {error}")
        answer = _json(response)
        if not isinstance(answer.get("access_token"), str):
            raise SignInFailed("the provider sent no access token")
        return answer

    async def _checked(self, validator: TokenValidator, token: str) -> dict[str, Any]:
        try:
            return await validator.claims(token)
        except Unauthenticated as err:
            raise SignInFailed(f"the ID token was refused: {err.reason}") from None


def expiring(tokens: Tokens, now: float | None = None) -> bool:
    return (now or time.time()) > tokens.access_expires - RENEW_BEFORE_SECONDS


def _tokens(answer: dict[str, Any], previous: Tokens | None) -> Tokens:
    now = time.time()
    refresh_in = answer.get("refresh_expires_in")
    return Tokens(
        access=answer["access_token"],
        access_expires=now + float(answer.get("expires_in", 60)),
        refresh=answer.get("refresh_token") or (previous.refresh if previous else None),
        refresh_expires=now + float(refresh_in) if refresh_in else None,
        id_token=answer.get("id_token") or (previous.id_token if previous else None),
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
