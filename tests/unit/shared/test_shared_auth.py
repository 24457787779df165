"""shared/auth.py against keys made here and an issuer served by a small HTTP server in this process."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from pydantic import ValidationError

from shared.auth import (
    Authenticator,
    ClientCredentials,
    KeySet,
    OidcSettings,
    Principal,
    PrincipalDep,
    ProviderUnavailable,
    TokenValidator,
    Unauthenticated,
    require_roles,
)

AUDIENCE = "openrcm-api"


class SigningKey:
    def __init__(self, kind: str):
        self.kid = f"{kind}-{uuid.uuid4().hex[:8]}"
        if kind == "rsa":
            self.private, self.alg = rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
            self.jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private, self.alg = ec.generate_private_key(ec.SECP256R1()), "ES256"
            self.jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk |= {"kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict, **header) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


class Issuer:
    """Serves a discovery document and a JWKS the tests can change; counts the JWKS requests."""

    def __init__(self):
        self.keys: list[dict] = []
        self.jwks_requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/realms/t/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/certs"}
                elif self.path == "/realms/t/certs":
                    issuer.jwks_requests += 1
                    body = {"keys": issuer.keys}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/realms/t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        base = {
            "iss": self.url, "aud": AUDIENCE, "sub": "f3b1c2d4-0000-4000-8000-000000000001", "iat": now,
            "exp": now + 300, "azp": "rcm-test", "preferred_username": "carol.coder", "name": "Carol Chen",
            "realm_access": {"roles": ["coder", "default-roles-openrcm"]},
        }  # fmt: skip
        return {k: v for k, v in (base | overrides).items() if v is not None}


@pytest.fixture(scope="module")
def issuer():
    served = Issuer()
    yield served
    served.server.shutdown()


@pytest.fixture(scope="module")
def rsa_key():
    return SigningKey("rsa")


@pytest.fixture(scope="module")
def ec_key():
    return SigningKey("ec")


@pytest.fixture
def validator(issuer, rsa_key, ec_key):
    issuer.keys = [rsa_key.jwk, ec_key.jwk]
    return TokenValidator(OidcSettings(issuer=issuer.url, audience=AUDIENCE))


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


async def refused(validator: TokenValidator, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await validator.principal(token)
    assert not token or token not in str(caught.value)
    return caught.value.reason


# --- valid tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
async def test_a_valid_token_names_the_caller(request, issuer, validator, key_name):
    key = request.getfixturevalue(key_name)
    principal = await validator.principal(key.sign(issuer.claims()))
    assert principal == Principal(
        subject="f3b1c2d4-0000-4000-8000-000000000001",
        display_name="carol.coder",
        roles=frozenset({"coder", "default-roles-openrcm"}),
        client_id="rcm-test",
        machine=False,
    )


async def test_the_keys_are_fetched_once_for_many_tokens(issuer, validator, rsa_key):
    before = issuer.jwks_requests
    for _ in range(5):
        await validator.principal(rsa_key.sign(issuer.claims()))
    assert issuer.jwks_requests - before == 1


async def test_an_audience_list_containing_ours_is_accepted(issuer, validator, rsa_key):
    principal = await validator.principal(rsa_key.sign(issuer.claims(aud=["account", AUDIENCE])))
    assert principal.subject.startswith("f3b1c2d4")


# --- refused tokens ---------------------------------------------------------------------------------


async def test_expired(issuer, validator, rsa_key):
    assert await refused(validator, rsa_key.sign(issuer.claims(exp=int(time.time()) - 60))) == "token expired"


async def test_not_yet_valid(issuer, validator, rsa_key):
    assert await refused(validator, rsa_key.sign(issuer.claims(nbf=int(time.time()) + 120))) == "token not yet valid"


async def test_wrong_issuer_even_when_signed_with_a_known_key(issuer, validator, rsa_key):
    token = rsa_key.sign(issuer.claims(iss="http://127.0.0.1:1/realms/master"))
    assert await refused(validator, token) == "wrong issuer"


async def test_a_foreign_issuers_key_is_not_fetched_for(issuer, validator, rsa_key):
    await validator.principal(rsa_key.sign(issuer.claims()))
    before = issuer.jwks_requests
    stranger = SigningKey("rsa")
    assert await refused(validator, stranger.sign(issuer.claims(iss="https://elsewhere.example/"))) == "wrong issuer"
    assert issuer.jwks_requests == before


async def test_wrong_audience(issuer, validator, rsa_key):
    assert await refused(validator, rsa_key.sign(issuer.claims(aud="account"))) == "wrong audience"


async def test_no_audience(issuer, validator, rsa_key):
    assert await refused(validator, rsa_key.sign(issuer.claims(aud=None))) == "token has no aud claim"


async def test_no_subject(issuer, validator, rsa_key):
    assert await refused(validator, rsa_key.sign(issuer.claims(sub=None))) == "token has no sub claim"


async def test_alg_none(issuer, validator, rsa_key):
    token = unsigned({"alg": "none", "typ": "JWT", "kid": rsa_key.kid}, issuer.claims())
    assert await refused(validator, token) == "algorithm not allowed"


async def test_hs256_signed_with_the_public_key(issuer, validator, rsa_key):
    """The classic confusion: the verifier must not use the RSA public key as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}
    body = unsigned(header, issuer.claims(realm_access={"roles": ["admin"]})).rsplit(".", 1)[0]
    signature = hmac.new(rsa_key.public_pem(), body.encode(), hashlib.sha256).digest()
    token = unsigned(header, issuer.claims(realm_access={"roles": ["admin"]}), signature)
    assert await refused(validator, token) == "algorithm not allowed"


