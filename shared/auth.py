"""Who is calling: OpenID Connect bearer tokens from any standards-compliant provider.

A service trusts one issuer (RCM_OIDC_ISSUER) and one audience (RCM_OIDC_AUDIENCE). An access
token is a JWT signed with one of the issuer's keys, published in its JWKS (the `jwks_uri` of
the issuer's discovery document). The keys are fetched on first use and kept; a token naming a key
we do not know makes us fetch them again (at most every 30 s), so the provider can rotate its keys.

    router = APIRouter(dependencies=[Depends(current_principal)])      # 401 without a valid token

    @router.post("/v1/write-offs/{id}/approve")
    async def approve(id: str, approver: Annotated[Principal, Depends(require_roles("supervisor"))]): ...

    app.state.authenticator = Authenticator(OidcSettings())            # at start, so bad settings fail early

Roles are read from the claims named in RCM_OIDC_ROLES_CLAIMS: Keycloak's realm roles
(realm_access.roles) and client roles (resource_access.<audience>.roles), Entra ID app roles
(roles) and Okta groups (groups). The API key of local scripts is accepted only when
RCM_OIDC_API_KEY_FALLBACK=true.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote_plus, urlsplit

import httpx
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

# The people's and machines' roles the routes ask for (the realm in deploy/keycloak defines them).
ROLES = (
    "front_desk", "coder", "biller", "ar_specialist", "supervisor", "auditor", "admin",
    "encounter_intake", "analytics_reader",
)  # fmt: skip
# Signatures with a public key only: `none` and the HMAC family (a shared secret) are never accepted.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_REFRESH_SECONDS = 30.0  # an unknown kid refetches the JWKS at most this often
MAX_KEY_AGE_SECONDS = 3600.0  # keys are refetched after this, so a withdrawn key stops working
RETRY_SECONDS = 2.0  # while no keys could be fetched yet (the provider starting too)

CommaList = Annotated[tuple[str, ...], NoDecode]


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_OIDC_", extra="ignore", validate_by_name=True)

    issuer: str = ""  # e.g. https://login.example.org/realms/openrcm; exactly the tokens' `iss`
    audience: str = "openrcm-api"
    jwks_url: str | None = None  # default: the discovery document's jwks_uri
    algorithms: CommaList = ("RS256", "ES256")
    leeway_seconds: int = Field(30, ge=0, le=120)  # clock skew allowed on exp, nbf and iat
    roles_claims: CommaList = ("realm_access.roles", "resource_access.{audience}.roles", "roles", "groups")
    allow_http: bool = False  # plain-HTTP issuer/JWKS off loopback (a cluster-internal provider); HTTPS otherwise
    http_timeout_seconds: float = 5.0
    api_key_fallback: bool = False  # accept X-API-Key for local scripts; never in production
    api_key: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("RCM_OIDC_API_KEY", "RCM_API_KEY"))
    api_key_roles: CommaList = ROLES  # what the fallback key may do: today's key opens everything

    @field_validator("algorithms", "roles_claims", "api_key_roles", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not value:
            raise ValueError(f"only public-key signature algorithms are accepted ({', '.join(sorted(refused))} is not)")
        return value

    @model_validator(mode="after")
    def _usable(self) -> OidcSettings:
        if self.issuer:
            for url in (self.issuer, self.jwks_url):
                if url and not (self.allow_http or _https_or_loopback(url)):
                    raise ValueError(f"{url} is not HTTPS (set RCM_OIDC_ALLOW_HTTP=true for a cluster-internal one)")
        if self.api_key_fallback and not self.api_key.get_secret_value():
            raise ValueError("RCM_OIDC_API_KEY_FALLBACK=true needs RCM_API_KEY")
        return self

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or parts.hostname is None:
        return False
    try:
        return parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal:
    subject: str  # the token's `sub`: stable, what decisions and audit records name
    display_name: str  # preferred_username, else name, else the subject: for people to read
    roles: frozenset[str]
    client_id: str | None  # the client the token was issued to (azp)
    machine: bool  # a client acting for itself (client credentials), not a person

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    def is_subject(self, subject: str | None) -> bool:
        """Whether `subject` names this caller: without case, so two accounts that differ only so are
        refused as one person (a second person's approval), never confused."""
        return subject is not None and self.subject.casefold() == subject.casefold()


class Unauthenticated(Exception):
    """No token, or one we cannot trust; `reason` is short and never contains the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched: the caller may be fine, we cannot tell."""


# --- the issuer's keys ------------------------------------------------------------------------------


class KeySet:
    """The issuer's signing keys (JWKS), fetched on first use and again for an unknown kid (rate-limited)."""

    def __init__(self, settings: OidcSettings, clock: Callable[[], float] = time.monotonic,
                 min_refresh_seconds: float = MIN_REFRESH_SECONDS) -> None:  # fmt: skip
        self._settings = settings
        self._clock = clock
        self._min_refresh = min_refresh_seconds
        self._jwks_url = settings.jwks_url
        self._jwks: dict[str, dict[str, Any]] = {}  # kid -> JWK of a signing key
        self._keys: dict[tuple[str, str], jwt.PyJWK] = {}  # (kid, alg) -> parsed key
        self._fetched_at: float | None = None  # when the keys we hold were fetched
        self._attempted_at: float | None = None  # when a fetch was last tried
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        stale = self._fetched_at is None or self._clock() - self._fetched_at > MAX_KEY_AGE_SECONDS
        if stale or self._find(kid) is None:
            await self._refresh()
        jwk = self._find(kid)
        if jwk is None:
            raise Unauthenticated("unknown signing key")
        kid = jwk.get("kid", "")
        if (kid, alg) not in self._keys:
            if jwk.get("alg", alg) != alg:
                raise Unauthenticated("algorithm does not match the key")
            try:
                self._keys[(kid, alg)] = jwt.PyJWK(jwk, algorithm=alg)
            except jwt.PyJWTError:
                raise Unauthenticated("algorithm does not match the key") from None
        return self._keys[(kid, alg)]

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is not None:
            return self._jwks.get(kid)
        return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None  # a lone key may go unnamed

    async def _refresh(self) -> None:
        """Fetches unless a fetch was tried moments ago (maybe by a concurrent request): tokens must not
        drive fetches."""
        async with self._lock:
            if self._attempted_at is not None:
                pause = self._min_refresh if self._fetched_at is not None else RETRY_SECONDS
                if self._clock() - self._attempted_at < pause:
                    if self._fetched_at is None:
                        raise ProviderUnavailable("the issuer's keys are not available yet")
                    return
            self._attempted_at = self._clock()
            try:
                self._jwks = await self._fetch()
            except ProviderUnavailable:
                if self._fetched_at is None:
                    raise
                log.warning("could not refresh the issuer's keys; keeping the %d known", len(self._jwks))
                return
            self._fetched_at = self._attempted_at
            self._keys = {}  # parsed again on use: a kid may now name other key material

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=self._settings.http_timeout_seconds, follow_redirects=False) as http:
            if self._jwks_url is None:
                self._jwks_url = (await _json(http, self._settings.discovery_url, self._check_discovery))["jwks_uri"]
            jwks = await _json(http, self._jwks_url, _check_jwks)
        keys = {
            jwk.get("kid", ""): jwk for jwk in jwks["keys"] if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig"
        }
        log.info("issuer keys fetched: %s", ", ".join(sorted(keys)) or "none")
        return keys

    def _check_discovery(self, doc: dict[str, Any]) -> None:
        # OpenID Connect Discovery 1.0 §4.3: the document must name exactly the issuer we asked.
        if doc.get("issuer") != self._settings.issuer:
            raise ProviderUnavailable(f"the discovery document names issuer {doc.get('issuer')!r}")
        if not isinstance(doc.get("jwks_uri"), str):
            raise ProviderUnavailable("the discovery document has no jwks_uri")
        if not (self._settings.allow_http or _https_or_loopback(doc["jwks_uri"])):
            raise ProviderUnavailable(f"the discovery document's jwks_uri {doc['jwks_uri']} is not HTTPS")


