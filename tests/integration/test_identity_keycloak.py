"""The shipped realm (deploy/keycloak) in the real Keycloak, and shared/auth.py validating its tokens."""

import base64
import hashlib
import html
import json
import re
import secrets
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from rcmctl.stack import keycloak
from shared.auth import (
    ROLES,
    Authenticator,
    ClientCredentials,
    KeySet,
    Principal,
    TokenValidator,
    Unauthenticated,
    require_roles,
)
from tests.integration.keycloak_idp import Idp

pytestmark = pytest.mark.integration

SAMPLE_USERS = keycloak.sample_users()
MACHINES = keycloak.machine_clients()


@pytest.fixture(scope="session")
def validator(idp) -> TokenValidator:
    return TokenValidator(idp.settings())


def test_the_realm_template_is_rendered_with_every_secret_json_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv("RCM_KEYCLOAK_SAMPLE_PASSWORD", 'pa"ss\\word')
    monkeypatch.setenv("RCM_KEYCLOAK_CLIENT_SECRET_RCM_EHR", "ehr-secret-from-env")
    creds = keycloak.credentials(tmp_path)
    realm = json.loads(keycloak.render_realm(keycloak.REALM_TEMPLATE.read_text(), creds))
    passwords = {u["username"]: u["credentials"][0]["value"] for u in realm["users"] if "credentials" in u}
    assert passwords == dict.fromkeys(SAMPLE_USERS, 'pa"ss\\word')
    secrets_ = {c["clientId"]: c.get("secret") for c in realm["clients"] if not c["publicClient"]}
    assert secrets_["rcm-ehr"] == "ehr-secret-from-env"
    assert all(len(secret) >= 32 for client, secret in secrets_.items() if client != "rcm-ehr")
    assert (tmp_path / "keycloak" / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert keycloak.credentials(tmp_path) == creds  # generated once, then kept


def test_every_client_puts_the_services_audience_in_its_tokens():
    realm = json.loads(keycloak.REALM_TEMPLATE.read_text())
    for client in realm["clients"]:
        audiences = [m["config"]["included.custom.audience"] for m in client["protocolMappers"]
                     if m["protocolMapper"] == "oidc-audience-mapper"]  # fmt: skip
        assert audiences == [keycloak.AUDIENCE], client["clientId"]
    assert [c["clientId"] for c in realm["clients"] if c["directAccessGrantsEnabled"]] == [keycloak.TEST_CLIENT]


def test_the_realm_has_a_person_for_every_role_and_two_for_the_four_eyes_roles():
    people_per_role = {role: [u for u, roles in SAMPLE_USERS.items() if role in roles] for role in ROLES}
    person_roles = set(ROLES) - {"encounter_intake", "analytics_reader"}
    assert all(people_per_role[role] for role in person_roles)
    assert len(people_per_role["supervisor"]) >= 2 and len(people_per_role["ar_specialist"]) >= 2


async def test_discovery_names_the_issuer_services_are_configured_with(idp):
    async with httpx.AsyncClient() as http:
        doc = (await http.get(f"{idp.issuer}/.well-known/openid-configuration")).json()
    assert doc["issuer"] == idp.issuer == keycloak.issuer()
    assert "S256" in doc["code_challenge_methods_supported"]


@pytest.mark.parametrize("username", sorted(SAMPLE_USERS))
async def test_each_sample_user_signs_in_with_their_roles(idp, validator, username):
    token = await idp.password_token(username)
    principal = await validator.principal(token)
    [user] = await idp.admin(f"/users?username={username}&exact=true")
    assert principal.subject == user["id"]
    assert principal.display_name == username
    assert principal.roles & set(ROLES) == set(SAMPLE_USERS[username])
    assert principal.client_id == keycloak.TEST_CLIENT
    assert not principal.machine


@pytest.mark.parametrize("client", sorted(MACHINES))
async def test_each_machine_client_gets_a_token_by_client_credentials(idp, validator, client):
    token = await idp.client_token(client)
    principal = await validator.principal(token)
    [account] = await idp.admin(f"/users?username=service-account-{client}&exact=true")
    assert principal.subject == account["id"]
    assert principal.roles & set(ROLES) == set(MACHINES[client])
    assert (principal.client_id, principal.machine) == (client, True)


async def test_access_tokens_live_five_minutes(idp):
    response = await idp.token(
        {"grant_type": "client_credentials", "client_id": "rcm-ehr", "client_secret": idp.creds.clients["rcm-ehr"]}
    )
    assert response.json()["expires_in"] in (299, 300)  # seconds left when answered: a second may have begun
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


async def test_the_master_realms_token_is_refused_as_wrong_issuer(idp, validator):
    response = await idp.token(
        {"grant_type": "password", "client_id": "admin-cli", "username": idp.creds.admin_user,
         "password": idp.creds.admin_password},
        realm="master",
    )  # fmt: skip
    response.raise_for_status()
    with pytest.raises(Unauthenticated, match="wrong issuer"):
        await validator.principal(response.json()["access_token"])


async def test_a_tampered_keycloak_token_is_refused(idp, validator):
    header, payload, signature = (await idp.password_token("carol.coder")).split(".")
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    claims["realm_access"] = {"roles": ["admin", "supervisor"]}
    forged = jwt.utils.base64url_encode(jwt.api_jwt.json.dumps(claims).encode()).decode()
    with pytest.raises(Unauthenticated, match="bad signature"):
        await validator.principal(f"{header}.{forged}.{signature}")


async def test_only_the_test_client_has_the_password_grant(idp):
    response = await idp.token(
        {"grant_type": "password", "client_id": "rcm-ehr", "client_secret": idp.creds.clients["rcm-ehr"],
         "username": "carol.coder", "password": idp.creds.users["carol.coder"]}
    )  # fmt: skip
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


async def test_a_wrong_client_secret_gets_no_token(idp):
    response = await idp.token({"grant_type": "client_credentials", "client_id": "rcm-ehr", "client_secret": "guess"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized_client"


# --- the console: authorization code with PKCE ------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def sign_in(idp: Idp, username: str, challenge: str, redirect: str) -> str:
    """What a browser does on the console's behalf: the login form, then the redirect's code."""
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(f"{idp.issuer}/protocol/openid-connect/auth", params={
            "client_id": keycloak.CONSOLE_CLIENT, "response_type": "code", "scope": "openid", "redirect_uri": redirect,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "s1"})  # fmt: skip
        action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
        # Browsers send Secure cookies to http://127.0.0.1 (a secure context); httpx's cookie jar does not.
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies.jar)
        signed_in = await browser.post(action, data={"username": username, "password": idp.creds.users[username]},
                                       headers={"Cookie": cookies})  # fmt: skip
    assert signed_in.status_code == 302, signed_in.text[:500]
    query = parse_qs(urlsplit(signed_in.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def test_the_console_signs_a_person_in_with_pkce(idp, validator):
    redirect = "http://127.0.0.1:5173/callback"  # any loopback port (RFC 8252 §7.3)
    verifier, challenge = pkce_pair()
    form = {"grant_type": "authorization_code", "client_id": keycloak.CONSOLE_CLIENT, "redirect_uri": redirect}
    code = await sign_in(idp, "sam.supervisor", challenge, redirect)
    exchanged = await idp.token(form | {"code": code, "code_verifier": verifier})
    exchanged.raise_for_status()
    principal = await validator.principal(exchanged.json()["access_token"])
    assert (principal.display_name, principal.client_id, principal.machine) == ("sam.supervisor", "rcm-console", False)
    assert principal.roles & set(ROLES) == {"supervisor"}


@pytest.mark.parametrize("verifier", [None, "another-verifier-" + "x" * 40])
async def test_a_code_without_its_verifier_buys_no_token(idp, verifier):
    redirect = "http://127.0.0.1:5173/callback"
    code = await sign_in(idp, "sam.supervisor", pkce_pair()[1], redirect)
    form = {"grant_type": "authorization_code", "client_id": keycloak.CONSOLE_CLIENT, "redirect_uri": redirect}
    response = await idp.token(form | {"code": code} | ({"code_verifier": verifier} if verifier else {}))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("params", "refusal"),
    [
        ({"redirect_uri": "http://127.0.0.1:5173/cb"}, "code_challenge_method"),  # no PKCE
        ({"redirect_uri": "http://127.0.0.1:5173/cb", "code_challenge": "x" * 43, "code_challenge_method": "plain"},
         "code challenge method"),
    ],
)  # fmt: skip
async def test_the_console_requires_pkce_s256(idp, params, refusal):
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{idp.issuer}/protocol/openid-connect/auth",
                                     params={"client_id": keycloak.CONSOLE_CLIENT, "response_type": "code",
                                             "scope": "openid", **params})  # fmt: skip
    assert response.status_code == 302
    error = parse_qs(urlsplit(response.headers["location"]).query)
    assert error["error"] == ["invalid_request"] and refusal in error["error_description"][0]


async def test_the_console_redirects_only_to_registered_addresses(idp):
    _, challenge = pkce_pair()
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{idp.issuer}/protocol/openid-connect/auth", params={
            "client_id": keycloak.CONSOLE_CLIENT, "response_type": "code", "scope": "openid",
            "redirect_uri": "https://attacker.example/cb", "code_challenge": challenge,
            "code_challenge_method": "S256"})  # fmt: skip
    assert response.status_code == 400
    assert "location" not in response.headers


