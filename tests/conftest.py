"""Fixtures that give tests the real parts: a Kafka broker and a PostgreSQL server.

Where they come from: RCM_KAFKA_BOOTSTRAP + RCM_DATABASE_URL_TEMPLATE (an external stack you
name), else the project's running local stack (.run/stack.json), else the stack is started here
(RCM_INFRA=local or testcontainers), once per session and only when a test asks for it, and
stopped again at the session's end. So unit tests never start anything. Nothing ever skips: a
missing service is a loud failure."""

import asyncio
import gc
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rcmctl import stack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def stack_info() -> Iterator["stack.StackInfo"]:
    yield from kafka_and_postgres()


def kafka_and_postgres() -> Iterator["stack.StackInfo"]:
    """The stack to test against, for as long as the generator runs; stops only what it started."""
    from rcmctl import stack  # here, not at the top: a unit run (a process per core) never needs it

    bootstrap, template = os.environ.get("RCM_KAFKA_BOOTSTRAP"), os.environ.get("RCM_DATABASE_URL_TEMPLATE")
    if bootstrap and template:
        yield stack.StackInfo(mode="external", kafka_bootstrap=bootstrap, database_url_template=template)
        return
    info = stack.read_info()
    if info is not None:
        yield info  # someone else's stack (`./rcm stack up`): theirs to stop
        return
    try:
        info = stack.up()
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - the message is the point
        pytest.fail(f"integration tests need Kafka and PostgreSQL and none could be started: {exc}", pytrace=False)
    try:
        yield info
    finally:
        stack.down()


@pytest.fixture(scope="session")
def idp():
    """The real Keycloak (the running one, else started once for the session) and its users' tokens."""
    from tests.integration.keycloak_idp import keycloak_for_tests

    yield from keycloak_for_tests()


@pytest.fixture
async def platform(stack_info, tmp_path):
    """A fresh namespace: its own five databases, topics and clearinghouse folder."""
    from rcmctl.processes import Platform, free_port_base
    from rcmctl.provision import deprovision, provision

    namespace = f"t{uuid.uuid4().hex[:10]}_"
    deployment = Platform(
        stack=stack_info,
        run_dir=tmp_path,
        namespace=namespace,
        port_base=free_port_base(random.randrange(20000, 32000, 10)),  # below the ephemeral ports (32768+)
        extra_env={"RCM_RETRY_BACKOFF_SECONDS": "0.1"},
    )
    await provision(deployment)
    yield deployment
    await asyncio.to_thread(deployment.stop_all)
    await deprovision(deployment)


def pytest_collection(session: pytest.Session) -> None:
    # Collection loads what lives as long as the session (the ICD-10-CM release, the coding
    # index: millions of objects); garbage collection while they are built finds nothing.
    gc.disable()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run last: Playwright's sync API keeps its own event loop marked running in
    the main thread from the first page until the session's end, and pytest-asyncio cannot run a
    coroutine there after that."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Garbage collection tuned for a process that holds millions of long-lived objects (without
    it, a fifth of the unit run was the collector walking them): what collection loaded is
    frozen out of the collector's sight, and a full collection waits for more allocations, so
    loading another ICD-10-CM release (a million objects) is not walked a dozen times on the way."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
    gc.enable()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed test: nothing may pass by not running."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() == "true" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {report.longrepr}"
