"""The console's queues on the real services, with the real Keycloak's tokens: the front desk finds the
encounters waiting for their patient on Home and Patients (claims records that frank read them), and a
supervisor's approvals count on Home includes the refunds waiting in payments, not only A/R's write-offs.

The console is the real app; only its sign-in is short-cut (the person's token from Keycloak's password
grant instead of the browser's code flow, which test_identity_keycloak covers)."""

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.ar_followup.app import build as build_ar
from services.ar_followup.settings import ArSettings
from services.claims.app import build as build_claims
from services.claims.settings import ClaimsSettings
from services.console.app import build as build_console
from services.console.backend import Backend
from services.console.sessions import LoginState, Tokens
from services.console.settings import ConsoleSettings
from services.payments.app import build as build_payments
from services.payments.settings import PaymentsSettings
from shared.auth import Authenticator, Principal
from shared.contracts import topics
from tests.integration.test_claims import coded_event, patient_event
from tests.kit import eventually, publish, running, settings_for

pytestmark = pytest.mark.integration
SERVICES = ("registration", "coding", "claims", "payments", "ar_followup")


class Services(httpx.AsyncBaseTransport):
    """The console's calls to http://<service>/..., answered by the services running in this test (a
    service not started answers 503, as one that is down)."""

    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self.clients = clients

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        client = self.clients.get(request.url.host.replace("-", "_"))
        if client is None:
            return httpx.Response(503, json={"detail": "not started in this test"})
        answer = await client.request(request.method, request.url.raw_path.decode(), content=request.content,
                                      headers=request.headers)  # fmt: skip
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


class PasswordGrant:
    """The provider as the console sees it, signing in whoever `person` names with their real token."""

    def __init__(self, idp) -> None:
        self.idp, self.person = idp, ""
        self.authenticator = Authenticator(idp.settings())

    async def authorization_url(self, login: LoginState) -> str:
        return f"{self.idp.issuer}/auth?state={login.state}"

    async def exchange(self, code: str, login: LoginState) -> tuple[Tokens, Principal]:
        token = await self.idp.password_token(self.person)
        return Tokens(access=token, access_expires=time.time() + 240), await self.authenticator.authenticate(
            f"Bearer {token}"
        )

    async def refresh(self, tokens: Tokens) -> Tokens | None:
        return None

    async def logout_url(self, tokens: Tokens | None, after: str) -> str:
        return after


@asynccontextmanager
async def console(
    idp, clients: Mapping[str, httpx.AsyncClient]
) -> AsyncIterator[tuple[httpx.AsyncClient, PasswordGrant]]:
    urls = {("ar_url" if s == "ar_followup" else f"{s}_url"): f"http://{s.replace('_', '-')}" for s in SERVICES}
    settings = ConsoleSettings(issuer=idp.issuer, public_url="http://console.test", time_zone="America/Chicago", **urls)
    app = build_console(settings)
    provider = PasswordGrant(idp)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=Services(clients)) as http:
        app.state.console = dataclasses.replace(app.state.console, provider=provider,
                                                backend=Backend(settings, http, provider))  # fmt: skip
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url) as browser:
            yield browser, provider


async def sign_in(browser: httpx.AsyncClient, provider: PasswordGrant, person: str) -> None:
    provider.person = person
    browser.cookies.clear()
    started = await browser.get("/login", params={"next": "/"})
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    assert (await browser.get("/auth/callback", params={"state": state, "code": "c"})).status_code == 303


async def test_the_front_desk_finds_the_encounters_waiting_for_their_patient(platform, idp):
    claims = build_claims(settings_for(platform, ClaimsSettings, "claims", patient_wait_alert_minutes=0))
    frank = await idp.bearer("frank.frontdesk")
    unknown = patient_event(41)
    async with AsyncExitStack() as stack:
        claims_api = await stack.enter_async_context(running(claims, idp, api_key=False))
        browser, provider = await stack.enter_async_context(console(idp, {"claims": claims_api}))
        await sign_in(browser, provider, "frank.frontdesk")
        empty_home, empty_list = (await browser.get("/")).text, (await browser.get("/patients")).text
        await publish(platform, topics.ENCOUNTER_CODED, [coded_event(41, unknown.data.patient_id)])

        async def waiting():
            return (await claims_api.get("/v1/encounters/waiting", headers=frank)).json()["items"]

        await eventually(waiting)
        home, patients = await browser.get("/"), await browser.get("/patients")
        trail = await claims_api.get("/v1/audit", params={"patient_id": str(unknown.data.patient_id)},
                                     headers=await idp.bearer("audrey.auditor"))  # fmt: skip

    assert ">0</span><br>Encounters waiting for their patient" in empty_home
    assert "No encounter is waiting for its patient" in empty_list
    assert home.status_code == 200 and ">1</span><br>Encounters waiting for their patient" in home.text
    assert patients.status_code == 200 and "ENC-C41" in patients.text and str(unknown.data.patient_id) in patients.text
    frank_sub = await idp.subject("frank.frontdesk")
    reads = [
        (e["agent_who"], e["entity_type"], e["entity_id"])
        for e in trail.json()["entries"]
        if e["subtype"] == "search-type"
    ]
    assert (frank_sub, "Encounter", "ENC-C41") in reads  # what the console showed frank is in claims' trail, as frank
    assert len(reads) == 2  # the Patients list (and the test's own read); the home page's count lists no one


async def test_a_supervisors_approvals_count_includes_the_refunds_waiting_in_payments(platform, idp, tmp_path):
    payments = build_payments(settings_for(platform, PaymentsSettings, "payments", refund_approval_threshold="25.00"))
    ar = build_ar(settings_for(platform, ArSettings, "ar_followup", ar_statements_dir=tmp_path / "statements"))
    frank, anna = await idp.bearer("frank.frontdesk"), await idp.bearer("anna.ar")
    async with AsyncExitStack() as stack:
        pay = await stack.enter_async_context(running(payments, idp, api_key=False))
        ar_api = await stack.enter_async_context(running(ar, idp, api_key=False))
        browser, provider = await stack.enter_async_context(console(idp, {"payments": pay, "ar_followup": ar_api}))
        await sign_in(browser, provider, "sam.supervisor")
        before = (await browser.get("/")).text
        paid = await pay.post(f"/v1/patients/{uuid.uuid4()}/payments", json={"amount": "60.00", "method": "card"},
                              headers=frank)  # fmt: skip
        assert paid.status_code == 201, paid.text
        asked = await pay.post(f"/v1/patient-payments/{paid.json()['payment_id']}/refunds", json={"amount": "40.00"},
                               headers=anna)  # fmt: skip
        assert asked.status_code == 202, asked.text  # above the threshold: it waits for a supervisor
        after = (await browser.get("/")).text
        approvals = (await browser.get("/approvals")).text

    assert ">0</span><br>Write-offs and refunds waiting for approval" in before
    assert ">1</span><br>Write-offs and refunds waiting for approval" in after and "0 write-offs, 1 refund" in after
    assert asked.json()["refund_id"] in approvals  # the card's link leads to the refund to decide