# --- a machine calling a service ----------------------------------------------------------------------


class ToApiOrNetwork(httpx.AsyncBaseTransport):
    """Requests to http://api go to the app in this process; the token request goes to Keycloak."""

    def __init__(self, app):
        self.api, self.network = httpx.ASGITransport(app=app), httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request):
        transport = self.api if request.url.host == "api" else self.network
        return await transport.handle_async_request(request)


@pytest.mark.parametrize(("client", "status"), [("rcm-ehr", 200), ("rcm-analytics", 403)])
async def test_a_machine_calls_a_route_with_client_credentials(idp, validator, client, status):
    app = FastAPI()
    app.state.authenticator = Authenticator(validator.settings, validator)

    @app.post("/v1/fhir/Bundle")
    async def intake(caller: Annotated[Principal, Depends(require_roles("encounter_intake"))]) -> dict:
        return {"client": caller.client_id}

    auth = ClientCredentials(keycloak.token_url(idp.port), client, idp.creds.clients[client])
    async with httpx.AsyncClient(transport=ToApiOrNetwork(app), base_url="http://api", auth=auth) as ehr:
        response = await ehr.post("/v1/fhir/Bundle", json={})
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"client": client}
    else:
        assert response.json() == {"detail": "requires one of: encounter_intake"}


