"""Fixtures that give tests the real parts: a Kafka broker and a PostgreSQL server.

Where they come from: RCM_KAFKA_BOOTSTRAP + RCM_DATABASE_URL_TEMPLATE (set by `./rcm test`, or
by you for an external stack), else the project's running local stack (.run/stack.json), else
the stack is started here (RCM_INFRA=local or testcontainers). Nothing ever skips: a missing
service is a loud failure."""

import asyncio
import os
import random
import uuid
from pathlib import Path

import pytest

from rcmctl import stack
from rcmctl.processes import Platform, free_port_base
from rcmctl.provision import deprovision, provision

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def stack_info() -> stack.StackInfo:
    bootstrap, template = os.environ.get("RCM_KAFKA_BOOTSTRAP"), os.environ.get("RCM_DATABASE_URL_TEMPLATE")
    if bootstrap and template:
        return stack.StackInfo(mode="external", kafka_bootstrap=bootstrap, database_url_template=template)
    info = stack.read_info()
    if info is not None:
        return info
    try:
        return stack.up()
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - the message is the point
        pytest.fail(f"integration tests need Kafka and PostgreSQL and none could be started: {exc}", pytrace=False)


@pytest.fixture
async def platform(stack_info, tmp_path):
    """A fresh namespace: its own five databases, topics and clearinghouse folder."""
    namespace = f"t{uuid.uuid4().hex[:10]}_"
    deployment = Platform(
        stack=stack_info,
        run_dir=tmp_path,
        namespace=namespace,
        port_base=free_port_base(random.randrange(20000, 40000, 10)),
        extra_env={"RCM_RETRY_BACKOFF_SECONDS": "0.1"},
    )
    await provision(deployment)
    yield deployment
    await asyncio.to_thread(deployment.stop_all)
    await deprovision(deployment)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed test: nothing may pass by not running."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() == "true" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {report.longrepr}"