async def test_tampered_payload(issuer, validator, rsa_key):
    header, _, signature = rsa_key.sign(issuer.claims()).split(".")
    forged = unsigned({}, issuer.claims(realm_access={"roles": ["admin"]})).split(".")[1]
    assert await refused(validator, f"{header}.{forged}.{signature}") == "bad signature"


async def test_a_token_claiming_another_keys_algorithm(issuer, validator, ec_key):
    """An EC key named in an RS256 header: refused before any verification."""
    token = unsigned({"alg": "RS256", "kid": ec_key.kid}, issuer.claims(), b"x" * 256)
    assert await refused(validator, token) == "algorithm does not match the key"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x.y.z"])
async def test_malformed(validator, token):
    assert await refused(validator, token) == "malformed token"


# --- clock skew -------------------------------------------------------------------------------------


async def test_leeway_accepts_small_skew_only(issuer, validator, rsa_key):
    now = int(time.time())
    await validator.principal(rsa_key.sign(issuer.claims(exp=now - 20)))  # within 30 s
    assert await refused(validator, rsa_key.sign(issuer.claims(exp=now - 40))) == "token expired"
    await validator.principal(rsa_key.sign(issuer.claims(nbf=now + 20)))


@pytest.mark.parametrize("leeway", [-1, 121, 3600])
def test_leeway_is_bounded(leeway):
    with pytest.raises(ValidationError):
        OidcSettings(issuer="https://id.example/realms/x", leeway_seconds=leeway)


# --- key rotation -----------------------------------------------------------------------------------


async def test_rotation_picks_up_the_new_key_and_unknown_kids_cannot_drive_fetches(issuer, rsa_key):
    issuer.keys = [rsa_key.jwk]
    now = [1000.0]
    settings = OidcSettings(issuer=issuer.url, audience=AUDIENCE)
    validator = TokenValidator(settings, KeySet(settings, clock=lambda: now[0]))
    await validator.principal(rsa_key.sign(issuer.claims()))
    fetched = issuer.jwks_requests

    rotated = SigningKey("rsa")
    issuer.keys = [rotated.jwk]  # the provider rotated: the old key is withdrawn
    now[0] += 5  # within 30 s of the last fetch: an unknown kid does not fetch again
    assert await refused(validator, rotated.sign(issuer.claims())) == "unknown signing key"
    assert issuer.jwks_requests == fetched

    now[0] += 30
    principal = await validator.principal(rotated.sign(issuer.claims()))
    assert principal.display_name == "carol.coder"
    assert issuer.jwks_requests == fetched + 1
    # the withdrawn key is gone with the refresh
    assert await refused(validator, rsa_key.sign(issuer.claims())) == "unknown signing key"
    for _ in range(3):
        assert await refused(validator, SigningKey("rsa").sign(issuer.claims())) == "unknown signing key"
    assert issuer.jwks_requests == fetched + 1


async def test_keys_for_encryption_are_not_used_to_verify(issuer, rsa_key):
    issuer.keys = [rsa_key.jwk | {"use": "enc"}]
    validator = TokenValidator(OidcSettings(issuer=issuer.url, audience=AUDIENCE))
    assert await refused(validator, rsa_key.sign(issuer.claims())) == "unknown signing key"


async def test_a_discovery_document_for_another_issuer_is_refused(issuer, rsa_key):
    settings = OidcSettings(issuer=issuer.url + "/", audience=AUDIENCE)  # one character off
    with pytest.raises(ProviderUnavailable, match="names issuer"):
        await TokenValidator(settings).principal(rsa_key.sign(issuer.claims(iss=issuer.url + "/")))