# --- key rotation in the real provider --------------------------------------------------------------


@pytest.fixture
async def scratch_realm(idp):
    """A realm of its own (the shared one keeps its keys): one machine client, the services' audience."""
    name, secret = f"rotation-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    audience = {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                "config": {"included.custom.audience": keycloak.AUDIENCE, "access.token.claim": "true"}}  # fmt: skip
    client = {"clientId": "probe", "publicClient": False, "secret": secret, "serviceAccountsEnabled": True,
              "standardFlowEnabled": False, "protocolMappers": [audience]}  # fmt: skip
    await idp.admin("", "POST", {"realm": name, "enabled": True, "clients": [client]}, realm="")
    yield name, secret
    await idp.admin("", "DELETE", realm=name)


async def test_keycloak_key_rotation(idp, scratch_realm):
    name, secret = scratch_realm
    settings = idp.settings().model_copy(update={"issuer": keycloak.issuer(idp.port, name)})
    validator = TokenValidator(settings, KeySet(settings, min_refresh_seconds=0))

    async def token() -> str:
        form = {"grant_type": "client_credentials", "client_id": "probe", "client_secret": secret}
        response = await idp.token(form, realm=name)
        response.raise_for_status()
        return response.json()["access_token"]

    old = await token()
    await validator.principal(old)
    [realm] = [r for r in await idp.admin("", realm="") if r["realm"] == name]
    await idp.admin("/components", "POST", realm=name, body={
        "name": "rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm["id"],
        "config": {"priority": ["500"], "algorithm": ["RS256"], "keySize": ["2048"]}})  # fmt: skip
    new = await token()
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert (await validator.principal(new)).client_id == "probe"  # an unknown kid: the keys are fetched again
    await validator.principal(old)  # the old key is still published: its tokens stay good until they expire

    withdrawn = [c for c in await idp.admin("/components?type=org.keycloak.keys.KeyProvider", realm=name)
                 if c["providerId"] == "rsa-generated" and c["name"] != "rotated"]  # fmt: skip
    for component in withdrawn:
        await idp.admin(f"/components/{component['id']}", "DELETE", realm=name)
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        await TokenValidator(settings).principal(old)
    await validator.principal(new)
