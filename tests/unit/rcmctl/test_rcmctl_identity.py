"""The command line's side of sign-in: the platform gives its services the identity provider (or the
API key fallback) and calls with a token or the key; `rcm audit` pages through every service's trail
with the auditor's token and merges it by time; `rcm kpis` calls with a bearer token. Real HTTP
servers stand in for the services."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from rcmctl.cli import app
from rcmctl.processes import Platform
from rcmctl.stack import StackInfo

TOKEN = "an-auditors-token"


def entry(n: int, observer: str, recorded: str) -> dict:
    return {"id": n, "observer": observer, "recorded": recorded, "agent_name": "frank.frontdesk", "agent_client": None,
            "action": "R", "subtype": "read", "entity_type": "Patient", "entity_id": "p1", "patient_id": "p1",
            "outcome": "0", "purpose_of_use": "HPAYMT", "source_address": "10.0.0.7"}  # fmt: skip


class FakeService(BaseHTTPRequestHandler):
    """A service's GET /v1/audit: its entries one per page, the cursor being the last id."""

    trails: ClassVar[dict[int, list[dict]]] = {}
    asked: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        url, port = urlsplit(self.path), self.server.server_address[1]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        FakeService.asked.append(query)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(403, {"detail": "requires one of: auditor"})
        after = int(query.get("cursor", 0))
        rest = [e for e in FakeService.trails[port] if e["id"] > after]
        return self._answer(200, {"entries": rest[:1], "next": str(rest[0]["id"]) if len(rest) > 1 else None})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def services():
    FakeService.asked = []
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), FakeService) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    ports = [s.server_address[1] for s in servers]
    FakeService.trails = {
        ports[0]: [entry(1, "registration", "2026-03-01T10:00:00Z"), entry(2, "registration", "2026-03-03T10:00:00Z")],
        ports[1]: [entry(1, "payments", "2026-03-02T10:00:00Z")],
    }
    yield [f"{name}=http://127.0.0.1:{port}" for name, port in zip(("registration", "payments"), ports, strict=True)]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_rcm_audit_pages_through_every_service_and_merges_by_time(services):
    args = ["audit", "--patient", "p1", "--since", "2026-01-01", "--until", "2026-04-01", "--json"]
    result = CliRunner().invoke(app, [*args, *(x for u in services for x in ("--url", u))], env={"RCM_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    merged = json.loads(result.output)
    assert [(e["observer"], e["recorded"][:10]) for e in merged] == [
        ("registration", "2026-03-01"), ("payments", "2026-03-02"), ("registration", "2026-03-03")]  # fmt: skip
    assert FakeService.asked[0] == {"patient_id": "p1", "since": "2026-01-01T00:00:00", "until": "2026-04-01T00:00:00"}
    assert {"cursor": "1"} | FakeService.asked[0] in FakeService.asked  # the second page of the first service


def test_rcm_audit_says_who_refused(services):
    result = CliRunner().invoke(app, ["audit", "--url", services[0]], env={"RCM_TOKEN": "a-coders-token"})
    assert result.exit_code == 1 and "403" in result.output and "requires one of: auditor" in result.output


def platform(**identity) -> Platform:
    stack = StackInfo(mode="external", kafka_bootstrap="k:9092", database_url_template="postgresql+asyncpg://h/{db}")
    return Platform(stack=stack, run_dir=Path("/tmp/rcm-test"), **identity)


def test_a_test_platform_lets_its_api_key_in_and_calls_with_it():
    test = platform()
    env = test.env("claims")
    assert (env["RCM_OIDC_API_KEY_FALLBACK"], env["RCM_API_KEY"]) == ("true", test.api_key)
    assert test.credentials() == {"headers": {"X-API-Key": test.api_key}}


def test_the_demo_platform_trusts_the_provider_only_and_calls_with_its_token():
    token = httpx.BasicAuth("rcm-demo", "secret")  # any httpx auth: the demo's is ClientCredentials
    oidc = {"RCM_OIDC_ISSUER": "http://127.0.0.1:18080/realms/openrcm", "RCM_OIDC_AUDIENCE": "openrcm-api"}
    demo = platform(api_key_fallback=False, oidc_env=oidc, auth=token)
    env = demo.env("registration")
    assert env["RCM_OIDC_API_KEY_FALLBACK"] == "false" and "RCM_API_KEY" not in env
    assert {k: env[k] for k in oidc} == oidc
    assert demo.credentials() == {"auth": token}
    ehr = httpx.BasicAuth("rcm-ehr", "secret")
    assert demo.credentials(ehr) == {"auth": ehr}  # the EHR registers patients as itself
