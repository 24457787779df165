"""The five services running on the real broker and database, trusting the real Keycloak and nothing
else (no API key): every `/v1` route of every service's OpenAPI document answers every role as the
service's permission table says, 401 without a token, and the tokens a service must not trust are
refused at the route (expired, wrong audience, wrong issuer, unsigned, tampered, a withdrawn key).

Who holds a role: the realm's sample person for each person role, the EHR's client (`rcm-ehr`) for
encounter_intake and the analysts' (`rcm-analytics`) for analytics_reader, by client credentials.
An allowed caller gets through to the route: 2xx, or the route's own answer to the made-up ids and
empty bodies the matrix sends (404, 409, 422, never 401 or 403); a registered patient makes the
patient's routes answer 2xx."""

import asyncio
import base64
import json
import secrets
import uuid
from contextlib import AsyncExitStack

import httpx
import jwt
import pytest

from rcmctl.sample import patients
from rcmctl.stack import keycloak
from services import NAMES, declaration
from services.ar_followup.settings import ArSettings
from services.claims.settings import ClaimsSettings
from services.coding.settings import CodingSettings
from services.payments.settings import PaymentsSettings
from services.registration.settings import RegistrationSettings
from shared.auth import ROLES, Authenticator
from shared.security import ANALYTICS_READER, ENCOUNTER_INTAKE
from shared.service import Service
from shared.settings import ServiceSettings
from tests.kit import running, settings_for

pytestmark = pytest.mark.integration

SETTINGS = {"registration": RegistrationSettings, "coding": CodingSettings, "claims": ClaimsSettings,
            "payments": PaymentsSettings, "ar_followup": ArSettings}  # fmt: skip
MACHINES = {ENCOUNTER_INTAKE: "rcm-ehr", ANALYTICS_READER: "rcm-analytics"}


def build(name: str, platform) -> Service:
    module = __import__(f"services.{name}.app", fromlist=["build"])
    return module.build(settings_for(platform, SETTINGS[name], name))


async def role_tokens(idp) -> dict[str, str]:
    """One token per role: a sample person holding it, or the machine client that holds it."""
    people = keycloak.sample_users()
    tokens = {}
    for role in ROLES:
        if role in MACHINES:
            tokens[role] = await idp.client_token(MACHINES[role])
        else:
            tokens[role] = await idp.password_token(next(u for u, roles in people.items() if roles == [role]))
    return tokens


def url_of(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


async def test_every_route_answers_every_role_as_its_rule_says(platform, idp):
    tokens = await role_tokens(idp)
    async with AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(running(build(name, platform), idp, api_key=False))
                   for name in NAMES}  # fmt: skip
        registered = await clients["registration"].post(
            "/v1/patients", json=patients(1, seed=41)[0], headers={"Authorization": f"Bearer {tokens['front_desk']}"}
        )
        assert registered.status_code == 201, registered.text
        ids = {"patient_id": registered.json()["patient_id"], "payer_id": "SIMBC", "decision": "approve"}
        answers: dict[tuple[str, str, str], int] = {}
        for name, client in clients.items():
            rules = declaration(name).permissions
            for path, item in openapi(name, idp)["paths"].items():
                for method in item:
                    route = f"{method.upper()} {path}"
                    url = url_of(path, ids | {p: str(uuid.uuid4()) for p in _params(path) if p not in ids})
                    body = None if method == "get" else {}
                    none = await client.request(method, url, json=body)
                    assert (none.status_code, none.json()["detail"]) == (401, "missing bearer token"), route
                    for role in ROLES:
                        answer = await client.request(method, url, json=body,
                                                      headers={"Authorization": f"Bearer {tokens[role]}"})  # fmt: skip
                        answers[(name, route, role)] = answer.status_code
                        allowed = role in rules.get(route, ())
                        if allowed:
                            assert answer.status_code not in (401, 403), (route, role, answer.text[:300])
                            assert answer.status_code < 500, (route, role, answer.text[:300])
                        else:
                            assert answer.status_code == 403, (route, role, answer.status_code)
                            assert answer.json()["detail"].startswith("requires one of:")
        # each refusal of a known caller is in the trail too: outcome 4, the route, the patient it named
        auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
        trail = await clients["registration"].get("/v1/audit", params={"patient_id": ids["patient_id"], "limit": 1000},
                                                  headers=auditor)  # fmt: skip
    read_patient = "GET /v1/patients/{patient_id}"
    refused = [e for e in trail.json()["entries"] if e["subtype"] == "refused" and e["entity_id"] == read_patient]
    not_allowed = [r for r in ROLES if r not in declaration("registration").permissions[read_patient]]
    assert len(refused) == len(not_allowed) and not_allowed
    assert {(e["outcome"], e["entity_type"], e["action"]) for e in refused} == {("4", "Route", "R")}
    assert all(e["outcome_desc"].startswith("403: requires one of:") for e in refused)
    rows = {(name, route) for name, route, _ in answers}
    assert rows == {(name, route) for name in NAMES for route in declaration(name).permissions}
    patient_reads = [("registration", "GET /v1/patients/{patient_id}", r) for r in ("front_desk", "auditor")]
    assert all(answers[key] == 200 for key in patient_reads)


