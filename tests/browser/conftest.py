"""The whole platform for the browser tests, started ONCE per test session (it takes minutes): Kafka,
PostgreSQL and the real Keycloak, the five services, the payer simulator (without its random denials,
so a corrected claim's fate is the contract's) and the console, in a namespace of their own, with the
sample office's day loaded (rcmctl/office.py); and one headless chromium."""

import json
import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from payer_simulator.domain.contracts import DEFAULT_CONTRACTS
from rcmctl import office as sample
from rcmctl.processes import Platform
from rcmctl.provision import deprovision
from rcmctl.stack import procs
from rcmctl.up import Office, machine
from tests.browser.browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("RCM_BROWSER_SHOTS", ROOT / ".run" / "browser-shots"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _steady_contracts(folder: Path) -> Path:
    """The payers' contracts with their occasional random denial turned off."""
    contracts = json.loads(DEFAULT_CONTRACTS.read_text())
    for payer in contracts["payers"]:
        payer["random_denial_one_in"] = 0
    path = folder / "contracts.json"
    path.write_text(json.dumps(contracts))
    return path


@pytest.fixture(scope="session")
def office(stack_info, idp, tmp_path_factory):
    if os.environ.get("RCM_BROWSER_OFFICE"):  # "namespace:console port:port base" of a running office (development)
        namespace, console_port, port_base = os.environ["RCM_BROWSER_OFFICE"].split(":")
        platform = Platform(stack=stack_info, run_dir=idp.run_dir, namespace=namespace, port_base=int(port_base),
                            api_key_fallback=False, auth=machine("rcm-demo", idp.run_dir))  # fmt: skip
        yield Office(platform, int(console_port), idp.run_dir)
        return
    namespace = f"b{uuid.uuid4().hex[:8]}_"
    contracts = _steady_contracts(tmp_path_factory.mktemp("payer"))
    started = Office.start(idp.run_dir, stack_info, namespace=namespace, console_port=_free_port(),
                           contracts=contracts, fresh=True)  # fmt: skip
    try:
        loaded = procs.run_async(sample.load(started, patients=30, encounters=120))
        assert loaded["settled"], f"the sample day did not settle: {loaded}"
        yield started
    finally:
        started.stop()
        procs.run_async(deprovision(started.platform))
        shutil.rmtree(started.platform.clearinghouse_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(request) -> Path:
    folder = SHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