async def test_an_unreachable_provider_is_unavailable_not_unauthenticated(rsa_key):
    settings = OidcSettings(issuer="http://127.0.0.1:9/realms/t", audience=AUDIENCE, http_timeout_seconds=1)
    with pytest.raises(ProviderUnavailable):
        await TokenValidator(settings).principal(rsa_key.sign({"sub": "x"}))


async def test_an_explicit_jwks_url_skips_discovery(issuer, rsa_key):
    issuer.keys = [rsa_key.jwk]
    settings = OidcSettings(issuer="https://id.example/realms/t", jwks_url=f"{issuer.url}/certs", audience=AUDIENCE)
    principal = await TokenValidator(settings).principal(rsa_key.sign(issuer.claims(iss="https://id.example/realms/t")))
    assert principal.roles >= {"coder"}


# --- roles and machines as each provider writes them ------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"realm_access": {"roles": ["biller"]}, "resource_access": {AUDIENCE: {"roles": ["auditor"]}}},
         {"biller", "auditor"}),  # Keycloak realm and client roles
        ({"resource_access": {"other-client": {"roles": ["admin"]}}}, set()),  # another client's roles do not count
        ({"roles": ["supervisor"]}, {"supervisor"}),  # Entra ID app roles
        ({"groups": ["front_desk", "Everyone"]}, {"front_desk", "Everyone"}),  # Okta groups
        ({"roles": "coder"}, {"coder"}),
        ({"realm_access": "coder", "roles": [1, None]}, set()),
    ],
)  # fmt: skip
async def test_roles_are_read_where_each_provider_puts_them(issuer, validator, rsa_key, claims, roles):
    principal = await validator.principal(rsa_key.sign(issuer.claims(realm_access=None) | claims))
    assert principal.roles == roles


@pytest.mark.parametrize(
    ("claims", "machine", "client_id"),
    [
        ({"preferred_username": "service-account-rcm-ehr", "azp": "rcm-ehr"}, True, "rcm-ehr"),  # Keycloak
        ({"idtyp": "app", "azp": "5f1c", "preferred_username": None}, True, "5f1c"),  # Entra ID
        ({"sub": "0oa1ehr", "cid": "0oa1ehr", "azp": None, "preferred_username": None}, True, "0oa1ehr"),  # Okta
        ({"preferred_username": "carol.coder", "azp": "rcm-console"}, False, "rcm-console"),
    ],
)
async def test_machines_are_recognised(issuer, validator, rsa_key, claims, machine, client_id):
    principal = await validator.principal(rsa_key.sign(issuer.claims(**claims)))
    assert (principal.machine, principal.client_id) == (machine, client_id)


# --- settings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithms", ["none", "HS256", "RS256,HS512", ""])
def test_symmetric_and_none_algorithms_cannot_be_configured(monkeypatch, algorithms):
    monkeypatch.setenv("RCM_OIDC_ALGORITHMS", algorithms)
    with pytest.raises(ValidationError):
        OidcSettings(issuer="https://id.example/realms/x")


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("RCM_OIDC_ISSUER", "https://login.microsoftonline.com/tenant/v2.0")
    monkeypatch.setenv("RCM_OIDC_ALGORITHMS", "RS256, PS256")
    monkeypatch.setenv("RCM_OIDC_ROLES_CLAIMS", "roles")
    settings = OidcSettings()
    assert (settings.algorithms, settings.roles_claims, settings.leeway_seconds) == (("RS256", "PS256"), ("roles",), 30)
    assert settings.discovery_url == "https://login.microsoftonline.com/tenant/v2.0/.well-known/openid-configuration"


def test_plain_http_only_on_loopback_unless_allowed():
    OidcSettings(issuer="http://127.0.0.1:18080/realms/openrcm")
    OidcSettings(issuer="http://localhost:18080/realms/openrcm")
    with pytest.raises(ValidationError, match="not HTTPS"):
        OidcSettings(issuer="http://keycloak.example/realms/openrcm")
    OidcSettings(issuer="http://keycloak.svc:8080/realms/openrcm", allow_http=True)


# --- HTTP: 401, 403 and the fallback key ------------------------------------------------------------


@pytest.fixture
def api(validator):
    app = FastAPI()
    app.state.authenticator = Authenticator(validator.settings, validator)

    @app.get("/v1/me")
    async def me(principal: PrincipalDep) -> dict:
        return {"subject": principal.subject, "roles": sorted(principal.roles)}

    @app.get("/v1/approvals", dependencies=[Depends(require_roles("coder", "supervisor"))])
    async def approvals() -> dict:
        return {"ok": True}

    @app.get("/v1/audit", dependencies=[Depends(require_roles("auditor"))])
    async def audit() -> dict:
        return {"ok": True}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_no_token_is_401_with_a_bearer_challenge(api):
    response = await api.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="openrcm"'