def openapi(name: str, idp) -> dict:
    """The service's OpenAPI document, as its app serves it (RCM_HTTP_DOCS)."""
    return Service(declaration(name), ServiceSettings(), None).app(Authenticator(idp.settings())).openapi()


def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.replace(".", "/").split("/") if part.startswith("{") and part.endswith("}")]


# --- tokens a service must not trust, refused at a real route ------------------------------------------


@pytest.fixture
async def scratch(idp):
    """A realm of its own whose tokens live one second (the shared realm keeps its keys and lifespans)."""
    name, secret = f"refuse-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    audience = {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
                "config": {"included.custom.audience": keycloak.AUDIENCE, "access.token.claim": "true"}}  # fmt: skip
    client = {"clientId": "probe", "publicClient": False, "secret": secret, "serviceAccountsEnabled": True,
              "standardFlowEnabled": False, "protocolMappers": [audience]}  # fmt: skip
    realm = {"realm": name, "enabled": True, "accessTokenLifespan": 1, "clients": [client],
             "roles": {"realm": [{"name": "biller"}]},
             "users": [{"username": "service-account-probe", "enabled": True, "serviceAccountClientId": "probe",
                        "realmRoles": ["biller"]}]}  # fmt: skip
    await idp.admin("", "POST", realm, realm="")
    yield name, secret
    await idp.admin("", "DELETE", realm=name)


def claims_app(settings):
    """Claims' app checking tokens with these settings (no lifespan: the refusals happen before any query)."""
    return Service(declaration("claims"), ServiceSettings(), None).app(Authenticator(settings))


async def scratch_token(idp, realm: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": "probe", "client_secret": secret}
    response = await idp.token(form, realm=realm)
    response.raise_for_status()
    return response.json()["access_token"]


def forged(token: str, header: dict | None = None, claims: dict | None = None, signature: str | None = None) -> str:
    """The token with its header or claims changed (and its signature kept, or replaced)."""
    head, body, sig = token.split(".")

    def encode(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    if header is not None:
        head = encode(jwt.get_unverified_header(token) | header)
    if claims is not None:
        body = encode(jwt.decode(token, options={"verify_signature": False}) | claims)
    return f"{head}.{body}.{sig if signature is None else signature}"


async def status(app, token: str) -> tuple[int, str]:
    """GET /v1/claims/<not a uuid>: a trusted biller gets past the token to the route's own 422."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://claims") as client:
        answer = await client.get("/v1/claims/not-a-claim", headers={"Authorization": f"Bearer {token}"})
    detail = answer.json()["detail"]
    return answer.status_code, detail if isinstance(detail, str) else "route answered"


async def test_tokens_a_service_must_not_trust_are_401_at_the_route(idp, scratch):
    realm, secret = scratch
    trusting = idp.settings().model_copy(update={"issuer": keycloak.issuer(idp.port, realm)})
    app = claims_app(trusting)
    good = await scratch_token(idp, realm, secret)
    assert await status(app, good) == (422, "route answered")  # trusted: the route itself refuses the id

    shared_realm = await idp.password_token("bill.biller")  # the openrcm realm's: another issuer
    assert await status(app, shared_realm) == (401, "wrong issuer")
    assert await status(claims_app(trusting.model_copy(update={"audience": "another-api"})), good) == (
        401, "wrong audience")  # fmt: skip
    assert await status(app, forged(good, claims={"realm_access": {"roles": list(ROLES)}})) == (401, "bad signature")
    assert await status(app, forged(good, header={"alg": "none"}, signature="")) == (401, "algorithm not allowed")
    assert await status(app, forged(good, header={"alg": "HS256"})) == (401, "algorithm not allowed")

    await asyncio.sleep(2.5)  # the token lived one second
    assert await status(claims_app(trusting.model_copy(update={"leeway_seconds": 0})), good) == (401, "token expired")

    fresh = await scratch_token(idp, realm, secret)
    [realm_info] = [r for r in await idp.admin("", realm="") if r["realm"] == realm]
    await idp.admin("/components", "POST", realm=realm, body={
        "name": "rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm_info["id"], "config": {"priority": ["500"], "algorithm": ["RS256"]}})  # fmt: skip
    for component in await idp.admin("/components?type=org.keycloak.keys.KeyProvider", realm=realm):
        if component["providerId"] == "rsa-generated" and component["name"] != "rotated":
            await idp.admin(f"/components/{component['id']}", "DELETE", realm=realm)
    withdrawn = claims_app(trusting)
    assert await status(withdrawn, fresh) == (401, "unknown signing key")  # its key is no longer published
    assert (await status(withdrawn, await scratch_token(idp, realm, secret)))[0] == 422  # the new key's are good