def _check_jwks(doc: dict[str, Any]) -> None:
    if not isinstance(doc.get("keys"), list):
        raise ProviderUnavailable("the JWKS has no keys list")


async def _json(http: httpx.AsyncClient, url: str, check: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        doc = response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise ProviderUnavailable(f"{url}: {err}") from None
    if not isinstance(doc, dict):
        raise ProviderUnavailable(f"{url}: not a JSON object")
    check(doc)
    return doc


# --- tokens -----------------------------------------------------------------------------------------

_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (  # most specific first: some subclass others
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.InvalidIssuedAtError, "bad issued-at time"),
    (jwt.DecodeError, "malformed token"),
)


def _reason(err: jwt.PyJWTError) -> str:
    if isinstance(err, jwt.MissingRequiredClaimError):
        return f"token has no {err.claim} claim"
    return next((reason for kind, reason in _REASONS if isinstance(err, kind)), "invalid token")


class TokenValidator:
    """Checks an access token against the issuer's keys and the settings; returns who it names."""

    def __init__(self, settings: OidcSettings, keys: KeySet | None = None) -> None:
        if not settings.issuer:
            raise ValueError("RCM_OIDC_ISSUER is not set")
        self.settings = settings
        self.keys = keys or KeySet(settings)
        self._options: jwt.types.Options = {"require": ["exp", "iss", "aud", "sub"]}

    async def principal(self, token: str) -> Principal:
        return principal_of(await self.claims(token), self.settings)

    async def claims(self, token: str) -> dict[str, Any]:
        header = _unverified_header(token)
        alg = header.get("alg")
        if alg not in self.settings.algorithms:
            raise Unauthenticated("algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("malformed token")
        try:
            key = await self.keys.key(kid, alg)
        except Unauthenticated:
            self._refuse_foreign_issuer(token)  # the clearer reason for a token from elsewhere
            raise
        try:
            return jwt.decode(token, key, algorithms=[alg], audience=self.settings.audience,
                              issuer=self.settings.issuer, leeway=self.settings.leeway_seconds,
                              options=self._options)  # fmt: skip
        except jwt.PyJWTError as err:
            raise Unauthenticated(_reason(err)) from None

    def _refuse_foreign_issuer(self, token: str) -> None:
        try:
            claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        if claimed != self.settings.issuer:
            raise Unauthenticated("wrong issuer")


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to choose the key; PyJWT reads and checks the whole token again as it verifies.
    (jwt.get_unverified_header would decode all three segments: half the cost of a validation.)"""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):  # binascii.Error and JSONDecodeError are ValueErrors
        raise Unauthenticated("malformed token") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise Unauthenticated("malformed token")
    return header


def principal_of(claims: Mapping[str, Any], settings: OidcSettings) -> Principal:
    subject = str(claims["sub"])
    name = claims.get("preferred_username") or claims.get("name") or claims.get("email") or subject
    return Principal(
        subject=subject,
        display_name=str(name),
        roles=roles_of(claims, settings.roles_claims, settings.audience),
        client_id=_client_id(claims),
        machine=_is_machine(claims),
    )


def roles_of(claims: Mapping[str, Any], paths: Iterable[str], audience: str) -> frozenset[str]:
    """The strings found at any of the dotted claim paths; `{audience}` stands for the audience (it may hold dots)."""
    found: set[str] = set()
    for path in paths:
        node: Any = claims
        for part in path.split("."):
            node = node.get(audience if part == "{audience}" else part) if isinstance(node, Mapping) else None
        if isinstance(node, str):
            node = [node]
        if isinstance(node, list):
            found.update(role for role in node if isinstance(role, str))
    return frozenset(found)


def _client_id(claims: Mapping[str, Any]) -> str | None:
    # azp (OIDC), client_id (RFC 9068, RFC 8693), cid (Okta), appid (Entra ID v1 tokens)
    value = next((claims[c] for c in ("azp", "client_id", "cid", "appid") if claims.get(c)), None)
    return str(value) if value is not None else None


def _is_machine(claims: Mapping[str, Any]) -> bool:
    """A client-credentials token, as each provider marks one."""
    if claims.get("idtyp") == "app" or claims.get("gty") == "client-credentials":  # Entra ID; Auth0
        return True
    if str(claims.get("preferred_username", "")).startswith("service-account-"):  # Keycloak's service accounts
        return True
    return claims.get("sub") is not None and claims.get("sub") == _client_id(claims)  # RFC 9068 §2.2 (Okta)


# --- a machine calling: client credentials -----------------------------------------------------------


class ClientCredentials(httpx.Auth):
    """httpx auth for a machine caller (the EHR, the demo, a service calling another): an access token by
    the client-credentials grant (RFC 6749 §4.4, client_secret_basic), renewed shortly before it expires
    and once more if the API answers 401. Works for sync and async clients alike.

        httpx.Client(base_url=..., auth=ClientCredentials(token_url, "rcm-ehr", secret))
    """

    requires_response_body = True  # the token response is read inside the flow

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str | None = None,
                 renew_before_seconds: float = 30.0) -> None:  # fmt: skip
        self.token_url, self.client_id, self.scope = token_url, client_id, scope
        self._basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()).decode()
        self._renew_before = renew_before_seconds
        self._token: str | None = None
        self._expires_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or time.monotonic() > self._expires_at - self._renew_before:
            self._keep((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:  # revoked or rotated early: one fresh token, one retry
            self._keep((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
        return httpx.Request("POST", self.token_url, data=form, headers={"Authorization": f"Basic {self._basic}"})

    def _keep(self, response: httpx.Response) -> None:
        response.raise_for_status()  # an httpx.HTTPStatusError, as the caller's own request would raise
        answer = response.json()
        self._token = answer["access_token"]
        self._expires_at = time.monotonic() + float(answer.get("expires_in", 60))


# --- HTTP: who is calling, and may they -------------------------------------------------------------


class Authenticator:
    """Bearer tokens through a TokenValidator; the API key only when the fallback is switched on."""

    def __init__(self, settings: OidcSettings, validator: TokenValidator | None = None) -> None:
        if not settings.issuer and not settings.api_key_fallback:
            raise ValueError("no identity provider: set RCM_OIDC_ISSUER (or, for local scripts, the API-key fallback)")
        self.settings = settings
        self.validator = validator or (TokenValidator(settings) if settings.issuer else None)

    async def authenticate(self, authorization: str | None, api_key: str | None = None) -> Principal:
        if authorization:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("malformed authorization header")
            if self.validator is None:
                raise Unauthenticated("bearer tokens are not configured")
            return await self.validator.principal(token.strip())
        if api_key and self.settings.api_key_fallback:
            return self._api_key_principal(api_key)
        raise Unauthenticated("missing bearer token")

    def _api_key_principal(self, given: str) -> Principal:
        expected = self.settings.api_key.get_secret_value()
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise Unauthenticated("wrong API key")
        return Principal("api-key", "API key (local scripts)", frozenset(self.settings.api_key_roles), None, True)


def authenticator(app: FastAPI) -> Authenticator:
    """The app's Authenticator; made from the environment on first use if the app was given none."""
    if getattr(app.state, "authenticator", None) is None:
        app.state.authenticator = Authenticator(OidcSettings())
    chosen: Authenticator = app.state.authenticator
    return chosen


async def current_principal(request: Request) -> Principal:
    """The caller, or 401 (RFC 6750 §3: a challenge, with error="invalid_token" when a credential was refused)."""
    try:
        principal = await authenticator(request.app).authenticate(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
    except Unauthenticated as err:
        challenge = 'Bearer realm="openrcm"'
        if err.reason != "missing bearer token":
            challenge += f', error="invalid_token", error_description="{err.reason}"'
        raise HTTPException(401, err.reason, headers={"WWW-Authenticate": challenge}) from None
    except ProviderUnavailable as err:
        log.warning("cannot check bearer tokens: %s", err)
        raise HTTPException(503, "the identity provider does not answer", headers={"Retry-After": "5"}) from None
    request.state.principal = principal  # for the audit trail and the access log
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[..., Any]:
    """A dependency that lets through a caller holding any of `roles` (403 with the reason otherwise)."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}" if unknown else "name at least one role")
    wanted = frozenset(roles)
    reason = f"requires one of: {', '.join(roles)}"

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_any(wanted):
            challenge = f'Bearer realm="openrcm", error="insufficient_scope", error_description="{reason}"'
            raise HTTPException(403, reason, headers={"WWW-Authenticate": challenge})
        return principal

    dependency.roles = wanted  # type: ignore[attr-defined]  # read by the route x role table
    return dependency
