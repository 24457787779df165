"""Schemathesis over every service's OpenAPI document (issue 16, HTTP hardening): each operation is called
with examples its schema allows and with examples it refuses (wrong types, out-of-range numbers, long
and odd strings, NUL bytes, missing fields), over real HTTP to the five services running on the real
broker and database with their lifespans, as the API key (every role). Not one answer may be a 5xx: a
bad request is the caller's mistake (4xx), never the server's.

The examples are bounded and derived from a fixed seed (derandomized), so a CI run takes about two
minutes and fails the same way twice; RCM_FUZZ_EXAMPLES asks for more per operation and mode."""

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import hypothesis
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis import APIOperation
from schemathesis.generation import GenerationMode

from services import NAMES
from services.ar_followup.settings import ArSettings
from shared.auth import Authenticator, OidcSettings
from shared.service import Service
from tests.integration.test_identity_routes import SETTINGS
from tests.kit import settings_for

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("RCM_FUZZ_EXAMPLES", "12"))  # per operation and mode (positive, negative)


def bound_socket() -> socket.socket:
    """A loopback socket bound to a free port and kept: a port only looked up and released can be taken
    by another process's client socket before a server that starts seconds later binds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(apps: dict[str, FastAPI]) -> Iterator[dict[str, str]]:
    """The apps over HTTP on free loopback ports, their lifespans run by uvicorn one after the other (Alembic's
    context is global), in a thread of their own."""
    sockets = {name: bound_socket() for name in apps}
    ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    servers = [uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=ports[name], log_config=None,
                                             access_log=False, lifespan="on")) for name, app in apps.items()]  # fmt: skip
    ready, failed = threading.Event(), []

    async def serve() -> None:
        tasks = []
        for server, sock in zip(servers, sockets.values(), strict=True):
            tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            while not server.started and not tasks[-1].done():
                await asyncio.sleep(0.05)
            if tasks[-1].done():
                failed.append(server)
                break
        ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="fuzzed-services", daemon=True)
    thread.start()
    try:
        ready.wait(timeout=300)
        if failed or not ready.is_set():
            raise RuntimeError("a service did not start")
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=60)
        for sock in sockets.values():
            sock.close()


def server_errors(base_url: str, document: dict, headers: dict[str, str]) -> list[str]:
    """Every operation x mode whose examples drew a 5xx: the first such example of each, as curl."""
    operations = [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]
    found = (first_server_error(op, mode, base_url, headers) for op in operations for mode in GenerationMode)
    return [error for error in found if error is not None]


def first_server_error(operation: APIOperation, mode: GenerationMode, base_url: str,
                       headers: dict[str, str]) -> str | None:  # fmt: skip
    found: list[str] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         verbosity=hypothesis.Verbosity.quiet)  # fmt: skip
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        if response.status_code >= 500 and not found:
            found.append(f"{operation.label} [{mode.value}] {response.status_code}: {case.as_curl_command()}")

    try:
        call()
    except hypothesis.errors.Unsatisfiable:  # nothing to get wrong (no parameter, no body): no negative example
        assert mode is GenerationMode.NEGATIVE, operation.label
    return found[0] if found else None


def build(name: str, platform, tmp_path) -> Service:
    module = __import__(f"services.{name}.app", fromlist=["build"])
    extra = {"ar_statements_dir": tmp_path / "statements"} if SETTINGS[name] is ArSettings else {}
    return module.build(settings_for(platform, SETTINGS[name], name, **extra))


async def test_no_request_any_schema_allows_or_refuses_gets_a_server_error(platform, tmp_path):
    key = secrets.token_urlsafe(24)
    authenticator = Authenticator(OidcSettings(issuer="", api_key_fallback=True, api_key=key))
    services = {name: build(name, platform, tmp_path) for name in NAMES}
    apps = {name: service.app(authenticator) for name, service in services.items()}
    with serving(apps) as urls:
        found = {
            name: await asyncio.to_thread(server_errors, urls[name], apps[name].openapi(), {"X-API-Key": key})
            for name in NAMES
        }
    assert {name: errors for name, errors in found.items() if errors} == {}