async def test_a_bad_token_is_401_invalid_token_with_the_reason(issuer, api, rsa_key):
    token = rsa_key.sign(issuer.claims(exp=int(time.time()) - 600))
    response = await api.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "token expired"}
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text + response.headers["www-authenticate"]


async def test_roles_decide_between_200_and_403(issuer, api, rsa_key):
    headers = {"Authorization": f"Bearer {rsa_key.sign(issuer.claims())}"}
    assert (await api.get("/v1/me", headers=headers)).json()["roles"] == ["coder", "default-roles-openrcm"]
    assert (await api.get("/v1/approvals", headers=headers)).status_code == 200
    refused = await api.get("/v1/audit", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "requires one of: auditor"}
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


async def test_other_authorization_schemes_are_401(api):
    response = await api.get("/v1/me", headers={"Authorization": "Basic Y2Fyb2w6cHc="})
    assert response.status_code == 401
    assert response.json() == {"detail": "malformed authorization header"}


async def test_the_api_key_is_refused_unless_the_fallback_is_on(issuer, api):
    assert (await api.get("/v1/me", headers={"X-API-Key": "local-key"})).status_code == 401


async def test_the_api_key_fallback_when_switched_on():
    settings = OidcSettings(api_key_fallback=True, api_key="local-key", api_key_roles="coder")
    authenticator = Authenticator(settings)
    principal = await authenticator.authenticate(None, "local-key")
    assert (principal.subject, principal.roles, principal.machine) == ("api-key", frozenset({"coder"}), True)
    with pytest.raises(Unauthenticated, match="wrong API key"):
        await authenticator.authenticate(None, "guess")


def test_a_fallback_without_a_key_or_no_provider_at_all_fails_at_start():
    with pytest.raises(ValidationError):
        OidcSettings(api_key_fallback=True, api_key="")
    with pytest.raises(ValueError, match="RCM_OIDC_ISSUER"):
        Authenticator(OidcSettings(issuer=""))


def test_require_roles_refuses_unknown_role_names():
    with pytest.raises(ValueError, match="coders"):
        require_roles("coders")
    assert require_roles("coder", "supervisor").roles == {"coder", "supervisor"}


# --- a machine calling: client credentials -------------------------------------------------------------


async def test_client_credentials_get_renew_and_retry_a_token(issuer, rsa_key):
    issuer.keys = [rsa_key.jwk]
    validator = TokenValidator(OidcSettings(issuer=issuer.url, audience=AUDIENCE))
    grants: list[dict] = []
    revoked: set[str] = set()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            grants.append({"authorization": request.headers["authorization"], "form": request.content.decode()})
            token = rsa_key.sign(issuer.claims(sub="svc-ehr", azp="rcm-ehr", jti=uuid.uuid4().hex))
            return httpx.Response(200, json={"access_token": token, "expires_in": 300, "token_type": "Bearer"})
        token = request.headers["authorization"].removeprefix("Bearer ")
        if token in revoked:
            return httpx.Response(401)
        return httpx.Response(200, json={"caller": (await validator.principal(token)).client_id, "token": token})

    auth = ClientCredentials("http://idp/token", "rcm-ehr", "s3cret&more")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api", auth=auth) as api:
        first = (await api.get("/v1/x")).json()
        assert first["caller"] == "rcm-ehr"
        assert (await api.get("/v1/x")).json()["token"] == first["token"]  # kept while valid
        assert len(grants) == 1
        assert grants[0]["form"] == "grant_type=client_credentials"
        assert base64.b64decode(grants[0]["authorization"].removeprefix("Basic ")) == b"rcm-ehr:s3cret%26more"
        revoked.add(first["token"])
        assert (await api.get("/v1/x")).json()["token"] != first["token"]  # 401: a new token and one retry
        assert len(grants) == 2


def test_client_credentials_refused_is_an_http_error():
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"error": "unauthorized_client"}))
    auth = ClientCredentials("http://idp/token", "rcm-ehr", "wrong")
    with (
        httpx.Client(transport=transport, base_url="http://api", auth=auth) as api,
        pytest.raises(httpx.HTTPStatusError),
    ):
        api.get("/v1/x")


def test_a_discovery_document_naming_plain_http_keys_is_refused():
    settings = OidcSettings(issuer="https://id.example/realms/t")
    keys = KeySet(settings)
    keys._check_discovery({"issuer": settings.issuer, "jwks_uri": "https://id.example/realms/t/certs"})
    with pytest.raises(ProviderUnavailable, match="not HTTPS"):
        keys._check_discovery({"issuer": settings.issuer, "jwks_uri": "http://id.example/realms/t/certs"})
