"""Who may call which route, without Kafka or PostgreSQL: every `/v1` route in every service's OpenAPI
document has a rule in its permission table (deny by default: a new route without one fails here), no
rule names a route that does not exist, a caller without a token gets 401 and one without the role
403 on every route, and the README's route x role table is the one the services enforce.
(tests/integration/test_identity_routes.py asks the same of the real Keycloak's tokens, with the
services running, and checks the allowed roles get through.)"""

import functools
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

import services
from rcmctl import routes as route_table
from shared.auth import ROLES, Authenticator, KeySet, OidcSettings, TokenValidator
from shared.security import authorize, permissions
from shared.service import Service
from shared.settings import ServiceSettings

ISSUER, AUDIENCE = "https://login.example.org/realms/openrcm", "openrcm-api"


class LocalKeys(KeySet):
    """The issuer's keys without an issuer: a JWKS held here."""

    def __init__(self, settings: OidcSettings, jwk: dict) -> None:
        super().__init__(settings)
        self.jwk = jwk

    async def _fetch(self) -> dict[str, dict]:
        return {self.jwk["kid"]: self.jwk}


@pytest.fixture(scope="module")
def signer():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": "k1", "alg": "RS256"}
    settings = OidcSettings(issuer=ISSUER, audience=AUDIENCE)
    authenticator = Authenticator(settings, TokenValidator(settings, LocalKeys(settings, jwk)))

    @functools.cache  # an RSA signature is a millisecond, and the tests ask for the same few hundred times
    def token(*roles: str, subject: str = "sub-1") -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 3600,
                  "preferred_username": "someone", "realm_access": {"roles": list(roles)}}  # fmt: skip
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})

    return authenticator, token


@pytest.fixture(scope="module")
def apps(signer):
    """Each service's app as Service.app() wires it (no lifespan: nothing connects)."""
    authenticator, _ = signer
    settings = ServiceSettings(http_docs=True)
    return {name: Service(services.declaration(name), settings, None).app(authenticator) for name in services.NAMES}


def operations(app) -> list[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI document."""
    return [(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item]


def concrete(path: str) -> str:
    """A URL for a path template: a made-up id for each parameter (a decision is `approve`)."""
    return path.replace("{decision}", "approve").replace("{", "").replace("}", "")  # e.g. /v1/claims/claim_id


ROUTES = [(name, route) for name, route, _ in route_table.rows()]


@pytest.mark.parametrize("service", services.NAMES)
def test_every_route_has_a_rule_and_every_rule_a_route(apps, service):
    documented = {f"{method} {path}" for method, path in operations(apps[service])}
    rules = set(services.declaration(service).permissions)
    assert documented - rules == set(), "routes without a permission rule (add them to the service's PERMISSIONS)"
    assert rules - documented == set(), "rules for routes that do not exist"
    assert all(path.startswith("/v1/") for path in (key.split(" ", 1)[1] for key in documented))


async def call(app, route: str, headers: dict[str, str]) -> httpx.Response:
    method, path = route.split(" ", 1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        return await client.request(method, concrete(path), headers=headers, json={} if method != "GET" else None)


@pytest.mark.parametrize(("service", "route"), ROUTES)
async def test_no_token_or_a_bad_one_is_401_on_every_route(apps, signer, service, route):
    _, token = signer
    app = apps[service]
    missing = await call(app, route, {})
    assert (missing.status_code, missing.json()["detail"]) == (401, "missing bearer token")
    assert missing.headers["www-authenticate"] == 'Bearer realm="openrcm"'
    forged = token(*ROLES)[:-4] + "AAAA"
    refused = await call(app, route, {"Authorization": f"Bearer {forged}"})
    assert (refused.status_code, refused.json()["detail"]) == (401, "bad signature")
    assert (await call(app, route, {"X-API-Key": "anything"})).status_code == 401  # the fallback is off


@pytest.mark.parametrize(("service", "route"), ROUTES)
async def test_a_token_without_a_role_the_rule_names_is_403_with_the_reason(apps, signer, service, route):
    _, token = signer
    allowed = services.declaration(service).permissions[route]
    for role in sorted(set(ROLES) - allowed):
        refused = await call(apps[service], route, {"Authorization": f"Bearer {token(role)}"})
        assert refused.status_code == 403, (route, role)
        assert refused.json()["detail"] == f"requires one of: {', '.join(sorted(allowed))}"
    nobody = await call(apps[service], route, {"Authorization": f"Bearer {token()}"})
    assert nobody.status_code == 403


async def test_a_route_without_a_rule_is_refused_to_everyone(signer):
    authenticator, token = signer
    router = APIRouter(prefix="/v1")

    @router.get("/ruled")
    async def ruled() -> dict:
        return {}

    @router.get("/forgotten")
    async def forgotten() -> dict:
        return {}

    table = permissions({"GET /v1/ruled": {"admin"}})
    app = Service(services.declaration("payments"), ServiceSettings(), None).app(authenticator)
    app.include_router(router, dependencies=[Depends(authorize(table))])
    every_role = {"Authorization": f"Bearer {token(*ROLES)}"}
    assert (await call(app, "GET /v1/ruled", every_role)).status_code == 200
    refused = await call(app, "GET /v1/forgotten", every_role)
    assert (refused.status_code, refused.json()["detail"]) == (403, "no permission rule for this route")


@pytest.mark.parametrize(
    "rules",
    [{"GET /v1/x": {"root"}}, {"GET /v1/x": set()}, {"FETCH /v1/x": {"admin"}}, {"/v1/x": {"admin"}}],
)
def test_a_table_with_an_unknown_role_or_a_malformed_route_is_refused_at_import(rules):
    with pytest.raises(ValueError):
        permissions(rules)


async def test_health_is_open_and_metrics_and_documents_follow_the_settings(signer):
    authenticator, _ = signer
    declaration = services.declaration("claims")
    closed = Service(declaration, ServiceSettings(http_metrics=False, http_docs=False), None).app(authenticator)
    opened = Service(declaration, ServiceSettings(), None).app(authenticator)
    assert (await call(closed, "GET /healthz", {})).json() == {"status": "ok"}
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert (await call(closed, f"GET {path}", {})).status_code == 404
        assert (await call(opened, f"GET {path}", {})).status_code == 200


def test_a_service_without_an_identity_provider_does_not_start(monkeypatch):
    monkeypatch.delenv("RCM_OIDC_ISSUER", raising=False)
    monkeypatch.delenv("RCM_OIDC_API_KEY_FALLBACK", raising=False)
    with pytest.raises(ValueError, match="no identity provider"):
        Service(services.declaration("claims"), ServiceSettings(), None).app()


def test_the_readme_table_is_the_one_the_services_enforce():
    readme = route_table.README.read_text(encoding="utf-8")
    assert route_table.readme_with_table(readme) == readme, "the README's table is stale: run `./rcm routes --write`"


def test_every_role_has_routes_and_every_route_a_role_the_realm_defines():
    used = {role for _, _, roles in route_table.rows() for role in roles}
    assert used == set(ROLES)


def test_routes_are_apiroutes_of_the_declared_router():
    for name in services.NAMES:
        api = services.declaration(name).api
        assert api is not None and all(isinstance(r, APIRoute) for r in api.router.routes)
